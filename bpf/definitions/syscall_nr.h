/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syscall_nr.h - the numbers of the syscalls mizan records, per
 * architecture (a negative number: the syscall does not exist there), and
 * where the syscall number sits in the saved registers.
 */
#ifndef MIZAN_BPF_SYSCALL_NR_H
#define MIZAN_BPF_SYSCALL_NR_H

#if defined(__TARGET_ARCH_x86)
#define NR_open         2
#define NR_openat       257
#define NR_openat2      437
#define NR_creat        85
#define NR_unlink       87
#define NR_unlinkat     263
#define NR_rename       82
#define NR_renameat     264
#define NR_renameat2    316
#define NR_link         86
#define NR_linkat       265
#define NR_symlink      88
#define NR_symlinkat    266
#define NR_chmod        90
#define NR_fchmod       91
#define NR_fchmodat     268
#define NR_fchmodat2    452
#define NR_chown        92
#define NR_fchown       93
#define NR_lchown       94
#define NR_fchownat     260
#define NR_truncate     76
#define NR_ftruncate    77
#define NR_mmap         9
#define NR_memfd_create 319
#define NR_connect      42
#define NR_accept       43
#define NR_accept4      288
#define NR_bind         49
#define NR_listen       50
#define NR_sendto       44
#define NR_setuid       105
#define NR_setgid       106
#define NR_setreuid     113
#define NR_setregid     114
#define NR_setresuid    117
#define NR_setresgid    119
#define NR_setfsuid     122
#define NR_setfsgid     123
#define NR_capset       126
#define NR_ptrace       101
#define NR_bpf          321
#define NR_init_module  175
#define NR_finit_module 313
#define NR_mount        165
#define NR_umount2      166
#define NR_pivot_root   155
#define NR_move_mount   429
#elif defined(__TARGET_ARCH_arm64)
/* asm-generic numbers; the legacy path syscalls do not exist there. */
#define NR_open         -1
#define NR_openat       56
#define NR_openat2      437
#define NR_creat        -2
#define NR_unlink       -3
#define NR_unlinkat     35
#define NR_rename       -4
#define NR_renameat     38
#define NR_renameat2    276
#define NR_link         -5
#define NR_linkat       37
#define NR_symlink      -6
#define NR_symlinkat    36
#define NR_chmod        -7
#define NR_fchmod       52
#define NR_fchmodat     53
#define NR_fchmodat2    452
#define NR_chown        -8
#define NR_fchown       55
#define NR_lchown       -9
#define NR_fchownat     54
#define NR_truncate     45
#define NR_ftruncate    46
#define NR_mmap         222
#define NR_memfd_create 279
#define NR_connect      203
#define NR_accept       202
#define NR_accept4      242
#define NR_bind         200
#define NR_listen       201
#define NR_sendto       206
#define NR_setuid       146
#define NR_setgid       144
#define NR_setreuid     145
#define NR_setregid     143
#define NR_setresuid    147
#define NR_setresgid    149
#define NR_setfsuid     151
#define NR_setfsgid     152
#define NR_capset       91
#define NR_ptrace       117
#define NR_bpf          280
#define NR_init_module  105
#define NR_finit_module 273
#define NR_mount        40
#define NR_umount2      39
#define NR_pivot_root   41
#define NR_move_mount   429
#endif

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(r) ((r)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(r) ((r)->syscallno)
#endif

#endif
