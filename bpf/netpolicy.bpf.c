// SPDX-License-Identifier: GPL-2.0
/*
 * netpolicy.bpf.c - the network policy in the kernel (loaded by
 * netpolicy/np.c, attached at the cgroup v2 root, so every socket of the
 * machine passes here).
 *
 *   cgroup/connect4, connect6   TCP and connected UDP: a denied peer gets
 *                               EPERM in enforce, an event in alert
 *   cgroup/sendmsg4, sendmsg6   unconnected UDP, the same
 *   cgroup_skb/egress           UDP queries to port 53: a denied name is
 *                               dropped in enforce (the caller gets EPERM,
 *                               the resolver never sees it); every packet
 *                               to a denied address is dropped in enforce
 *                               (raw sockets, flows older than the policy)
 *   cgroup_skb/ingress          answers to queries for denied names that
 *                               were let through: their A/AAAA addresses
 *                               are learned (np_learned) for the record's
 *                               TTL, so a direct connect to them is denied
 *
 * The policy maps exist twice (slots); np_active says which one the
 * programs read (netpolicy_abi.h). Events aggregate in np_events per
 * process, peer and rule; userland reads and deletes them at each scan.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "netpolicy_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET  2
#define AF_INET6 10

/* ---- definitions ---------------------------------------------------------- */

/* Written by userland after load (.bss is mmapped): the active slot. */
__u32 np_active = 0;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct np_config);
} np_config SEC(".maps");

#define NP_LPM(name, keytype)                                                                      \
    struct {                                                                                       \
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);                                                       \
        __uint(max_entries, NP_LPM_ENTRIES);                                                       \
        __uint(map_flags, BPF_F_NO_PREALLOC);                                                      \
        __type(key, keytype);                                                                      \
        __type(value, struct np_rule_val);                                                         \
    } name SEC(".maps")

NP_LPM(np_cidr4_0, struct np_lpm4_key);
NP_LPM(np_cidr4_1, struct np_lpm4_key);
NP_LPM(np_cidr6_0, struct np_lpm6_key);
NP_LPM(np_cidr6_1, struct np_lpm6_key);

#define NP_DOM(name)                                                                               \
    struct {                                                                                       \
        __uint(type, BPF_MAP_TYPE_HASH);                                                           \
        __uint(max_entries, NP_DOM_ENTRIES);                                                       \
        __uint(map_flags, BPF_F_NO_PREALLOC);                                                      \
        __type(key, struct np_dom_key);                                                            \
        __type(value, struct np_dom_val);                                                          \
    } name SEC(".maps")

NP_DOM(np_dom_0);
NP_DOM(np_dom_1);

/* Not LRU: a learned deny must not disappear under pressure; a full map
 * is counted (learn_failed) and userland expires old entries. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, NP_LEARNED_MAX);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct np_addr);
    __type(value, struct np_learned_val);
} np_learned SEC(".maps");

/* Queries in flight for denied names; LRU: an unanswered query may go. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct np_pending_key);
    __type(value, struct np_dom_key);
} np_pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, NP_EVENTS_MAX);
    __type(key, struct np_event_key);
    __type(value, struct np_event_val);
} np_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct np_counters);
} np_counters SEC(".maps");

#define NP_L4_MAX 1024 /* the UDP header is looked for no further into a packet */
#define DNS_BUF   512  /* power of two: masked reads stay inside */
#define DNS_MASK  (DNS_BUF - 1)
#define DNS_MAX   (DNS_BUF - 64)

struct np_scratch {
    __u8 buf[DNS_BUF];
    __u64 starts[4]; /* bitmap of the label starts of the name at buf[12] */
    struct np_event_key ek;
    struct np_event_val ev;
    struct np_dom_key dk;   /* the suffix being probed */
    struct np_dom_key best; /* the key of np_qname_rule's answer */
    struct np_rule_val hit; /* and its rule */
    struct np_addr addr;
    __u32 pos;
    __u32 qlen;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct np_scratch);
} np_scratch_map SEC(".maps");

/* ---- helpers -------------------------------------------------------------- */

#define COUNT(field)                                                                               \
    do {                                                                                           \
        __u32 z_ = 0;                                                                              \
        struct np_counters *c_ = bpf_map_lookup_elem(&np_counters, &z_);                           \
        if (c_)                                                                                    \
            c_->field++;                                                                           \
    } while (0)

static __always_inline struct np_config *np_cfg(__u32 *slot)
{
    __u32 s = np_active & 1;
    *slot = s;
    return bpf_map_lookup_elem(&np_config, &s);
}

static __always_inline struct np_scratch *np_scratch(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&np_scratch_map, &zero);
}

static __always_inline struct np_dom_val *np_dom_lookup(__u32 slot, const struct np_dom_key *k)
{
    if (slot)
        return bpf_map_lookup_elem(&np_dom_1, k);
    return bpf_map_lookup_elem(&np_dom_0, k);
}

/* The verdict on an address: 1 deny, 0 allow; *rule_id and *dom say why.
 * A learned address of a domain whose rule still denies comes first (a
 * denied domain's addresses are denied whatever else matches), then the
 * longest CIDR prefix, then cidr_policy. */
__noinline int np_addr_verdict(struct np_scratch *s, __u32 slot, struct np_config *cfg)
{
    if (!s || !cfg)
        return 0;
    struct np_learned_val *l = bpf_map_lookup_elem(&np_learned, &s->addr);
    __builtin_memset(&s->ek.dom, 0, sizeof(s->ek.dom));
    if (l) {
        if (l->expires_ns > bpf_ktime_get_boot_ns() && l->dom.len == 0) {
            s->ek.rule_id = NP_RULE_REACTION; /* blocked by a reaction (NetBlockIp) */
            return 1;
        }
        if (l->expires_ns > bpf_ktime_get_boot_ns()) {
            struct np_dom_val *d = np_dom_lookup(slot, &l->dom);
            if (d && d->rule.policy == NP_DENY) {
                s->ek.rule_id = d->rule.rule_id;
                s->ek.dom = l->dom;
                return 1;
            }
        } else {
            bpf_map_delete_elem(&np_learned, &s->addr);
        }
    }
    struct np_rule_val *r = NULL;
    if (s->addr.family == AF_INET) {
        struct np_lpm4_key k = {.prefixlen = 32};
        __builtin_memcpy(k.addr, s->addr.addr, 4);
        r = slot ? bpf_map_lookup_elem(&np_cidr4_1, &k) : bpf_map_lookup_elem(&np_cidr4_0, &k);
    } else {
        struct np_lpm6_key k = {.prefixlen = 128};
        __builtin_memcpy(k.addr, s->addr.addr, 16);
        r = slot ? bpf_map_lookup_elem(&np_cidr6_1, &k) : bpf_map_lookup_elem(&np_cidr6_0, &k);
    }
    if (r) {
        s->ek.rule_id = r->rule_id;
        return r->policy == NP_DENY;
    }
    s->ek.rule_id = cfg->gen << 16;
    return cfg->cidr_policy == NP_DENY;
}

/* Adds one attempt to its event record (s->ek filled but for the process).
 * Runs in the context of the task that connects, sends or queries. */
__noinline int np_record(struct np_scratch *s)
{
    if (!s)
        return 0;
    struct task_struct *t = bpf_get_current_task_btf();
    __u64 now = bpf_ktime_get_boot_ns();
    s->ek.tgid = BPF_CORE_READ(t, tgid);
    s->ek.start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
    struct np_event_val *v = bpf_map_lookup_elem(&np_events, &s->ek);
    if (v) {
        __sync_fetch_and_add(&v->count, 1);
        v->last_ns = now;
        return 0;
    }
    __builtin_memset(&s->ev, 0, sizeof(s->ev) - NP_NAME_MAX);
    s->ev.first_ns = now;
    s->ev.last_ns = now;
    s->ev.count = 1;
    s->ev.cgroup_id = bpf_get_current_cgroup_id();
    s->ev.uid = BPF_CORE_READ(t, cred, uid.val);
    s->ev.gid = BPF_CORE_READ(t, cred, gid.val);
    s->ev.ppid = BPF_CORE_READ(t, real_parent, tgid);
    bpf_get_current_comm(s->ev.comm, sizeof(s->ev.comm));
    if (s->ek.kind == NP_EV_DROPDOMAIN) {
        s->ev.qlen = s->qlen;
        __builtin_memcpy(s->ev.qname, &s->buf[12], NP_NAME_MAX);
    } else {
        s->ev.qlen = 0;
        __builtin_memset(s->ev.qname, 0, NP_NAME_MAX);
    }
    if (bpf_map_update_elem(&np_events, &s->ek, &s->ev, BPF_NOEXIST) &&
        !bpf_map_lookup_elem(&np_events, &s->ek))
        COUNT(events_lost);
    return 0;
}

/* The connect and sendmsg hooks: 1 lets it go, 0 refuses it (EPERM). */
static __always_inline int np_check_sock(struct bpf_sock_addr *ctx, int v6, __u8 source)
{
    __u32 slot;
    struct np_config *cfg = np_cfg(&slot);
    if (!cfg || cfg->cidr_mode == NP_MODE_BYPASS)
        return 1;
    struct np_scratch *s = np_scratch();
    if (!s)
        return 1;
    __builtin_memset(&s->addr, 0, sizeof(s->addr));
    if (!v6) {
        __u32 ip = ctx->user_ip4;
        s->addr.family = AF_INET;
        __builtin_memcpy(s->addr.addr, &ip, 4);
    } else {
        __u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2],
              w3 = ctx->user_ip6[3];
        if (w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff)) { /* v4-mapped: the IPv4 rules */
            s->addr.family = AF_INET;
            __builtin_memcpy(s->addr.addr, &w3, 4);
        } else {
            s->addr.family = AF_INET6;
            __builtin_memcpy(s->addr.addr, &w0, 4);
            __builtin_memcpy(s->addr.addr + 4, &w1, 4);
            __builtin_memcpy(s->addr.addr + 8, &w2, 4);
            __builtin_memcpy(s->addr.addr + 12, &w3, 4);
        }
    }
    COUNT(checked);
    if (!np_addr_verdict(s, slot, cfg))
        return 1;
    COUNT(denied);
    int blocked = (cfg->cidr_mode & NP_MODE_ENFORCE) != 0;
    if (cfg->cidr_mode & NP_MODE_ALERT) {
        s->ek.peer = s->addr;
        s->ek.port = bpf_ntohs((__u16)ctx->user_port);
        s->ek.proto = (__u8)ctx->protocol;
        s->ek.kind = NP_EV_DROPIP;
        s->ek.source = source;
        s->ek.blocked = (__u8)blocked;
        __builtin_memset(s->ek.pad, 0, sizeof(s->ek.pad));
        np_record(s);
    }
    if (blocked) {
        COUNT(blocked);
        return 0;
    }
    return 1;
}

SEC("cgroup/connect4")
int np_connect4(struct bpf_sock_addr *ctx)
{
    return np_check_sock(ctx, 0, NP_SRC_CONNECT);
}

SEC("cgroup/connect6")
int np_connect6(struct bpf_sock_addr *ctx)
{
    return np_check_sock(ctx, 1, NP_SRC_CONNECT);
}

SEC("cgroup/sendmsg4")
int np_sendmsg4(struct bpf_sock_addr *ctx)
{
    return np_check_sock(ctx, 0, NP_SRC_SENDMSG);
}

SEC("cgroup/sendmsg6")
int np_sendmsg6(struct bpf_sock_addr *ctx)
{
    return np_check_sock(ctx, 1, NP_SRC_SENDMSG);
}

/* ---- DNS ------------------------------------------------------------------ */

/* The byte at p of a DNS buffer. The barrier keeps the compiler from
 * dropping the mask where it can prove the bound but the verifier cannot. */
static __always_inline __u8 byte_at(const __u8 *b, __u32 p)
{
    asm volatile("" : "+r"(p));
    return b[p & DNS_MASK];
}

/* The word of the label-start bitmap that holds bit p (same barrier). */
static __always_inline __u64 *start_word(struct np_scratch *s, __u32 p)
{
    p >>= 6;
    asm volatile("" : "+r"(p));
    return &s->starts[p & 3];
}

static __always_inline __u32 be16_at(const __u8 *b, __u32 p)
{
    return ((__u32)byte_at(b, p) << 8) | byte_at(b, p + 1);
}

/* Walks the question's name at buf[12]: its label starts go into
 * s->starts, its length (final 0 included) into s->qlen. Compressed or
 * malformed names, and names past NP_NAME_MAX, return -1. */
__noinline int np_qname(struct np_scratch *s, __u32 len)
{
    if (!s)
        return -1;
    s->starts[0] = s->starts[1] = s->starts[2] = s->starts[3] = 0;
    __u32 p = 0;
    for (int i = 0; i < 128; i++) {
        if (p >= NP_NAME_MAX || 12 + p >= len)
            return -1;
        __u8 l = byte_at(s->buf, 12 + p);
        if (l == 0) {
            s->qlen = p + 1;
            return p ? 0 : -1; /* the root alone is no name */
        }
        if (l & 0xC0)
            return -1;
        *start_word(s, p) |= 1ull << (p & 63);
        p += 1 + l;
    }
    return -1;
}

/* 1 when the rule's name d->name is the len bytes of the question's name
 * from position i (case-insensitive). A global function: verified once,
 * not once per probe. */
__noinline int np_name_eq(const struct np_dom_val *d, struct np_scratch *s, __u32 i, __u32 len)
{
    if (!d || !s)
        return 0;
    for (int k = 0; k < NP_NAME_MAX; k++) {
        if (k >= len)
            return 1;
        if (d->name[k & (NP_NAME_MAX - 1)] != np_lower(byte_at(s->buf, 12 + i + k)))
            return 0;
    }
    return 1;
}

/* The key of the whole question's name, into s->ek.dom. */
__noinline int np_name_key(struct np_scratch *s)
{
    if (!s)
        return 0;
    __u64 h = NP_FNV_OFFSET;
    __u32 qlen = s->qlen;
    for (int j = 0; j < NP_NAME_MAX; j++) {
        if (j >= qlen)
            break;
        h = (h ^ np_lower(byte_at(s->buf, 12 + qlen - 1 - j))) * NP_FNV_PRIME;
    }
    s->ek.dom.hash = h;
    s->ek.dom.len = qlen;
    s->ek.dom.pad = 0;
    return 0;
}

/* Finds the domain rule of the longest suffix of the question's name that
 * has one, in slot: 1 with the rule in s->hit and its key in s->best, or
 * 0. One backward pass hashes every suffix (np_name_hash order); each hit
 * is confirmed byte by byte, so a hash collision only costs a miss. */
__noinline int np_qname_rule(struct np_scratch *s, __u32 slot)
{
    if (!s)
        return 0;
    int found = 0;
    __u64 h = NP_FNV_OFFSET;
    __u32 qlen = s->qlen;
    if (qlen > NP_NAME_MAX)
        return 0;
    for (int j = 0; j < NP_NAME_MAX; j++) {
        if (j >= qlen)
            break;
        __u32 i = qlen - 1 - j; /* position in the name, last byte first */
        h = (h ^ np_lower(byte_at(s->buf, 12 + i))) * NP_FNV_PRIME;
        if (!(*start_word(s, i) & (1ull << (i & 63))))
            continue;
        s->dk.hash = h;
        s->dk.len = j + 1;
        s->dk.pad = 0;
        struct np_dom_val *d = np_dom_lookup(slot, &s->dk);
        if (!d)
            continue;
        int same = np_name_eq(d, s, i, j + 1);
        if (same) { /* a longer suffix than any before */
            found = 1;
            s->hit = d->rule;
            s->best = s->dk;
        }
    }
    return found;
}

/* Offset of the UDP header and the protocol of an IP packet, or -1. */
static __always_inline int np_ip(struct __sk_buff *skb, __u8 *proto, int *v6)
{
    if (skb->protocol == bpf_htons(0x0800)) {
        __u8 vihl;
        __u16 frag;
        if (bpf_skb_load_bytes(skb, 0, &vihl, 1) < 0 || bpf_skb_load_bytes(skb, 9, proto, 1) < 0 ||
            bpf_skb_load_bytes(skb, 6, &frag, 2) < 0)
            return -1;
        *v6 = 0;
        if (bpf_ntohs(frag) & 0x1fff)
            return -1; /* a later fragment: no UDP header */
        return (vihl & 0x0f) * 4;
    }
    if (skb->protocol == bpf_htons(0x86DD)) {
        /* past the extension headers an unprivileged socket can add
         * (IPV6_HOPOPTS, IPV6_RTHDR, IPV6_DSTOPTS) and a first fragment */
        __u8 nh, h[4];
        __u32 off = 40;
        *v6 = 1;
        if (bpf_skb_load_bytes(skb, 6, &nh, 1) < 0)
            return -1;
        for (int i = 0; i < 6; i++) {
            if (nh == 0 || nh == 43 || nh == 60) {
                if (bpf_skb_load_bytes(skb, off, h, 2) < 0)
                    return -1;
                nh = h[0];
                off += ((__u32)h[1] + 1) * 8;
            } else if (nh == 44) {
                if (bpf_skb_load_bytes(skb, off, h, 4) < 0)
                    return -1;
                if ((((__u32)h[2] << 8) | h[3]) & 0xfff8)
                    return -1; /* a later fragment */
                nh = h[0];
                off += 8;
            } else {
                break;
            }
        }
        *proto = nh;
        return off > NP_L4_MAX ? -1 : (int)off;
    }
    return -1;
}

/* Loads the DNS message after the UDP header at off into s->buf; its
 * length, or 0. */
static __always_inline __u32 np_load_dns(struct __sk_buff *skb, struct np_scratch *s, __u32 off)
{
    if (skb->len <= off + 12)
        return 0;
    __u64 n = skb->len - off;
    if (n > DNS_MAX)
        n = DNS_MAX;
    asm volatile("" : "+r"(n));
    if (n < 12 || n > DNS_MAX)
        return 0;
    if (bpf_skb_load_bytes(skb, off, s->buf, n) < 0)
        return 0;
    return (__u32)n;
}

/* Egress: queries for denied names, and packets to denied addresses. */
SEC("cgroup_skb/egress")
int np_egress(struct __sk_buff *skb)
{
    __u32 slot;
    struct np_config *cfg = np_cfg(&slot);
    if (!cfg)
        return 1;
    struct np_scratch *s = np_scratch();
    if (!s)
        return 1;
    int v6 = skb->protocol == bpf_htons(0x86DD);
    if (!v6 && skb->protocol != bpf_htons(0x0800))
        return 1;
    __builtin_memset(&s->addr, 0, sizeof(s->addr));
    s->addr.family = v6 ? AF_INET6 : AF_INET;
    if (bpf_skb_load_bytes(skb, v6 ? 24 : 16, s->addr.addr, v6 ? 16 : 4) < 0)
        return 1;
    /* every packet to a denied address, whatever made it (raw sockets,
     * flows older than the policy, a fast open) */
    if ((cfg->cidr_mode & NP_MODE_ENFORCE) && np_addr_verdict(s, slot, cfg)) {
        COUNT(blocked);
        return 0;
    }
    if (cfg->resolve_mode == NP_MODE_BYPASS && !cfg->dom_deny)
        return 1;
    __u8 proto = 0;
    int off = np_ip(skb, &proto, &v6);
    __u16 ports[2];
    if (off < 0 || proto != 17 || bpf_skb_load_bytes(skb, off, ports, 4) < 0 ||
        ports[1] != bpf_htons(53))
        return 1;
    __u32 n = np_load_dns(skb, s, off + 8);
    if (!n || (s->buf[2] & 0x80))
        return 1; /* not a DNS query */
    int enforce = (cfg->resolve_mode & NP_MODE_ENFORCE) != 0;
    if (be16_at(s->buf, 4) != 1 || np_qname(s, n) < 0) {
        /* one name per query is what resolvers answer; one this parser
         * cannot read (compressed, cut) could hide a denied name */
        COUNT(dns_malformed);
        return enforce ? 0 : 1;
    }
    COUNT(dns_queries);
    int has_rule = np_qname_rule(s, slot);
    int rule_denies = has_rule && s->hit.policy == NP_DENY;
    int deny = has_rule ? rule_denies : cfg->resolve_policy == NP_DENY;
    if (deny && cfg->resolve_mode != NP_MODE_BYPASS) {
        COUNT(dns_denied);
        if (cfg->resolve_mode & NP_MODE_ALERT) {
            __builtin_memset(&s->ek, 0, sizeof(s->ek));
            s->ek.rule_id = has_rule ? s->hit.rule_id : cfg->gen << 16;
            s->ek.peer = s->addr;
            s->ek.port = 53;
            s->ek.proto = 17;
            s->ek.kind = NP_EV_DROPDOMAIN;
            s->ek.source = NP_SRC_DNS;
            s->ek.blocked = (__u8)enforce;
            np_name_key(s); /* one record per name, not per rule */
            np_record(s);
        }
        if (enforce) {
            COUNT(blocked);
            return 0;
        }
    }
    if (rule_denies) {
        /* let through: its answer teaches the denied addresses */
        struct np_pending_key pk = {};
        __builtin_memcpy(pk.addr, s->addr.addr, 16);
        pk.family = s->addr.family;
        pk.sport = ports[0];
        pk.txid = (__u16)be16_at(s->buf, 0);
        bpf_map_update_elem(&np_pending, &pk, &s->best, BPF_ANY);
    }
    return 1;
}

/* Skips a name (labels or a compression pointer) at s->pos. 0 or -1. */
__noinline int np_skip_name(struct np_scratch *s, __u32 len)
{
    if (!s)
        return -1;
    for (int j = 0; j < 128; j++) {
        __u32 p = s->pos;
        if (p >= len)
            return -1;
        __u8 l = byte_at(s->buf, p);
        if (l == 0) {
            s->pos = p + 1;
            return 0;
        }
        if ((l & 0xC0) == 0xC0) {
            s->pos = p + 2;
            return 0;
        }
        if (l & 0xC0)
            return -1;
        s->pos = p + 1 + l;
    }
    return -1;
}

/* Ingress: answers to the pending queries for denied names. */
SEC("cgroup_skb/ingress")
int np_ingress(struct __sk_buff *skb)
{
    __u32 slot;
    struct np_config *cfg = np_cfg(&slot);
    if (!cfg || !cfg->dom_deny)
        return 1;
    __u8 proto = 0;
    int v6 = 0;
    int off = np_ip(skb, &proto, &v6);
    if (off < 0 || proto != 17)
        return 1;
    __u16 ports[2];
    if (bpf_skb_load_bytes(skb, off, ports, 4) < 0 || ports[0] != bpf_htons(53))
        return 1;
    struct np_scratch *s = np_scratch();
    if (!s)
        return 1;
    struct np_pending_key pk = {};
    if (bpf_skb_load_bytes(skb, v6 ? 8 : 12, pk.addr, 4) < 0)
        return 1;
    if (v6 && bpf_skb_load_bytes(skb, 8, pk.addr, 16) < 0)
        return 1;
    pk.family = v6 ? AF_INET6 : AF_INET;
    pk.sport = ports[1];
    __u32 n = np_load_dns(skb, s, off + 8);
    if (!n || !(s->buf[2] & 0x80))
        return 1;
    pk.txid = (__u16)be16_at(s->buf, 0);
    struct np_dom_key *dk = bpf_map_lookup_elem(&np_pending, &pk);
    if (!dk) {
        /* An answer for a denied name that no query of ours is waiting
         * for: spoofed, or its query was pushed out of np_pending by a
         * flood. It teaches nothing (a spoofer would deny any address it
         * likes), and it is not delivered either: else the flood would be
         * a way to a denied domain's addresses. */
        if (be16_at(s->buf, 4) == 1 && np_qname(s, n) == 0 && np_qname_rule(s, slot) &&
            s->hit.policy == NP_DENY) {
            COUNT(dns_unmatched);
            return 0;
        }
        return 1;
    }
    s->dk = *dk;
    bpf_map_delete_elem(&np_pending, &pk);

    __u32 qd = be16_at(s->buf, 4), an = be16_at(s->buf, 6);
    s->pos = 12;
    if (qd != 1 || np_skip_name(s, n) < 0)
        return 1;
    s->pos += 4;
    struct np_learned_val lv = {.dom = s->dk};
    __u64 now = bpf_ktime_get_boot_ns();
    for (int a = 0; a < 16; a++) {
        if (a >= an)
            break;
        if (np_skip_name(s, n) < 0)
            return 1;
        __u32 p = s->pos;
        if (p + 10 > n)
            return 1;
        __u32 type = be16_at(s->buf, p);
        __u32 ttl = (be16_at(s->buf, p + 4) << 16) | be16_at(s->buf, p + 6);
        __u32 rdlen = be16_at(s->buf, p + 8);
        p += 10;
        if (p + rdlen > n)
            return 1;
        s->pos = p + rdlen;
        if (!((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)))
            continue;
        if (ttl < cfg->learn_ttl_min)
            ttl = cfg->learn_ttl_min;
        if (ttl > cfg->learn_ttl_max)
            ttl = cfg->learn_ttl_max;
        __builtin_memset(&s->addr, 0, sizeof(s->addr));
        s->addr.family = type == 1 ? AF_INET : AF_INET6;
        for (int k = 0; k < 16; k++) {
            if (k >= rdlen)
                break;
            s->addr.addr[k] = byte_at(s->buf, p + k);
        }
        lv.expires_ns = now + (__u64)ttl * 1000000000ull;
        if (bpf_map_update_elem(&np_learned, &s->addr, &lv, BPF_ANY)) {
            /* full: the answer is not delivered, rather than an address
             * of a denied domain left reachable */
            COUNT(learn_failed);
            return 0;
        }
        COUNT(learned);
    }
    return 1;
}
