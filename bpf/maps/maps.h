/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.h - every map of mizan.bpf.c: the relational store of mizan_maps.h
 * (tasks, execs, files, files_long, args, args_long, links, flows, events,
 * domains), the socket owners, the counters and the per-CPU scratch.
 */
#ifndef MIZAN_BPF_MAPS_MAPS_H
#define MIZAN_BPF_MAPS_MAPS_H

/* Every map an observation or an alert needs is a plain hash map, never an
 * LRU: nothing leaves it but what the collector deletes (what it delivered,
 * what can no longer change). A record a full map cannot take goes to the
 * overflow ring below; only a failed hand-off is a loss, and it is counted
 * (mz_counters). socks, an index of the programs' own, stays an LRU. */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct mz_task_val);
} tasks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_exec_key);
    __type(value, struct mz_exec_val);
} execs SEC(".maps");

/* Paths and command lines are content-addressed and kept in two tiers: most
 * are short, so the "small" maps hold a record cut to MZ_BPF_*_SMALL bytes
 * (same layout, shorter value) and only long ones take a full record. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct mz_file_small);
} files SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 2048);
    __type(key, __u64);
    __type(value, struct mz_file_val);
} files_long SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct mz_args_small);
} args SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, struct mz_args_val);
} args_long SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct mz_link_key);
    __type(value, struct mz_link_val);
} links SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_link_key);
    __type(value, struct mz_flow_val);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct mz_link_key);
    __type(value, struct mz_event_val);
} events SEC(".maps");

/* Tamper evidence (MZ_EV_TAMPER events), apart from the other events: a
 * plain hash, so that no flood of other records (a setfsuid loop) can evict
 * it. Full, a new record fails (counted) and the old ones stay. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct mz_link_key);
    __type(value, struct mz_event_val);
} tamper SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_ip_key);
    __type(value, struct mz_dns_val);
} domains SEC(".maps");

/* name key -> name (struct mz_dns_name); the collector sizes it to a
 * quarter of domains. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct mz_dns_name);
} dns_names SEC(".maps");

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

/* Sockets that sent DNS queries -> their process (see mz_dns_client_key):
 * an index, like socks, so an LRU. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct mz_dns_client_key);
    __type(value, struct mz_dns_client_val);
} dns_clients SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mz_counters);
} counters SEC(".maps");

/* Records their full map could not take (struct mz_overflow_hdr + value),
 * drained by the collector between scans. Sized by the collector
 * (collector.overflow). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} overflow SEC(".maps");

/* The interest set (mizan_maps.h, struct mz_interest_key) and its state;
 * records aggregated per task (helpers/interest.h). */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 8192);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct mz_interest_key);
    __type(value, struct mz_interest_val);
} interest SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mz_interest_cfg);
} interest_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct mz_aggr_val);
} aggregates SEC(".maps");

/* Where an overflow record is put together (process context only). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mz_overflow_rec);
} overflow_buf SEC(".maps");

#define WALK_BUF   1024 /* path walk buffer: PATH_MAX + the longest name */
#define WALK_DEPTH 40   /* path components and mount crossings */
#define PATH_MASK  (MZ_BPF_PATH_MAX - 1)
#define ARGS_MASK  (MZ_BPF_ARGS_MAX - 1)

struct scratch {
    /* The open path's task key cache: the key of (tk_tgid, tk_start,
     * tk_exec), i.e. image_key memoized per CPU; tk_tgid 0 = empty (see
     * task_key_cached). First, on the page of file's first bytes. */
    __u32 tk_tgid;
    __u32 tk_exec;
    __u64 tk_start;
    __u64 tk_key;
    /* The file an open returned: its mount and dentry, as numbers (see
     * open_ident). */
    __u64 id_mnt;
    __u64 id_dentry;
    /* The identity (inode, kernel device number) of the file whose path is
     * in `file`, when that path was walked from a dentry; 0 when it came
     * from a string (see mz_walk_path, mz_read_user_path). */
    __u64 file_ino;
    __u32 file_dev;
    /* mz_admit said 0 for a record a recipe could alert on (its task spent
     * its budget of the ring, or the ring is nearly full): if it is
     * aggregated, that is tamper evidence (helpers/records.h). */
    __u32 flooded;
    /* Where the task's saved user registers are, as an offset from its
     * stack (0: not learnt yet on this CPU; see open_regs). */
    __u64 regs_off;
    /* The task key whose record mz_task_ensure last found or made on this
     * CPU (0: none): a process image's record stays until it has exited,
     * so its later actions skip the lookup. */
    __u64 task_ok;
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
    /* The mount namespace the last walk ended in when it is not the
     * initial one (mz_walk_path), else 0. */
    __u32 walk_ns;
    __u32 args_ring; /* mz_args_store: the args record went to the overflow ring */
    /* The interest test's key (helpers/interest.h). */
    struct mz_interest_key ikey;
};

/* Slot 0: process context; slot 1: programs that may run in softirq. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch_map SEC(".maps");

/* Bytes of a DNS message parsed: EDNS's largest common buffer (RFC 6891
 * lets a client offer up to 65535; resolvers offer 1232 to 4096). */
#define DNS_MAX  4096
#define DNS_MASK (DNS_MAX - 1) /* reads are masked into the buffer */
/* Answers a DNS_MAX-byte message can hold: 12 bytes each at least (a
 * compressed owner name, type, class, TTL, an empty rdata) after the
 * 12-byte header and a 5-byte question. */
#define DNS_ANSWERS ((DNS_MAX - 17) / 12)
/* Names of one answer's chain kept for its addresses: the asked name and
 * up to MZ_DNS_NAMES - 1 CNAME targets. */
#define DNS_CHAIN MZ_DNS_NAMES

struct dns_scratch {
    __u8 buf[DNS_MAX + 64]; /* slack past DNS_MASK for the fixed-size copies */
    __u32 pos;              /* in map memory, for the same reason as scratch.pos */
    __u32 len;              /* bytes of the message in buf */
    __u32 an;               /* answers still to read */
    __u32 n_addr;
    __u32 n_chain;
    __u32 out;  /* mz_dns_read_name: bytes written to nm.name */
    __u32 left; /* mz_dns_read_name: bytes of the current label still to copy */
    __u32 jumps;
    __u32 rp;      /* mz_dns_read_name: where it reads */
    __u32 n_merge; /* mz_dns_put: names in val.names */
    __s32 rc;      /* mz_dns_read_name: its result */
    __u32 pad0;
    __u64 asked_known;           /* mz_dns_put: the asked name was among the entry's */
    __u16 addr_pos[DNS_ANSWERS]; /* offset of each A/AAAA rdata, bit 15: AAAA */
    __u16 pad1[(4 - DNS_ANSWERS % 4) % 4];
    __u64 chain[DNS_CHAIN]; /* dns_names keys of this answer's names */
    struct mz_ip_key key;
    struct mz_dns_val val;
    struct mz_dns_val old; /* the entry as it was, merged into val */
    struct mz_dns_name nm; /* a name being decoded and stored */
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dns_scratch);
} dns_scratch_map SEC(".maps");

/* Pinning metadata (collector/col_pin.c): written by userland only, read by
 * a restarted daemon to adopt these maps. No program uses it; it is here so
 * that it is one of mizan's own maps (tamper evidence). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mz_pin_meta);
} pin_meta SEC(".maps");

#endif
