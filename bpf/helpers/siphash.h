/* SPDX-License-Identifier: GPL-2.0 */
/*
 * siphash.h - SipHash-1-3 keyed by the per-boot key (knobs.h): task, path
 * and command-line keys.
 */
#ifndef MIZAN_BPF_HELPERS_SIPHASH_H
#define MIZAN_BPF_HELPERS_SIPHASH_H

struct sip {
    __u64 v0, v1, v2, v3;
};

#define ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))

static __always_inline void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = ROTL(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = ROTL(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = ROTL(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = ROTL(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = ROTL(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = ROTL(s->v2, 32);
}

static __always_inline void sip_init(struct sip *s)
{
    s->v0 = 0x736f6d6570736575ULL ^ sip_k0;
    s->v1 = 0x646f72616e646f6dULL ^ sip_k1;
    s->v2 = 0x6c7967656e657261ULL ^ sip_k0;
    s->v3 = 0x7465646279746573ULL ^ sip_k1;
}

static __always_inline void sip_block(struct sip *s, __u64 m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
}

/* The last block b: the message's length in its top byte, its last len % 8
 * bytes below. */
static __always_inline __u64 sip_finish(struct sip *s, __u64 b)
{
    sip_block(s, b);
    s->v2 ^= 0xff;
    sip_round(s);
    sip_round(s);
    sip_round(s);
    __u64 h = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
    return h ? h : 1; /* 0 means "unknown" in records */
}

static __always_inline __u64 sip_final(struct sip *s, __u64 total_len)
{
    return sip_finish(s, total_len << 56);
}

static __always_inline __u64 sip2(__u64 a, __u64 b)
{
    struct sip s;
    sip_init(&s);
    sip_block(&s, a);
    sip_block(&s, b);
    return sip_final(&s, 16);
}

/* Hashes len bytes at buf, cap bytes readable there: SipHash-1-3 as
 * specified (the tail shares the last block with the length), with the seed
 * xored into v1 at init to keep paths and command lines apart, as SipHash-128
 * does with 0xee. Bytes past len are masked off, so stale scratch contents do
 * not matter. The global functions below are verified once each, whatever the
 * number of call sites. */
#define SIP_BYTES_BODY(buf, len, cap, seed)                                                        \
    struct sip s;                                                                                  \
    sip_init(&s);                                                                                  \
    s.v1 ^= (seed);                                                                                \
    __u32 nblocks = (len) / 8;                                                                     \
    __u32 i;                                                                                       \
    for (i = 0; i < (cap) / 8; i++) {                                                              \
        if (i >= nblocks)                                                                          \
            break;                                                                                 \
        sip_block(&s, *(const __u64 *)((buf) + ((i * 8) & ((cap)-8))));                            \
    }                                                                                              \
    __u32 rem = (len)&7;                                                                           \
    __u64 tail = 0;                                                                                \
    if (rem) {                                                                                     \
        tail = *(const __u64 *)((buf) + ((nblocks * 8) & ((cap)-8)));                              \
        tail &= (1ULL << (rem * 8)) - 1;                                                           \
    }                                                                                              \
    return sip_finish(&s, tail | ((__u64)(len) << 56));

/* A path's key. Inlined in the open path (a call and its return cost more
 * than the hash there: every return goes through the kernel's return thunk);
 * every other caller goes through mz_hash_path, the same function. */
static __always_inline __u64 hash_path(struct mz_file_val *f)
{
    __u32 len = f->len;
    if (len > MZ_BPF_PATH_MAX - 1)
        len = MZ_BPF_PATH_MAX - 1;
    SIP_BYTES_BODY(f->path, len, MZ_BPF_PATH_MAX, 0x66)
}

/* The key of a path record: the hash of its text, mixed with its mount
 * namespace when that is not the initial one (mz_file_val.mnt_ns). */
__noinline __u64 mz_hash_path(struct mz_file_val *f)
{
    if (!f)
        return 0;
    __u64 h = hash_path(f);
    __u32 ns = f->mnt_ns;
    return ns ? sip2(h, ns) : h;
}

__noinline __u64 mz_hash_args(struct mz_args_val *a)
{
    if (!a)
        return 0;
    __u32 len = a->len;
    if (len > MZ_BPF_ARGS_MAX - 8)
        len = MZ_BPF_ARGS_MAX - 8;
    SIP_BYTES_BODY(a->data, len, MZ_BPF_ARGS_MAX, 0x61)
}

#endif
