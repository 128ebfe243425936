/* SPDX-License-Identifier: Apache-2.0 */
/*
 * col_enrich.h - what the collector adds to a process beyond the kernel's
 * records: user names, the container id from the cgroup path, the SHA-256 of
 * the executable (cached by device, inode, size, mtime and ctime), whether
 * the executable is a trusted system binary, and /proc fallbacks for
 * processes whose records the kernel never had (they started before mizan)
 * or lost.
 *
 * The executable is opened, checked and hashed by a worker thread of its
 * own (see col_enrich.c): the calling thread waits for it a bounded time per
 * observation and per scan, and never blocks on the file itself.
 *
 * All caches are bounded (sizes from the config or fixed); a miss costs a
 * syscall or a file read, never unbounded memory.
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COL_ENRICH_H
#define MIZAN_COLLECTOR_COL_ENRICH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/event.h"

struct col_enrich;

struct col_enrich *col_enrich_new(const struct mz_config *cfg);
void col_enrich_free(struct col_enrich *e);

/* Starts a scan: what was read from /proc for earlier scans is forgotten
 * (processes change), while the digest, user and container caches stay. */
void col_enrich_begin_scan(struct col_enrich *e);

/* Fills what p lacks: exe, args and cwd from /proc when the process pid is
 * still the one that started at p->start_ns; then user, container,
 * exe_sha256 (or exe_sha256_why), exe_trusted, parent_exe_trusted and
 * exe_trust_why. Never fails: what cannot be found stays NULL, with a
 * reason. Waits at most 20 ms for the exe worker, 50 ms per scan in all.
 * What it reads from /proc is cached for the current scan. */
void col_enrich_process(struct col_enrich *e, struct mz_process *p);

/* col_proc_parent with the per-scan cache. */
int col_enrich_parent(struct col_enrich *e, int pid, int *ppid, char **exe) MZ_MUST_CHECK;

/* True when /proc/PID is the process that started at start_ns (boot ns). */
bool col_proc_is(int pid, uint64_t start_ns);

/* Parent pid and executable of a live process from /proc. *exe is a new
 * string or NULL. Returns 0 or -errno. */
int col_proc_parent(int pid, int *ppid, char **exe) MZ_MUST_CHECK;

/* Extracts a container id (64 hex) from a cgroup path: docker, containerd
 * (cri-containerd), cri-o, podman (libpod) and kubepods patterns. Returns 0
 * with the id in out (65 bytes), or -ENOENT on the host. */
int col_container_id(const char *cgroup_path, char out[65]) MZ_MUST_CHECK;

/* Joins a NUL-separated argv of len bytes into a space-separated string of at
 * most MZ_ARGS_MAX bytes. A cut argv (truncated set: the kernel or /proc cut
 * it; or longer than the cap) ends with "...". Returns a new string. */
char *col_join_args(const char *argv, size_t len, bool truncated);

/* Turns a DNS name in wire format (length-prefixed labels, ending with a 0
 * label) of at most len bytes into dotted text in out (outlen bytes).
 * Bytes outside printable ASCII become '?': the name is attacker-chosen.
 * Returns 0, or -EINVAL for a malformed, cut or compressed name, or -E2BIG
 * when it does not fit. */
int col_dns_name(const uint8_t *wire, size_t len, char *out, size_t outlen) MZ_MUST_CHECK;

/* The trust check of an executable (see struct mz_process) on st, the fstat
 * of the file that ran (live: /proc/PID/exe) or of the file opened at path
 * (live false). Sets *trusted and returns why, a static string:
 * "system_binary", "system_binary_by_path", or what failed ("no_path",
 * "unclean_path", "not_system_dir", "not_regular", "not_root_owned",
 * "writable", "not_same_file", "unsafe_dir"). Runs lstat on path and its
 * directories: call it where a blocked file system may block. */
struct stat;
const char *col_exe_trust(const char *path, const struct stat *st, bool live, bool *trusted);

/* Counters for status: cache hits and misses, hashes computed. */
struct col_enrich_stats {
    uint64_t sha_hits, sha_misses, sha_errors;
    uint64_t sha_deferred; /* exe facts not ready when the observation left */
    uint64_t proc_fallbacks;
    uint64_t exe_busy;    /* the worker's queue was full */
    uint64_t exe_stalled; /* the worker was stuck on one file */
};
void col_enrich_stats(const struct col_enrich *e, struct col_enrich_stats *out);

#endif
