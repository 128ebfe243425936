/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mizan_maps.h - the records the BPF programs (bpf/mizan.bpf.c) keep in their
 * maps and the collector (collector/collector.c) reads. A frozen ABI shared by
 * both sides: fixed-width types only, explicit padding, a size assert on each
 * struct, so that the BPF object and the daemon always agree on layouts.
 *
 * The maps form a small relational store. Every key is a keyed hash (SipHash-
 * 1-3, per-boot random key set through rodata) of a stable identity:
 *   task key  = H(tgid, start time, exec seq)  -> mz_task_val   (map "tasks"; one per image)
 *   file key  = H(path bytes)                  -> mz_file_val   ("files", "files_long")
 *   args key  = H(argv bytes)                  -> mz_args_val   ("args", "args_long")
 *   (task key, file key)                       -> mz_link_val   (map "links")
 *   (task key, flow key = H(5-tuple))          -> mz_flow_val   (map "flows")
 *   (task key, exec time)                      -> mz_exec_val   (map "execs")
 *   (task key, H(kind, action, target))        -> mz_event_val  (map "events")
 *
 * Generations: userland sets `cur_gen` (through mz_set_gen) at the start of every scan.
 * Each record stores the generation of its last change (gen) and of its
 * creation (created_gen); the kernel counts creations per map and per
 * generation slot (gen % MZ_GEN_SLOTS) in the per-CPU "counters" map, so that
 * userland can tell exactly how many records of a generation it never saw.
 */
#ifndef MIZAN_BPF_MAPS_H
#define MIZAN_BPF_MAPS_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types on the BPF side. */
#else
#include <linux/types.h>
#endif

#define MZ_BPF_PATH_MAX   512  /* bytes of a path kept in a file record (power of 2) */
#define MZ_BPF_ARGS_MAX   4096 /* bytes of argv kept in an args record (power of 2) */
#define MZ_BPF_PATH_SMALL 128  /* paths shorter than this go to "files", others to "files_long" */
#define MZ_BPF_ARGS_SMALL 256  /* argv of at most this goes to "args", longer to "args_long" */
#define MZ_BPF_DETAIL     64   /* bytes of detail in an event record */
#define MZ_GEN_SLOTS      4    /* creation counters per map, indexed by gen % slots */
/* ids of mizan's own maps, for tamper evidence (collector.c asserts at build
 * time that every map of the object fits) */
#define MZ_OWN_MAPS_MAX 32

/* Record flags. */
#define MZ_REC_TRUNCATED (1u << 0) /* the path or argv did not fit and was cut */
#define MZ_REC_EXITED    (1u << 1) /* task: the process has exited */
#define MZ_REC_EXECED    (1u << 2) /* task: exe/args come from an exec we saw */
#define MZ_REC_LAZY      (1u << 3) /* task: created on first sight, not at fork */
#define MZ_REC_REPLACED  (1u << 4) /* task: this image was replaced by an exec (exit_ns: when) */

/* Maps whose records are counted (index into mz_counters, and the map of an
 * overflow record). */
enum mz_map_index {
    MZ_MAP_TASKS = 0,
    MZ_MAP_EXECS = 1,
    MZ_MAP_LINKS = 2,
    MZ_MAP_FLOWS = 3,
    MZ_MAP_EVENTS = 4,
    MZ_MAP_FILES = 5,
    MZ_MAP_ARGS = 6,
    MZ_MAP_FILES_LONG = 7,
    MZ_MAP_ARGS_LONG = 8,
    MZ_MAP_DOMAINS = 9,
    MZ_MAP_TAMPER = 10, /* tamper events, apart from the others (map "tamper") */
    MZ_MAP_COUNT = 11,
};

/* Kinds of an event record (values of enum mz_obs_kind in core/event.h). */
#define MZ_EV_PRIV   4
#define MZ_EV_TAMPER 5

struct mz_task_val {
    __u64 parent_key; /* task key of the parent process, 0 when unknown */
    __u64 start_ns;   /* boot-relative start time of the process */
    __u64 exec_ns;    /* time of the last exec seen, 0 if none */
    __u64 exit_ns;    /* time of exit, 0 while alive */
    __u64 cgroup_id;
    __u64 exe_key;  /* file key of the executable, 0 when unknown */
    __u64 args_key; /* args key of the command line, 0 when unknown */
    __u32 tgid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __u32 euid;
    __u32 gen;
    __u32 created_gen;
    __u32 flags; /* MZ_REC_* */
    char comm[16];
    /* The executable's identity, as the kernel had it at exec (or when the
     * record was made lazily): inode and device number (major << 20 |
     * minor, as in mz_link_val); 0 when unknown. exe_key's path is walked
     * from the file's dentry up to the root of the mount tree, whatever the
     * process's root (a chroot); exe_seen_key is the path the process named
     * in execve when it is absolute and differs (a chroot-relative path, a
     * symlink, a bind mount's path is the walked one), else 0. */
    __u64 exe_ino;
    __u32 exe_dev;
    __u32 pad1;
    __u64 exe_seen_key;
};
_Static_assert(sizeof(struct mz_task_val) == 128, "mz_task_val layout");

struct mz_exec_key {
    __u64 task_key;
    __u64 exec_ns;
};
_Static_assert(sizeof(struct mz_exec_key) == 16, "mz_exec_key layout");

/* One exec, never modified after creation (gen == created_gen). */
struct mz_exec_val {
    __u64 parent_key;
    __u64 start_ns;
    __u64 cgroup_id;
    __u64 exe_key;
    __u64 args_key;
    __u64 cwd_key; /* file key of the working directory at exec, or 0 */
    __u32 tgid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __u32 euid;
    __u32 gen;
    __u32 created_gen;
    __u32 flags;
    char comm[16];
    __u64 exe_ino; /* as in mz_task_val */
    __u32 exe_dev;
    __u32 pad1;
    __u64 exe_seen_key;
};
_Static_assert(sizeof(struct mz_exec_val) == 120, "mz_exec_val layout");

/* Paths and command lines. gen: the generation in which a record was last
 * stored or found by a record that refers to it; the collector deletes one
 * only when no record it still holds refers to it and gen is old (see
 * bpf/README.md, "Deletes"). */
struct mz_file_val {
    __u32 len;   /* bytes in path, NUL excluded */
    __u32 flags; /* MZ_REC_TRUNCATED */
    __u32 gen;
    /* The inode of the mount namespace path is relative to (its root is
     * that namespace's root mount, which is not the initial namespace's),
     * or 0: path is in the initial mount namespace. Part of the record's
     * key (mz_hash_path): the same text in two namespaces is two records. */
    __u32 mnt_ns;
    char path[MZ_BPF_PATH_MAX];
};
_Static_assert(sizeof(struct mz_file_val) == 16 + MZ_BPF_PATH_MAX, "mz_file_val layout");

/* The short tiers: the same layout, cut. */
struct mz_file_small {
    __u32 len;
    __u32 flags;
    __u32 gen;
    __u32 mnt_ns;
    char path[MZ_BPF_PATH_SMALL];
};
_Static_assert(sizeof(struct mz_file_small) == 16 + MZ_BPF_PATH_SMALL, "mz_file_small layout");

struct mz_args_val {
    __u32 len;   /* bytes in data (NUL-separated argv) */
    __u32 flags; /* MZ_REC_TRUNCATED */
    __u32 gen;
    __u32 pad0;
    char data[MZ_BPF_ARGS_MAX];
};
_Static_assert(sizeof(struct mz_args_val) == 16 + MZ_BPF_ARGS_MAX, "mz_args_val layout");

struct mz_args_small {
    __u32 len;
    __u32 flags;
    __u32 gen;
    __u32 pad0;
    char data[MZ_BPF_ARGS_SMALL];
};
_Static_assert(sizeof(struct mz_args_small) == 16 + MZ_BPF_ARGS_SMALL, "mz_args_small layout");

/* Key of links, flows and events: (task key, object key). */
struct mz_link_key {
    __u64 task_key;
    __u64 obj_key;
};
_Static_assert(sizeof(struct mz_link_key) == 16, "mz_link_key layout");

/* The hot path does not read a clock (a precise one costs more than the rest
 * of the update on some machines): it stamps jiffies, and userland turns
 * last_jiffies into a time with first_ns/first_jiffies and the tick length.
 * last_ns is precise as of the last cold-path update.
 *
 * Two kinds of link share the map. Opens are keyed by the opened file's
 * identity (obj_key = a keyed mix of its mount, dentry and name hash), so
 * that a repeated open costs no read of the caller's path string; file_key
 * is the key of the path that identity had when the link was made, checked
 * again whenever a rename or a mount may have changed it (epoch). Every
 * other action is keyed by the path (obj_key == file_key). */
struct mz_link_val {
    __u64 first_ns; /* boot ns */
    __u64 last_ns;  /* boot ns of the last precise update */
    __u64 count;
    __u64 path2_key; /* file key of the second path (rename, link, symlink), or 0 */
    __u64 actions;   /* enum mz_file_action bits (64-bit for BPF atomics) */
    __u64 first_jiffies;
    __u64 last_jiffies;
    __u64 file_key; /* key of the path in files/files_long */
    __u32 gen;
    __u32 created_gen;
    __u32 tgid;
    __u32 epoch; /* opens: the path epoch file_key was checked in; MZ_EPOCH_MOVED */
    /* The file's identity when the link was made from a dentry (opens,
     * actions on a file descriptor, execs): its inode and the kernel's
     * device number of its filesystem (major << 20 | minor); 0 when the
     * action named a path only (unlink, rename, chmod by path, ...). */
    __u64 ino;
    __u32 dev;
    __u32 pad1;
};
_Static_assert(sizeof(struct mz_link_val) == 96, "mz_link_val layout");

/* An open link whose file's path changed after it was made (a directory
 * above it renamed): its later opens are recorded by path instead. */
#define MZ_EPOCH_MOVED 0xffffffffu

struct mz_flow_val {
    __u64 first_ns;
    __u64 last_ns;
    __u64 count;
    __u64 actions; /* enum mz_flow_action bits (64-bit for BPF atomics) */
    __u32 gen;
    __u32 created_gen;
    __u32 tgid;
    __u8 family; /* AF_INET, AF_INET6 */
    __u8 proto;  /* IPPROTO_* */
    __u8 direction;
    __u8 pad0;
    __u16 local_port; /* host byte order */
    __u16 remote_port;
    __u32 pad1;
    __u8 local_addr[16]; /* network byte order; IPv4 in the first 4 bytes */
    __u8 remote_addr[16];
};
_Static_assert(sizeof(struct mz_flow_val) == 88, "mz_flow_val layout");

struct mz_event_val {
    __u64 first_ns;
    __u64 last_ns;
    __u64 count;
    __s64 target;  /* new uid/gid, traced pid, map id, ... */
    __u32 kind;    /* MZ_EV_PRIV, MZ_EV_TAMPER */
    __u32 actions; /* enum mz_priv_action bits, or enum mz_tamper_kind */
    __u32 gen;
    __u32 created_gen;
    __u32 tgid;
    __u32 pad0;
    char detail[MZ_BPF_DETAIL];
};
_Static_assert(sizeof(struct mz_event_val) == 120, "mz_event_val layout");

/* (client, ip) -> domain, from the DNS answers the host receives (map
 * "domains"). Resolutions are kept per DNS client: client is the task key of
 * the process whose socket asked (found through dns_clients), so that one
 * process's resolver cannot relabel another's flows; client 0 is the
 * host-wide entry, the last name any client got for the address, marked
 * MZ_DNS_CONFLICT once two clients got unrelated names for it (a name that
 * is not among the entry's names). The asked name is kept inline in DNS wire
 * format (length-prefixed labels, as in the question, up to 255 bytes: every
 * name DNS allows); userland turns it into dotted text. names[] holds the
 * keys (in "dns_names") of every name the address had recently for this
 * entry, most recent first, without duplicates: the asked names and the
 * names of the CNAME chains that led to it. */
#define MZ_BPF_DOMAIN_MAX 256
#define MZ_DNS_NAMES      8 /* names kept per (client, address) */
#define MZ_DNS_CONFLICT   (1u << 0)
struct mz_ip_key {
    __u64 client;  /* task key of the asking process, 0: host-wide */
    __u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
    __u8 family;   /* AF_INET (2) or AF_INET6 (10) */
    __u8 pad[7];
};
_Static_assert(sizeof(struct mz_ip_key) == 32, "mz_ip_key layout");

struct mz_dns_val {
    __u64 seen_ns; /* boot ns of the answer */
    __u64 client;  /* who got this name (the host-wide entry: the last client) */
    __u32 len;     /* bytes of qname used, the final 0 included */
    __u32 flags;   /* MZ_DNS_* */
    __u32 netns;   /* inode of the client socket's network namespace, 0: unknown */
    __u16 qid;     /* the DNS message id of the answer */
    __u8 n_names;  /* entries of names[] used */
    __u8 pad0;
    __u64 names[MZ_DNS_NAMES];      /* dns_names keys, most recent first */
    __u32 names_seen[MZ_DNS_NAMES]; /* boot seconds each name was last given */
    __u8 qname[MZ_BPF_DOMAIN_MAX];
};
_Static_assert(sizeof(struct mz_dns_val) == 32 + 12 * MZ_DNS_NAMES + MZ_BPF_DOMAIN_MAX,
               "mz_dns_val layout");

/* name key -> name (map "dns_names"): every name of an answer (asked, or a
 * CNAME's target), keyed by the SipHash (per-boot key) of its zero-padded
 * wire form, so that no one can craft names whose keys collide. An LRU
 * index: under a flood of names the least recent go; userland also removes
 * the stale ones, and skips a key whose name has gone. */
struct mz_dns_name {
    __u64 seen_ns; /* boot ns of the last answer that gave it */
    __u32 len;     /* bytes of name used, the final 0 included */
    __u32 pad0;
    __u8 name[MZ_BPF_DOMAIN_MAX]; /* wire format, zero past len */
};
_Static_assert(sizeof(struct mz_dns_name) == 16 + MZ_BPF_DOMAIN_MAX, "mz_dns_name layout");

/* A UDP socket that sent to port 53, by its local port, family and cgroup
 * (what a DNS answer's ingress can see of its socket) -> the process that
 * sent and the socket's network namespace (map "dns_clients"). */
struct mz_dns_client_key {
    __u64 cgroup; /* cgroup v2 id of the socket */
    __u16 port;   /* local port, host byte order */
    __u8 family;
    __u8 pad[5];
};
_Static_assert(sizeof(struct mz_dns_client_key) == 16, "mz_dns_client_key layout");

struct mz_dns_client_val {
    __u64 task_key; /* the process image that sent */
    __u32 netns;    /* inode of the socket's network namespace */
    __u32 pad0;
};
_Static_assert(sizeof(struct mz_dns_client_val) == 16, "mz_dns_client_val layout");

/* Per-CPU counters (one element), per map m (enum mz_map_index):
 *   created[m][g % MZ_GEN_SLOTS]  records inserted into map m in generation g;
 *   overflowed[m]  records map m could not take (full), handed to the
 *                  overflow ring instead (the collector delivers them);
 *   lost_full[m]   records neither map m nor the overflow ring could take;
 *   lost_read[m]   records not made because what they hold could not be
 *                  read (a user path or command line that faulted);
 *   updated[m]     in-place updates that moved a record into a new
 *                  generation: changes after the scan that last read it
 *                  (two CPUs racing on one record may both count).
 * Every record made is in created, overflowed or lost_full. The rest count
 * cut strings and unreadable arguments. */
struct mz_counters {
    __u64 created[MZ_MAP_COUNT][MZ_GEN_SLOTS];
    __u64 overflowed[MZ_MAP_COUNT];
    __u64 lost_full[MZ_MAP_COUNT];
    __u64 lost_read[MZ_MAP_COUNT];
    __u64 updated[MZ_MAP_COUNT];
    /* records not made because their map (and the ring's free half) was
     * full and no loaded recipe could alert on them (bpf/helpers/interest.h):
     * summed per task in "aggregates", never a loss */
    __u64 aggregated[MZ_MAP_COUNT];
    __u64 truncated;
    __u64 read_errors;
    __u64 hits; /* updates of an existing record */
    __u64 pad0;
};
_Static_assert(sizeof(struct mz_counters) ==
                   8 * (MZ_MAP_COUNT * MZ_GEN_SLOTS + 5 * MZ_MAP_COUNT + 4),
               "mz_counters layout");

/* The interest set (map "interest", an LPM trie; collector/col_interest.c
 * fills it from detect/det_interest.c): what a loaded recipe could alert on.
 * A key is a tag byte, then the bytes tested: a whole path or basename is
 * followed by its NUL, so that an entry ending in NUL matches only whole,
 * one without (a directory with its '/', a byte prefix, the tag alone for
 * "every path") matches every key it starts. Longer keys are cut at
 * MZ_INTEREST_DATA bytes, and so are entries (a superset). The value is the
 * union of the file actions (enum mz_file_action bits) of the entry and of
 * every shorter entry it starts with, so that the longest match answers for
 * all of them. */
#define MZ_INTEREST_DATA 256 /* the LPM trie's largest key */
/* The value of a key: actions, the union above; exact, the actions of the
 * key's own entries that name one whole file path (tag MZ_INTEREST_TAG_PATH
 * and its NUL): a path that matches one of those is one of a few files the
 * recipes name, which no flood can multiply (a task has at most one link per
 * path), so it keeps the ring's last part (helpers/interest.h). */
struct mz_interest_val {
    __u32 actions;
    __u32 exact;
};
_Static_assert(sizeof(struct mz_interest_val) == 8, "mz_interest_val layout");
#define MZ_INTEREST_TAG_PATH 'F' /* the record's file path */
#define MZ_INTEREST_TAG_BASE 'B' /* its basename */
#define MZ_INTEREST_TAG_EXE  'X' /* the acting process's exe path */
#define MZ_INTEREST_TAG_EXEB 'Y' /* its basename */
struct mz_interest_key {
    __u32 prefixlen; /* bits */
    __u8 data[MZ_INTEREST_DATA];
};
_Static_assert(sizeof(struct mz_interest_key) == 4 + MZ_INTEREST_DATA, "mz_interest_key layout");

/* The one record of map "interest_cfg". loaded 0 (no set yet: the daemon is
 * starting, or runs without recipes): every record is interesting. exe:
 * the set has entries on the acting process's exe. */
struct mz_interest_cfg {
    __u32 loaded;
    __u32 exe;
    __u64 generation; /* the engine's, for the collector's sync */
};
_Static_assert(sizeof(struct mz_interest_cfg) == 16, "mz_interest_cfg layout");

/* Per task, the records aggregated instead of made (map "aggregates", key:
 * task key): how many, which actions, when; and admitted, how many records
 * an interest entry that is not one exact path (a directory, a prefix, a
 * basename, an exe) let into the ring's second half since the collector
 * last drained this entry (each scan): a task past MZ_PRESSURE_BUDGET of
 * those has the rest aggregated, and that is tamper evidence
 * (MZ_TAMPER_RECORD_FLOOD). An entry may hold admitted only (count 0). */
#define MZ_PRESSURE_BUDGET 1024
struct mz_aggr_val {
    __u64 count;
    __u64 first_ns;
    __u64 last_ns;
    __u32 actions;
    __u32 tgid;
    __u32 admitted;
    __u32 pad0;
};
_Static_assert(sizeof(struct mz_aggr_val) == 40, "mz_aggr_val layout");

/* A record handed to the overflow ring (map "overflow"): this header, then
 * val_size bytes of the value its map would have held. The key is the
 * map's key, zero-padded to 16 bytes. */
struct mz_overflow_hdr {
    __u32 map; /* enum mz_map_index */
    __u32 val_size;
    __u8 key[16];
};
_Static_assert(sizeof(struct mz_overflow_hdr) == 24, "mz_overflow_hdr layout");

struct mz_overflow_rec {
    struct mz_overflow_hdr h;
    __u8 val[sizeof(struct mz_args_val)]; /* the largest value */
};

/* The one record of map "pin_meta" (collector/col_pin.c): what a restarted
 * daemon checks before it adopts pinned maps, and the SipHash key their
 * records are keyed with. */
#define MZ_PIN_MAGIC 0x314e4950415a494dull /* "MIZAPIN1" */
struct mz_pin_meta {
    __u64 magic;
    __u8 build[32]; /* SHA-256 of the BPF object that made the maps */
    __u64 sip_k0;
    __u64 sip_k1;
    __u8 instance[16]; /* random: names this set of pins (delivery cursor) */
    __u64 created_ns;  /* wall clock */
};
_Static_assert(sizeof(struct mz_pin_meta) == 80, "mz_pin_meta layout");

#endif
