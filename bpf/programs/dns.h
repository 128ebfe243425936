/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns.h - DNS answers ((client, ip) -> names) parsed on the cgroup v2
 * root's ingress. The client is the process whose socket the answer reaches
 * (dns_clients, filled when a UDP socket connects or sends to port 53), so a
 * process's own resolver labels only its own flows; the host-wide entry
 * (client 0) keeps the last name and is marked when clients disagree. Every
 * name of an answer (the asked one, the targets of its CNAME chain) is kept
 * once in dns_names and listed, by key, in the entries of every address the
 * answer gives. Messages of up to DNS_MAX bytes (EDNS) are read whole.
 */
#ifndef MIZAN_BPF_PROGRAMS_DNS_H
#define MIZAN_BPF_PROGRAMS_DNS_H

#define DNS_JUMPS 16 /* compression pointers followed in one name */
/* Steps of mz_dns_read_name: one per byte written (at most 255) and one
 * per pointer followed. */
#define DNS_NAME_STEPS (MZ_BPF_DOMAIN_MAX + DNS_JUMPS + 1)

/* Makes the compiler read the parser's state from map memory again, where
 * the verifier knows nothing of it: the steps of a loop then look alike and
 * are pruned, rather than explored once per value the state can have. */
#define DNS_RELOAD() asm volatile("" ::: "memory")

static __always_inline __u32 be16_at(const __u8 *b, __u32 p)
{
    return ((__u32)b[p & DNS_MASK] << 8) | b[(p + 1) & DNS_MASK];
}

/* The key of the name in n: SipHash of its len bytes (zero past them). */
static __always_inline __u64 dns_name_key(struct mz_dns_name *n)
{
    __u32 len = n->len;
    if (len > MZ_BPF_DOMAIN_MAX)
        len = MZ_BPF_DOMAIN_MAX;
    SIP_BYTES_BODY(n->name, len, MZ_BPF_DOMAIN_MAX, 0x64)
}

/* 1 if h is one of the chain's keys, else 0, without a branch (so that
 * the verifier has one path to follow). Unused chain slots are 0, which no
 * key is. */
static __always_inline __u64 dns_in_chain(const struct dns_scratch *d, __u64 h)
{
    __u64 all_differ = 1;
#pragma unroll
    for (int j = 0; j < DNS_CHAIN; j++) {
        __u64 x = d->chain[j] ^ h;
        all_differ &= (x | -x) >> 63;
    }
    return all_differ ^ 1;
}

/* Stores the name in d->nm in dns_names and adds its key to the answer's
 * chain, unless it is there already or the chain is full (the names past
 * DNS_CHAIN of one answer are not listed). */
__noinline int mz_dns_add_name(struct dns_scratch *d)
{
    if (!d)
        return 0;
    d->nm.seen_ns = d->val.seen_ns;
    __u64 key = dns_name_key(&d->nm);
    bpf_map_update_elem(&dns_names, &key, &d->nm, BPF_ANY);
    __u32 n = d->n_chain;
    if (dns_in_chain(d, key) || n >= DNS_CHAIN)
        return 0;
    d->chain[n & (DNS_CHAIN - 1)] = key;
    d->n_chain = n + 1;
    return 0;
}

/* What a bpf_loop callback works on. */
struct dns_loop {
    struct dns_scratch *d;
};

/* One step of mz_dns_read_name: a label's length byte, one of its bytes,
 * or a pointer. Returns 0 to go on, 1 when done (d->rc: 0 or -1). */
static long dns_name_step(__u64 i, void *ctx)
{
    struct dns_scratch *d = ((struct dns_loop *)ctx)->d;
    if (!d)
        return 1;
    __u32 p = d->rp, o = d->out;
    if (p >= d->len || o >= MZ_BPF_DOMAIN_MAX - 1)
        return 1;
    __u8 c = d->buf[p & DNS_MASK];
    if (d->left) {
        d->nm.name[o & (MZ_BPF_DOMAIN_MAX - 1)] = c;
        d->out = o + 1;
        d->rp = p + 1;
        d->left--;
        return 0;
    }
    if (c == 0) {
        d->nm.len = o + 1;
        d->rc = 0;
        return 1;
    }
    if ((c & 0xC0) == 0xC0) {
        __u32 to = ((__u32)(c & 0x3F) << 8) | d->buf[(p + 1) & DNS_MASK];
        if (p + 1 >= d->len || to >= p || d->jumps >= DNS_JUMPS)
            return 1;
        d->rp = to;
        d->jumps++;
        return 0;
    }
    if (c & 0xC0)
        return 1;
    d->nm.name[o & (MZ_BPF_DOMAIN_MAX - 1)] = c;
    d->out = o + 1;
    d->left = c;
    d->rp = p + 1;
    return 0;
}

/* Decodes the (possibly compressed) name at d->pos into d->nm: wire format
 * without pointers, zero past its end. A byte-by-byte state machine (a
 * label's length, then its bytes; d->left counts what is left of the
 * label) run by bpf_loop, so that the verifier checks one step, not
 * DNS_NAME_STEPS of them. A pointer must go backwards, and at most
 * DNS_JUMPS are followed. Returns 0, or -1 for a malformed name or one past
 * 255 bytes; d->pos is not moved. */
__noinline int mz_dns_read_name(struct dns_scratch *d)
{
    if (!d)
        return -1;
    __builtin_memset(d->nm.name, 0, sizeof(d->nm.name));
    d->rp = d->pos;
    d->out = 0;
    d->left = 0;
    d->jumps = 0;
    d->rc = -1;
    struct dns_loop l = {.d = d};
    bpf_loop(DNS_NAME_STEPS, dns_name_step, &l, 0);
    return d->rc;
}

/* Writes d->val to d->key with its names merged: the answer's chain first,
 * then the names the entry had (d->old) that are not in it, up to
 * MZ_DNS_NAMES. The host-wide entry (host) is marked MZ_DNS_CONFLICT,
 * sticky, once another client got a name that is not among its names. A
 * new address is counted created; a full map counts the answer lost (a
 * flow to that address then has no domain). The merge keeps its state in
 * map memory (d->n_merge, d->asked_known): one path per step for the
 * verifier. A global function: verified once. */
__noinline int mz_dns_put(struct dns_scratch *d, __u32 host)
{
    if (!d)
        return 0;
    __u32 now_s = d->val.seen_ns / 1000000000ull;
#pragma unroll
    for (int i = 0; i < DNS_CHAIN; i++) {
        d->val.names[i] = d->chain[i];
        d->val.names_seen[i] = now_s;
    }
    d->n_merge = d->n_chain;
    d->asked_known = 0;
    d->val.flags = 0;
    struct mz_dns_val *old = bpf_map_lookup_elem(&domains, &d->key);
    if (old) {
        __builtin_memcpy(&d->old, old, sizeof(d->old));
        for (int i = 0; i < MZ_DNS_NAMES; i++) {
            DNS_RELOAD();
            if (i >= d->old.n_names)
                break;
            __u64 h = d->old.names[i];
            __u64 x = h ^ d->chain[0];
            d->asked_known |= ((x | -x) >> 63) ^ 1;
            __u32 n = d->n_merge;
            if (dns_in_chain(d, h) || n >= MZ_DNS_NAMES)
                continue;
            d->val.names[n & (MZ_DNS_NAMES - 1)] = h;
            d->val.names_seen[n & (MZ_DNS_NAMES - 1)] = d->old.names_seen[i];
            d->n_merge = n + 1;
        }
        if (host) {
            d->val.flags = d->old.flags & MZ_DNS_CONFLICT;
            if (d->old.client != d->val.client && !d->asked_known)
                d->val.flags |= MZ_DNS_CONFLICT;
        }
    }
    d->val.n_names = d->n_merge;
    long err = bpf_map_update_elem(&domains, &d->key, &d->val, old ? BPF_ANY : BPF_NOEXIST);
    if (err == 0 && !old)
        count_created(MZ_MAP_DOMAINS, gen_now());
    else if (err == -17 /* EEXIST: made meanwhile */)
        bpf_map_update_elem(&domains, &d->key, &d->val, BPF_EXIST);
    else if (err)
        COUNT_MAP(lost_full, MZ_MAP_DOMAINS);
    return 0;
}

/* Records the answer's names for the i-th address found: the client's own
 * entry, then the host-wide one. */
__noinline int mz_dns_store(struct dns_scratch *d, __u32 i)
{
    if (!d || i >= DNS_ANSWERS)
        return 0;
    __u32 ap = d->addr_pos[i];
    __u32 p = ap & 0x7fff;
    __builtin_memset(&d->key, 0, sizeof(d->key));
    if (ap & 0x8000) {
        d->key.family = 10;
        __builtin_memcpy(d->key.addr, &d->buf[p & DNS_MASK], 16);
    } else {
        d->key.family = 2;
        __builtin_memcpy(d->key.addr, &d->buf[p & DNS_MASK], 4);
    }
    if (d->val.client) {
        d->key.client = d->val.client;
        mz_dns_put(d, 0);
        d->key.client = 0;
    }
    mz_dns_put(d, 1);
    return 0;
}

/* Reads the answer record at d->pos and moves past it: a CNAME's target
 * joins the chain, an A or AAAA record's address is noted for
 * mz_dns_store. Returns 0, or -1 at a malformed record. */
__noinline int mz_dns_answer(struct dns_scratch *d)
{
    if (!d)
        return -1;
    __u32 len = d->len;
    /* the owner name: labels, ended by a 0 or a pointer */
    for (int j = 0; j < 128; j++) {
        DNS_RELOAD();
        __u32 p = d->pos;
        if (p >= len)
            return -1;
        __u8 l = d->buf[p & DNS_MASK];
        if (l == 0) {
            d->pos = p + 1;
            break;
        }
        if ((l & 0xC0) == 0xC0) {
            d->pos = p + 2;
            break;
        }
        if (l & 0xC0)
            return -1;
        d->pos = p + 1 + l;
        if (j == 127)
            return -1;
    }
    __u32 p = d->pos;
    if (p + 10 > len)
        return -1;
    __u32 type = be16_at(d->buf, p);
    __u32 rdlen = be16_at(d->buf, p + 8);
    p += 10;
    if (p + rdlen > len)
        return -1;
    if (type == 5 /* CNAME */) {
        d->pos = p;
        if (mz_dns_read_name(d) == 0)
            mz_dns_add_name(d);
    } else if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
        __u32 n = d->n_addr;
        if (n < DNS_ANSWERS) {
            d->addr_pos[n] = p | (type == 28 ? 0x8000 : 0);
            d->n_addr = n + 1;
        }
    }
    d->pos = p + rdlen;
    return 0;
}

static long dns_answer_step(__u64 i, void *ctx)
{
    return mz_dns_answer(((struct dns_loop *)ctx)->d) < 0;
}

static long dns_store_step(__u64 i, void *ctx)
{
    mz_dns_store(((struct dns_loop *)ctx)->d, i);
    return 0;
}

/* Parses the DNS response of d->len bytes in d->buf: every name of the
 * answer (the question's, the CNAME targets) is recorded for every A and
 * AAAA address in it. */
__noinline int mz_dns_parse(struct dns_scratch *d)
{
    if (!d)
        return 0;
    __u32 len = d->len;
    if (len < 12 || len > DNS_MAX)
        return 0;
    __u8 *b = d->buf;
    if (!(b[2] & 0x80) || (b[3] & 0x0f) || be16_at(b, 4) != 1)
        return 0; /* not a response, an error, or not one question */
    d->an = be16_at(b, 6);
    d->val.qid = be16_at(b, 0);
    d->pos = 12;
    for (int i = 0; i < 128; i++) {
        DNS_RELOAD();
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
    if (qlen > MZ_BPF_DOMAIN_MAX - 1)
        return 0; /* longer than DNS allows: malformed */
    d->val.len = qlen;
    d->val.seen_ns = bpf_ktime_get_boot_ns();
    /* bytes past the name are zero (names are compared and hashed whole) */
    __builtin_memcpy(d->val.qname, &b[12], MZ_BPF_DOMAIN_MAX);
    __u64 *w = (__u64 *)d->val.qname;
#pragma unroll
    for (int i = 0; i < MZ_BPF_DOMAIN_MAX / 8; i++) {
        if (i * 8 >= qlen)
            w[i] = 0;
        else if (i * 8 + 8 > qlen)
            w[i] &= (1ULL << ((qlen - i * 8) * 8)) - 1; /* little endian */
    }
    __builtin_memcpy(d->nm.name, d->val.qname, MZ_BPF_DOMAIN_MAX);
    d->nm.len = qlen;
    __builtin_memset(d->chain, 0, sizeof(d->chain));
    d->n_chain = 0;
    d->n_addr = 0;
    mz_dns_add_name(d);
    d->pos += 4; /* QTYPE, QCLASS */
    /* every answer a DNS_MAX-byte message can hold: first the CNAMEs and
     * where the addresses are, then every address gets the whole chain
     * (whatever the order of the records) */
    struct dns_loop l = {.d = d};
    __u32 an = d->an < DNS_ANSWERS ? d->an : DNS_ANSWERS;
    bpf_loop(an, dns_answer_step, &l, 0);
    bpf_loop(d->n_addr, dns_store_step, &l, 0);
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
    __u16 ports[2]; /* source, destination */
    if (bpf_skb_load_bytes(skb, off, ports, 4) < 0 || ports[0] != bpf_htons(53))
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
    d->len = n;
    struct mz_dns_client_key ck = {};
    ck.cgroup = bpf_skb_cgroup_id(skb);
    ck.port = bpf_ntohs(ports[1]);
    ck.family = skb->protocol == bpf_htons(0x0800) ? 2 : 10;
    struct mz_dns_client_val *cv = bpf_map_lookup_elem(&dns_clients, &ck);
    d->val.client = cv ? cv->task_key : 0;
    d->val.netns = cv ? cv->netns : 0;
    mz_dns_parse(d);
    return 1;
}

#endif
