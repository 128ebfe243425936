/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module.h - module loads: the module:module_load tracepoint, and the
 * init_module/finit_module exits dispatched by syscalls.h.
 */
#ifndef MIZAN_BPF_PROGRAMS_MODULE_H
#define MIZAN_BPF_PROGRAMS_MODULE_H

/* init_module (target 0) or finit_module (target: the fd), attempted:
 * whatever it returned. */
static __always_inline int module_load_call(__s64 target)
{
    return mz_record_tamper(MZ_TAMPER_MODULE_LOAD, target, 0);
}

/* Where the kernel has the tracepoint (the loader skips it otherwise); the
 * syscalls are also recorded through syscalls.h. */
SEC("tracepoint/module/module_load")
int mz_module_load(void *ctx)
{
    return mz_record_tamper(MZ_TAMPER_MODULE_LOAD, 0, 0);
}

#endif
