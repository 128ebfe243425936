/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tamper.h - tamper evidence: bpf(2) calls on mizan's maps and program
 * loads by anyone else.
 */
#ifndef MIZAN_BPF_PROGRAMS_TAMPER_H
#define MIZAN_BPF_PROGRAMS_TAMPER_H

/* A tamper event, in the tamper map (no flood of other events evicts it). */
__noinline int mz_record_tamper(__u32 action, __s64 target, __u32 detail)
{
    return record_event(&tamper, MZ_MAP_TAMPER, MZ_EV_TAMPER, action, target, detail);
}

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
    if (is_mizan(tgid))
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
            return mz_record_tamper(MZ_TAMPER_MAP_WRITE, id, 0);
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
            return mz_record_tamper(MZ_TAMPER_MAP_WRITE, id, 0);
        return 0;
    }
    case BPF_MAP_GET_FD_BY_ID: {
        __u32 id = 0;
        bpf_probe_read_user(&id, sizeof(id), uattr);
        if (own_map_id(id))
            return mz_record_tamper(MZ_TAMPER_MAP_OPEN, id, 0);
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
        return mz_record_tamper(MZ_TAMPER_PROG_LOAD, type, 1);
    }
    default:
        return 0;
    }
}

/* Sets the scan generation: run by the collector with BPF_PROG_TEST_RUN at
 * each scan (args[0]: the generation), never attached. An aligned store, so
 * that no program reads a generation half written (a bpf(2) write of the map
 * is a memcpy). Run by anyone else, it refuses and records a write to the
 * generation's map. */
SEC("raw_tp")
int mz_set_gen(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != mizan_tgid) {
        mz_record_tamper(MZ_TAMPER_MAP_WRITE, gen_map_id, 0);
        return 1;
    }
    *(volatile __u32 *)&cur_gen = (__u32)ctx->args[0];
    return 0;
}

#endif
