// SPDX-License-Identifier: Apache-2.0
/*
 * test_col_interest.c - the keys the collector loads into the kernel's
 * interest trie (collector/col_interest.c), checked through an emulation
 * of what the kernel does with them (bpf/helpers/interest.h: the longest
 * key that starts the tagged path, then the basename's): every positive
 * fixture of a built-in file recipe passes them (the kernel's set is never
 * narrower than the recipes), a flood under /dev/shm does not, the union of
 * actions along a prefix chain, and paths and entries longer than the trie's
 * key are cut into a superset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bpf/mizan_abi.h"
#include "bpf/mizan_maps.h"
#include "collector/col_interest.h"
#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "detect/det_int.h"
#include "detect/det_interest.h"
#include "detect/detect.h"
#include "tests/support/recipe_fixtures.h"

struct keys {
    struct col_interest_key *k;
    size_t n;
};

static void keys_of(const struct det_interest *ii, struct keys *out)
{
    out->n = col_interest_keys(ii, NULL, 0);
    out->k = calloc(out->n ? out->n : 1, sizeof(*out->k));
    assert_int_equal(col_interest_keys(ii, out->k, out->n), out->n);
}

/* The longest key that starts tag + s (its NUL included, cut at the key
 * size), as the trie finds it, or NULL. */
static const struct col_interest_key *longest(const struct keys *ks, uint8_t tag, const char *s)
{
    uint8_t q[MZ_INTEREST_DATA];
    size_t n = strlen(s) + 1;
    if (n > MZ_INTEREST_DATA - 1)
        n = MZ_INTEREST_DATA - 1;
    q[0] = tag;
    memcpy(q + 1, s, n);
    const struct col_interest_key *best = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        const struct col_interest_key *k = &ks->k[i];
        if (k->len <= n + 1 && (!best || k->len > best->len) && memcmp(k->data, q, k->len) == 0)
            best = k;
    }
    return best;
}

/* The trie's answer for tag + s (its NUL included, cut at the key size):
 * the actions of the longest key that starts it, 0 when none. */
static uint32_t lookup(const struct keys *ks, uint8_t tag, const char *s)
{
    const struct col_interest_key *k = longest(ks, tag, s);
    return k ? k->actions : 0;
}

/* What mz_admit decides for a file record when the ring is past half. */
static bool kernel_interesting(const struct keys *ks, const char *path, uint32_t actions)
{
    if (lookup(ks, MZ_INTEREST_TAG_PATH, path) & actions)
        return true;
    const char *b = strrchr(path, '/');
    return (lookup(ks, MZ_INTEREST_TAG_BASE, b ? b + 1 : path) & actions) != 0;
}

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

static void test_builtin_keys(void **state)
{
    (void)state;
    struct det_engine *e = builtin_engine();
    assert_non_null(e);
    struct det_interest *ii = det_engine_interest(e, NULL);
    struct keys ks;
    keys_of(ii, &ks);
    assert_true(ks.n > 100);
    assert_true(kernel_interesting(&ks, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ));
    /* the open flood of tests/cli/test_live_flood_open.sh */
    assert_false(kernel_interesting(&ks, "/dev/shm/mizan-flood.Ab12/d003/f0042",
                                    MZ_FA_OPEN | MZ_FA_READ | MZ_FA_CREATE));
    assert_false(kernel_interesting(&ks, "/tmp/mizan-col-x/loss/f0001", MZ_FA_OPEN | MZ_FA_READ));
    /* a library mapped executable from /tmp is */
    assert_true(kernel_interesting(&ks, "/tmp/x/evil.so", MZ_FA_MMAP));
    /* a basename entry (a miner's config) anywhere */
    assert_true(kernel_interesting(&ks, "/srv/a/b/pools.txt", MZ_FA_CREATE));
    /* "every path" recipes (exec, unlink): the longest key under /etc/cron.d
     * answers for them too */
    assert_true(kernel_interesting(&ks, "/etc/cron.d/job", MZ_FA_EXECVE));
    assert_true(kernel_interesting(&ks, "/dev/shm/x", MZ_FA_UNLINK));
    /* the same answer as the reference matcher on these */
    assert_true(det_interest_match(ii, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ, NULL));
    free(ks.k);
    det_interest_unref(ii);
    det_engine_free(e);
}

/* Every positive fixture observation of a built-in file recipe passes the
 * kernel's keys. */
struct superset_ctx {
    struct det_set *set;
    const struct keys *ks;
    int checked;
};

static void superset_one(const struct mz_observation *o, void *arg)
{
    struct superset_ctx *x = arg;
    struct det_recipe *hits[4096];
    if (o->kind != MZ_OBS_FILE || !o->file.path ||
        !det_set_match(x->set, o, true, false, hits, 4096))
        return;
    if (!kernel_interesting(x->ks, o->file.path, o->file.actions) &&
        !(o->file.path2 && kernel_interesting(x->ks, o->file.path2, o->file.actions)))
        fail_msg("%s (actions %#x) matches %s but the kernel's keys miss it", o->file.path,
                 o->file.actions, hits[0]->id);
    x->checked++;
}

static void test_superset_of_fixtures(void **state)
{
    (void)state;
    struct det_engine *e = builtin_engine();
    assert_non_null(e);
    struct det_interest *ii = det_engine_interest(e, NULL);
    struct keys ks;
    keys_of(ii, &ks);
    struct superset_ctx x = {det_engine_set(e), &ks, 0};
    assert_true(recipe_fixtures_each(superset_one, &x) > 0);
    print_message("%d fixture observations checked\n", x.checked);
    assert_true(x.checked > 50);
    free(ks.k);
    det_interest_unref(ii);
    det_engine_free(e);
}

static struct det_interest *build_yaml(const char *yaml)
{
    struct det_recipe **rs = NULL;
    size_t n = 0;
    struct det_diag d = {0};
    struct det_load_opts o = {0};
    int rc = det_load_text("t.yaml", yaml, strlen(yaml), &o, &rs, &n, &d);
    det_diag_free(&d);
    assert_int_equal(rc, 0);
    struct det_set *s = det_set_new(rs, n);
    struct det_interest *ii = det_interest_build(s);
    det_set_free(s);
    return ii;
}

/* A user recipe on a 300-byte path: the key is cut (a prefix, so a
 * superset), and the path still passes; a sibling with the same first 255
 * bytes passes too (the cost of the cut), an unrelated one does not. */
static void test_long_paths(void **state)
{
    (void)state;
    char dir[251], base[50], longp[301];
    memset(dir, 'a', 250);
    dir[0] = '/';
    dir[250] = 0;
    memset(base, 'b', 49);
    base[49] = 0;
    snprintf(longp, sizeof(longp), "%s/%s", dir, base);
    assert_int_equal(strlen(longp), 300);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "- kind: t\n  name: long\n  mechanism: file_access\n  importance: low\n"
             "  description: d\n  tactic: t\n  technique: t\n"
             "  bases:\n    - dir: %s\n      base: %s\n",
             dir, base);
    struct det_interest *ii = build_yaml(yaml);
    assert_non_null(ii);
    struct keys ks;
    keys_of(ii, &ks);
    assert_true(ks.n >= 1);
    bool cut = false;
    for (size_t i = 0; i < ks.n; i++)
        if (ks.k[i].len == MZ_INTEREST_DATA)
            cut = true;
    assert_true(cut);
    assert_true(kernel_interesting(&ks, longp, MZ_FA_OPEN | MZ_FA_READ));
    char sib[301];
    memcpy(sib, longp, sizeof(sib));
    sib[290] = 'c';
    assert_true(kernel_interesting(&ks, sib, MZ_FA_OPEN | MZ_FA_READ));
    assert_false(kernel_interesting(&ks, "/aaaa", MZ_FA_OPEN | MZ_FA_READ));
    free(ks.k);
    det_interest_unref(ii);
}

/* The ring's last tier (bpf/helpers/interest.h) is for paths a recipe
 * names exactly: /etc/shadow's key carries its read as exact; a path under
 * a watched directory (/home), a basename or a cut key never does, so a
 * flood of those gets only a task's budget. */
static void test_exact_tier(void **state)
{
    (void)state;
    struct det_engine *e = builtin_engine();
    assert_non_null(e);
    struct det_interest *ii = det_engine_interest(e, NULL);
    struct keys ks;
    keys_of(ii, &ks);
    const struct col_interest_key *k = longest(&ks, MZ_INTEREST_TAG_PATH, "/etc/shadow");
    assert_non_null(k);
    assert_true(k->exact & MZ_FA_READ);
    assert_true(k->actions & MZ_FA_READ);
    k = longest(&ks, MZ_INTEREST_TAG_PATH, "/home/mallory/flood/f000123");
    assert_non_null(k); /* interesting (credential patterns under /home) */
    assert_true(k->actions & MZ_FA_OPEN);
    assert_int_equal(k->exact, 0);
    k = longest(&ks, MZ_INTEREST_TAG_PATH, "/etc/shadowX");
    assert_true(!k || !(k->exact & MZ_FA_READ));
    for (size_t i = 0; i < ks.n; i++)
        if (ks.k[i].exact) {
            assert_int_equal(ks.k[i].data[0], MZ_INTEREST_TAG_PATH);
            assert_int_equal(ks.k[i].data[ks.k[i].len - 1], 0);
            assert_true(ks.k[i].len < MZ_INTEREST_DATA);
        }
    free(ks.k);
    det_interest_unref(ii);
    det_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_keys),
        cmocka_unit_test(test_superset_of_fixtures),
        cmocka_unit_test(test_long_paths),
        cmocka_unit_test(test_exact_tier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
