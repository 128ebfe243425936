/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privilege.h - privilege changes (setuid family, capset, ptrace),
 * dispatched by syscalls.h.
 */
#ifndef MIZAN_BPF_PROGRAMS_PRIVILEGE_H
#define MIZAN_BPF_PROGRAMS_PRIVILEGE_H

/* A privilege change that succeeded: action (MZ_PA_*) towards target (the
 * new uid or gid, the traced pid, 0). */
static __always_inline int priv_call(long ret, __u32 action, __s64 target)
{
    return ret < 0 ? 0 : mz_record_event(MZ_EV_PRIV, action, target, 0);
}

#endif
