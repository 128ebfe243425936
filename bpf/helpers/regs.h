/* SPDX-License-Identifier: GPL-2.0 */
/*
 * regs.h - syscall arguments, read at sys_exit from the task's saved user
 * registers.
 */
#ifndef MIZAN_BPF_HELPERS_REGS_H
#define MIZAN_BPF_HELPERS_REGS_H

static struct pt_regs *(*mz_task_pt_regs)(struct task_struct *task) = (void *)175;

#if defined(__TARGET_ARCH_x86)
#define ARG0(r) ((r)->di)
#define ARG1(r) ((r)->si)
#define ARG2(r) ((r)->dx)
#define ARG3(r) ((r)->r10)
#define ARG4(r) ((r)->r8)
#define ARG5(r) ((r)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define ARG0(r) ((r)->orig_x0) /* x0 holds the return value at exit */
#define ARG1(r) ((r)->regs[1])
#define ARG2(r) ((r)->regs[2])
#define ARG3(r) ((r)->regs[3])
#define ARG4(r) ((r)->regs[4])
#define ARG5(r) ((r)->regs[5])
#else
#error "mizan.bpf.c: syscall argument registers not defined for this architecture"
#endif

static __always_inline struct pt_regs *user_regs(void)
{
    return mz_task_pt_regs(bpf_get_current_task_btf());
}

#endif
