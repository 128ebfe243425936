// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_interest.c - the interest set compiled from recipes: on the
 * built-in library (/etc/shadow is interesting, a flood under /tmp is not,
 * a regex recipe falls back to its superset, every positive fixture line
 * of every built-in passes the set: the superset is never narrower than
 * the recipes), the regex reductions one by one, the arbitrary-group
 * fallback, and a rebuild on reload that readers holding the old set
 * survive. MIZAN_TEST_VERBOSE=1 prints what each built-in reduced to.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "detect/det_int.h"
#include "detect/det_interest.h"
#include "detect/detect.h"
#include "tests/support/recipe_fixtures.h"

static struct det_engine *builtin_engine(void)
{
    struct mz_config cfg;
    char err[512];
    mz_log_set_level(MZ_LOG_ERROR);
    mz_config_defaults(&cfg);
    cfg.detect.reload = false;
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    if (!e)
        print_message("%s\n", err);
    mz_config_free(&cfg);
    return e;
}

static void dump(const struct det_interest *ii)
{
    if (!getenv("MIZAN_TEST_VERBOSE"))
        return;
    cJSON *j = det_interest_json(ii);
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "recipes"))
    {
        print_message("%-36s %-8s", r->string, cJSON_GetObjectItem(r, "reduced")->valuestring);
        cJSON *en;
        cJSON_ArrayForEach(en, cJSON_GetObjectItem(r, "entries"))
        {
            print_message(" %s:%s:%s", cJSON_GetObjectItem(en, "on")->valuestring,
                          cJSON_GetObjectItem(en, "kind")->valuestring,
                          cJSON_GetObjectItem(en, "value")->valuestring);
        }
        print_message("\n");
    }
    print_message("%zu entries\n", det_interest_count(ii));
    cJSON_Delete(j);
}

static void test_builtin_set(void **state)
{
    (void)state;
    struct det_engine *e = builtin_engine();
    assert_non_null(e);
    uint64_t gen = 0;
    struct det_interest *ii = det_engine_interest(e, &gen);
    assert_non_null(ii);
    assert_int_equal(gen, 1);
    dump(ii);
    assert_true(det_interest_count(ii) > 50);
    assert_true(det_interest_match(ii, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ, "/usr/bin/cat"));
    assert_true(det_interest_match(ii, "/etc/ld.so.preload", MZ_FA_WRITE, "/usr/bin/tee"));
    assert_true(det_interest_match(ii, "/root/.ssh/id_ed25519", MZ_FA_READ, "/usr/bin/cp"));
    assert_false(det_interest_match(ii, "/tmp/flood/123", MZ_FA_OPEN | MZ_FA_READ,
                                    "/usr/local/bin/flooder"));
    assert_false(det_interest_match(ii, "/srv/flood/123", MZ_FA_OPEN | MZ_FA_CREATE | MZ_FA_WRITE,
                                    "/usr/local/bin/flooder"));
    /* crypto_miner_files: config.txt / pools.txt under /tmp, not all of /tmp */
    assert_false(det_interest_match(ii, "/tmp/flood/123", MZ_FA_CREATE, "/usr/local/bin/flooder"));
    assert_true(det_interest_match(ii, "/tmp/x/pools.txt", MZ_FA_CREATE, "/usr/local/bin/flooder"));
    /* a regex recipe: ^/proc/([0-9]+|self)/(task/[0-9]+/)?mem$ is /proc */
    const char *red = det_interest_reduced(ii, "global_shlib_modification");
    assert_non_null(red);
    assert_string_equal(red, "exact");
    cJSON *j = det_interest_json(ii);
    cJSON *r;
    bool saw_superset = false, proc_dir = false;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "recipes"))
    {
        const char *how = cJSON_GetObjectItem(r, "reduced")->valuestring;
        assert_non_null(cJSON_GetObjectItem(r, "why"));
        if (strcmp(how, "superset") != 0)
            continue;
        saw_superset = true;
        cJSON *en;
        cJSON_ArrayForEach(en, cJSON_GetObjectItem(r, "entries"))
        {
            if (strcmp(cJSON_GetObjectItem(en, "kind")->valuestring, "dir") == 0 &&
                strcmp(cJSON_GetObjectItem(en, "value")->valuestring, "/proc") == 0)
                proc_dir = true;
        }
    }
    cJSON_Delete(j);
    assert_true(saw_superset);
    assert_true(proc_dir);
    /* /proc/PID/mem through the superset, and what the recipe itself would not match */
    assert_true(det_interest_match(ii, "/proc/4242/mem", MZ_FA_OPEN | MZ_FA_WRITE, "/bin/sh"));
    det_interest_unref(ii);
    det_engine_free(e);
}

/* The set is a superset of the recipes: every observation of a positive
 * fixture that matches a file recipe passes it. */
struct superset_ctx {
    struct det_set *set;
    const struct det_interest *ii;
    int checked;
};

static void superset_one(const struct mz_observation *o, void *arg)
{
    struct superset_ctx *x = arg;
    struct det_recipe *hits[4096];
    if (o->kind != MZ_OBS_FILE && o->kind != MZ_OBS_EXEC)
        return;
    if (!det_set_match(x->set, o, true, false, hits, 4096))
        return;
    /* a two-path record (rename, link, symlink) is tested on both */
    if (!det_interest_match(x->ii, o->file.path, o->file.actions, o->proc.exe) &&
        !(o->file.path2 && det_interest_match(x->ii, o->file.path2, o->file.actions, o->proc.exe)))
        fail_msg("%s (%s by %s) matches %s but is not interesting", o->file.path,
                 o->kind == MZ_OBS_EXEC ? "exec" : "file", o->proc.exe, hits[0]->id);
    x->checked++;
}

static void test_superset_of_fixtures(void **state)
{
    (void)state;
    struct det_engine *e = builtin_engine();
    assert_non_null(e);
    struct det_interest *ii = det_engine_interest(e, NULL);
    struct superset_ctx x = {det_engine_set(e), ii, 0};
    assert_true(recipe_fixtures_each(superset_one, &x) > 0);
    print_message("%d fixture observations checked\n", x.checked);
    assert_true(x.checked > 50);
    det_interest_unref(ii);
    det_engine_free(e);
}

/* One user recipe per regex; what each reduces to. */
struct rx_case {
    const char *regex;
    const char *reduced; /* "superset" or "all" */
    const char *entries; /* kind:value ... sorted as the set sorts them (on file) */
    const char *match;   /* a path the regex matches: the set must pass it */
    const char *other;   /* a path the set leaves out, or NULL */
};

static void load_one(const char *yaml, struct det_recipe ***rs, size_t *n)
{
    struct det_diag d = {0};
    struct det_load_opts o = {0};
    *rs = NULL;
    *n = 0;
    int rc = det_load_text("t.yaml", yaml, strlen(yaml), &o, rs, n, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("diag: %s\n", d.msgs[i]);
    det_diag_free(&d);
    assert_int_equal(rc, 0);
}

static struct det_interest *build_yaml(const char *yaml)
{
    struct det_recipe **rs;
    size_t n;
    load_one(yaml, &rs, &n);
    struct det_set *s = det_set_new(rs, n);
    struct det_interest *ii = det_interest_build(s);
    det_set_free(s);
    return ii;
}

static char *entries_text(const struct det_interest *ii)
{
    struct mz_buf b;
    mz_buf_init(&b, 65536);
    for (size_t i = 0; i < det_interest_count(ii); i++) {
        const struct det_interest_entry *e = det_interest_entry(ii, i);
        assert_int_equal(mz_buf_appendf(&b, "%s%s%s:%s", i ? " " : "",
                                        e->on == DET_INTEREST_ON_EXE ? "exe." : "",
                                        det_interest_kind_name(e->kind), e->s),
                         0);
    }
    char *s = mz_strdup(b.data ? b.data : "");
    mz_buf_free(&b);
    return s;
}

static void test_regex_reductions(void **state)
{
    (void)state;
    static const struct rx_case cases[] = {
        {"^/etc/shadow$", "superset", "path:/etc/shadow", "/etc/shadow", "/etc/shadow.bak"},
        {"^/etc/(shadow|gshadow)-?$", "superset",
         "path:/etc/gshadow path:/etc/gshadow- path:/etc/shadow path:/etc/shadow-", "/etc/gshadow-",
         "/etc/passwd"},
        {"^/proc/([0-9]+|self)/(task/[0-9]+/)?mem$", "superset", "dir:/proc", "/proc/12/task/3/mem",
         "/sys/mem"},
        {"^/(root|home/[^/]+)/\\.ssh/id_[^/.]+$", "superset", "dir:/home prefix:/root/.ssh/id_",
         "/home/bob/.ssh/id_rsa", "/root/.ssh/known_hosts"},
        {"^/etc/ssh/authorized_keys(/|$)", "superset",
         "path:/etc/ssh/authorized_keys dir:/etc/ssh/authorized_keys",
         "/etc/ssh/authorized_keys/bob", "/etc/ssh/authorized_keys2"},
        {"^/(usr/)?lib(64)?/security/pam_[^/]+\\.so$", "superset",
         "prefix:/lib/security/pam_ prefix:/lib64/security/pam_ prefix:/usr/lib/security/pam_ "
         "prefix:/usr/lib64/security/pam_",
         "/usr/lib64/security/pam_x.so", "/usr/lib/pam_x.so"},
        {"^/memfd:", "superset", "prefix:/memfd:", "/memfd:x (deleted)", "/memfd"},
        {"/(config|pools)\\.txt$", "superset", "base:config.txt base:pools.txt", "/a/b/pools.txt",
         "/a/pools.txt.gz"},
        {"/(\\.)?xmrig\\.json$", "superset", "base:.xmrig.json base:xmrig.json", "/x/.xmrig.json",
         "/x/a.xmrig.json"},
        {"/ld-linux[^/]*\\.so(\\.[0-9]+)*$", "superset", "base_prefix:ld-linux",
         "/lib64/ld-linux-x86-64.so.2", "/lib/ld.so"},
        {"/(python|pypy)[0-9.]*$", "superset", "base_prefix:pypy base_prefix:python",
         "/usr/bin/python3.11", "/usr/bin/perl"},
        {"/\\.[^/.][^/]*$", "superset", "base_prefix:.", "/home/u/.x/.hidden",
         "/home/u/.x/visible"},
        /* not reducible: the superset is everything (for the recipe's actions) */
        {".*", "all", "all:", "/x", NULL},
        {"shadow$", "all", "all:", "/etc/gshadow", NULL},
        {"/foo.*$", "all", "all:", "/foo/bar", NULL},              /* '.' may match '/' */
        {"/foo", "all", "all:", "/a/foo/b", NULL},                 /* the match may end anywhere */
        {"(?i)^/etc/shadow$", "all", "all:", "/etc/shadow", NULL}, /* flags */
        {"^/[a-z]+/x$", "all", "all:", "/abc/x", NULL},
        {"^/(a|b|c|d|e|f|g|h)(a|b|c|d|e|f|g|h)(a|b|c|d|e|f|g|h)$", "all", "all:", "/abc",
         NULL}, /* > 64 expansions */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "- kind: t\n  name: t%zu\n  mechanism: file_access\n  importance: low\n"
                 "  description: d\n  tactic: t\n  technique: t\n"
                 "  file_actions: open\n  bases:\n    - regex: '%s'\n",
                 i, cases[i].regex);
        struct det_interest *ii = build_yaml(yaml);
        char id[16];
        snprintf(id, sizeof(id), "t%zu", i);
        char *got = entries_text(ii);
        if (strcmp(got, cases[i].entries) != 0 ||
            strcmp(det_interest_reduced(ii, id), cases[i].reduced) != 0)
            fail_msg("%s: got %s (%s), want %s (%s)", cases[i].regex, got,
                     det_interest_reduced(ii, id), cases[i].entries, cases[i].reduced);
        for (size_t k = 0; k < det_interest_count(ii); k++)
            assert_int_equal(det_interest_entry(ii, k)->actions, MZ_FA_OPEN);
        /* sound: what the regex matches passes the set */
        struct det_regex re;
        char why[256];
        assert_int_equal(det_regex_compile(&re, cases[i].regex, why, sizeof(why)), 0);
        if (!det_regex_match(&re, cases[i].match, strlen(cases[i].match)))
            fail_msg("%s does not match %s", cases[i].regex, cases[i].match);
        if (!det_interest_match(ii, cases[i].match, MZ_FA_OPEN, NULL))
            fail_msg("%s: %s matches it but not its interest set", cases[i].regex, cases[i].match);
        if (cases[i].other) {
            assert_false(det_regex_match(&re, cases[i].other, strlen(cases[i].other)));
            if (det_interest_match(ii, cases[i].other, MZ_FA_OPEN, NULL))
                fail_msg("%s: %s passes its interest set", cases[i].regex, cases[i].other);
        }
        det_regex_free(&re);
        free(got);
        det_interest_unref(ii);
    }
}

/* Literal bases are exact; a recipe without bases falls back on a required
 * exe pattern of its arbitrary groups; an OR group needs all its items
 * reducible; non-file recipes add nothing. */
static void test_bases_and_groups(void **state)
{
    (void)state;
    struct det_interest *ii =
        build_yaml("- kind: t\n  name: lit\n  mechanism: file_access\n  importance: low\n"
                   "  description: d\n  tactic: t\n  technique: t\n"
                   "  bases:\n    - dir: /etc\n      base: passwd\n    - dir: /etc/cron.d\n"
                   "    - base: authorized_keys\n    - dir: /etc/sudoers.d\n      regex: \\.conf$\n"
                   "- kind: t\n  name: by_exe\n  mechanism: file_access\n  importance: low\n"
                   "  description: d\n  tactic: t\n  technique: t\n"
                   "  arbitrary:\n    - how: AND\n      items:\n"
                   "        - what: uid\n          number: 0\n"
                   "        - what: exe\n          pattern: ^/usr/bin/(nc|ncat)$\n"
                   "- kind: t\n  name: or_group\n  mechanism: execution\n  importance: low\n"
                   "  description: d\n  tactic: t\n  technique: t\n"
                   "  arbitrary:\n    - how: OR\n      items:\n"
                   "        - what: exe\n          pattern: ^/tmp/\n"
                   "        - what: args\n          pattern: -e\n"
                   "- kind: t\n  name: net\n  mechanism: network_peers\n  importance: low\n"
                   "  description: d\n  tactic: t\n  technique: t\n  remote_ports: [4444]\n");
    char *got = entries_text(ii);
    print_message("%s\n", got);
    assert_string_equal(det_interest_reduced(ii, "lit"), "superset"); /* the regex beside a dir */
    assert_string_equal(det_interest_reduced(ii, "by_exe"), "superset");
    assert_string_equal(det_interest_reduced(ii, "or_group"), "all"); /* args is not reducible */
    assert_string_equal(det_interest_reduced(ii, "net"), "none");
    assert_non_null(strstr(got, "path:/etc/passwd"));
    assert_non_null(strstr(got, "dir:/etc/cron.d"));
    assert_non_null(strstr(got, "base:authorized_keys"));
    assert_non_null(strstr(got, "dir:/etc/sudoers.d"));
    assert_non_null(strstr(got, "exe.path:/usr/bin/nc"));
    assert_non_null(strstr(got, "exe.path:/usr/bin/ncat"));
    assert_true(det_interest_match(ii, "/home/u/.ssh/authorized_keys", MZ_FA_WRITE, "/bin/sh"));
    assert_true(det_interest_match(ii, "/anything", MZ_FA_READ, "/usr/bin/ncat"));
    /* or_group is "all" for execve only */
    assert_true(det_interest_match(ii, "/x/y", MZ_FA_EXECVE, "/x/y"));
    assert_false(det_interest_match(ii, "/x/y", MZ_FA_READ, "/usr/bin/cat"));
    free(got);
    det_interest_unref(ii);

    ii = build_yaml("- kind: t\n  name: lit\n  mechanism: file_access\n  importance: low\n"
                    "  description: d\n  tactic: t\n  technique: t\n"
                    "  bases:\n    - dir: /etc\n      base: passwd\n");
    assert_string_equal(det_interest_reduced(ii, "lit"), "exact");
    det_interest_unref(ii);
}

/* A reload rebuilds the set (the generation moves); a reader holding the
 * old one keeps using it. */
static void test_rebuild_on_reload(void **state)
{
    (void)state;
    char dir[] = "/tmp/mizan-det-interest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/r.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("- kind: t\n  name: mine\n  mechanism: file_access\n  importance: low\n"
          "  description: d\n  tactic: t\n  technique: t\n"
          "  bases:\n    - dir: /srv/secret\n",
          f);
    fclose(f);
    struct mz_config cfg;
    char err[512];
    mz_config_defaults(&cfg);
    cfg.detect.builtin = false;
    cfg.detect.reload = false;
    cfg.detect.dirs.items[0] = mz_strdup(dir);
    cfg.detect.dirs.n = 1;
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    mz_config_free(&cfg);
    assert_non_null(e);
    uint64_t g1, g2;
    struct det_interest *old = det_engine_interest(e, &g1);
    assert_true(det_interest_match(old, "/srv/secret/k", MZ_FA_READ, NULL));
    assert_false(det_interest_match(old, "/srv/public/k", MZ_FA_READ, NULL));

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("- kind: t\n  name: mine\n  mechanism: file_access\n  importance: low\n"
          "  description: d\n  tactic: t\n  technique: t\n"
          "  bases:\n    - dir: /srv/public\n",
          f);
    fclose(f);
    assert_int_equal(det_engine_reload(e), 0);
    struct det_interest *cur = det_engine_interest(e, &g2);
    assert_int_equal(g2, g1 + 1);
    assert_true(det_interest_match(cur, "/srv/public/k", MZ_FA_READ, NULL));
    assert_false(det_interest_match(cur, "/srv/secret/k", MZ_FA_READ, NULL));
    det_engine_free(e);
    /* both still valid after the engine is gone */
    assert_true(det_interest_match(old, "/srv/secret/k", MZ_FA_READ, NULL));
    assert_true(det_interest_match(cur, "/srv/public/k", MZ_FA_READ, NULL));
    det_interest_unref(old);
    det_interest_unref(cur);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_set),       cmocka_unit_test(test_superset_of_fixtures),
        cmocka_unit_test(test_regex_reductions),  cmocka_unit_test(test_bases_and_groups),
        cmocka_unit_test(test_rebuild_on_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
