// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_ident.c - a recipe that names a file matches that file under any
 * other name (det_ident): an observation of the file's (dev, inode) under a
 * hard link's path is detected and reported with the recipe's path and
 * seen_as; a file replaced by a rename is found again after a refresh; an
 * unrelated inode is not matched; the identity and seen_as survive the JSON
 * round trip. An exec of a program a recipe names, through a hard link, is
 * reported with the recipe's path as process.exe and the path run as
 * process.exe_seen_as (the kernel's own exe_seen_as, a chroot's name, kept).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "detect/detect.h"

static char dir[] = "/tmp/mizan-det-ident-XXXXXX";
static char secret[300], alias[300], recipes[300], prog[300], prog_alias[300];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    mz_log_set_level(MZ_LOG_ERROR);
    if (!mkdtemp(dir))
        return -1;
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    snprintf(alias, sizeof(alias), "%s/alias", dir);
    snprintf(recipes, sizeof(recipes), "%s/recipes", dir);
    snprintf(prog, sizeof(prog), "%s/prog", dir);
    snprintf(prog_alias, sizeof(prog_alias), "%s/other-name", dir);
    mkdir(recipes, 0700);
    write_text(secret, "s\n");
    write_text(prog, "#!/bin/true\n");
    char path[400], yaml[2048];
    snprintf(path, sizeof(path), "%s/r.yaml", recipes);
    snprintf(yaml, sizeof(yaml),
             "- kind: ident_test\n  name: ident_test\n  mechanism: file_access\n"
             "  importance: high\n  description: d\n  tactic: t\n  technique: t\n"
             "  file_actions: [open, read]\n  file_actions_how: any\n"
             "  bases:\n    - dir: %s\n      base: secret\n"
             "- kind: exec_ident_test\n  name: exec_ident_test\n  mechanism: execution\n"
             "  importance: high\n  description: d\n  tactic: t\n  technique: t\n"
             "  file_actions: [execve]\n  file_actions_how: any\n"
             "  bases:\n    - dir: %s\n      base: prog\n",
             dir, dir);
    write_text(path, yaml);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof(path), "%s/r.yaml", recipes);
    unlink(path);
    rmdir(recipes);
    unlink(secret);
    unlink(alias);
    unlink(prog);
    unlink(prog_alias);
    rmdir(dir);
    return 0;
}

struct got {
    int n;
    char path[300], seen_as[300], exe[300], exe_seen_as[300];
};

static int keep_emit(struct mz_detection *det, void *ctx)
{
    struct got *g = ctx;
    g->n++;
    snprintf(g->path, sizeof(g->path), "%s", det->obs.file.path ? det->obs.file.path : "");
    snprintf(g->seen_as, sizeof(g->seen_as), "%s",
             det->obs.file.seen_as ? det->obs.file.seen_as : "");
    snprintf(g->exe, sizeof(g->exe), "%s", det->obs.proc.exe ? det->obs.proc.exe : "");
    snprintf(g->exe_seen_as, sizeof(g->exe_seen_as), "%s",
             det->obs.proc.exe_seen_as ? det->obs.proc.exe_seen_as : "");
    mz_detection_free(det);
    return 0;
}

static struct got read_of(struct det_engine *e, const char *path)
{
    static int pid = 2000;
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct mz_observation o = {.kind = MZ_OBS_FILE};
    o.proc.pid = pid++;
    o.proc.exe = (char *)"/usr/bin/cat";
    o.file.path = (char *)path;
    o.file.actions = MZ_FA_OPEN | MZ_FA_READ;
    o.file.ino = st.st_ino;
    o.file.dev = st.st_dev;
    struct got g = {0};
    assert_true(det_match(e, &o, keep_emit, &g) >= 0);
    return g;
}

static void test_other_names_match(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    cfg.detect.builtin = false;
    cfg.detect.global_max_per_minute = 0;
    cfg.detect.dirs.items[0] = mz_strdup(recipes);
    cfg.detect.dirs.n = 1;
    char err[512] = "";
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    mz_config_free(&cfg);
    assert_non_null(e);

    /* the named path itself: matched, no seen_as */
    struct got g = read_of(e, secret);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.path, secret);
    assert_string_equal(g.seen_as, "");

    /* a hard link: matched as the recipe's path */
    assert_int_equal(link(secret, alias), 0);
    g = read_of(e, alias);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.path, secret);
    assert_string_equal(g.seen_as, alias);
    unlink(alias);

    /* an unrelated file under another name: not matched */
    write_text(alias, "other\n");
    g = read_of(e, alias);
    assert_int_equal(g.n, 0);

    /* the named file replaced by a rename: its new inode is found after a
     * refresh (at most 1 s) */
    char fresh[400];
    snprintf(fresh, sizeof(fresh), "%s/.secret.new", dir);
    write_text(fresh, "s2\n");
    assert_int_equal(rename(fresh, secret), 0);
    unlink(alias);
    assert_int_equal(link(secret, alias), 0);
    struct timespec ts = {1, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    g = read_of(e, alias);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.seen_as, alias);
    det_engine_free(e);
}

/* An exec observation of path as the collector makes it: the exe is the
 * file, with the identity the kernel recorded. */
static struct got exec_of(struct det_engine *e, const char *path, const char *kernel_seen)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct mz_observation o = {.kind = MZ_OBS_EXEC};
    o.proc.pid = 3000;
    o.proc.exe = mz_strdup(path);
    o.proc.exe_seen_as = kernel_seen ? mz_strdup(kernel_seen) : NULL;
    o.proc.exe_ino = st.st_ino;
    o.proc.exe_dev = st.st_dev;
    o.file.path = mz_strdup(path);
    o.file.actions = MZ_FA_EXECVE;
    o.file.ino = st.st_ino;
    o.file.dev = st.st_dev;
    struct got g = {0};
    assert_true(det_match(e, &o, keep_emit, &g) >= 0);
    mz_observation_clear(&o);
    return g;
}

static void test_exe_other_names_match(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    cfg.detect.builtin = false;
    cfg.detect.global_max_per_minute = 0;
    cfg.detect.dirs.items[0] = mz_strdup(recipes);
    cfg.detect.dirs.n = 1;
    char err[512] = "";
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    mz_config_free(&cfg);
    assert_non_null(e);

    /* run by its own path: no seen_as */
    struct got g = exec_of(e, prog, NULL);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.exe, prog);
    assert_string_equal(g.exe_seen_as, "");

    /* through a hard link: the recipe's path, the link's as seen_as */
    assert_int_equal(link(prog, prog_alias), 0);
    g = exec_of(e, prog_alias, NULL);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.exe, prog);
    assert_string_equal(g.exe_seen_as, prog_alias);
    assert_string_equal(g.path, prog);
    assert_string_equal(g.seen_as, prog_alias);

    /* the name the kernel saw it run by (a chroot's) is the one kept */
    g = exec_of(e, prog_alias, "/other-name");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.exe, prog);
    assert_string_equal(g.exe_seen_as, "/other-name");
    unlink(prog_alias);
    det_engine_free(e);
}

static void test_identity_json_round_trip(void **state)
{
    (void)state;
    const char *line = "{\"kind\":\"file\",\"time\":\"2026-11-21T10:00:00Z\",\"process\":{\"pid\":"
                       "7,\"exe\":\"/usr/bin/cat\"},\"file\":{\"path\":\"/etc/shadow\","
                       "\"seen_as\":\"/tmp/e/shadow\",\"dev\":\"254:0\",\"inode\":409610,"
                       "\"actions\":[\"open\",\"read\"]}}";
    struct mz_observation o;
    char err[256] = "";
    cJSON *j = cJSON_Parse(line);
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), 0);
    assert_string_equal(o.file.seen_as, "/tmp/e/shadow");
    assert_int_equal(o.file.ino, 409610);
    cJSON *out = mz_observation_to_json(&o);
    cJSON *f = cJSON_GetObjectItem(out, "file");
    assert_string_equal(cJSON_GetObjectItem(f, "dev")->valuestring, "254:0");
    assert_int_equal((int)cJSON_GetObjectItem(f, "inode")->valuedouble, 409610);
    assert_string_equal(cJSON_GetObjectItem(f, "seen_as")->valuestring, "/tmp/e/shadow");
    cJSON_Delete(out);
    mz_observation_clear(&o);
    cJSON_Delete(j);

    /* process.exe_seen_as */
    j = cJSON_Parse("{\"kind\":\"exec\",\"process\":{\"pid\":7,\"exe\":\"/r/usr/bin/cat\","
                    "\"exe_seen_as\":\"/usr/bin/cat\"},\"file\":{\"path\":\"/r/usr/bin/cat\"}}");
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), 0);
    assert_string_equal(o.proc.exe_seen_as, "/usr/bin/cat");
    out = mz_observation_to_json(&o);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(out, "process"), "exe_seen_as")->valuestring,
        "/usr/bin/cat");
    cJSON_Delete(out);
    mz_observation_clear(&o);
    cJSON_Delete(j);

    /* one without the other is an error naming the fields */
    j = cJSON_Parse("{\"kind\":\"file\",\"process\":{\"pid\":7},\"file\":{\"path\":\"/x\","
                    "\"inode\":5}}");
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "file.dev"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_names_match),
        cmocka_unit_test(test_exe_other_names_match),
        cmocka_unit_test(test_identity_json_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
