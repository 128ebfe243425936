// SPDX-License-Identifier: GPL-2.0
/*
 * mizan_floor.bpf.c - empty programs on the hooks of mizan's syscall
 * programs, for the collector benchmark (bench/collector.c) to measure the
 * floors: what the kernel's tracepoint machinery costs before mizan does any
 * work.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* The per-syscall floor: attached by the benchmark (col_attach_syscalls) to
 * the syscalls:sys_exit_NAME tracepoints of exactly the syscalls mizan
 * records, as mz_open_exit and mz_other_exit are. */
SEC("tracepoint")
int floor_syscall(void *ctx)
{
    return 0;
}

/* The hook mizan used before (a BTF raw tracepoint on every syscall exit):
 * what a program that runs at every syscall costs. Not attached by the
 * skeleton either. */
SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
    return 0;
}
