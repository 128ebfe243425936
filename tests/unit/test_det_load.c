// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_load.c - the alchemy loader: accepted forms, precise errors
 * (file:line:col: field), warnings for what mizan does not act on, and the
 * matching semantics of each field on hand-made observations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "detect/det_int.h"

struct loaded {
    struct det_recipe **rs;
    size_t n;
    struct det_diag diag;
    int rc;
};

static void load(struct loaded *l, const char *yaml)
{
    memset(l, 0, sizeof(*l));
    struct det_load_opts o = {.lists_dir = NULL, .builtin = false};
    l->rc = det_load_text("t.yaml", yaml, strlen(yaml), &o, &l->rs, &l->n, &l->diag);
}

static void unload(struct loaded *l)
{
    for (size_t i = 0; i < l->n; i++)
        det_recipe_free(l->rs[i]);
    free(l->rs);
    det_diag_free(&l->diag);
}

static bool has_msg(const struct loaded *l, bool error, const char *text)
{
    for (size_t i = 0; i < l->diag.n; i++)
        if (l->diag.is_error[i] == error && strstr(l->diag.msgs[i], text))
            return true;
    return false;
}

static void dump(const struct loaded *l)
{
    for (size_t i = 0; i < l->diag.n; i++)
        print_message("diag: %s\n", l->diag.msgs[i]);
}

#define HEADER                                                                                     \
    "- kind: k1\n"                                                                                 \
    "  name: r1\n"                                                                                 \
    "  enabled: true\n"                                                                            \
    "  version: 1.0\n"                                                                             \
    "  description: test recipe\n"                                                                 \
    "  breed: file_access\n"                                                                       \
    "  tactic: credential_access\n"                                                                \
    "  technique: os_credential_dumping\n"                                                         \
    "  subtechnique: etc_passwd_and_etc_shadow\n"                                                  \
    "  importance: high\n"

static void test_full_file_recipe(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: file_access\n"
                    "  times:\n"
                    "    - kind: times_per_proc\n"
                    "      max: 2\n"
                    "    - kind: times_per_exe\n"
                    "      max: 4\n"
                    "  arbitrary: []\n"
                    "  file_actions: open|read\n"
                    "  file_actions_how: any\n"
                    "  bases:\n"
                    "    - dir: /etc\n"
                    "      base: shadow\n"
                    "    - regex: ^/home/[^/]+/\\.ssh/id_\\w+$\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.diag.n_errors, 0);
    assert_int_equal(l.diag.n_warnings, 0);
    struct det_recipe *r = l.rs[0];
    assert_string_equal(r->id, "r1");
    assert_string_equal(r->kind, "k1");
    assert_int_equal(r->mech, DET_MECH_FILE);
    assert_int_equal(r->importance, MZ_IMP_HIGH);
    assert_int_equal(r->n_times, 2);
    assert_int_equal(r->fa_mask, MZ_FA_OPEN | MZ_FA_READ);
    assert_int_equal(r->n_bases, 2);

    struct mz_observation o = {.kind = MZ_OBS_FILE};
    o.file.path = "/etc/shadow";
    o.file.actions = MZ_FA_OPEN | MZ_FA_READ;
    assert_true(det_recipe_matches(r, &o, false));
    o.file.path = "/etc/shadow-";
    assert_false(det_recipe_matches(r, &o, false));
    o.file.path = "/home/ana/.ssh/id_ed25519";
    assert_true(det_recipe_matches(r, &o, false));
    o.file.path = "/home/ana/.ssh/id_ed25519.pub";
    assert_false(det_recipe_matches(r, &o, false));
    o.file.path = "/etc/shadow";
    o.file.actions = MZ_FA_WRITE;
    assert_false(det_recipe_matches(r, &o, false));
    o.kind = MZ_OBS_EXEC; /* a file_access recipe does not see executions */
    o.file.actions = MZ_FA_OPEN;
    assert_false(det_recipe_matches(r, &o, false));
    unload(&l);
}

static void test_errors_have_positions(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: file_access\n"
                    "  file_actions: [open, bogus]\n"
                    "  bases:\n"
                    "    - regex: /proc/([0-9]+/mem\n");
    dump(&l);
    assert_int_equal(l.rc, -EINVAL);
    assert_int_equal(l.n, 0);
    assert_true(has_msg(&l, true, "t.yaml:12:24: file_actions: unknown action \"bogus\""));
    assert_true(has_msg(&l, true, "t.yaml:14:14: bases.regex: bad regex"));
    unload(&l);

    load(&l, "- kind: x\n  mechanism: teleport\n  importance: urgent\n");
    dump(&l);
    assert_int_equal(l.rc, -EINVAL);
    assert_true(has_msg(&l, true, "t.yaml:2:14: mechanism: expected file_access"));
    assert_true(has_msg(&l, true, "t.yaml:3:15: importance: expected low"));
    unload(&l);

    load(&l, "- kind: x\n  mechanism: [oops\n");
    dump(&l);
    assert_int_equal(l.rc, -EINVAL);
    assert_true(has_msg(&l, true, "t.yaml:3:1: YAML:"));
    unload(&l);

    load(&l, "- kind: x\n  mechanism: execution\n  importance: low\n"
             "  times:\n    - kind: times_per_galaxy\n      max: 1\n");
    assert_true(has_msg(&l, true, "t.yaml:5:13: times.kind: unknown kind \"times_per_galaxy\""));
    unload(&l);

    load(&l, "- kind: dup\n  mechanism: execution\n  importance: low\n"
             "- kind: dup\n  mechanism: execution\n  importance: low\n");
    assert_int_equal(l.rc, -EINVAL);
    assert_true(has_msg(&l, true, "t.yaml:4:3: name: \"dup\" already defined at line 1"));
    unload(&l);
}

static void test_warnings_for_unsupported(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: execution\n"
                    "  colour: blue\n"
                    "  file_actions: execve\n"
                    "  arbitrary:\n"
                    "    - how: AND\n"
                    "      which: pertinent\n"
                    "      items:\n"
                    "        - what: moon_phase\n"
                    "          pattern: full\n"
                    "  bases:\n"
                    "    - base: nmap\n"
                    "  reactions:\n"
                    "    - format: js\n"
                    "      code: |\n"
                    "        function process(data) {}\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    assert_true(has_msg(&l, false, "t.yaml:12:3: colour: unsupported field ignored"));
    assert_true(has_msg(&l, false, "t.yaml:18:17: arbitrary.items.what: \"moon_phase\""));
    assert_false(has_msg(&l, false, "reactions:")); /* reactions run (reactions/) */
    assert_int_equal(l.rs[0]->n_reactions, 1);
    assert_string_equal(l.rs[0]->reactions[0].format, "js");
    unload(&l);

    load(&l, "- kind: b\n  mechanism: baseline\n  importance: low\n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 0);
    assert_true(has_msg(&l, false, "baseline is not supported"));
    unload(&l);
}

/* An exclusion by a program's name is warned about, with file:line, the
 * recipe and the field; a full path or trusted_exe is not; the user's
 * pattern still loads and matches as written (alchemy-compatible). */
static void test_warn_name_exclusions(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: file_access\n"
                    "  file_actions: open\n"
                    "  arbitrary:\n"
                    "    - how: AND\n"
                    "      which: pertinent\n"
                    "      items:\n"
                    "        - what: exe\n"
                    "          which: irrelevant\n"
                    "          pattern: /(su|cron)$\n"
                    "        - what: comm\n"
                    "          which: irrelevant\n"
                    "          pattern: ^cron$\n"
                    "        - what: parent_exe\n"
                    "          which: irrelevant\n"
                    "          pattern: ^/usr/sbin/cron$\n"
                    "        - what: trusted_exe\n"
                    "          which: irrelevant\n"
                    "          pattern: /(sudo)$\n"
                    "        - what: exe\n"
                    "          which: pertinent\n"
                    "          pattern: /(sh)$\n"
                    "  bases:\n"
                    "    - dir: /etc\n"
                    "      base: shadow\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.diag.n_errors, 0);
    assert_int_equal(l.diag.n_warnings, 2);
    assert_true(has_msg(&l, false,
                        "t.yaml:17:11: arbitrary.items.pattern: recipe r1: exclusion by exe name "
                        "only (\"/(su|cron)$\")"));
    assert_true(has_msg(&l, false,
                        "t.yaml:20:11: arbitrary.items.pattern: recipe r1: exclusion "
                        "by comm name only"));
    assert_int_equal(l.rs[0]->groups[0].n_items, 5);
    unload(&l);
}

static void test_null_fields_and_defaults(void **state)
{
    (void)state;
    struct loaded l;
    /* as jibril's own files write them: empty times/arbitrary, no enabled */
    load(&l, "- kind: reactions_block_domain\n"
             "  name: reactions_block_domain_block\n"
             "  version: 1.0\n"
             "  description: d\n"
             "  breed: remote_domains\n"
             "  mechanism: network_peers\n"
             "  tactic: example\n"
             "  technique: example\n"
             "  subtechnique: example\n"
             "  importance: high\n"
             "  times:\n"
             "  remote_domains:\n"
             "    - example.com\n"
             "  remote_domains_type: exact\n"
             "  flow_actions:\n"
             "    - egress\n"
             "    - ingress\n"
             "  flow_actions_how: any\n"
             "  arbitrary:\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    struct det_recipe *r = l.rs[0];
    assert_true(r->enabled);
    assert_string_equal(r->id, "reactions_block_domain_block");
    struct mz_observation o = {.kind = MZ_OBS_FLOW};
    o.flow.direction = MZ_DIR_EGRESS;
    o.flow.domain = "Example.COM.";
    assert_true(det_recipe_matches(r, &o, false));
    o.flow.domain = "www.example.com";
    assert_false(det_recipe_matches(r, &o, false));
    o.flow.domain = "example.com";
    o.flow.direction = MZ_DIR_UNKNOWN;
    assert_false(det_recipe_matches(r, &o, false));
    unload(&l);
}

static void test_arbitrary_semantics(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: execution\n"
                    "  arbitrary:\n"
                    "    - how: OR\n"
                    "      which: irrelevant\n"
                    "      items:\n"
                    "        - what: args\n"
                    "          which: pertinent\n"
                    "          pattern: (-m\\s+local|-nomutex)\n"
                    "    - how: AND\n"
                    "      which: pertinent\n"
                    "      items:\n"
                    "        - what: task_or_parent_exe\n"
                    "          which: irrelevant\n"
                    "          pattern: ^/usr/bin/(make|cc)$\n"
                    "        - what: uid\n"
                    "          number: 1000\n"
                    "          when: smaller\n"
                    "  file_actions: execve\n"
                    "  bases:\n"
                    "    - regex: .*\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    struct det_recipe *r = l.rs[0];
    char *anc[] = {"/usr/bin/bash"};
    struct mz_observation o = {.kind = MZ_OBS_EXEC};
    o.file.path = "/tmp/x";
    o.proc.exe = "/tmp/x";
    o.proc.args = "/tmp/x -m   local";
    o.proc.ancestry = anc;
    o.proc.n_ancestry = 1;
    o.proc.uid = 0;
    assert_true(det_recipe_matches(r, &o, false));
    o.proc.uid = 1000; /* not smaller than 1000 */
    assert_false(det_recipe_matches(r, &o, false));
    o.proc.uid = 0;
    o.proc.args = "/tmp/x -m net";
    assert_false(det_recipe_matches(r, &o, false));
    o.proc.args = "/tmp/x -nomutex";
    anc[0] = "/usr/bin/make"; /* an irrelevant parent */
    assert_false(det_recipe_matches(r, &o, false));
    unload(&l);
}

static void test_actions_how_excl_macros(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: file_access\n"
                    "  file_actions: [execve, unlink]\n"
                    "  file_actions_how: all\n"
                    "  bases:\n"
                    "    - dir: /tmp\n"
                    "- kind: k2\n  name: r2\n  mechanism: file_access\n  importance: low\n"
                    "  description: d\n  tactic: t\n  technique: t\n"
                    "  file_actions: write_related|modify_related\n"
                    "  file_actions_excl: mmap\n"
                    "  bases:\n"
                    "    - dir: /etc/sudoers.d\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 2);
    struct mz_observation o = {.kind = MZ_OBS_FILE};
    o.file.path = "/tmp/a/b";
    o.file.actions = MZ_FA_EXECVE | MZ_FA_UNLINK | MZ_FA_OPEN;
    assert_true(det_recipe_matches(l.rs[0], &o, false));
    o.file.actions = MZ_FA_EXECVE;
    assert_false(det_recipe_matches(l.rs[0], &o, false));
    o.file.path = "/tmpfoo";
    o.file.actions = MZ_FA_EXECVE | MZ_FA_UNLINK;
    assert_false(det_recipe_matches(l.rs[0], &o, false));

    o.file.path = "/etc/sudoers.d/evil";
    o.file.actions = MZ_FA_CREATE | MZ_FA_WRITE | MZ_FA_OPEN;
    assert_true(det_recipe_matches(l.rs[1], &o, false));
    o.file.actions = MZ_FA_OPEN | MZ_FA_READ;
    assert_false(det_recipe_matches(l.rs[1], &o, false));
    o.file.actions = MZ_FA_WRITE | MZ_FA_MMAP;
    assert_false(det_recipe_matches(l.rs[1], &o, false));
    unload(&l);
}

static void test_network_fields(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: network_peers\n"
                    "  protocol: tcp\n"
                    "  remote_cidrs:\n"
                    "    - 169.254.169.254/32\n"
                    "    - fd00:ec2::254/128\n"
                    "  remote_port: 80\n"
                    "  flow_actions: [created, egress]\n"
                    "  flow_actions_how: all\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    struct det_recipe *r = l.rs[0];
    struct mz_observation o = {.kind = MZ_OBS_FLOW};
    o.flow.proto = 6;
    o.flow.remote_port = 80;
    o.flow.direction = MZ_DIR_EGRESS;
    o.flow.actions = MZ_FL_CONNECT;
    snprintf(o.flow.remote_addr, sizeof(o.flow.remote_addr), "169.254.169.254");
    assert_true(det_recipe_matches(r, &o, false));
    snprintf(o.flow.remote_addr, sizeof(o.flow.remote_addr), "::ffff:169.254.169.254");
    assert_true(det_recipe_matches(r, &o, false));
    snprintf(o.flow.remote_addr, sizeof(o.flow.remote_addr), "169.254.169.253");
    assert_false(det_recipe_matches(r, &o, false));
    snprintf(o.flow.remote_addr, sizeof(o.flow.remote_addr), "fd00:ec2::254");
    assert_true(det_recipe_matches(r, &o, false));
    o.flow.direction = MZ_DIR_INGRESS;
    assert_false(det_recipe_matches(r, &o, false));
    o.flow.direction = MZ_DIR_EGRESS;
    o.flow.proto = 17;
    assert_false(det_recipe_matches(r, &o, false));
    unload(&l);
}

static void test_domain_score(void **state)
{
    (void)state;
    const char *benign[] = {"www.wikipedia.org",
                            "kubernetes.io",
                            "deb.debian.org",
                            "github.com",
                            "security.ubuntu.com",
                            "login.microsoftonline.com",
                            "fonts.googleapis.com",
                            "registry.npmjs.org",
                            "d3ahfk1x2r8fzr.cloudfront.net",
                            "ec2-3-5-1-2.compute-1.amazonaws.com"};
    const char *dga[] = {"xjw3kq9zp2lm.com", "qzxkvbwtrpln.net", "a8f3k29dkq0v7x.info",
                         "kdjfhqwpzxmvbn.ru", "www.xjw3kq9zp2lm.co.uk"};
    for (size_t i = 0; i < sizeof(benign) / sizeof(*benign); i++) {
        double s = det_domain_score(benign[i]);
        print_message("%s %.2f\n", benign[i], s);
        assert_true(s < 0.5);
    }
    for (size_t i = 0; i < sizeof(dga) / sizeof(*dga); i++) {
        double s = det_domain_score(dga[i]);
        print_message("%s %.2f\n", dga[i], s);
        assert_true(s >= 0.6);
    }
}

/* Found by fuzz_recipes: repeated keys inside an item leaked the first value. */
static void test_repeated_item_keys(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "- kind: x\n  mechanism: execution\n  importance: low\n"
             "  arbitrary:\n    - items:\n        - what: args\n          pattern: a+\n"
             "          pattern: b+\n          numbers: [1]\n          numbers: [2]\n");
    assert_int_equal(l.rc, -EINVAL);
    assert_true(has_msg(&l, true, "needs exactly one of pattern"));
    unload(&l);
}

/* Jibril's ancient_exe: any ancestor's executable (not the process's own). */
static void test_ancient_exe(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: file_access\n"
                    "  arbitrary:\n"
                    "    - how: AND\n"
                    "      which: pertinent\n"
                    "      items:\n"
                    "        - what: ancient_exe\n"
                    "          which: irrelevant\n"
                    "          pattern: ^/usr/bin/(dpkg|apt-get)$\n"
                    "  file_actions:\n"
                    "    - modify_related\n"
                    "  file_actions_how: any\n"
                    "  bases:\n"
                    "    - base: ld.so.preload\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.diag.n_warnings, 0);
    struct det_recipe *r = l.rs[0];
    assert_int_equal(r->n_groups, 1);
    assert_int_equal(r->groups[0].n_items, 1);
    assert_int_equal(r->groups[0].items[0].what, DET_WHAT_ANCESTRY);
    char *anc[] = {"/usr/bin/bash", "/usr/sbin/sshd", "/usr/lib/systemd/systemd"};
    struct mz_observation o = {.kind = MZ_OBS_FILE};
    o.file.path = "/etc/ld.so.preload";
    o.file.actions = MZ_FA_WRITE | MZ_FA_OPEN;
    o.proc.exe = "/usr/bin/tee";
    o.proc.ancestry = anc;
    o.proc.n_ancestry = 3;
    assert_true(det_recipe_matches(r, &o, false));
    anc[1] = "/usr/bin/apt-get"; /* a grandparent is the package manager */
    assert_false(det_recipe_matches(r, &o, false));
    anc[1] = "/usr/sbin/sshd";
    anc[2] = "/usr/bin/dpkg"; /* any depth */
    assert_false(det_recipe_matches(r, &o, false));
    anc[2] = "/usr/lib/systemd/systemd";
    o.proc.exe = "/usr/bin/dpkg"; /* the process itself is not an ancestor */
    assert_true(det_recipe_matches(r, &o, false));
    o.proc.n_ancestry = 0; /* no known ancestor: nothing matches the irrelevant item */
    assert_true(det_recipe_matches(r, &o, false));
    unload(&l);
}

/* What mizan reads differently from the text is a warning with file:line,
 * saying how the meaning changes. */
static void test_changes_of_meaning_warned(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, HEADER "  mechanism: execution\n"
                    "  times:\n"
                    "    - kind: times_per_exe\n"
                    "      max: 4\n"
                    "    - kind: times_per_exe\n"
                    "      max: 2\n"
                    "  arbitrary:\n"
                    "    - how: OR\n"
                    "      which: pertinent\n"
                    "      items:\n"
                    "        - what: moon_phase\n"
                    "          pattern: full\n"
                    "        - what: exe\n"
                    "          number: 5\n"
                    "        - what: args\n"
                    "          pattern: -x\n"
                    "          when: bigger\n"
                    "  file_actions: execve\n"
                    "  bases:\n"
                    "    - base: nmap\n");
    dump(&l);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 1);
    assert_true(has_msg(&l, false,
                        "t.yaml:15:7: times: a second times_per_exe limit; the tighter "
                        "one (max 2) applies"));
    assert_int_equal(l.rs[0]->n_times, 1);
    assert_int_equal(l.rs[0]->times[0].max, 2);
    assert_true(has_msg(&l, false,
                        "t.yaml:21:17: arbitrary.items.what: \"moon_phase\" is not supported by "
                        "mizan; item ignored, so the recipe matches differently: its OR group"));
    assert_true(has_msg(&l, false, "t.yaml:23:11: arbitrary.items: \"exe\" is text"));
    assert_true(has_msg(&l, false, "t.yaml:25:11: arbitrary.items.when: applies to number"));
    unload(&l);
}

/* Inline flags change what a literal means: the prefilter must not make a
 * case-insensitive pattern case-sensitive. */
static void test_regex_inline_flags(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"(?i)stratum\\+(tcp|ssl)://", "x STRATUM+TCP://pool:3333"},
        {"(?i)^/etc/shadow$", "/ETC/Shadow"},
        {"(?x) /etc/ shadow", "/etc/shadow"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct det_regex re;
        char why[256];
        assert_int_equal(det_regex_compile(&re, cases[i][0], why, sizeof(why)), 0);
        if (!det_regex_match(&re, cases[i][1], strlen(cases[i][1])))
            fail_msg("%s should match %s", cases[i][0], cases[i][1]);
        det_regex_free(&re);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file_recipe),
        cmocka_unit_test(test_errors_have_positions),
        cmocka_unit_test(test_warnings_for_unsupported),
        cmocka_unit_test(test_warn_name_exclusions),
        cmocka_unit_test(test_null_fields_and_defaults),
        cmocka_unit_test(test_arbitrary_semantics),
        cmocka_unit_test(test_actions_how_excl_macros),
        cmocka_unit_test(test_network_fields),
        cmocka_unit_test(test_domain_score),
        cmocka_unit_test(test_repeated_item_keys),
        cmocka_unit_test(test_ancient_exe),
        cmocka_unit_test(test_changes_of_meaning_warned),
        cmocka_unit_test(test_regex_inline_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
