/* SPDX-License-Identifier: GPL-2.0 */
/*
 * interest.h - interesting records are protected: whether a new file link
 * may take the overflow ring's last half when its map is full, and the
 * per-task aggregate of those that may not.
 *
 * The interest set (map "interest", filled by collector/col_interest.c from
 * the loaded recipes, detect/det_interest.c) holds what any recipe could
 * alert on, as tagged prefixes (mizan_maps.h, struct mz_interest_key). A
 * link record goes into its map while there is room, interesting or not;
 * when the map is full it goes to the overflow ring, as every record does,
 * while the ring is less than half full. Past that, only a record the set
 * calls interesting may go there: the ring's second half is room a flood of
 * other records cannot take. One that is not interesting is not made: it is
 * counted in aggregated[map] (never a loss: no loaded recipe could alert on
 * it) and summed per task in "aggregates" (how many, which actions, when),
 * which the collector reports. Until the collector loads a set
 * (interest_cfg.loaded), every record is interesting.
 *
 * An interesting record is not always a bounded one: a directory, a prefix
 * or a basename (or an exe) that a recipe names lets a process flood the
 * ring with records of its own making (a million files under its home,
 * which a /home/.../credentials pattern makes interesting). So the ring's
 * second half has tiers: a record whose path is one a recipe names exactly
 * may take all of it (a task has one link per path: no flood multiplies
 * those); any other interesting record may take it up to seven eighths, and
 * only MZ_PRESSURE_BUDGET of them per task between two of the collector's
 * drains of "aggregates" (each scan). The rest are aggregated too, and the
 * task gets a tamper record (MZ_TAMPER_RECORD_FLOOD): a flood hides nothing
 * without being named.
 *
 * The test costs nothing while the ring has room (two ring queries per new
 * link); under pressure, one or two LPM lookups per path (whole path, then
 * basename), the exe's when the set names exes, and the task's budget.
 */
#ifndef MIZAN_BPF_HELPERS_INTEREST_H
#define MIZAN_BPF_HELPERS_INTEREST_H

/* Which scratch buffer interest_of reads: s->file, s->file2 or s->rel. */
#define INTEREST_FILE  0
#define INTEREST_FILE2 1
#define INTEREST_REL   2

/* Whether the NUL-terminated path of length len in the scratch buffer which
 * passes the set under tags (tagf: the whole path, tagb: its basename) for
 * one of actions: 2 as a path a recipe names exactly (only for tagf
 * MZ_INTEREST_TAG_PATH: its exact actions), 1 otherwise, 0 not at all. */
static __always_inline int interest_of(struct scratch *s, __u32 which, __u32 len, __u8 tagf,
                                       __u8 tagb, __u32 actions)
{
    char *buf = which == INTEREST_FILE2 ? s->file2.path
                : which == INTEREST_REL ? s->rel
                                        : s->file.path;
    struct mz_interest_key *k = &s->ikey;
    len &= PATH_MASK;
    __u32 n = len + 1; /* with its NUL */
    if (n > MZ_INTEREST_DATA - 1)
        n = MZ_INTEREST_DATA - 1;
    k->data[0] = tagf;
    asm volatile("" : "+r"(n));
    n &= MZ_INTEREST_DATA - 1;
    bpf_probe_read_kernel(&k->data[1], n, buf);
    k->prefixlen = 8 * (n + 1);
    struct mz_interest_val *v = bpf_map_lookup_elem(&interest, k);
    if (v && (v->exact & actions))
        return 2;
    if (v && (v->actions & actions))
        return 1;

    /* the basename: after the last '/' */
    __u32 b = 0;
    for (__u32 i = 0; i < MZ_INTEREST_DATA; i++) {
        if (i >= len)
            break;
        __u32 j = len - 1 - i;
        if (buf[j & PATH_MASK] == '/') {
            b = j + 1;
            break;
        }
    }
    n = b < len ? len - b + 1 : 1;
    if (n > MZ_INTEREST_DATA - 1)
        n = MZ_INTEREST_DATA - 1;
    k->data[0] = tagb;
    asm volatile("" : "+r"(n)); /* keep the mask below: the verifier needs it */
    n &= MZ_INTEREST_DATA - 1;
    bpf_probe_read_kernel(&k->data[1], n, &buf[b & PATH_MASK]);
    k->prefixlen = 8 * (n + 1);
    v = bpf_map_lookup_elem(&interest, k);
    return v && (v->actions & actions) ? 1 : 0;
}

/* The exe path of the current task (its task record's exe key) into s->rel;
 * its length, or -1 when unknown. */
static __always_inline int exe_into_rel(struct scratch *s)
{
    __u64 tk = current_task_key();
    struct mz_task_val *t = bpf_map_lookup_elem(&tasks, &tk);
    if (!t || !t->exe_key)
        return -1;
    __u64 ek = t->exe_key;
    struct mz_file_small *fs = bpf_map_lookup_elem(&files, &ek);
    if (fs) {
        bpf_probe_read_kernel(s->rel, sizeof(fs->path), fs->path);
        s->rel[MZ_BPF_PATH_SMALL - 1] = 0;
        return fs->len & (MZ_BPF_PATH_SMALL - 1);
    }
    struct mz_file_val *fl = bpf_map_lookup_elem(&files_long, &ek);
    if (!fl)
        return -1;
    bpf_probe_read_kernel(s->rel, sizeof(s->rel), fl->path);
    s->rel[MZ_BPF_PATH_MAX - 1] = 0;
    return fl->len & PATH_MASK;
}

/* The aggregate of task *tk, made from init when it has none: the entry
 * (NULL when "aggregates" is full), or NULL with *made set when init went
 * in (init then already holds this call's share). Another CPU's entry made
 * meanwhile is found. */
static __always_inline struct mz_aggr_val *aggr_get(__u64 *tk, const struct mz_aggr_val *init,
                                                    bool *made)
{
    *made = false;
    struct mz_aggr_val *a = bpf_map_lookup_elem(&aggregates, tk);
    if (a)
        return a;
    long err = bpf_map_update_elem(&aggregates, tk, init, BPF_NOEXIST);
    if (err == 0) {
        *made = true;
        return NULL;
    }
    if (err != -17 /* EEXIST */)
        return NULL;
    return bpf_map_lookup_elem(&aggregates, tk);
}

/* Whether the current task may still put a record that is interesting but
 * not exactly named into the ring's second half: its budget
 * (MZ_PRESSURE_BUDGET since the collector last drained its aggregate).
 * When "aggregates" is full, the budget cannot be kept: it may. */
static __always_inline int pressure_budget(void)
{
    __u64 tk = current_task_key();
    struct mz_aggr_val v = {};
    v.admitted = 1;
    v.tgid = bpf_get_current_pid_tgid() >> 32;
    bool made;
    struct mz_aggr_val *a = aggr_get(&tk, &v, &made);
    if (made || !a)
        return 1;
    if (a->admitted >= MZ_PRESSURE_BUDGET)
        return 0;
    __sync_fetch_and_add(&a->admitted, 1);
    return 1;
}

/* Whether a new link of actions on s->file (and s->file2 when two) may go
 * to the overflow ring if its map is full: 1 while the ring is less than
 * half full, or when no set is loaded; past half, when the record is
 * interesting, by the tiers above; 0: aggregate it instead (s->flooded set
 * when it was interesting). */
__noinline int mz_admit(struct scratch *s, __u32 actions, __u32 two)
{
    if (!s)
        return 1;
    s->flooded = 0;
    __u64 size = bpf_ringbuf_query(&overflow, BPF_RB_RING_SIZE);
    __u64 used = bpf_ringbuf_query(&overflow, BPF_RB_AVAIL_DATA);
    if (used < size / 2)
        return 1;
    __u32 zero = 0;
    struct mz_interest_cfg *cfg = bpf_map_lookup_elem(&interest_cfg, &zero);
    if (!cfg || !cfg->loaded)
        return 1;
    int m = interest_of(s, INTEREST_FILE, s->file.len, MZ_INTEREST_TAG_PATH, MZ_INTEREST_TAG_BASE,
                        actions);
    if (two && m < 2) {
        int m2 = interest_of(s, INTEREST_FILE2, s->file2.len, MZ_INTEREST_TAG_PATH,
                             MZ_INTEREST_TAG_BASE, actions);
        if (m2 > m)
            m = m2;
    }
    if (m == 2)
        return 1;
    if (!m && cfg->exe) {
        int el = exe_into_rel(s);
        /* an unknown exe could be any: interesting */
        if (el < 0 || interest_of(s, INTEREST_REL, (__u32)el, MZ_INTEREST_TAG_EXE,
                                  MZ_INTEREST_TAG_EXEB, actions))
            m = 1;
    }
    if (!m)
        return 0;
    if (used < size - size / 8 && pressure_budget())
        return 1;
    s->flooded = 1;
    return 0;
}

/* A link of actions by task_key that was not made (mz_admit said 0 and its
 * map was full): counted in aggregated[map] by the store, summed here per
 * task. When "aggregates" is full too, the count stays in the counters
 * only. */
__noinline int mz_aggregate(__u64 task_key, __u32 actions)
{
    __u64 now = bpf_ktime_get_boot_ns();
    struct mz_aggr_val v = {};
    v.count = 1;
    v.first_ns = now;
    v.last_ns = now;
    v.actions = actions;
    v.tgid = bpf_get_current_pid_tgid() >> 32;
    bool made;
    struct mz_aggr_val *a = aggr_get(&task_key, &v, &made);
    if (made || !a)
        return 0;
    __sync_fetch_and_add(&a->count, 1);
    if (!a->first_ns)
        a->first_ns = now; /* made by pressure_budget */
    a->last_ns = now;
    if ((a->actions & actions) != actions)
        a->actions |= actions; /* racy between CPUs: a bit of a summary */
    return 0;
}

#endif
