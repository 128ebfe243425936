/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privs.h - least privilege for the live daemon: once the BPF programs are
 * loaded and attached, every capability the scans, the enrichment and the
 * configured reactions no longer need is dropped, in every thread of the
 * process (capabilities are per thread), from the effective, permitted,
 * inheritable and ambient sets and from the bounding set, and no_new_privs
 * is set so that nothing mizan runs later can gain any back through a
 * set-uid or file-capability binary.
 *
 * What stays and why (measured on Linux 6.18, docs/operations.md has the
 * table): CAP_SYS_PTRACE to read /proc/PID/exe, cwd and root of processes of
 * other users and of root processes holding more capabilities than mizan;
 * CAP_DAC_READ_SEARCH to open and hash executables and reach recipe and
 * policy files whatever their mode; CAP_KILL when reactions run. Map reads,
 * batch lookups and deletions, policy updates of the LPM tries and the
 * opening and removal of pins need none on file descriptors opened before
 * the drop; creating maps, loading programs and bpf_map_get_fd_by_id do.
 *
 * Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_DAEMON_PRIVS_H
#define MIZAN_DAEMON_PRIVS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config/config.h"

/* The capabilities (a bit per CAP_* number) the daemon keeps under cfg. */
uint64_t mz_privs_needed(const struct mz_config *cfg);

/* Keeps only `keep` in every thread of the process (bounding set included)
 * and sets no_new_privs, then reads every thread's sets back from /proc to
 * check. Call it from the main thread after loading and attaching, before
 * the stage threads start (threads created later inherit the reduced sets).
 * 0 or a negative errno with err set; on error some threads may already be
 * reduced: the caller logs it and goes on (collection never stops). */
int mz_privs_drop(uint64_t keep, char *err, size_t errlen);

/* "cap_kill,cap_sys_ptrace" (in number order; "none" for 0) into buf, with
 * only the names that fit whole; returns buf. */
const char *mz_privs_names(uint64_t caps, char *buf, size_t len);

/* {"drop_capabilities":bool,"dropped":bool,"effective":"hex","kept":"names",
 * "no_new_privs":bool} for the status file: what the calling thread holds
 * now. */
cJSON *mz_privs_stats_json(const struct mz_config *cfg);

#endif
