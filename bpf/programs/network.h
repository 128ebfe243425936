/* SPDX-License-Identifier: GPL-2.0 */
/*
 * network.h - sockets: flows of connect, accept, bind, listen and sendto
 * (dispatched by syscalls.h), TCP state changes.
 */
#ifndef MIZAN_BPF_PROGRAMS_NETWORK_H
#define MIZAN_BPF_PROGRAMS_NETWORK_H

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

#endif
