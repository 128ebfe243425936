/* SPDX-License-Identifier: GPL-2.0 */
/*
 * base.h - counters, generations and the scratch: what every other helper
 * uses.
 */
#ifndef MIZAN_BPF_HELPERS_BASE_H
#define MIZAN_BPF_HELPERS_BASE_H

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

static __always_inline void count_failed(__u32 map)
{
    struct mz_counters *c = ctr();
    if (c && map < MZ_MAP_COUNT)
        __sync_fetch_and_add(&c->failed[map], 1);
}

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

#endif
