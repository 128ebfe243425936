/* SPDX-License-Identifier: Apache-2.0 */
/*
 * collector.h - the eBPF collector: loads bpf/mizan.bpf.c, and at each scan
 * reads the records that changed in its in-kernel maps, joins them through
 * their keys into observations (core/event.h), enriches them and hands them
 * to a callback (the daemon pushes them onto the detect queue).
 *
 * Loss is measured: the kernel counts the records it creates per map and per
 * generation, the collector counts the records it has seen, and the
 * difference ("evicted unseen") is logged at the scan that finds it and
 * reported by col_stats_json().
 *
 * Threads: col_new, col_scan and col_free are called from one thread (the
 * collector stage). col_stats_json may be called from any thread: it reads a
 * snapshot published at the end of each scan.
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COLLECTOR_H
#define MIZAN_COLLECTOR_COLLECTOR_H

#include "config/config.h"
#include "core/event.h"

struct cJSON;
struct mz_collector;

/* Loads and attaches the BPF programs with maps sized from cfg->cache, sets
 * the per-boot SipHash key and mizan's tgid through rodata. Needs root and a
 * kernel with BTF. Returns NULL on failure (logged with the reason). */
struct mz_collector *col_new(const struct mz_config *cfg);

/* Called once per observation. Returns 0 when it took ownership of obs, or
 * -EAGAIN when the downstream queue is full: obs is then NOT taken (the
 * collector frees it), the scan stops, and the records not yet delivered are
 * kept for the next col_scan, so that nothing is lost. */
typedef int (*col_emit_fn)(struct mz_observation *obs, void *ctx);

/* One scan: first delivers what an earlier scan could not; then, if all of
 * that went through, starts a new generation, reads the changed records with
 * bpf_map_lookup_batch, updates the loss counters and delivers the new
 * observations. Returns the number of observations emitted; -EAGAIN when the
 * consumer filled up before everything was delivered (the rest is kept for
 * the next call, the kernel keeps aggregating meanwhile); or -errno. */
int col_scan(struct mz_collector *c, col_emit_fn emit, void *ctx) MZ_MUST_CHECK;

/* Counters for `mizan status`: per map created / seen / evicted_unseen /
 * failed, entries and fill level; scans, pending records, emitted
 * observations. A new cJSON object owned by the caller, or NULL on OOM. */
struct cJSON *col_stats_json(const struct mz_collector *c);

/* Whether the open path reads the kernel's structures with direct loads
 * (collector.direct_reads auto on a 6.2+ kernel) rather than probe reads. */
bool col_direct_reads(const struct mz_collector *c);

/* Total records evicted before the collector saw them, over every map. */
uint64_t col_evicted_unseen(const struct mz_collector *c);

/* The id of one of the collector's maps by name ("links", "tasks", ...), or
 * 0 when there is no such map. For tests and the tamper check. */
uint32_t col_map_id(const struct mz_collector *c, const char *name);

/* What the collector's BPF programs have cost so far: their summed run time
 * (ns) and run count, as the kernel counts them while run-time statistics
 * are on (kernel.bpf_stats_enabled or a BPF_ENABLE_STATS fd); both 0 when
 * they are off. */
void col_prog_stats(const struct mz_collector *c, uint64_t *run_ns, uint64_t *runs);

/* The syscalls whose exits mizan records (bpf/definitions/syscall_list.h),
 * and the attach of programs to their syscalls:sys_exit_NAME tracepoints,
 * shared with the benchmark's floor: open goes on the opens' tracepoints,
 * other on every other recorded syscall's. A syscall whose tracepoint this
 * kernel lacks is skipped with a log line (info); one that could not be
 * attached, with a warning. Stores the links in links (COL_SYSCALLS
 * entries, owned by the caller: bpf_link__destroy each) and returns how many
 * were attached. */
struct bpf_program;
struct bpf_link;
enum { COL_SYSCALLS = 64 };
int col_attach_syscalls(struct bpf_program *open, struct bpf_program *other,
                        struct bpf_link *links[COL_SYSCALLS]);

/* Detaches the programs and frees everything. Accepts NULL. */
void col_free(struct mz_collector *c);

#endif
