/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syscalls.h - the sys_exit programs and the dispatch on the syscall
 * number to the handlers of the other program headers.
 */
#ifndef MIZAN_BPF_PROGRAMS_SYSCALLS_H
#define MIZAN_BPF_PROGRAMS_SYSCALLS_H

/* One program for every syscall exit mizan records (verified once instead
 * of once per syscall). Opens, the hot path, are handled inline; the rest in
 * mz_exit_other. */

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

/* Syscalls mz_sys_exit handles: a bitmap, so that the others (it runs at
 * every syscall exit) cost a shift and a test. */
#define NR_BIT(n, w) ((n) >= 0 && (n) / 64 == (w) ? 1ULL << ((n) % 64) : 0)
#define NR_WORD(w)                                                                                 \
    (NR_BIT(NR_open, w) | NR_BIT(NR_openat, w) | NR_BIT(NR_openat2, w) | NR_BIT(NR_creat, w) |     \
     NR_BIT(NR_unlink, w) | NR_BIT(NR_unlinkat, w) | NR_BIT(NR_rename, w) |                        \
     NR_BIT(NR_renameat, w) | NR_BIT(NR_renameat2, w) | NR_BIT(NR_link, w) |                       \
     NR_BIT(NR_linkat, w) | NR_BIT(NR_symlink, w) | NR_BIT(NR_symlinkat, w) |                      \
     NR_BIT(NR_chmod, w) | NR_BIT(NR_fchmod, w) | NR_BIT(NR_fchmodat, w) |                         \
     NR_BIT(NR_fchmodat2, w) | NR_BIT(NR_chown, w) | NR_BIT(NR_fchown, w) | NR_BIT(NR_lchown, w) | \
     NR_BIT(NR_fchownat, w) | NR_BIT(NR_truncate, w) | NR_BIT(NR_ftruncate, w) |                   \
     NR_BIT(NR_mmap, w) | NR_BIT(NR_memfd_create, w) | NR_BIT(NR_connect, w) |                     \
     NR_BIT(NR_accept, w) | NR_BIT(NR_accept4, w) | NR_BIT(NR_bind, w) | NR_BIT(NR_listen, w) |    \
     NR_BIT(NR_sendto, w) | NR_BIT(NR_setuid, w) | NR_BIT(NR_setgid, w) | NR_BIT(NR_setreuid, w) | \
     NR_BIT(NR_setregid, w) | NR_BIT(NR_setresuid, w) | NR_BIT(NR_setresgid, w) |                  \
     NR_BIT(NR_setfsuid, w) | NR_BIT(NR_setfsgid, w) | NR_BIT(NR_capset, w) |                      \
     NR_BIT(NR_ptrace, w) | NR_BIT(NR_bpf, w) | NR_BIT(NR_init_module, w) |                        \
     NR_BIT(NR_finit_module, w) | NR_BIT(NR_mount, w) | NR_BIT(NR_umount2, w) |                    \
     NR_BIT(NR_pivot_root, w) | NR_BIT(NR_move_mount, w))
#define NR_MAX 512
static const __u64 nr_mask[NR_MAX / 64] = {NR_WORD(0), NR_WORD(1), NR_WORD(2), NR_WORD(3),
                                           NR_WORD(4), NR_WORD(5), NR_WORD(6), NR_WORD(7)};

/* A BTF raw tracepoint on sys_exit: the task's user registers come as an
 * argument (no helper, no perf buffer), which is what makes the hot path
 * cheap; the price is one bitmap test at every other syscall exit. */
static __always_inline int sys_exit_body(struct pt_regs *regs, long ret, const bool typed)
{
    __u64 nr = SYSCALL_NR(regs);
    if (nr >= NR_MAX || !((nr_mask[nr / 64] >> (nr % 64)) & 1))
        return 0;
    /* mizan's own reads of /proc and of its maps would feed back into every
     * scan: not recorded (its bpf() calls are not tamper either). */
    struct task_struct *t = bpf_get_current_task_btf();
    if (is_mizan(t->tgid))
        return 0;
    if (nr == NR_openat || nr == NR_open || nr == NR_openat2 || nr == NR_creat) {
        if (ret < 0)
            return 0;
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
        } else {
            up = ARG1(regs);
            flags = 0;
            bpf_probe_read_user(&flags, sizeof(flags), (void *)ARG2(regs)); /* open_how.flags */
        }
        return open_common(t, ret, up, flags, typed);
    }
    return mz_exit_other((int)nr, ret);
}

/* The same program twice: the collector loads the first where the kernel
 * has bpf_rdonly_cast (6.2+), the second elsewhere. */
SEC("tp_btf/sys_exit")
int BPF_PROG(mz_sys_exit, struct pt_regs *regs, long ret)
{
    return sys_exit_body(regs, ret, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(mz_sys_exit_compat, struct pt_regs *regs, long ret)
{
    return sys_exit_body(regs, ret, false);
}

#endif
