// SPDX-License-Identifier: Apache-2.0
/*
 * col_interest.c - loads detect's interest set (detect/det_interest.h) into
 * the kernel's LPM trie (bpf/helpers/interest.h, mizan_maps.h struct
 * mz_interest_key) and reads back the per-task aggregates.
 *
 * The set is a few hundred entries, rebuilt on a recipe reload: the loader
 * recomputes every key and rewrites the trie (new keys first, then the stale
 * ones out), which costs a few hundred syscalls per reload.
 */
#include "collector/col_interest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf/mizan_maps.h"
#include "core/log.h"
#include "core/util.h"
#include "detect/det_interest.h"

struct col_interest {
    int fd_trie, fd_cfg, fd_aggr;
    uint64_t generation;
};

/* The bytes of one entry: tag, string, then NUL (whole), '/' (directory) or
 * nothing (prefix); "all" is the tag alone. */
static void entry_key(const struct det_interest_entry *e, struct col_interest_key *k)
{
    bool exe = e->on == DET_INTEREST_ON_EXE;
    bool base = e->kind == DET_INTEREST_BASE || e->kind == DET_INTEREST_BASE_PREFIX;
    k->data[0] = base ? (exe ? MZ_INTEREST_TAG_EXEB : MZ_INTEREST_TAG_BASE)
                      : (exe ? MZ_INTEREST_TAG_EXE : MZ_INTEREST_TAG_PATH);
    size_t n = 1;
    const char *s = e->s ? e->s : "";
    size_t sl = strlen(s);
    /* a directory "/" (or "") is every path */
    bool all = e->kind == DET_INTEREST_ALL ||
               (e->kind == DET_INTEREST_DIR && (sl == 0 || strcmp(s, "/") == 0));
    if (!all) {
        if (e->kind == DET_INTEREST_DIR && sl && s[sl - 1] == '/')
            sl--;
        size_t take = sl < sizeof(k->data) - 1 ? sl : sizeof(k->data) - 1;
        memcpy(k->data + 1, s, take);
        n += take;
        /* the terminator, when it fits (cut: a prefix, a superset) */
        if (take == sl && n < sizeof(k->data)) {
            if (e->kind == DET_INTEREST_PATH || e->kind == DET_INTEREST_BASE)
                k->data[n++] = 0;
            else if (e->kind == DET_INTEREST_DIR)
                k->data[n++] = '/';
        }
    }
    k->len = (uint32_t)n;
    k->actions = e->actions ? e->actions : UINT32_MAX;
    /* one whole file path, not cut: a flood cannot multiply its records */
    bool whole = !all && !exe && e->kind == DET_INTEREST_PATH && n >= 2 && k->data[n - 1] == 0;
    k->exact = whole ? k->actions : 0;
}

static bool key_starts(const struct col_interest_key *k, const struct col_interest_key *pre)
{
    return pre->len <= k->len && memcmp(k->data, pre->data, pre->len) == 0;
}

size_t col_interest_keys(const struct det_interest *ii, struct col_interest_key *out, size_t cap)
{
    size_t n = 0, total = ii ? det_interest_count(ii) : 0;
    struct col_interest_key *all = total ? mz_calloc(total, sizeof(*all)) : NULL;
    for (size_t i = 0; i < total; i++) {
        struct col_interest_key k;
        memset(&k, 0, sizeof(k));
        entry_key(det_interest_entry(ii, i), &k);
        size_t j;
        for (j = 0; j < n; j++)
            if (all[j].len == k.len && memcmp(all[j].data, k.data, k.len) == 0)
                break;
        if (j < n) {
            all[j].actions |= k.actions;
            all[j].exact |= k.exact;
        } else
            all[n++] = k;
    }
    /* the longest match answers for every shorter key it starts with */
    for (size_t i = 0; i < n; i++) {
        uint32_t acts = all[i].actions;
        for (size_t j = 0; j < n; j++)
            if (j != i && key_starts(&all[i], &all[j]))
                acts |= all[j].actions;
        if (i < cap) {
            out[i] = all[i];
            out[i].actions = acts;
        }
    }
    free(all);
    return n;
}

struct col_interest *col_interest_new(int fd_trie, int fd_cfg, int fd_aggr)
{
    if (fd_trie < 0 || fd_cfg < 0 || fd_aggr < 0)
        return NULL;
    struct col_interest *ci = mz_calloc(1, sizeof(*ci));
    ci->fd_trie = fd_trie;
    ci->fd_cfg = fd_cfg;
    ci->fd_aggr = fd_aggr;
    return ci;
}

static void to_bpf(const struct col_interest_key *k, struct mz_interest_key *bk)
{
    memset(bk, 0, sizeof(*bk));
    bk->prefixlen = 8 * k->len;
    memcpy(bk->data, k->data, k->len);
}

static bool in_set(const struct mz_interest_key *bk, const struct col_interest_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (8 * keys[i].len == bk->prefixlen && memcmp(keys[i].data, bk->data, keys[i].len) == 0)
            return true;
    return false;
}

int col_interest_load(struct col_interest *ci, const struct det_interest *ii, uint64_t generation)
{
    if (!ci)
        return -EINVAL;
    /* deduplicated keys are at most as many as the entries: one pass */
    size_t cap = ii ? det_interest_count(ii) : 0;
    struct col_interest_key *keys = cap ? mz_calloc(cap, sizeof(*keys)) : NULL;
    size_t n = col_interest_keys(ii, keys, cap);
    int err = 0;
    struct mz_interest_key bk;
    for (size_t i = 0; i < n; i++) {
        to_bpf(&keys[i], &bk);
        struct mz_interest_val v = {.actions = keys[i].actions, .exact = keys[i].exact};
        if (bpf_map_update_elem(ci->fd_trie, &bk, &v, BPF_ANY) < 0) {
            err = -errno;
            log_warn("collector: interest: cannot add a key to the kernel's set: %s (the set "
                     "stays as it was)",
                     strerror(errno));
            goto out;
        }
    }
    /* the stale keys out (the trie's order changes as keys leave: start over
     * after each delete; a few hundred keys) */
    struct mz_interest_key cur, next;
    bool first = true;
    for (;;) {
        int r = first ? bpf_map_get_next_key(ci->fd_trie, NULL, &next)
                      : bpf_map_get_next_key(ci->fd_trie, &cur, &next);
        if (r < 0)
            break;
        first = false;
        cur = next;
        if (!in_set(&cur, keys, n)) {
            (void)bpf_map_delete_elem(ci->fd_trie, &cur);
            first = true;
        }
    }
    bool exe = false;
    for (size_t i = 0; i < n; i++)
        if (keys[i].data[0] == MZ_INTEREST_TAG_EXE || keys[i].data[0] == MZ_INTEREST_TAG_EXEB)
            exe = true;
    struct mz_interest_cfg cfg = {.loaded = ii ? 1 : 0, .exe = exe, .generation = generation};
    uint32_t zero = 0;
    if (bpf_map_update_elem(ci->fd_cfg, &zero, &cfg, BPF_ANY) < 0) {
        err = -errno;
        log_warn("collector: interest: cannot mark the set loaded: %s", strerror(errno));
        goto out;
    }
    ci->generation = generation;
    log_info("collector: interest: %zu keys in the kernel's set (generation %llu)%s", n,
             (unsigned long long)generation, exe ? ", with exes" : "");
out:
    free(keys);
    return err;
}

uint64_t col_interest_generation(const struct col_interest *ci)
{
    return ci ? ci->generation : 0;
}

int col_interest_drain(struct col_interest *ci, col_aggr_fn fn, void *arg)
{
    if (!ci)
        return 0;
    int n = 0;
    uint64_t key;
    struct mz_aggr_val v;
    /* the map is small (4096) and holds entries only under pressure */
    for (int guard = 0; guard < 65536; guard++) {
        if (bpf_map_get_next_key(ci->fd_aggr, NULL, &key) < 0)
            break;
        if (bpf_map_lookup_and_delete_elem(ci->fd_aggr, &key, &v) < 0)
            break;
        if (!v.count)
            continue; /* only a budget (pressure_budget): nothing aggregated */
        if (fn)
            fn(key, &v, arg);
        n++;
    }
    return n;
}

void col_interest_free(struct col_interest *ci)
{
    free(ci);
}
