/* SPDX-License-Identifier: Apache-2.0 */
/*
 * syscall_list.h - the syscalls mizan records, by the name of their
 * syscalls:sys_exit_NAME tracepoint (the name of the kernel's
 * SYSCALL_DEFINE, which is not always the syscall's: umount2 is "umount").
 * Shared by the BPF side (which dispatches on the syscall number, see
 * syscall_nr.h), the collector (which attaches mizan's programs to exactly
 * these tracepoints, skipping those this kernel lacks) and the benchmark's
 * floor (empty programs on the same tracepoints). Every other syscall runs no
 * program of mizan's.
 *
 * X(name): MZ_OPEN_SYSCALLS go to the open path (mz_open_exit), the others to
 * mz_other_exit.
 */
#ifndef MIZAN_BPF_SYSCALL_LIST_H
#define MIZAN_BPF_SYSCALL_LIST_H

/* clang-format off */
#define MZ_OPEN_SYSCALLS(X) X(open) X(openat) X(openat2) X(creat)

#define MZ_OTHER_SYSCALLS(X)                                                   \
    /* paths */                                                                \
    X(unlink) X(unlinkat) X(rename) X(renameat) X(renameat2) X(link)           \
    X(linkat) X(symlink) X(symlinkat) X(chmod) X(fchmodat) X(fchmodat2)        \
    X(chown) X(lchown) X(fchownat) X(truncate)                                 \
    /* file descriptors */                                                     \
    X(fchmod) X(fchown) X(ftruncate) X(mmap) X(memfd_create)                   \
    /* network */                                                              \
    X(connect) X(accept) X(accept4) X(bind) X(listen) X(sendto)                \
    /* privilege */                                                            \
    X(setuid) X(setgid) X(setreuid) X(setregid) X(setresuid) X(setresgid)      \
    X(setfsuid) X(setfsgid) X(capset) X(ptrace)                                \
    /* tamper evidence */                                                      \
    X(bpf) X(init_module) X(finit_module)                                      \
    /* mount changes */                                                        \
    X(mount) X(umount) X(move_mount) X(pivot_root)
/* clang-format on */

#endif
