// SPDX-License-Identifier: GPL-2.0
/*
 * mizan.bpf.c - the collector's kernel side. Tracepoints and raw tracepoints
 * (no kprobes, no fentry) record what processes do into the relational LRU
 * maps described in mizan_maps.h; userland reads them at a cadence
 * (collector/collector.c). Nothing is streamed: a million identical opens
 * update one record in place.
 *
 * Layers, top to bottom (see bpf/README.md):
 *   definitions   rodata/bss knobs, maps
 *   helpers       SipHash-1-3, syscall arguments, path walks, task identity
 *   records       record_link / record_flow / record_event / task_ensure
 *   programs      one small function per hook
 *
 * Hot path (an open of a file the task already opened): read the path, hash
 * it, hash the task identity, one lookup, three in-place updates. Everything
 * else (task, file, link creation) is the cold path.
 *
 * Syscall arguments are read at sys_exit from the task's saved user registers
 * (bpf_task_pt_regs), so that only successful calls are recorded and one
 * tracepoint per syscall suffices.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mizan_abi.h"
#include "mizan_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- definitions ---------------------------------------------------------- */

/* Set by userland before load. */
const volatile __u64 sip_k0 = 0;
const volatile __u64 sip_k1 = 0;
const volatile __u32 mizan_tgid = 0;
/* Length of a jiffy in ns (from CONFIG_HZ); 0: unknown, the hot path then
 * reads the precise clock. */
const volatile __u32 jiffy_ns = 0;

/* Written by userland after load (the .bss is mmapped). */
__u32 cur_gen = 0;
__u32 own_map_ids[MZ_OWN_MAPS_MAX] = {};

/* Bumped by every rename and every mount change that succeeds: either may
 * change the path of files whose identity (dentry) stays the same, so open
 * links made in an older epoch check their path again (mz_open_slow). */
__u32 path_epoch = 0;

/* Kernel 6.2+: makes a typed pointer of an address, for direct loads
 * instead of probe-read helper calls. The collector loads mz_sys_exit when
 * the kernel has it, mz_sys_exit_compat otherwise. */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct mz_task_val);
} tasks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_exec_key);
    __type(value, struct mz_exec_val);
} execs SEC(".maps");

/* Paths and command lines are content-addressed and kept in two tiers: most
 * are short, so the "small" maps hold a record cut to MZ_BPF_*_SMALL bytes
 * (same layout, shorter value) and only long ones take a full record. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct mz_file_small);
} files SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 2048);
    __type(key, __u64);
    __type(value, struct mz_file_val);
} files_long SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct mz_args_small);
} args SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, struct mz_args_val);
} args_long SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct mz_link_key);
    __type(value, struct mz_link_val);
} links SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_link_key);
    __type(value, struct mz_flow_val);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct mz_link_key);
    __type(value, struct mz_event_val);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_ip_key);
    __type(value, struct mz_dns_val);
} domains SEC(".maps");

/* socket -> (task key, flow key), so that state changes seen in softirq
 * context can be charged to the task that connected or accepted. */
struct sock_owner {
    struct mz_link_key key;
};
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct sock_owner);
} socks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mz_counters);
} counters SEC(".maps");

#define WALK_BUF   1024 /* path walk buffer: PATH_MAX + the longest name */
#define WALK_DEPTH 40   /* path components and mount crossings */
#define PATH_MASK  (MZ_BPF_PATH_MAX - 1)
#define ARGS_MASK  (MZ_BPF_ARGS_MAX - 1)

struct scratch {
    /* The open path's task key cache: the key of (tk_tgid, tk_start), i.e.
     * sip2(tgid, start) memoized per CPU; tk_tgid 0 = empty (see
     * task_key_cached). First, on the page of file's first bytes. */
    __u32 tk_tgid;
    __u32 pad1;
    __u64 tk_start;
    __u64 tk_key;
    /* The file an open returned: its mount and dentry, as numbers (see
     * open_ident). */
    __u64 id_mnt;
    __u64 id_dentry;
    struct mz_file_val file;
    struct mz_file_val file2;
    struct mz_args_val args;
    char walk[WALK_BUF];
    char rel[MZ_BPF_PATH_MAX];
    struct mz_task_val task;
    struct mz_exec_val exec;
    struct mz_link_val link;
    struct mz_flow_val flow;
    struct mz_event_val ev;
    /* The path walk's write position lives here, not in a register: loads
     * from map memory are unknown to the verifier, which keeps the walk loop
     * from being explored once per possible position. */
    __u32 pos;
    __u32 pad0;
};

/* Slot 0: process context; slot 1: programs that may run in softirq. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch_map SEC(".maps");

/* ---- helpers: counters ---------------------------------------------------- */

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

/* ---- helpers: SipHash-1-3 ------------------------------------------------- */

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

__noinline __u64 mz_hash_path(struct mz_file_val *f)
{
    if (!f)
        return 0;
    return hash_path(f);
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

/* ---- helpers: syscall arguments ------------------------------------------- */

static struct pt_regs *(*mz_task_pt_regs)(struct task_struct *task) = (void *)175;

#if defined(__TARGET_ARCH_x86)
#define ARG0(r) ((r)->di)
#define ARG1(r) ((r)->si)
#define ARG2(r) ((r)->dx)
#define ARG3(r) ((r)->r10)
#define ARG4(r) ((r)->r8)
#define ARG5(r) ((r)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define ARG0(r) ((r)->orig_x0) /* x0 holds the return value at exit */
#define ARG1(r) ((r)->regs[1])
#define ARG2(r) ((r)->regs[2])
#define ARG3(r) ((r)->regs[3])
#define ARG4(r) ((r)->regs[4])
#define ARG5(r) ((r)->regs[5])
#else
#error "mizan.bpf.c: syscall argument registers not defined for this architecture"
#endif

static __always_inline struct pt_regs *user_regs(void)
{
    return mz_task_pt_regs(bpf_get_current_task_btf());
}

static __always_inline struct scratch *scratch_get(__u32 slot)
{
    return bpf_map_lookup_elem(&scratch_map, &slot);
}

/* ---- helpers: task identity ----------------------------------------------- */

static __always_inline __u64 task_key_of(struct task_struct *leader)
{
    __u32 tgid = BPF_CORE_READ(leader, tgid);
    __u64 start = BPF_CORE_READ(leader, start_boottime);
    return sip2(tgid, start);
}

/* The hot path's version: direct BTF loads instead of probe-read helpers. */
static __always_inline __u64 current_task_key(void)
{
    struct task_struct *t = bpf_get_current_task_btf();
    struct task_struct *l = t->group_leader;
    return sip2(l->tgid, l->start_boottime);
}

/* The open path's version, for the current task t: the key is a function of
 * (tgid, start) only, so it is memoized per CPU in the scratch (a process
 * opening files in a loop hashes its identity once). The entry is emptied
 * before it is rewritten and marked valid last, so that a program nesting
 * in between never sees a half-written one. */
static __always_inline __u64 task_key_cached(struct scratch *s, struct task_struct *t)
{
    struct task_struct *l = t->group_leader;
    __u32 tgid = l->tgid;
    __u64 start = l->start_boottime;
    volatile struct scratch *vs = s;
    if (tgid && vs->tk_tgid == tgid && vs->tk_start == start)
        return vs->tk_key;
    __u64 key = sip2(tgid, start);
    vs->tk_tgid = 0;
    vs->tk_key = key;
    vs->tk_start = start;
    vs->tk_tgid = tgid;
    return key;
}

/* ---- helpers: paths -------------------------------------------------------- */

/* Writes the absolute path of (dentry, vfsmnt) into s->file (which == 0) or
 * s->file2, walking dentries and crossing mounts up to the root of the task's
 * mount namespace. Returns 0, or -1 when nothing could be read. */
__noinline int mz_walk_path(__u64 dentry_p, __u64 vfsmnt_p, struct scratch *s, __u32 which)
{
    struct dentry *dentry = (struct dentry *)dentry_p;
    struct mount *mnt = container_of((struct vfsmount *)vfsmnt_p, struct mount, mnt);
    __u32 trunc = 0;
    int i;

    if (!s || !dentry_p || !vfsmnt_p)
        return -1;
    struct mz_file_val *out = which ? &s->file2 : &s->file;
    char *walk = s->walk;
    s->pos = MZ_BPF_PATH_MAX;
    for (i = 0; i < WALK_DEPTH; i++) {
        struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
        struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
        if (dentry == mnt_root) {
            struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
            if (mp == mnt || !mp)
                break;
            dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
            mnt = mp;
            continue;
        }
        if (dentry == parent || !parent)
            break;
        __u32 len = BPF_CORE_READ(dentry, d_name.len);
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        __u32 pos = s->pos;
        len &= 255;
        if (len + 1 > pos) {
            trunc = 1;
            break;
        }
        pos -= len + 1;
        s->pos = pos;
        walk[pos & PATH_MASK] = '/';
        bpf_probe_read_kernel(&walk[(pos + 1) & PATH_MASK], len, name);
        dentry = parent;
    }
    __u32 pos = s->pos;
    if (pos >= MZ_BPF_PATH_MAX) {
        pos = MZ_BPF_PATH_MAX - 1;
        walk[pos & PATH_MASK] = '/';
    }
    __u32 n = (MZ_BPF_PATH_MAX - pos) & PATH_MASK;
    bpf_probe_read_kernel(out->path, n, &walk[pos & PATH_MASK]);
    out->path[n & PATH_MASK] = 0;
    out->len = n;
    out->flags = trunc ? MZ_REC_TRUNCATED : 0;
    if (trunc)
        count_truncated();
    return 0;
}

static __always_inline struct file *file_of_fd(__u32 fd)
{
    struct task_struct *t = bpf_get_current_task_btf();
    struct files_struct *files = BPF_CORE_READ(t, files);
    struct fdtable *fdt = BPF_CORE_READ(files, fdt);
    __u32 max = BPF_CORE_READ(fdt, max_fds);
    struct file **arr = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    if (fd >= max)
        return NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
    return f;
}

static __always_inline int path_of_file(struct file *f, struct scratch *s, __u32 which)
{
    if (!f)
        return -1;
    struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
    struct vfsmount *m = BPF_CORE_READ(f, f_path.mnt);
    return mz_walk_path((__u64)d, (__u64)m, s, which);
}

static __always_inline int path_of_fd(int fd, struct scratch *s, __u32 which)
{
    if (fd < 0)
        return -1;
    return path_of_file(file_of_fd(fd), s, which);
}

/* Reads the user path upath into s->file (which == 0) or s->file2. A
 * relative path is resolved against dfd (or the working directory for
 * AT_FDCWD) by walking that directory and appending the relative part.
 * Returns 0 or -1. */
__noinline int mz_read_user_path(__u64 upath, int dfd, struct scratch *s, __u32 which)
{
    if (!s)
        return -1;
    struct mz_file_val *out = which ? &s->file2 : &s->file;
    long n = bpf_probe_read_user_str(out->path, MZ_BPF_PATH_MAX, (const char *)upath);
    if (n <= 0) {
        count_read_error();
        return -1;
    }
    out->len = n - 1;
    out->flags = 0;
    if (n == MZ_BPF_PATH_MAX) {
        out->flags = MZ_REC_TRUNCATED;
        count_truncated();
    }
    if (out->path[0] == '/')
        return 0;

    /* Relative: keep it in rel, walk the directory into out, append. */
    __u32 rl = out->len & PATH_MASK;
    bpf_probe_read_kernel(s->rel, MZ_BPF_PATH_MAX, out->path);
    int r;
    if (dfd == -100 /* AT_FDCWD */) {
        struct task_struct *t = bpf_get_current_task_btf();
        struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
        struct vfsmount *m = BPF_CORE_READ(t, fs, pwd.mnt);
        r = mz_walk_path((__u64)d, (__u64)m, s, which);
    } else {
        r = path_of_fd(dfd, s, which);
    }
    if (r < 0) {
        /* Keep the relative path as read. */
        bpf_probe_read_kernel(out->path, MZ_BPF_PATH_MAX, s->rel);
        out->len = rl;
        return 0;
    }
    if (s->rel[0] == '.' && s->rel[1] == 0)
        return 0;
    __u32 dl = out->len & PATH_MASK;
    if (dl > 1) {
        out->path[dl & PATH_MASK] = '/';
        dl++;
    }
    if (dl >= MZ_BPF_PATH_MAX - 1) {
        out->flags |= MZ_REC_TRUNCATED;
        count_truncated();
        return 0;
    }
    if (dl + rl >= MZ_BPF_PATH_MAX) {
        rl = MZ_BPF_PATH_MAX - 1 - dl;
        out->flags |= MZ_REC_TRUNCATED;
        count_truncated();
    }
    rl &= PATH_MASK;
    dl &= PATH_MASK;
    if (rl)
        bpf_probe_read_kernel(&out->path[dl], rl, s->rel);
    out->len = dl + rl;
    out->path[(dl + rl) & PATH_MASK] = 0;
    return 0;
}

static __always_inline __u64 file_key_of(struct mz_file_val *f)
{
    return mz_hash_path(f);
}

static __always_inline void file_store(__u64 key, struct mz_file_val *f)
{
    void *m = f->len < MZ_BPF_PATH_SMALL ? (void *)&files : (void *)&files_long;
    if (bpf_map_lookup_elem(m, &key))
        return;
    long err = bpf_map_update_elem(m, &key, f, BPF_NOEXIST);
    if (err == 0)
        count_created(MZ_MAP_FILES, gen_now());
    else if (err != -17 /* EEXIST */)
        count_failed(MZ_MAP_FILES);
}

/* ---- helpers: tasks -------------------------------------------------------- */

/* Reads the current process's command line into s->args and stores the
 * args record. Returns its key, 0 when unreadable. */
__noinline __u64 mz_args_store(struct scratch *s)
{
    if (!s)
        return 0;
    struct task_struct *t = bpf_get_current_task_btf();
    struct mm_struct *mm = BPF_CORE_READ(t, mm);
    if (!mm)
        return 0;
    __u64 start = BPF_CORE_READ(mm, arg_start);
    __u64 end = BPF_CORE_READ(mm, arg_end);
    if (end <= start)
        return 0;
    __u64 len = end - start;
    s->args.flags = 0;
    if (len > MZ_BPF_ARGS_MAX - 8) {
        len = MZ_BPF_ARGS_MAX - 8;
        s->args.flags = MZ_REC_TRUNCATED;
        count_truncated();
    }
    __u32 n = len & ARGS_MASK;
    if (!n || bpf_probe_read_user(s->args.data, n, (void *)start) < 0) {
        count_read_error();
        return 0;
    }
    s->args.len = n;
    __u64 key = mz_hash_args(&s->args);
    void *m = n <= MZ_BPF_ARGS_SMALL ? (void *)&args : (void *)&args_long;
    if (!bpf_map_lookup_elem(m, &key)) {
        long err = bpf_map_update_elem(m, &key, &s->args, BPF_NOEXIST);
        if (err == 0)
            count_created(MZ_MAP_ARGS, gen_now());
        else if (err != -17)
            count_failed(MZ_MAP_ARGS);
    }
    return key;
}

static __always_inline void task_fill_creds(struct task_struct *t, struct mz_task_val *v)
{
    v->uid = BPF_CORE_READ(t, real_cred, uid.val);
    v->gid = BPF_CORE_READ(t, real_cred, gid.val);
    v->euid = BPF_CORE_READ(t, cred, euid.val);
}

static __always_inline __u64 task_cgroup(struct task_struct *t)
{
    return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* The executable of t, from its mm's exe_file. Returns the file key or 0. */
static __always_inline __u64 exe_store(struct task_struct *t, struct scratch *s)
{
    struct file *f = BPF_CORE_READ(t, mm, exe_file);
    if (!f || path_of_file(f, s, 0) < 0)
        return 0;
    __u64 key = file_key_of(&s->file);
    file_store(key, &s->file);
    return key;
}

/* Fills a task record for the process whose leader is t (current or a fresh
 * child). */
static __always_inline void task_fill(struct task_struct *t, struct mz_task_val *v, __u32 gen)
{
    struct task_struct *parent = BPF_CORE_READ(t, real_parent, group_leader);
    v->parent_key = parent ? task_key_of(parent) : 0;
    v->start_ns = BPF_CORE_READ(t, start_boottime);
    v->exec_ns = 0;
    v->exit_ns = 0;
    v->cgroup_id = task_cgroup(t);
    v->exe_key = 0;
    v->args_key = 0;
    v->tgid = BPF_CORE_READ(t, tgid);
    v->ppid = BPF_CORE_READ(t, real_parent, tgid);
    task_fill_creds(t, v);
    v->gen = gen;
    v->created_gen = gen;
    v->flags = 0;
    BPF_CORE_READ_STR_INTO(&v->comm, t, comm);
}

static __always_inline long task_insert(__u64 key, struct mz_task_val *v)
{
    long err = bpf_map_update_elem(&tasks, &key, v, BPF_NOEXIST);
    if (err == 0)
        CREATED(MZ_MAP_TASKS, &tasks, &key, struct mz_task_val, v->created_gen);
    else if (err != -17)
        count_failed(MZ_MAP_TASKS);
    return err;
}

/* Makes sure the current process has a task record (created lazily, with its
 * exe, for processes that started before mizan; args come from /proc). */
__noinline int mz_task_ensure(__u64 key, struct scratch *s)
{
    if (!s || bpf_map_lookup_elem(&tasks, &key))
        return 0;
    struct task_struct *cur = bpf_get_current_task_btf();
    struct task_struct *t = cur->group_leader;
    struct mz_task_val *v = &s->task;
    task_fill(t, v, gen_now());
    v->flags = MZ_REC_LAZY;
    v->exe_key = exe_store(t, s);
    /* args_key stays 0: userland reads /proc/PID/cmdline for these (the
     * process is alive, it just did something), which keeps the argv hash
     * out of every program but exec's. */
    task_insert(key, v);
    return 0;
}

/* ---- records --------------------------------------------------------------- */

/* Inserts a new link k (made under generation gen) from the scratch; when
 * another CPU created it meanwhile, counts this action there instead. The
 * caller has stored its file records and made sure of its task. */
static __always_inline int link_insert(struct scratch *s, struct mz_link_key *k, __u32 actions,
                                       __u64 key2, __u64 file_key, __u32 epoch, __u32 gen)
{
    __u64 now = bpf_ktime_get_boot_ns();
    __u64 jnow = bpf_jiffies64();
    struct mz_link_val *v = &s->link;
    v->first_ns = now;
    v->last_ns = now;
    v->first_jiffies = jnow;
    v->last_jiffies = jnow;
    v->count = 1;
    v->path2_key = key2;
    v->actions = actions;
    v->file_key = file_key;
    v->gen = gen;
    v->created_gen = gen;
    v->tgid = bpf_get_current_pid_tgid() >> 32;
    v->epoch = epoch;
    long err = bpf_map_update_elem(&links, k, v, BPF_NOEXIST);
    if (err == 0) {
        CREATED(MZ_MAP_LINKS, &links, k, struct mz_link_val, gen);
    } else if (err == -17) {
        struct mz_link_val *l = bpf_map_lookup_elem(&links, k);
        if (l) {
            __sync_fetch_and_add(&l->count, 1);
            __sync_fetch_and_or(&l->actions, actions);
            l->last_ns = now;
            l->last_jiffies = jnow;
            l->gen = gen_now();
        }
    } else {
        count_failed(MZ_MAP_LINKS);
    }
    return 0;
}

/* Charges actions on s->file (and s->file2 when two) to the current task.
 * The hot path is the in-place update of an existing link. */
__noinline int mz_record_link(struct scratch *s, __u32 actions, __u32 two)
{
    if (!s)
        return 0;
    struct mz_file_val *f = &s->file;
    struct mz_link_key k;
    __u32 gen = gen_now();

    k.task_key = current_task_key();
    k.obj_key = file_key_of(f);
    __u64 key2 = two ? file_key_of(&s->file2) : 0;

    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (l) {
        __sync_fetch_and_add(&l->count, 1);
        if (jiffy_ns)
            l->last_jiffies = bpf_jiffies64();
        else
            l->last_ns = bpf_ktime_get_boot_ns();
        if ((l->actions & actions) != actions)
            __sync_fetch_and_or(&l->actions, actions);
        if (key2 && l->path2_key != key2) {
            file_store(key2, &s->file2);
            l->path2_key = key2;
        }
        l->gen = gen_now();
        return 0;
    }

    /* Cold path: the file, the second path, the task, then the link. */
    file_store(k.obj_key, f);
    if (two)
        file_store(key2, &s->file2);
    mz_task_ensure(k.task_key, s);

    return link_insert(s, &k, actions, key2, k.obj_key, 0, gen);
}

/* Records a file action on an open file descriptor. */
static __always_inline int fd_action(int fd, __u32 actions)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (path_of_fd(fd, s, 0) < 0)
        return 0;
    return mz_record_link(s, actions, 0);
}

/* A privilege or tamper event charged to the current task; with detail, the
 * caller has put a NUL-terminated string in s->rel. */
__noinline int mz_record_event(__u32 kind, __u32 action, __s64 target, __u32 detail)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    __u64 now = bpf_ktime_get_boot_ns();
    struct mz_link_key k;
    k.task_key = current_task_key();
    k.obj_key = sip2(((__u64)kind << 32) | action, (__u64)target);

    struct mz_event_val *e = bpf_map_lookup_elem(&events, &k);
    if (e) {
        __sync_fetch_and_add(&e->count, 1);
        e->last_ns = now;
        e->gen = gen_now();
        return 0;
    }
    mz_task_ensure(k.task_key, s);
    struct mz_event_val *v = &s->ev;
    v->first_ns = now;
    v->last_ns = now;
    v->count = 1;
    v->target = target;
    v->kind = kind;
    v->actions = action;
    v->gen = gen;
    v->created_gen = gen;
    v->tgid = bpf_get_current_pid_tgid() >> 32;
    v->pad0 = 0;
    v->detail[0] = 0;
    if (detail)
        bpf_probe_read_kernel_str(v->detail, MZ_BPF_DETAIL, s->rel);
    long err = bpf_map_update_elem(&events, &k, v, BPF_NOEXIST);
    if (err == 0)
        CREATED(MZ_MAP_EVENTS, &events, &k, struct mz_event_val, gen);
    else if (err != -17)
        count_failed(MZ_MAP_EVENTS);
    return 0;
}

/* ---- programs: process lifecycle ------------------------------------------ */

SEC("raw_tp/sched_process_fork")
int BPF_PROG(mz_fork, struct task_struct *parent, struct task_struct *child)
{
    if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
        return 0; /* a thread */
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    struct mz_task_val *v = &s->task;
    task_fill(child, v, gen);
    /* The child runs the parent's image until it execs. */
    struct task_struct *pl = BPF_CORE_READ(parent, group_leader);
    __u64 pkey = task_key_of(pl);
    struct mz_task_val *pv = bpf_map_lookup_elem(&tasks, &pkey);
    if (pv) {
        v->exe_key = pv->exe_key;
        v->args_key = pv->args_key;
    }
    __u64 key = task_key_of(child);
    task_insert(key, v);
    return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(mz_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    __u64 now = bpf_ktime_get_boot_ns();
    struct task_struct *t = BPF_CORE_READ(p, group_leader);
    __u64 key = task_key_of(t);

    /* The executable: the name it was run by when absolute, else the file. */
    const char *fname = BPF_CORE_READ(bprm, filename);
    long n = bpf_probe_read_kernel_str(s->file.path, MZ_BPF_PATH_MAX, fname);
    if (n > 1 && s->file.path[0] == '/') {
        s->file.len = n - 1;
        s->file.flags = 0;
        if (n == MZ_BPF_PATH_MAX) {
            s->file.flags = MZ_REC_TRUNCATED;
            count_truncated();
        }
    } else if (path_of_file(BPF_CORE_READ(bprm, file), s, 0) < 0) {
        s->file.len = 0;
    }
    __u64 exe_key = 0;
    if (s->file.len) {
        exe_key = file_key_of(&s->file);
        file_store(exe_key, &s->file);
    }
    __u64 args_key = mz_args_store(s);

    /* The working directory, for the command line's relative paths. */
    __u64 cwd_key = 0;
    struct dentry *pwd = BPF_CORE_READ(t, fs, pwd.dentry);
    struct vfsmount *pwdmnt = BPF_CORE_READ(t, fs, pwd.mnt);
    if (mz_walk_path((__u64)pwd, (__u64)pwdmnt, s, 1) == 0) {
        cwd_key = file_key_of(&s->file2);
        file_store(cwd_key, &s->file2);
    }

    /* Task record: update in place, or create (process older than mizan). */
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        tv->exe_key = exe_key;
        tv->args_key = args_key;
        tv->exec_ns = now;
        tv->flags |= MZ_REC_EXECED;
        task_fill_creds(t, tv);
        BPF_CORE_READ_STR_INTO(&tv->comm, t, comm);
        tv->gen = gen_now();
        tv = NULL;
    } else {
        struct mz_task_val *v = &s->task;
        task_fill(t, v, gen);
        v->exe_key = exe_key;
        v->args_key = args_key;
        v->exec_ns = now;
        v->flags = MZ_REC_EXECED;
        task_insert(key, v);
    }

    /* One exec record per exec. */
    struct mz_exec_key ek = {.task_key = key, .exec_ns = now};
    struct mz_exec_val *e = &s->exec;
    struct task_struct *parent = BPF_CORE_READ(t, real_parent, group_leader);
    e->parent_key = parent ? task_key_of(parent) : 0;
    e->start_ns = BPF_CORE_READ(t, start_boottime);
    e->cgroup_id = task_cgroup(t);
    e->exe_key = exe_key;
    e->args_key = args_key;
    e->cwd_key = cwd_key;
    e->tgid = BPF_CORE_READ(t, tgid);
    e->ppid = BPF_CORE_READ(t, real_parent, tgid);
    e->uid = BPF_CORE_READ(t, real_cred, uid.val);
    e->gid = BPF_CORE_READ(t, real_cred, gid.val);
    e->euid = BPF_CORE_READ(t, cred, euid.val);
    e->gen = gen;
    e->created_gen = gen;
    e->flags = s->file.flags & MZ_REC_TRUNCATED;
    BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
    long err = bpf_map_update_elem(&execs, &ek, e, BPF_NOEXIST);
    if (err == 0)
        CREATED(MZ_MAP_EXECS, &execs, &ek, struct mz_exec_val, gen);
    else
        count_failed(MZ_MAP_EXECS);

    /* The exec is also a file action on the executable. */
    if (exe_key)
        mz_record_link(s, MZ_FA_EXECVE, 0);
    return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(mz_exit, struct task_struct *p)
{
    if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid))
        return 0;
    __u64 key = task_key_of(p);
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        tv->exit_ns = bpf_ktime_get_boot_ns();
        tv->flags |= MZ_REC_EXITED;
        tv->gen = gen_now();
    }
    return 0;
}

/* ---- programs: file actions ------------------------------------------------ */

static __always_inline __u32 open_actions(__u64 flags)
{
    __u32 a = MZ_FA_OPEN;
    switch (flags & 3) {
    case 0: /* O_RDONLY */
        a |= MZ_FA_READ;
        break;
    case 1: /* O_WRONLY */
        a |= MZ_FA_WRITE;
        break;
    default: /* O_RDWR */
        a |= MZ_FA_READ | MZ_FA_WRITE;
        break;
    }
    if (flags & 0100) /* O_CREAT */
        a |= MZ_FA_CREATE;
    if (flags & 01000) /* O_TRUNC */
        a |= MZ_FA_TRUNCATE;
    return a;
}

/* Opens are keyed by the opened file's identity, not by its path: a
 * repeated open then reads no user memory (reading the caller's path string
 * costs more than everything else an open does here) and hashes no string.
 * The identity is a keyed mix of the file's mount, its dentry and the
 * dentry's name hash, which the kernel salts with the parent dentry: a file
 * renamed or moved to another directory gets a new identity, and a freed
 * dentry reused for another name does not inherit an old link. The path is
 * the dentry's, walked once when the link is made (so a symlink or
 * /proc/self/root is recorded as the file it reached), and checked again
 * after any rename or mount change (path_epoch). Not SipHash: the inputs
 * are kernel addresses no process chooses or reads, and this runs at every
 * open; the per-boot key still keeps them from being predicted. */
static __always_inline __u64 ident_key(__u64 mnt, __u64 dentry, __u64 hash_len)
{
    return (dentry ^ sip_k0) * 0x9E3779B97F4A7C15ULL +
           (mnt ^ hash_len ^ sip_k1) * 0xC2B2AE3D27D4EB4FULL;
}

/* Puts the mount and dentry of the file fd refers to in s->id_* and the
 * dentry's name hash in *hash_len; returns 0, or -1 when there is no file.
 * typed: direct loads through bpf_rdonly_cast, no helper call (each costs a
 * call and a return through the kernel's return thunk); otherwise probe
 * reads. The pointers go through the scratch so that they are read back as
 * numbers (the verifier forbids arithmetic on pointers). */
static __always_inline int open_ident(struct scratch *s, struct task_struct *t, long fd,
                                      __u64 *hash_len, const bool typed)
{
    if (typed) {
        struct files_struct *files = t->files;
        if (!files)
            return -1;
        struct fdtable *fdt = files->fdt;
        if (!fdt || (__u64)fd >= fdt->max_fds)
            return -1;
        struct file **arr = fdt->fd;
        struct kiocb *slot = bpf_rdonly_cast(&arr[fd], bpf_core_type_id_kernel(struct kiocb));
        struct file *f = slot->ki_filp; /* a kiocb starts with a file pointer */
        if (!f)
            return -1;
        struct dentry *d = f->f_path.dentry;
        if (!d)
            return -1;
        s->id_mnt = (__u64)f->f_path.mnt;
        s->id_dentry = (__u64)d;
        *hash_len = d->d_name.hash_len;
        return 0;
    }
    struct file *f = file_of_fd(fd);
    if (!f)
        return -1;
    struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
    if (!d)
        return -1;
    s->id_mnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
    s->id_dentry = (__u64)d;
    *hash_len = BPF_CORE_READ(d, d_name.hash_len);
    return 0;
}

/* An open that missed the hot path: no link yet for (task, identity), or
 * one made before the last rename or mount change. Walks the file's path
 * and then creates the link, confirms it (same path: the epoch is updated
 * and the open counted), or, when the path changed under it, marks it moved
 * and records this open by path. upath: the caller's path string, used when
 * the dentry has no path of its own (a pipe or socket opened through
 * /proc/PID/fd). */
__noinline int mz_open_slow(struct scratch *s, __u64 task_key, __u64 obj_key, __u32 actions,
                            __u64 upath)
{
    if (!s)
        return 0;
    __u32 epoch = *(volatile __u32 *)&path_epoch;
    volatile struct scratch *vs = s;
    if (mz_walk_path(vs->id_dentry, vs->id_mnt, s, 0) < 0)
        return 0;
    if (s->file.len <= 1) {
        long n = bpf_probe_read_user_str(s->rel, MZ_BPF_PATH_MAX, (const char *)upath);
        if (n > 2 && s->rel[0] == '/') {
            bpf_probe_read_kernel(s->file.path, MZ_BPF_PATH_MAX, s->rel);
            s->file.len = (n - 1) & PATH_MASK;
            s->file.flags = n == MZ_BPF_PATH_MAX ? MZ_REC_TRUNCATED : 0;
        }
    }
    __u64 pkey = mz_hash_path(&s->file);
    struct mz_link_key k;
    k.task_key = task_key;
    k.obj_key = obj_key;
    __u32 gen = gen_now();

    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (l) {
        if (l->epoch == MZ_EPOCH_MOVED || l->file_key != pkey) {
            l->epoch = MZ_EPOCH_MOVED;
            return mz_record_link(s, actions, 0);
        }
        l->epoch = epoch;
        __sync_fetch_and_add(&l->count, 1);
        l->last_jiffies = bpf_jiffies64();
        l->last_ns = bpf_ktime_get_boot_ns();
        if ((l->actions & actions) != actions)
            __sync_fetch_and_or(&l->actions, actions);
        l->gen = gen_now();
        return 0;
    }

    file_store(pkey, &s->file);
    mz_task_ensure(task_key, s);
    return link_insert(s, &k, actions, 0, pkey, epoch, gen);
}

/* Every successful open: the in-place update of the (task, identity) link
 * is the hot path; anything else goes to mz_open_slow. */
static __always_inline int open_common(struct task_struct *t, long ret, __u64 upath, __u64 flags,
                                       const bool typed)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u64 hash_len = 0;
    if (open_ident(s, t, ret, &hash_len, typed) < 0)
        return 0;
    volatile struct scratch *vs = s;
    struct mz_link_key k;
    k.obj_key = ident_key(vs->id_mnt, vs->id_dentry, hash_len);
    k.task_key = task_key_cached(s, t);
    __u32 actions = open_actions(flags);
    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (!l || l->epoch != *(volatile __u32 *)&path_epoch)
        return mz_open_slow(s, k.task_key, k.obj_key, actions, upath);
    __sync_fetch_and_add(&l->count, 1);
    if (jiffy_ns)
        l->last_jiffies = bpf_jiffies64();
    else
        l->last_ns = bpf_ktime_get_boot_ns();
    if ((l->actions & actions) != actions)
        __sync_fetch_and_or(&l->actions, actions);
    l->gen = gen_now();
    return 0;
}

/* symlink(target, linkpath): the target is any string, kept as written. */
static __always_inline int symlink_common(const char *utarget, const char *ulink, int dfd)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (mz_read_user_path((__u64)ulink, dfd, s, 1) < 0)
        return 0;
    long n = bpf_probe_read_user_str(s->file.path, MZ_BPF_PATH_MAX, utarget);
    if (n <= 1)
        return 0;
    s->file.len = n - 1;
    s->file.flags = n == MZ_BPF_PATH_MAX ? MZ_REC_TRUNCATED : 0;
    return mz_record_link(s, MZ_FA_SYMLINK, 1);
}

/* memfd_create(name): recorded as "memfd:" + name, as /proc/PID/fd shows it. */
static __always_inline int memfd_common(const char *uname)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    s->file.path[0] = 'm';
    s->file.path[1] = 'e';
    s->file.path[2] = 'm';
    s->file.path[3] = 'f';
    s->file.path[4] = 'd';
    s->file.path[5] = ':';
    long n = bpf_probe_read_user_str(&s->file.path[6], MZ_BPF_PATH_MAX - 6, uname);
    if (n <= 0)
        return 0;
    s->file.len = 6 + n - 1;
    s->file.flags = 0;
    return mz_record_link(s, MZ_FA_MEMFD | MZ_FA_CREATE, 0);
}

/* ---- programs: network ------------------------------------------------------ */

static __always_inline struct sock *sock_of_fd(int fd)
{
    struct file *f = file_of_fd(fd);
    if (!f)
        return NULL;
    struct socket *so = BPF_CORE_READ(f, private_data);
    if (!so)
        return NULL;
    /* A socket file's private_data is the socket, whose ->file is f. */
    if (BPF_CORE_READ(so, file) != f)
        return NULL;
    return BPF_CORE_READ(so, sk);
}

/* Fills s->flow from the socket; returns 0 when it is inet/inet6. */
static __always_inline int flow_from_sock(struct sock *sk, struct mz_flow_val *v)
{
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    __builtin_memset(v->local_addr, 0, 16);
    __builtin_memset(v->remote_addr, 0, 16);
    if (family == 2 /* AF_INET */) {
        __u32 la = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        __u32 ra = BPF_CORE_READ(sk, __sk_common.skc_daddr);
        __builtin_memcpy(v->local_addr, &la, 4);
        __builtin_memcpy(v->remote_addr, &ra, 4);
    } else if (family == 10 /* AF_INET6 */) {
        BPF_CORE_READ_INTO(&v->local_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&v->remote_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    } else {
        return -1;
    }
    v->family = family;
    v->proto = BPF_CORE_READ(sk, sk_protocol);
    v->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
    v->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    return 0;
}

/* Reads a user sockaddr as the remote end (sendto to an unconnected socket). */
static __always_inline int flow_remote_from_user(const void *uaddr, __u32 alen,
                                                 struct mz_flow_val *v)
{
    __u16 fam = 0;
    if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), uaddr) < 0)
        return -1;
    if (fam == 2 && alen >= 16) {
        struct sockaddr_in sin;
        if (bpf_probe_read_user(&sin, sizeof(sin), uaddr) < 0)
            return -1;
        __builtin_memset(v->remote_addr, 0, 16);
        __builtin_memcpy(v->remote_addr, &sin.sin_addr.s_addr, 4);
        v->remote_port = bpf_ntohs(sin.sin_port);
        return 0;
    }
    if (fam == 10 && alen >= 24) {
        struct sockaddr_in6 sin6;
        if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr) < 0)
            return -1;
        __builtin_memcpy(v->remote_addr, &sin6.sin6_addr.in6_u.u6_addr8, 16);
        v->remote_port = bpf_ntohs(sin6.sin6_port);
        return 0;
    }
    return -1;
}

__noinline int mz_record_flow(__u64 skp_arg, __u32 actions, __u32 direction, __u64 uaddr_arg,
                              __u32 alen)
{
    struct sock *sk = (struct sock *)skp_arg;
    const void *uaddr = (const void *)uaddr_arg;
    struct scratch *s = scratch_get(0);
    if (!s || !sk)
        return 0;
    struct mz_flow_val *v = &s->flow;
    if (flow_from_sock(sk, v) < 0)
        return 0;
    if (uaddr && flow_remote_from_user(uaddr, alen, v) < 0)
        return 0;
    __u32 gen = gen_now();
    __u64 now = bpf_ktime_get_boot_ns();
    struct mz_link_key k;
    k.task_key = current_task_key();
    struct sip h;
    sip_init(&h);
    sip_block(&h, ((__u64)v->family << 48) | ((__u64)v->proto << 32) |
                      ((__u64)v->local_port << 16) | v->remote_port);
    sip_block(&h, *(__u64 *)&v->local_addr[0]);
    sip_block(&h, *(__u64 *)&v->local_addr[8]);
    sip_block(&h, *(__u64 *)&v->remote_addr[0]);
    sip_block(&h, *(__u64 *)&v->remote_addr[8]);
    k.obj_key = sip_final(&h, 40);

    /* A loopback or fast peer is established before connect/accept return,
     * i.e. before inet_sock_set_state could charge it to this task. */
    if ((actions & (MZ_FL_CONNECT | MZ_FL_ACCEPT)) &&
        BPF_CORE_READ(sk, __sk_common.skc_state) == 1 /* TCP_ESTABLISHED */)
        actions |= MZ_FL_ESTABLISHED;
    if (actions & (MZ_FL_CONNECT | MZ_FL_ACCEPT)) {
        struct sock_owner o = {.key = k};
        __u64 skp = (__u64)sk;
        bpf_map_update_elem(&socks, &skp, &o, BPF_ANY);
    }

    struct mz_flow_val *f = bpf_map_lookup_elem(&flows, &k);
    if (f) {
        __sync_fetch_and_add(&f->count, 1);
        f->last_ns = now;
        if ((f->actions & actions) != actions)
            __sync_fetch_and_or(&f->actions, actions);
        f->gen = gen_now();
        return 0;
    }
    mz_task_ensure(k.task_key, s);
    v->first_ns = now;
    v->last_ns = now;
    v->count = 1;
    v->actions = actions;
    v->gen = gen;
    v->created_gen = gen;
    v->tgid = bpf_get_current_pid_tgid() >> 32;
    v->direction = direction;
    v->pad0 = 0;
    v->pad1 = 0;
    long err = bpf_map_update_elem(&flows, &k, v, BPF_NOEXIST);
    if (err == 0)
        CREATED(MZ_MAP_FLOWS, &flows, &k, struct mz_flow_val, gen);
    else if (err != -17)
        count_failed(MZ_MAP_FLOWS);
    return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int mz_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
    __u32 act;
    if (ctx->newstate == 1 /* TCP_ESTABLISHED */)
        act = MZ_FL_ESTABLISHED;
    else if (ctx->newstate == 7 /* TCP_CLOSE */)
        act = MZ_FL_CLOSE;
    else
        return 0;
    __u64 skp = (__u64)ctx->skaddr;
    struct sock_owner *o = bpf_map_lookup_elem(&socks, &skp);
    if (!o)
        return 0;
    struct mz_link_key k = o->key;
    struct mz_flow_val *f = bpf_map_lookup_elem(&flows, &k);
    if (f) {
        __sync_fetch_and_or(&f->actions, act);
        f->last_ns = bpf_ktime_get_boot_ns();
        f->gen = gen_now();
    }
    if (act == MZ_FL_CLOSE)
        bpf_map_delete_elem(&socks, &skp);
    return 0;
}

/* ---- programs: privilege ---------------------------------------------------- */

/* (Privilege syscalls are dispatched by mz_sys_exit below.) */

/* sendto: the destination given, or the peer of a connected datagram
 * socket (connected TCP peers were recorded at connect/accept). */
static __always_inline int sendto_common(int fd, __u64 ua, __u32 alen)
{
    struct sock *sk = sock_of_fd(fd);
    if (!sk)
        return 0;
    if (!ua && BPF_CORE_READ(sk, sk_protocol) != 17 /* UDP */)
        return 0;
    return mz_record_flow((__u64)sk, MZ_FL_SEND, MZ_DIR_EGRESS, ua, alen);
}

/* ---- helpers: tamper evidence ---------------------------------------------- */

static __always_inline int own_map_id(__u32 id)
{
    if (!id)
        return 0;
#pragma unroll
    for (int i = 0; i < MZ_OWN_MAPS_MAX; i++)
        if (own_map_ids[i] == id)
            return 1;
    return 0;
}

static __always_inline __u32 map_id_of_fd(int fd)
{
    struct file *f = file_of_fd(fd);
    if (!f)
        return 0;
    struct bpf_map *m = BPF_CORE_READ(f, private_data);
    if (!m)
        return 0;
    return BPF_CORE_READ(m, id);
}

/* bpf(2) by anyone but mizan, whatever it returned (a refused attempt
 * counts too): writes to mizan's maps, handles taken on them, program loads. */
__noinline int mz_bpf_call(int cmd, __u64 uattr_arg)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid == mizan_tgid)
        return 0;
    const void *uattr = (const void *)uattr_arg;

    switch (cmd) {
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_DELETE_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
    case BPF_MAP_FREEZE: {
        __u32 fd = 0;
        bpf_probe_read_user(&fd, sizeof(fd), uattr);
        __u32 id = map_id_of_fd(fd);
        if (own_map_id(id))
            return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MAP_WRITE, id, 0);
        return 0;
    }
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH: {
        __u32 fd = 0;
        bpf_probe_read_user(&fd, sizeof(fd),
                            uattr + __builtin_offsetof(union bpf_attr, batch.map_fd));
        __u32 id = map_id_of_fd(fd);
        if (own_map_id(id))
            return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MAP_WRITE, id, 0);
        return 0;
    }
    case BPF_MAP_GET_FD_BY_ID: {
        __u32 id = 0;
        bpf_probe_read_user(&id, sizeof(id), uattr);
        if (own_map_id(id))
            return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MAP_OPEN, id, 0);
        return 0;
    }
    case BPF_PROG_LOAD: {
        struct scratch *s = scratch_get(0);
        if (!s)
            return 0;
        __u32 type = 0;
        bpf_probe_read_user(&type, sizeof(type), uattr);
        __builtin_memset(s->rel, 0, 16);
        bpf_probe_read_user(s->rel, 15, uattr + __builtin_offsetof(union bpf_attr, prog_name));
        return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_PROG_LOAD, type, 1);
    }
    default:
        return 0;
    }
}

/* ---- programs: syscall exits ---------------------------------------------- */

/* One program for every syscall exit mizan records (verified once instead
 * of once per syscall). Opens, the hot path, are handled inline; the rest in
 * mz_exit_other. */
#if defined(__TARGET_ARCH_x86)
#define NR_open         2
#define NR_openat       257
#define NR_openat2      437
#define NR_creat        85
#define NR_unlink       87
#define NR_unlinkat     263
#define NR_rename       82
#define NR_renameat     264
#define NR_renameat2    316
#define NR_link         86
#define NR_linkat       265
#define NR_symlink      88
#define NR_symlinkat    266
#define NR_chmod        90
#define NR_fchmod       91
#define NR_fchmodat     268
#define NR_fchmodat2    452
#define NR_chown        92
#define NR_fchown       93
#define NR_lchown       94
#define NR_fchownat     260
#define NR_truncate     76
#define NR_ftruncate    77
#define NR_mmap         9
#define NR_memfd_create 319
#define NR_connect      42
#define NR_accept       43
#define NR_accept4      288
#define NR_bind         49
#define NR_listen       50
#define NR_sendto       44
#define NR_setuid       105
#define NR_setgid       106
#define NR_setreuid     113
#define NR_setregid     114
#define NR_setresuid    117
#define NR_setresgid    119
#define NR_setfsuid     122
#define NR_setfsgid     123
#define NR_capset       126
#define NR_ptrace       101
#define NR_bpf          321
#define NR_init_module  175
#define NR_finit_module 313
#define NR_mount        165
#define NR_umount2      166
#define NR_pivot_root   155
#define NR_move_mount   429
#elif defined(__TARGET_ARCH_arm64)
/* asm-generic numbers; the legacy path syscalls do not exist there. */
#define NR_open         -1
#define NR_openat       56
#define NR_openat2      437
#define NR_creat        -2
#define NR_unlink       -3
#define NR_unlinkat     35
#define NR_rename       -4
#define NR_renameat     38
#define NR_renameat2    276
#define NR_link         -5
#define NR_linkat       37
#define NR_symlink      -6
#define NR_symlinkat    36
#define NR_chmod        -7
#define NR_fchmod       52
#define NR_fchmodat     53
#define NR_fchmodat2    452
#define NR_chown        -8
#define NR_fchown       55
#define NR_lchown       -9
#define NR_fchownat     54
#define NR_truncate     45
#define NR_ftruncate    46
#define NR_mmap         222
#define NR_memfd_create 279
#define NR_connect      203
#define NR_accept       202
#define NR_accept4      242
#define NR_bind         200
#define NR_listen       201
#define NR_sendto       206
#define NR_setuid       146
#define NR_setgid       144
#define NR_setreuid     145
#define NR_setregid     143
#define NR_setresuid    147
#define NR_setresgid    149
#define NR_setfsuid     151
#define NR_setfsgid     152
#define NR_capset       91
#define NR_ptrace       117
#define NR_bpf          280
#define NR_init_module  105
#define NR_finit_module 273
#define NR_mount        40
#define NR_umount2      39
#define NR_pivot_root   41
#define NR_move_mount   429
#endif

__noinline int mz_exit_other(int nr, long ret)
{
    struct pt_regs *r = user_regs();
    int dfd = -100; /* AT_FDCWD */
    __u64 p1 = 0, p2 = 0;
    int dfd2 = -100;
    __u32 act = 0;

    if (!r)
        return 0;
    switch (nr) {
    /* one path */
    case NR_unlink:
        p1 = ARG0(r), act = MZ_FA_UNLINK;
        break;
    case NR_unlinkat:
        dfd = ARG0(r), p1 = ARG1(r), act = MZ_FA_UNLINK;
        break;
    case NR_chmod:
        p1 = ARG0(r), act = MZ_FA_CHMOD;
        break;
    case NR_fchmodat:
    case NR_fchmodat2:
        dfd = ARG0(r), p1 = ARG1(r), act = MZ_FA_CHMOD;
        break;
    case NR_chown:
    case NR_lchown:
        p1 = ARG0(r), act = MZ_FA_CHOWN;
        break;
    case NR_fchownat:
        dfd = ARG0(r), p1 = ARG1(r), act = MZ_FA_CHOWN;
        break;
    case NR_truncate:
        p1 = ARG0(r), act = MZ_FA_TRUNCATE;
        break;
    /* two paths: the existing object, then the new name */
    case NR_rename:
        p1 = ARG0(r), p2 = ARG1(r), act = MZ_FA_RENAME;
        break;
    case NR_renameat:
    case NR_renameat2:
        dfd = ARG0(r), p1 = ARG1(r), dfd2 = ARG2(r), p2 = ARG3(r), act = MZ_FA_RENAME;
        break;
    case NR_link:
        p1 = ARG0(r), p2 = ARG1(r), act = MZ_FA_LINK;
        break;
    case NR_linkat:
        dfd = ARG0(r), p1 = ARG1(r), dfd2 = ARG2(r), p2 = ARG3(r), act = MZ_FA_LINK;
        break;
    case NR_symlink:
        if (ret != 0)
            return 0;
        return symlink_common((const char *)ARG0(r), (const char *)ARG1(r), -100);
    case NR_symlinkat:
        if (ret != 0)
            return 0;
        return symlink_common((const char *)ARG0(r), (const char *)ARG2(r), (int)ARG1(r));
    /* file descriptors */
    case NR_fchmod:
        if (ret != 0)
            return 0;
        return fd_action((int)ARG0(r), MZ_FA_CHMOD);
    case NR_fchown:
        if (ret != 0)
            return 0;
        return fd_action((int)ARG0(r), MZ_FA_CHOWN);
    case NR_ftruncate:
        if (ret != 0)
            return 0;
        return fd_action((int)ARG0(r), MZ_FA_TRUNCATE);
    case NR_mmap:
        if ((ret < 0 && ret > -4096) || !(ARG2(r) & 4 /* PROT_EXEC */) || (int)ARG4(r) < 0)
            return 0;
        return fd_action((int)ARG4(r), MZ_FA_MMAP);
    case NR_memfd_create:
        if (ret < 0)
            return 0;
        return memfd_common((const char *)ARG0(r));
    /* network */
    case NR_connect:
        if (ret == 0 || ret == -115 /* EINPROGRESS */)
            return mz_record_flow((__u64)sock_of_fd((int)ARG0(r)), MZ_FL_CONNECT, MZ_DIR_EGRESS, 0,
                                  0);
        /* A refused, unreachable or timed-out attempt is still an attempt
         * (a scan, a probe of the metadata endpoint): record the address the
         * process asked for, marked failed. Argument errors are not attempts. */
        if (ret == -111 /* ECONNREFUSED */ || ret == -110 /* ETIMEDOUT */ ||
            ret == -113 /* EHOSTUNREACH */ || ret == -101 /* ENETUNREACH */ ||
            ret == -13 /* EACCES */ || ret == -1 /* EPERM */ || ret == -104 /* ECONNRESET */)
            return mz_record_flow((__u64)sock_of_fd((int)ARG0(r)), MZ_FL_CONNECT | MZ_FL_FAILED,
                                  MZ_DIR_EGRESS, ARG1(r), (__u32)ARG2(r));
        return 0;
    case NR_accept:
    case NR_accept4:
        if (ret < 0)
            return 0;
        return mz_record_flow((__u64)sock_of_fd((int)ret), MZ_FL_ACCEPT, MZ_DIR_INGRESS, 0, 0);
    case NR_bind:
        if (ret != 0)
            return 0;
        return mz_record_flow((__u64)sock_of_fd((int)ARG0(r)), MZ_FL_BIND, MZ_DIR_INGRESS, 0, 0);
    case NR_listen:
        if (ret != 0)
            return 0;
        return mz_record_flow((__u64)sock_of_fd((int)ARG0(r)), MZ_FL_LISTEN, MZ_DIR_INGRESS, 0, 0);
    case NR_sendto:
        if (ret < 0)
            return 0;
        return sendto_common((int)ARG0(r), ARG4(r), (__u32)ARG5(r));
    /* privilege */
    case NR_setuid:
    case NR_setfsuid:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_SETUID, (__u32)ARG0(r), 0);
    case NR_setreuid:
    case NR_setresuid:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_SETUID, (__u32)ARG1(r), 0);
    case NR_setgid:
    case NR_setfsgid:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_SETGID, (__u32)ARG0(r), 0);
    case NR_setregid:
    case NR_setresgid:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_SETGID, (__u32)ARG1(r), 0);
    case NR_capset:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_CAPSET, 0, 0);
    case NR_ptrace:
        return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, MZ_PA_PTRACE, (__s32)ARG1(r), 0);
    /* tamper evidence: attempts count, whatever they returned */
    case NR_bpf:
        return mz_bpf_call((int)ARG0(r), ARG1(r));
    case NR_init_module:
        return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MODULE_LOAD, 0, 0);
    case NR_finit_module:
        return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MODULE_LOAD, (int)ARG0(r), 0);
    /* mount changes: paths below a moved or new mount point change */
    case NR_mount:
    case NR_umount2:
    case NR_move_mount:
    case NR_pivot_root:
        if (ret == 0)
            __sync_fetch_and_add(&path_epoch, 1);
        return 0;
    default:
        return 0;
    }
    if (ret != 0)
        return 0;
    if (act == MZ_FA_RENAME)
        __sync_fetch_and_add(&path_epoch, 1);
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (p2 && mz_read_user_path(p2, dfd2, s, 1) < 0)
        return 0;
    if (mz_read_user_path(p1, dfd, s, 0) < 0)
        return 0;
    return mz_record_link(s, act, p2 ? 1 : 0);
}

/* Syscalls mz_sys_exit handles: a bitmap, so that the others (it runs at
 * every syscall exit) cost a shift and a test. */
#define NR_BIT(n, w) ((n) >= 0 && (n) / 64 == (w) ? 1ULL << ((n) % 64) : 0)
#define NR_WORD(w)                                                                                 \
    (NR_BIT(NR_open, w) | NR_BIT(NR_openat, w) | NR_BIT(NR_openat2, w) | NR_BIT(NR_creat, w) |     \
     NR_BIT(NR_unlink, w) | NR_BIT(NR_unlinkat, w) | NR_BIT(NR_rename, w) |                        \
     NR_BIT(NR_renameat, w) | NR_BIT(NR_renameat2, w) | NR_BIT(NR_link, w) |                       \
     NR_BIT(NR_linkat, w) | NR_BIT(NR_symlink, w) | NR_BIT(NR_symlinkat, w) |                      \
     NR_BIT(NR_chmod, w) | NR_BIT(NR_fchmod, w) | NR_BIT(NR_fchmodat, w) |                         \
     NR_BIT(NR_fchmodat2, w) | NR_BIT(NR_chown, w) | NR_BIT(NR_fchown, w) | NR_BIT(NR_lchown, w) | \
     NR_BIT(NR_fchownat, w) | NR_BIT(NR_truncate, w) | NR_BIT(NR_ftruncate, w) |                   \
     NR_BIT(NR_mmap, w) | NR_BIT(NR_memfd_create, w) | NR_BIT(NR_connect, w) |                     \
     NR_BIT(NR_accept, w) | NR_BIT(NR_accept4, w) | NR_BIT(NR_bind, w) | NR_BIT(NR_listen, w) |    \
     NR_BIT(NR_sendto, w) | NR_BIT(NR_setuid, w) | NR_BIT(NR_setgid, w) | NR_BIT(NR_setreuid, w) | \
     NR_BIT(NR_setregid, w) | NR_BIT(NR_setresuid, w) | NR_BIT(NR_setresgid, w) |                  \
     NR_BIT(NR_setfsuid, w) | NR_BIT(NR_setfsgid, w) | NR_BIT(NR_capset, w) |                      \
     NR_BIT(NR_ptrace, w) | NR_BIT(NR_bpf, w) | NR_BIT(NR_init_module, w) |                        \
     NR_BIT(NR_finit_module, w) | NR_BIT(NR_mount, w) | NR_BIT(NR_umount2, w) |                    \
     NR_BIT(NR_pivot_root, w) | NR_BIT(NR_move_mount, w))
#define NR_MAX 512
static const __u64 nr_mask[NR_MAX / 64] = {NR_WORD(0), NR_WORD(1), NR_WORD(2), NR_WORD(3),
                                           NR_WORD(4), NR_WORD(5), NR_WORD(6), NR_WORD(7)};

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(r) ((r)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(r) ((r)->syscallno)
#endif

/* A BTF raw tracepoint on sys_exit: the task's user registers come as an
 * argument (no helper, no perf buffer), which is what makes the hot path
 * cheap; the price is one bitmap test at every other syscall exit. */
static __always_inline int sys_exit_body(struct pt_regs *regs, long ret, const bool typed)
{
    __u64 nr = SYSCALL_NR(regs);
    if (nr >= NR_MAX || !((nr_mask[nr / 64] >> (nr % 64)) & 1))
        return 0;
    /* mizan's own reads of /proc and of its maps would feed back into every
     * scan: not recorded (its bpf() calls are not tamper either). */
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == mizan_tgid)
        return 0;
    if (nr == NR_openat || nr == NR_open || nr == NR_openat2 || nr == NR_creat) {
        if (ret < 0)
            return 0;
        __u64 up, flags;
        if (nr == NR_openat) {
            up = ARG1(regs);
            flags = ARG2(regs);
        } else if (nr == NR_open) {
            up = ARG0(regs);
            flags = ARG1(regs);
        } else if (nr == NR_creat) {
            up = ARG0(regs);
            flags = 01 | 0100 | 01000;
        } else {
            up = ARG1(regs);
            flags = 0;
            bpf_probe_read_user(&flags, sizeof(flags), (void *)ARG2(regs)); /* open_how.flags */
        }
        return open_common(t, ret, up, flags, typed);
    }
    return mz_exit_other((int)nr, ret);
}

/* The same program twice: the collector loads the first where the kernel
 * has bpf_rdonly_cast (6.2+), the second elsewhere. */
SEC("tp_btf/sys_exit")
int BPF_PROG(mz_sys_exit, struct pt_regs *regs, long ret)
{
    return sys_exit_body(regs, ret, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(mz_sys_exit_compat, struct pt_regs *regs, long ret)
{
    return sys_exit_body(regs, ret, false);
}

/* ---- programs: DNS answers ------------------------------------------------- */

#define DNS_MAX  512  /* bytes of a DNS message parsed (the classic UDP limit) */
#define DNS_BUF  1024 /* power of two, with room past DNS_MAX for masked reads */
#define DNS_MASK (DNS_BUF - 1)

struct dns_scratch {
    __u8 buf[DNS_BUF + 64];
    __u32 pos; /* in map memory, for the same reason as scratch.pos */
    __u32 pad0;
    struct mz_ip_key key;
    struct mz_dns_val val;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dns_scratch);
} dns_scratch_map SEC(".maps");

static __always_inline __u32 be16_at(const __u8 *b, __u32 p)
{
    return ((__u32)b[p & DNS_MASK] << 8) | b[(p + 1) & DNS_MASK];
}

/* Skips a (possibly compressed) name at d->pos. Returns 0 or -1. A global
 * function: verified once, not once per answer. */
__noinline int mz_dns_skip_name(struct dns_scratch *d, __u32 len)
{
    if (!d)
        return -1;
    for (int j = 0; j < 64; j++) {
        __u32 p = d->pos;
        if (p >= len)
            return -1;
        __u8 l = d->buf[p & DNS_MASK];
        if (l == 0) {
            d->pos = p + 1;
            return 0;
        }
        if ((l & 0xC0) == 0xC0) {
            d->pos = p + 2;
            return 0;
        }
        if (l & 0xC0)
            return -1;
        d->pos = p + 1 + l;
    }
    return -1;
}

/* Parses a DNS response of len bytes in d->buf: the question's name is
 * recorded for every A and AAAA address in the answers. */
__noinline int mz_dns_parse(struct dns_scratch *d, __u32 len)
{
    if (!d || len < 12 || len > DNS_MAX)
        return 0;
    __u8 *b = d->buf;
    if (!(b[2] & 0x80) || (b[3] & 0x0f) || be16_at(b, 4) != 1)
        return 0; /* not a response, an error, or not one question */
    __u32 an = be16_at(b, 6);
    d->pos = 12;
    for (int i = 0; i < 64; i++) {
        __u32 p = d->pos;
        if (p >= len)
            return 0;
        __u8 l = b[p & DNS_MASK];
        if (l == 0) {
            d->pos = p + 1;
            break;
        }
        if (l & 0xC0)
            return 0;
        d->pos = p + 1 + l;
    }
    __u32 qlen = d->pos - 12;
    if (qlen < 2 || b[(d->pos - 1) & DNS_MASK] != 0)
        return 0;
    d->val.len = qlen > MZ_BPF_DOMAIN_MAX ? MZ_BPF_DOMAIN_MAX : qlen;
    d->val.pad0 = 0;
    d->val.seen_ns = bpf_ktime_get_boot_ns();
    __builtin_memcpy(d->val.qname, &b[12], MZ_BPF_DOMAIN_MAX);
    d->pos += 4; /* QTYPE, QCLASS */
    for (int a = 0; a < 16; a++) {
        if (a >= an)
            break;
        if (mz_dns_skip_name(d, len) < 0)
            return 0;
        __u32 p = d->pos;
        if (p + 10 > len)
            return 0;
        __u32 type = be16_at(b, p);
        __u32 rdlen = be16_at(b, p + 8);
        p += 10;
        if (p + rdlen > len)
            return 0;
        __builtin_memset(&d->key, 0, sizeof(d->key));
        if (type == 1 && rdlen == 4) {
            d->key.family = 2;
            __builtin_memcpy(d->key.addr, &b[p & DNS_MASK], 4);
            bpf_map_update_elem(&domains, &d->key, &d->val, BPF_ANY);
        } else if (type == 28 && rdlen == 16) {
            d->key.family = 10;
            __builtin_memcpy(d->key.addr, &b[p & DNS_MASK], 16);
            bpf_map_update_elem(&domains, &d->key, &d->val, BPF_ANY);
        }
        d->pos = p + rdlen;
    }
    return 0;
}

/* Every packet a socket receives passes here: UDP from port 53 is parsed,
 * anything else costs a few loads. Never drops anything. */
SEC("cgroup_skb/ingress")
int mz_dns_ingress(struct __sk_buff *skb)
{
    __u32 off;
    __u8 proto;
    if (skb->protocol == bpf_htons(0x0800)) {
        __u8 vihl;
        __u16 frag;
        if (bpf_skb_load_bytes(skb, 0, &vihl, 1) < 0 || bpf_skb_load_bytes(skb, 9, &proto, 1) < 0 ||
            bpf_skb_load_bytes(skb, 6, &frag, 2) < 0)
            return 1;
        if (bpf_ntohs(frag) & 0x3fff)
            return 1; /* fragments */
        off = (vihl & 0x0f) * 4;
    } else if (skb->protocol == bpf_htons(0x86DD)) {
        if (bpf_skb_load_bytes(skb, 6, &proto, 1) < 0)
            return 1;
        off = 40;
    } else {
        return 1;
    }
    if (proto != 17 /* UDP */)
        return 1;
    __u16 sport;
    if (bpf_skb_load_bytes(skb, off, &sport, 2) < 0 || sport != bpf_htons(53))
        return 1;
    off += 8;
    if (skb->len <= off)
        return 1;
    __u64 n = skb->len - off;
    if (n > DNS_MAX)
        n = DNS_MAX;
    /* keep the compiler from reusing the unbounded value for the verifier */
    asm volatile("" : "+r"(n));
    __u32 zero = 0;
    struct dns_scratch *d = bpf_map_lookup_elem(&dns_scratch_map, &zero);
    if (!d || n < 12 || n > DNS_MAX)
        return 1;
    if (bpf_skb_load_bytes(skb, off, d->buf, n) < 0)
        return 1;
    mz_dns_parse(d, n);
    return 1;
}

/* Module loads: the module:module_load tracepoint where the kernel has one
 * (the loader skips it otherwise); init_module and finit_module are also
 * recorded by mz_sys_exit. */
SEC("tracepoint/module/module_load")
int mz_module_load(void *ctx)
{
    return mz_record_event(MZ_EV_TAMPER, MZ_TAMPER_MODULE_LOAD, 0, 0);
}
