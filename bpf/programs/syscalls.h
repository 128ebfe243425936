/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syscalls.h - the programs on the syscalls:sys_exit_* tracepoints of the
 * syscalls mizan records (definitions/syscall_list.h; no program runs for
 * any other syscall), and the dispatch on the syscall number to the
 * handlers of the other program headers.
 */
#ifndef MIZAN_BPF_PROGRAMS_SYSCALLS_H
#define MIZAN_BPF_PROGRAMS_SYSCALLS_H

/* Every recorded syscall but the opens, by number (the tracepoint's record
 * gives it): a global function, verified once. */

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
        return priv_call(ret, MZ_PA_SETUID, (__u32)ARG0(r));
    case NR_setreuid:
    case NR_setresuid:
        return priv_call(ret, MZ_PA_SETUID, (__u32)ARG1(r));
    case NR_setgid:
    case NR_setfsgid:
        return priv_call(ret, MZ_PA_SETGID, (__u32)ARG0(r));
    case NR_setregid:
    case NR_setresgid:
        return priv_call(ret, MZ_PA_SETGID, (__u32)ARG1(r));
    case NR_capset:
        return priv_call(ret, MZ_PA_CAPSET, 0);
    case NR_ptrace:
        return priv_call(ret, MZ_PA_PTRACE, (__s32)ARG1(r));
    /* tamper evidence: attempts count, whatever they returned */
    case NR_bpf:
        return mz_bpf_call((int)ARG0(r), ARG1(r));
    case NR_init_module:
        return module_load_call(0);
    case NR_finit_module:
        return module_load_call((int)ARG0(r));
    /* mount changes: paths below a moved or new mount point change */
    case NR_mount:
    case NR_umount2:
    case NR_move_mount:
    case NR_pivot_root:
        return mount_changed(ret);
    default:
        return 0;
    }
    return path_action(ret, act, p1, dfd, p2, dfd2);
}

/* The record of every syscalls:sys_exit_NAME tracepoint: the syscall's
 * number and its return value (the same layout for every syscall, and
 * since the tracepoints exist). The arguments are read from the task's
 * saved user registers. */
struct mz_sys_exit_args {
    __u64 common; /* common_type, common_flags, common_preempt_count, common_pid */
    __s32 nr;
    __s32 pad0;
    __s64 ret;
};

/* The task's saved user registers, where the arguments are. typed: a
 * direct load instead of the bpf_task_pt_regs call (each helper call costs a
 * call and a return through the kernel's return thunk): task_pt_regs() is a
 * fixed offset from the task's stack on every architecture (the top of the
 * stack less a pt_regs and a constant padding), which the helper gives once
 * per CPU. */
static __always_inline struct pt_regs *open_regs(struct task_struct *t, const bool typed)
{
    if (!typed)
        return mz_task_pt_regs(t);
    struct scratch *s = scratch_get(0);
    if (!s)
        return NULL;
    __u64 stack = (__u64)t->stack;
    volatile struct scratch *vs = s;
    __u64 off = vs->regs_off;
    if (!off) {
        off = (__u64)mz_task_pt_regs(t) - stack;
        vs->regs_off = off;
    }
    return bpf_rdonly_cast((void *)(stack + off), bpf_core_type_id_kernel(struct pt_regs));
}

/* The open path, attached to the sys_exit tracepoints of the MZ_OPEN_SYSCALLS
 * (definitions/syscall_list.h). */
static __always_inline int open_exit(struct mz_sys_exit_args *ctx, const bool typed)
{
    if (bench_gate && *(volatile __u32 *)&bench_paused)
        return 0;
    long ret = ctx->ret;
    if (ret < 0)
        return 0;
    /* mizan's own reads of /proc and of its maps would feed back into every
     * scan: not recorded. */
    struct task_struct *t = bpf_get_current_task_btf();
    if (is_mizan(t->tgid))
        return 0;
    struct pt_regs *regs = open_regs(t, typed);
    if (!regs)
        return 0;
    int nr = ctx->nr;
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
    } else if (nr == NR_openat2) {
        up = ARG1(regs);
        flags = 0;
        bpf_probe_read_user(&flags, sizeof(flags), (void *)ARG2(regs)); /* open_how.flags */
    } else {
        return 0;
    }
    return open_common(t, ret, up, flags, typed);
}

/* The same program twice: the collector loads the first where the kernel
 * has bpf_rdonly_cast (6.2+), the second elsewhere. Neither is attached by
 * the skeleton (a bare "tracepoint" section): the collector attaches the one
 * it loaded to each open syscall's tracepoint. */
SEC("tracepoint")
int mz_open_exit(struct mz_sys_exit_args *ctx)
{
    return open_exit(ctx, true);
}

SEC("tracepoint")
int mz_open_exit_compat(struct mz_sys_exit_args *ctx)
{
    return open_exit(ctx, false);
}

/* Every other recorded syscall (MZ_OTHER_SYSCALLS): one program, verified
 * once, attached by the collector to each of their tracepoints. bpf(),
 * init_module and finit_module (tamper evidence) are among them; mizan's own
 * bpf() calls are not tamper. */
SEC("tracepoint")
int mz_other_exit(struct mz_sys_exit_args *ctx)
{
    if (bench_gate && *(volatile __u32 *)&bench_paused)
        return 0;
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == mizan_tgid)
        return 0;
    /* mmap, by far the most frequent of them: only executable mappings are
     * recorded, tested here with a direct load of the saved registers
     * rather than through mz_exit_other's helper calls. */
    if (ctx->nr == NR_mmap && direct_loads && bpf_ksym_exists(bpf_rdonly_cast)) {
        struct pt_regs *r = open_regs(t, true);
        if (!r || !(ARG2(r) & 4 /* PROT_EXEC */))
            return 0;
    }
    return mz_exit_other(ctx->nr, ctx->ret);
}

#endif
