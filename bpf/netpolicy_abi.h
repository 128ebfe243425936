/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpolicy_abi.h - the structs and constants shared by bpf/netpolicy.bpf.c
 * and netpolicy/np_kernel.c. A frozen ABI: fixed-width types, explicit
 * padding, explicit enum values, a size assert on every struct.
 *
 * Every policy map exists twice (slot 0 and slot 1): userland fills the
 * slot that is not active, then flips `np_active`, so a reload is one
 * store as far as the programs can see and never shows a half-written
 * policy.
 */
#ifndef MIZAN_BPF_NETPOLICY_ABI_H
#define MIZAN_BPF_NETPOLICY_ABI_H

#ifndef __BPF__
#include <linux/types.h> /* vmlinux.h provides the __u* types on the BPF side */
#endif

/* Modes are two bits: alert and enforce; both = 3 (the file's "both"). */
enum np_mode_bits {
    NP_MODE_BYPASS = 0,
    NP_MODE_ALERT = 1,
    NP_MODE_ENFORCE = 2,
    NP_MODE_BOTH = 3,
};

enum np_verdict_value {
    NP_ALLOW = 0,
    NP_DENY = 1,
};

/* What an event record is about. */
enum np_event_kind {
    NP_EV_DROPIP = 1,     /* egress to a denied address (a CIDR rule or a denied domain's) */
    NP_EV_DROPDOMAIN = 2, /* a query for a denied domain */
};

/* Where a dropip verdict came from. */
enum np_event_source {
    NP_SRC_CONNECT = 1, /* cgroup/connect4, connect6 */
    NP_SRC_SENDMSG = 2, /* cgroup/sendmsg4, sendmsg6 (unconnected UDP) */
    NP_SRC_DNS = 3,     /* cgroup_skb/egress, UDP to port 53 */
};

#define NP_NAME_MAX    256   /* DNS wire-format name, the final 0 included (255 max) */
#define NP_LPM_ENTRIES 16384 /* per family and slot */
#define NP_DOM_ENTRIES 16384 /* per slot */
#define NP_LEARNED_MAX 65536 /* addresses learned for denied domains */
#define NP_EVENTS_MAX  16384 /* distinct (process, peer, rule) records between two scans */

/* Rule ids: (policy generation & 0xffff) << 16 | (index + 1); index + 1 = 0
 * names the default policy of the file (cidr_policy / resolve_policy). */
/* A reaction's block (np_block_ip: a learned entry whose dom.len is 0;
 * np_block_domain: a domain rule of index NP_RULE_REACTION_INDEX). */
#define NP_RULE_REACTION       0xffffffffu
#define NP_RULE_REACTION_INDEX 0xffffu
#define NP_RULE_GEN(id)        ((id) >> 16)
#define NP_RULE_INDEX(id)      ((id)&0xffffu)

/* One slot's modes and defaults (map np_config, element = slot). */
struct np_config {
    __u8 cidr_mode;      /* enum np_mode_bits */
    __u8 cidr_policy;    /* enum np_verdict_value: no rule matched */
    __u8 resolve_mode;   /* enum np_mode_bits */
    __u8 resolve_policy; /* enum np_verdict_value: no rule matched */
    __u32 gen;           /* policy generation, the high half of its rule ids */
    __u32 learn_ttl_min; /* seconds: a learned address stays denied at least this long */
    __u32 learn_ttl_max; /* seconds: and at most this long */
    __u32 dom_deny;      /* domain rules that deny: queries are parsed even in bypass */
    __u32 pad;
};
_Static_assert(sizeof(struct np_config) == 24, "np_config layout");

struct np_lpm4_key {
    __u32 prefixlen;
    __u8 addr[4]; /* network byte order */
};
_Static_assert(sizeof(struct np_lpm4_key) == 8, "np_lpm4_key layout");

struct np_lpm6_key {
    __u32 prefixlen;
    __u8 addr[16];
};
_Static_assert(sizeof(struct np_lpm6_key) == 20, "np_lpm6_key layout");

/* Value of a CIDR rule (tries) and of a domain rule. */
struct np_rule_val {
    __u32 rule_id;
    __u8 policy; /* enum np_verdict_value */
    __u8 pad[3];
};
_Static_assert(sizeof(struct np_rule_val) == 8, "np_rule_val layout");

/* Domain rules are keyed by a hash of their wire-format name, the bytes
 * hashed from the last to the first (np_name_hash), so that one backward
 * pass over a query gives the key of every suffix. A hit is confirmed by
 * comparing the name itself: a collision can only cost a miss. */
struct np_dom_key {
    __u64 hash;
    __u32 len; /* bytes of the wire name, the final 0 included */
    __u32 pad;
};
_Static_assert(sizeof(struct np_dom_key) == 16, "np_dom_key layout");

struct np_dom_val {
    struct np_rule_val rule;
    __u8 name[NP_NAME_MAX]; /* lower-case wire format */
};
_Static_assert(sizeof(struct np_dom_val) == 8 + NP_NAME_MAX, "np_dom_val layout");

/* An address, for the learned map and for events. */
struct np_addr {
    __u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
    __u8 family;   /* AF_INET (2) or AF_INET6 (10) */
    __u8 pad[3];
};
_Static_assert(sizeof(struct np_addr) == 20, "np_addr layout");

/* An address seen in a DNS answer to a query for a denied domain. It stays
 * denied until expires_ns (boot clock) while the domain rule that denied it
 * (dom) still exists and still denies in the active policy. */
struct np_learned_val {
    __u64 expires_ns;
    struct np_dom_key dom;
};
_Static_assert(sizeof(struct np_learned_val) == 24, "np_learned_val layout");

/* A blocked or alerted attempt, aggregated per process, peer and rule
 * (map np_events). Userland reads and deletes them at each scan. */
struct np_event_key {
    __u32 tgid;
    __u32 rule_id;
    __u64 start_ns; /* the process's start (boot ns): with tgid, its identity */
    struct np_addr peer;
    __u16 port;   /* host byte order */
    __u8 proto;   /* IPPROTO_TCP, IPPROTO_UDP, ... */
    __u8 kind;    /* enum np_event_kind */
    __u8 source;  /* enum np_event_source */
    __u8 blocked; /* 1: the kernel refused it; 0: alert only */
    __u8 pad[6];
    struct np_dom_key
        dom; /* dropdomain: the queried name; dropip from a learned address: its rule */
};
_Static_assert(sizeof(struct np_event_key) == 64, "np_event_key layout");

struct np_event_val {
    __u64 first_ns; /* boot clock */
    __u64 last_ns;
    __u64 count;
    __u64 cgroup_id;
    __u32 uid, gid;
    __u32 ppid;
    __u32 qlen; /* dropdomain: bytes of qname */
    char comm[16];
    __u8 qname[NP_NAME_MAX];
};
_Static_assert(sizeof(struct np_event_val) == 64 + NP_NAME_MAX, "np_event_val layout");

/* A query for a denied domain that was let through (resolve_mode without
 * enforce): its answer, matched by port and id, teaches the denied
 * addresses (map np_pending). Spoofed answers to other sockets teach
 * nothing. */
struct np_pending_key {
    __u8 addr[16]; /* the resolver queried */
    __u16 sport;   /* the querying socket's port (network order) */
    __u16 txid;    /* the DNS id */
    __u8 family;
    __u8 pad[3];
};
_Static_assert(sizeof(struct np_pending_key) == 24, "np_pending_key layout");

/* Per-CPU counters (map np_counters, one element). */
struct np_counters {
    __u64 checked;       /* connects and sends looked up */
    __u64 denied;        /* of those, denied by the policy */
    __u64 blocked;       /* refused in the kernel (connect, send, DNS query) */
    __u64 dns_queries;   /* queries parsed */
    __u64 dns_denied;    /* queries for denied domains */
    __u64 learned;       /* addresses learned for denied domains */
    __u64 learn_failed;  /* could not be stored (map full) */
    __u64 events_lost;   /* attempts whose record could not be stored (map full) */
    __u64 dns_malformed; /* queries to port 53 with other than one readable name */
    __u64 dns_unmatched; /* answers for denied names no query waited for: dropped */
};
_Static_assert(sizeof(struct np_counters) == 80, "np_counters layout");

/* FNV-1a 64 over the name's bytes from the last to the first, lower-cased.
 * Shared by the programs and userland: both must agree bit for bit. */
#define NP_FNV_OFFSET 0xcbf29ce484222325ull
#define NP_FNV_PRIME  0x100000001b3ull

static inline __u8 np_lower(__u8 c)
{
    return (c >= 'A' && c <= 'Z') ? (__u8)(c + 32) : c;
}

#endif
