/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mizan_abi.h - constants shared by the BPF programs and userland. A frozen
 * ABI: explicit values, never renumbered; a new value takes the next free bit.
 * Record structs shared with BPF live in mizan_maps.h (fixed-width types,
 * explicit padding, size asserts).
 */
#ifndef MIZAN_BPF_ABI_H
#define MIZAN_BPF_ABI_H

/* File actions: one bit each in a (task, file) access record. The names are
 * the ones recipes use (see docs/recipes.md); mz_file_action_name() maps. */
enum mz_file_action {
    MZ_FA_OPEN = 1u << 0,
    MZ_FA_READ = 1u << 1,
    MZ_FA_WRITE = 1u << 2,
    MZ_FA_CREATE = 1u << 3,
    MZ_FA_TRUNCATE = 1u << 4,
    MZ_FA_UNLINK = 1u << 5,
    MZ_FA_RENAME = 1u << 6,
    MZ_FA_LINK = 1u << 7,
    MZ_FA_EXECVE = 1u << 8,
    MZ_FA_MMAP = 1u << 9, /* mmap with PROT_EXEC */
    MZ_FA_CLOSE = 1u << 10,
    MZ_FA_FSYNC = 1u << 11,
    MZ_FA_FLOCK = 1u << 12,
    MZ_FA_LLSEEK = 1u << 13,
    MZ_FA_FASYNC = 1u << 14,
    MZ_FA_CHMOD = 1u << 15,
    MZ_FA_CHOWN = 1u << 16,
    MZ_FA_SYMLINK = 1u << 17,
    MZ_FA_MEMFD = 1u << 18,   /* memfd_create */
    MZ_FA_SETATTR = 1u << 19, /* utimes, xattr, chattr */
};
#define MZ_FA_COUNT 20

/* Flow actions on a (task, flow) record. */
enum mz_flow_action {
    MZ_FL_CONNECT = 1u << 0,
    MZ_FL_ACCEPT = 1u << 1,
    MZ_FL_BIND = 1u << 2,
    MZ_FL_LISTEN = 1u << 3,
    MZ_FL_SEND = 1u << 4,
    MZ_FL_ESTABLISHED = 1u << 5,
    MZ_FL_CLOSE = 1u << 6,
    MZ_FL_FAILED = 1u << 7, /* a connect that did not succeed (refused, unreachable, ...) */
    /* set by the network policy (netpolicy/): */
    MZ_FL_DROPIP = 1u << 8,     /* egress to an address the policy denies */
    MZ_FL_DROPDOMAIN = 1u << 9, /* a query for a domain the policy denies */
    MZ_FL_BLOCKED = 1u << 10,   /* the kernel refused it (enforce); without it: alert only */
};
#define MZ_FL_COUNT 11

enum mz_flow_direction {
    MZ_DIR_UNKNOWN = 0,
    MZ_DIR_EGRESS = 1,
    MZ_DIR_INGRESS = 2,
};

/* Privilege actions (setuid family, capset, ptrace). */
enum mz_priv_action {
    MZ_PA_SETUID = 1u << 0,
    MZ_PA_SETGID = 1u << 1,
    MZ_PA_CAPSET = 1u << 2,
    MZ_PA_PTRACE = 1u << 3,
};

/* Tamper events. */
enum mz_tamper_kind {
    MZ_TAMPER_MAP_WRITE = 1,
    MZ_TAMPER_PROG_LOAD = 2,
    MZ_TAMPER_MODULE_LOAD = 3,
    MZ_TAMPER_MAP_OPEN = 4, /* a handle to one of mizan's maps was taken by id */
    /* a task made more records a recipe could alert on than the overflow
     * ring keeps for one task under pressure: the rest were aggregated
     * (target 0; detail: the first such path) */
    MZ_TAMPER_RECORD_FLOOD = 5,
};

#endif
