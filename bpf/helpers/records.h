/* SPDX-License-Identifier: GPL-2.0 */
/*
 * records.h - link, flow and event records: the in-place update of an
 * existing record (REC_UPDATE, the one place that writes count, actions,
 * last time and generation) and the creation of new ones.
 */
#ifndef MIZAN_BPF_HELPERS_RECORDS_H
#define MIZAN_BPF_HELPERS_RECORDS_H

/* How an update stamps the record's last time:
 *   REC_LAST_FAST     the hot paths (links): jiffies when the tick length is
 *                     known (userland converts), else the precise clock;
 *   REC_LAST_BOTH     both (links, cold paths);
 *   REC_LAST_PRECISE  the precise clock (flows and events have no jiffies). */
#define REC_LAST_FAST(r)                                                                           \
    do {                                                                                           \
        if (jiffy_ns)                                                                              \
            (r)->last_jiffies = bpf_jiffies64();                                                   \
        else                                                                                       \
            (r)->last_ns = bpf_ktime_get_boot_ns();                                                \
    } while (0)
#define REC_LAST_BOTH(r)                                                                           \
    do {                                                                                           \
        (r)->last_jiffies = bpf_jiffies64();                                                       \
        (r)->last_ns = bpf_ktime_get_boot_ns();                                                    \
    } while (0)
#define REC_LAST_PRECISE(r) ((r)->last_ns = bpf_ktime_get_boot_ns())

/* THE in-place update of a record already in map m (link, flow, event):
 * one more action, the last time (stamp: REC_LAST_*), the action bits when
 * new ones (acts 0: none, the event's action is in its key), and the
 * generation last, after the data (see CREATED). Moving the record into a
 * new generation is a change after the scan that last read it: counted in
 * updated[m]. */
#define REC_UPDATE(m, r, acts, stamp)                                                              \
    do {                                                                                           \
        __sync_fetch_and_add(&(r)->count, 1);                                                      \
        stamp(r);                                                                                  \
        if ((acts) && ((r)->actions & (acts)) != (acts))                                           \
            __sync_fetch_and_or(&(r)->actions, (acts));                                            \
        __u32 g_ = gen_now();                                                                      \
        if ((r)->gen != g_) {                                                                      \
            (r)->gen = g_;                                                                         \
            COUNT_MAP(updated, m);                                                                 \
        }                                                                                          \
    } while (0)

__noinline int mz_link_aggregated(struct scratch *s, __u64 task_key, __u32 actions);

/* Inserts a new link k (made under generation gen) from the scratch; when
 * another CPU created it meanwhile, counts this action there instead. The
 * caller has stored its file records and made sure of its task; ring: one
 * of those file records went to the overflow ring, so the link goes there
 * too, behind it. admit (mz_admit): 0 when, the map being full, the link
 * is aggregated rather than handed to the ring. */
static __always_inline int link_insert(struct scratch *s, struct mz_link_key *k, __u32 actions,
                                       __u64 key2, __u64 file_key, __u32 epoch, __u32 gen,
                                       bool ring, __u64 ino, __u32 dev, int admit)
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
    v->ino = ino;
    v->dev = dev;
    v->pad1 = 0;
    if (ring) {
        overflow_out(MZ_MAP_LINKS, k, sizeof(*k), v, sizeof(*v));
        return 0;
    }
    int r = store_new_admit(MZ_MAP_LINKS, &links, k, sizeof(*k), v, sizeof(*v), admit);
    if (r == 0) {
        CREATED(MZ_MAP_LINKS, &links, k, struct mz_link_val, gen);
    } else if (r == 2) {
        mz_link_aggregated(s, k->task_key, actions);
    } else if (r == -17) {
        struct mz_link_val *l = bpf_map_lookup_elem(&links, k);
        if (l)
            REC_UPDATE(MZ_MAP_LINKS, l, actions, REC_LAST_BOTH);
    }
    return 0;
}

/* A link not made because its path was aggregated (file_store_admit
 * returned 2): aggregated too. */
static __always_inline int link_aggregate(struct scratch *s, __u64 task_key, __u32 actions)
{
    COUNT_MAP(aggregated, MZ_MAP_LINKS);
    return mz_link_aggregated(s, task_key, actions);
}

/* Charges actions on s->file (and s->file2 when two) to the current task,
 * with the identity in s->file_ino/dev (0: unknown). The hot path is the
 * in-place update of an existing link. */
__noinline int mz_record_link(struct scratch *s, __u32 actions, __u32 two)
{
    if (!s)
        return 0;
    struct mz_file_val *f = &s->file;
    struct mz_link_key k;
    __u32 gen = gen_now();
    /* before mz_task_ensure, which may walk the exe's path over s->file */
    __u64 ino = s->file_ino;
    __u32 dev = s->file_dev;

    k.task_key = current_task_key();
    k.obj_key = file_key_of(f);
    __u64 key2 = two ? file_key_of(&s->file2) : 0;

    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (l) {
        if (key2 && l->path2_key != key2) {
            file_store(key2, &s->file2);
            l->path2_key = key2;
        }
        REC_UPDATE(MZ_MAP_LINKS, l, actions, REC_LAST_FAST);
        return 0;
    }

    /* Cold path: the file, the second path, the task, then the link. */
    int admit = mz_admit(s, actions, two);
    int fr = file_store_admit(k.obj_key, f, admit);
    int fr2 = two ? file_store_admit(key2, &s->file2, admit) : 0;
    mz_task_ensure(k.task_key, s);
    if (fr == 2 || fr2 == 2)
        return link_aggregate(s, k.task_key, actions);
    return link_insert(s, &k, actions, key2, k.obj_key, 0, gen, fr == 1 || fr2 == 1, ino, dev,
                       admit);
}

/* A privilege or tamper event charged to the current task; with detail, the
 * caller has put a NUL-terminated string in s->rel. */
/* An event in map (events, or tamper: map_index MZ_MAP_TAMPER). */
static __always_inline int record_event(void *map, __u32 map_index, __u32 kind, __u32 action,
                                        __s64 target, __u32 detail)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    struct mz_link_key k;
    k.task_key = current_task_key();
    k.obj_key = sip2(((__u64)kind << 32) | action, (__u64)target);

    struct mz_event_val *e = bpf_map_lookup_elem(map, &k);
    if (e) {
        REC_UPDATE(map_index, e, 0, REC_LAST_PRECISE);
        return 0;
    }
    __u64 now = bpf_ktime_get_boot_ns();
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
    if (store_new(map_index, map, &k, sizeof(k), v, sizeof(*v)) == 0)
        CREATED(map_index, map, &k, struct mz_event_val, gen);
    return 0;
}

__noinline int mz_record_event(__u32 kind, __u32 action, __s64 target, __u32 detail)
{
    return record_event(&events, MZ_MAP_EVENTS, kind, action, target, detail);
}

/* A link not made (aggregated, helpers/interest.h) by task_key: summed in
 * its aggregate; when a recipe could have alerted on it (s->flooded), the
 * task also gets its record-flood tamper record, in the tamper map (one per
 * task, counted in place; its detail the first such path). */
__noinline int mz_link_aggregated(struct scratch *s, __u64 task_key, __u32 actions)
{
    if (!s)
        return 0;
    mz_aggregate(task_key, actions);
    if (!s->flooded)
        return 0;
    bpf_probe_read_kernel_str(s->rel, MZ_BPF_DETAIL, s->file.path);
    return record_event(&tamper, MZ_MAP_TAMPER, MZ_EV_TAMPER, MZ_TAMPER_RECORD_FLOOD, 0, 1);
}

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
    /* A DNS client: its answers are charged to this process (dns.h). */
    if (v->proto == 17 /* UDP */ && v->remote_port == 53 && v->local_port &&
        (actions & (MZ_FL_CONNECT | MZ_FL_SEND))) {
        struct mz_dns_client_key dk = {};
        dk.cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
        dk.port = v->local_port;
        dk.family = v->family;
        struct mz_dns_client_val dv = {};
        dv.task_key = k.task_key;
        dv.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
        bpf_map_update_elem(&dns_clients, &dk, &dv, BPF_ANY);
    }

    struct mz_flow_val *f = bpf_map_lookup_elem(&flows, &k);
    if (f) {
        REC_UPDATE(MZ_MAP_FLOWS, f, actions, REC_LAST_PRECISE);
        return 0;
    }
    __u64 now = bpf_ktime_get_boot_ns();
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
    if (store_new(MZ_MAP_FLOWS, &flows, &k, sizeof(k), v, sizeof(*v)) == 0)
        CREATED(MZ_MAP_FLOWS, &flows, &k, struct mz_flow_val, gen);
    return 0;
}

#endif
