/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns.h - DNS answers ((client, ip) -> domain) parsed on the cgroup v2
 * root's ingress. The client is the process whose socket the answer reaches
 * (dns_clients, filled when a UDP socket connects or sends to port 53), so a
 * process's own resolver labels only its own flows; the host-wide entry
 * (client 0) keeps the last name and is marked when clients disagree.
 */
#ifndef MIZAN_BPF_PROGRAMS_DNS_H
#define MIZAN_BPF_PROGRAMS_DNS_H

static __always_inline __u32 be16_at(const __u8 *b, __u32 p)
{
    return ((__u32)b[p & DNS_MASK] << 8) | b[(p + 1) & DNS_MASK];
}

/* Records d->key -> d->val: a new address is counted created, a full map
 * counts the answer lost (a flow to that address then has no domain). */
static __always_inline void dns_store_one(struct dns_scratch *d)
{
    long err = bpf_map_update_elem(&domains, &d->key, &d->val, BPF_NOEXIST);
    if (err == 0)
        count_created(MZ_MAP_DOMAINS, gen_now());
    else if (err == -17 /* EEXIST */)
        bpf_map_update_elem(&domains, &d->key, &d->val, BPF_EXIST);
    else
        COUNT_MAP(lost_full, MZ_MAP_DOMAINS);
}

/* Whether the host-wide entry in d->old names another name than d->val. */
static __always_inline bool dns_other_name(struct dns_scratch *d)
{
    if (d->old.len != d->val.len)
        return true;
    for (int i = 0; i < MZ_BPF_DOMAIN_MAX / 8; i++)
        if (((__u64 *)d->old.qname)[i] != ((__u64 *)d->val.qname)[i])
            return true;
    return false;
}

/* The client's own entry, then the host-wide one (conflict marked sticky).
 * A global function: verified once, not once per answer. */
__noinline int mz_dns_store(struct dns_scratch *d)
{
    if (!d)
        return 0;
    __u64 client = d->val.client;
    d->val.flags = 0;
    if (client) {
        d->key.client = client;
        dns_store_one(d);
    }
    d->key.client = 0;
    struct mz_dns_val *old = bpf_map_lookup_elem(&domains, &d->key);
    if (old) {
        __builtin_memcpy(&d->old, old, sizeof(d->old));
        d->val.flags = d->old.flags & MZ_DNS_CONFLICT;
        if (d->old.client != client && dns_other_name(d))
            d->val.flags |= MZ_DNS_CONFLICT;
    }
    dns_store_one(d);
    return 0;
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
    if (qlen > MZ_BPF_DOMAIN_MAX)
        return 0; /* longer than DNS allows: malformed */
    d->val.len = qlen;
    d->val.seen_ns = bpf_ktime_get_boot_ns();
    /* bytes past the name are zero (names are compared whole) */
    __builtin_memcpy(d->val.qname, &b[12], MZ_BPF_DOMAIN_MAX);
    __u64 *w = (__u64 *)d->val.qname;
#pragma unroll
    for (int i = 0; i < MZ_BPF_DOMAIN_MAX / 8; i++) {
        if (i * 8 >= qlen)
            w[i] = 0;
        else if (i * 8 + 8 > qlen)
            w[i] &= (1ULL << ((qlen - i * 8) * 8)) - 1; /* little endian */
    }
    d->pos += 4; /* QTYPE, QCLASS */
    /* every answer a 512-byte message can hold (12-byte minimum each, with
     * a compressed owner name); CNAMEs are skipped: the addresses at the
     * end of a chain are the name the client asked for */
    for (int a = 0; a < 42; a++) {
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
            mz_dns_store(d);
        } else if (type == 28 && rdlen == 16) {
            d->key.family = 10;
            __builtin_memcpy(d->key.addr, &b[p & DNS_MASK], 16);
            mz_dns_store(d);
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
    struct mz_dns_client_key ck = {};
    ck.cgroup = bpf_skb_cgroup_id(skb);
    ck.port = bpf_ntohs(ports[1]);
    ck.family = skb->protocol == bpf_htons(0x0800) ? 2 : 10;
    __u64 *client = bpf_map_lookup_elem(&dns_clients, &ck);
    d->val.client = client ? *client : 0;
    mz_dns_parse(d, n);
    return 1;
}

#endif
