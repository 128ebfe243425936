/* SPDX-License-Identifier: GPL-2.0 */
/*
 * base.h - counters, generations and the scratch: what every other helper
 * uses.
 */
#ifndef MIZAN_BPF_HELPERS_BASE_H
#define MIZAN_BPF_HELPERS_BASE_H

/* Whether the current task is mizan: its tgid, then (only when the tgid
 * matches) its start time. */
static __always_inline int is_mizan(__u32 tgid)
{
    if (tgid != mizan_tgid)
        return 0;
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    __u64 start = BPF_CORE_READ(t, group_leader, start_boottime);
    return start >= mizan_start_lo && start < mizan_start_hi;
}

static __always_inline struct mz_counters *ctr(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count_created(__u32 map, __u32 gen)
{
    struct mz_counters *c = ctr();
    if (c && map < MZ_MAP_COUNT)
        __sync_fetch_and_add(&c->created[map][gen & (MZ_GEN_SLOTS - 1)], 1);
}

/* One of the per-map counters of mz_counters (overflowed, lost_full, ...). */
#define COUNT_MAP(field, map)                                                                      \
    do {                                                                                           \
        struct mz_counters *c_ = ctr();                                                            \
        if (c_ && (map) < MZ_MAP_COUNT)                                                            \
            __sync_fetch_and_add(&c_->field[(map)], 1);                                            \
    } while (0)

static __always_inline void count_truncated(void)
{
    struct mz_counters *c = ctr();
    if (c)
        __sync_fetch_and_add(&c->truncated, 1);
}

static __always_inline void count_read_error(void)
{
    struct mz_counters *c = ctr();
    if (c)
        __sync_fetch_and_add(&c->read_errors, 1);
}

static __always_inline __u32 gen_now(void)
{
    return *(volatile __u32 *)&cur_gen;
}

/* Generation stamps are read when written, last, after the data: a change
 * that lands after userland started a scan carries the new generation, so
 * that the next scan delivers it (a stale stamp would hide it).
 * After an insert made under generation gen, when a scan started meanwhile
 * its walk may have passed the bucket already: the record is restamped as
 * created in the new generation, and counted there, so that the next scan
 * delivers and counts it. */
#define CREATED(map_index, mapp, keyp, valtype, gen0)                                              \
    do {                                                                                           \
        __u32 g2_ = gen_now();                                                                     \
        if (g2_ != (gen0)) {                                                                       \
            valtype *p_ = bpf_map_lookup_elem(mapp, keyp);                                         \
            if (p_) {                                                                              \
                p_->gen = g2_;                                                                     \
                p_->created_gen = g2_;                                                             \
            }                                                                                      \
        }                                                                                          \
        count_created(map_index, g2_);                                                             \
    } while (0)

static __always_inline struct scratch *scratch_get(__u32 slot)
{
    return bpf_map_lookup_elem(&scratch_map, &slot);
}

/* ---- the hand-off of records a full map cannot take ---------------------- */

/* Hands the record (key klen bytes, value vlen bytes: constants at each
 * call site) to the overflow ring, for the collector to deliver as if it
 * had read it from map m. Returns 1 when handed off, -1 when the ring was
 * full too: a loss, counted in lost_full[m]. No wakeup: the collector polls
 * the ring at a short interval (collector.poll). */
static __always_inline int overflow_out(__u32 m, const void *key, __u32 klen, const void *val,
                                        __u32 vlen)
{
    __u32 zero = 0;
    struct mz_overflow_rec *o = bpf_map_lookup_elem(&overflow_buf, &zero);
    if (!o || klen > sizeof(o->h.key) || vlen > sizeof(o->val)) {
        COUNT_MAP(lost_full, m);
        return -1;
    }
    o->h.map = m;
    o->h.val_size = vlen;
    __builtin_memset(o->h.key, 0, sizeof(o->h.key));
    bpf_probe_read_kernel(o->h.key, klen, key);
    bpf_probe_read_kernel(o->val, vlen, val);
    if (bpf_ringbuf_output(&overflow, o, sizeof(o->h) + vlen, BPF_RB_NO_WAKEUP) < 0) {
        COUNT_MAP(lost_full, m);
        return -1;
    }
    COUNT_MAP(overflowed, m);
    return 1;
}

/* Inserts a new record into map m (mapp). Returns 0 when inserted (the
 * caller counts it with CREATED or count_created), -17 (EEXIST) when
 * another CPU made it first, 1 when the map was full and the record went to
 * the overflow ring, -1 when that failed too (counted lost), 2 when the map
 * was full and admit 0 (no recipe could alert on the record, and the ring's
 * free half is gone: see helpers/interest.h): not made, counted in
 * aggregated[m], the caller sums it per task (mz_aggregate). */
static __always_inline int store_new_admit(__u32 m, void *mapp, const void *key, __u32 klen,
                                           const void *val, __u32 vlen, int admit)
{
    long err = bpf_map_update_elem(mapp, key, val, BPF_NOEXIST);
    if (err == 0)
        return 0;
    if (err == -17 /* EEXIST */)
        return -17;
    if (!admit) {
        COUNT_MAP(aggregated, m);
        return 2;
    }
    return overflow_out(m, key, klen, val, vlen);
}

/* store_new_admit for a record that may always go to the ring. */
static __always_inline int store_new(__u32 m, void *mapp, const void *key, __u32 klen,
                                     const void *val, __u32 vlen)
{
    return store_new_admit(m, mapp, key, klen, val, vlen, 1);
}

#endif
