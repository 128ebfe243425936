/* SPDX-License-Identifier: Apache-2.0 */
/*
 * collector.h - the eBPF collector: loads bpf/mizan.bpf.c, and at each scan
 * reads the records that changed in its in-kernel maps, joins them through
 * their keys into observations (core/event.h), enriches them and hands them
 * to a callback (the daemon pushes them onto the detect queue).
 *
 * Nothing is evicted unseen: the maps are plain hash maps, the collector
 * deletes only what it delivered (once the delivery is acknowledged) or
 * what nothing delivered still needs, and a record a full map cannot take
 * goes to an overflow ring the collector drains (bpf/README.md). Loss is
 * counted exactly, per map and reason: the kernel counts what it made and
 * what neither the map nor the ring could take or what it could not read,
 * the collector what it delivered and the join misses; a warning naming the
 * map is logged when loss grows, and col_stats_json() reports them.
 *
 * Threads: col_new, col_scan, col_due and col_free are called from one
 * thread (the collector stage). col_stats_json may be called from any thread: it reads a
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
 * the per-boot SipHash key and mizan's tgid and start time through rodata;
 * with collector.pin_dir, adopts or replaces the pinned maps and pins the
 * links (col_pin.h). Needs root and a
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

/* Between scans (every collector.poll): drains the overflow ring into the
 * pending records and checks the maps' fill. Returns true when a scan
 * should start now rather than at the cadence: a map past half full, or
 * enough records waiting. */
bool col_due(struct mz_collector *c);

/* Counts a scan started early (col_due said so), for col_stats_json. */
void col_note_early(struct mz_collector *c);

/* Counters for `mizan status`: per map created / updated / delivered / lost
 * (full, read_error, join_miss) / overflowed / deleted, entries and fill;
 * scans, pending records, emitted observations. A new cJSON object owned by
 * the caller, or NULL on OOM. */
struct cJSON *col_stats_json(const struct mz_collector *c);

/* One map's counts, as of the last scan (col_stats_json's figures). */
struct col_map_counts {
    uint64_t created;   /* records made: in the map, in the ring, or lost (no room, unreadable) */
    uint64_t updated;   /* changes after the scan that last read the record */
    uint64_t delivered; /* records maps: first deliveries; the others: taken out of the kernel */
    uint64_t lost_full, lost_read, lost_join;
    uint64_t overflowed; /* went through the overflow ring */
    uint64_t entries;    /* in the map now */
    uint64_t aggregated; /* not made: map full, uninteresting (not a loss) */
};

/* Fills out for the map called name ("links", "files", ...). Returns 0, or
 * -ENOENT when there is no such map. */
int col_map_counts(const struct mz_collector *c, const char *name, struct col_map_counts *out);

/* The interest set (bpf/helpers/interest.h, collector/col_interest.h):
 * makes ii, detect's set of generation generation, the kernel's (NULL: none,
 * every record is interesting). Until a set is loaded every record is
 * interesting. col_interest_gen: the generation loaded (0: none). Called from
 * the collector's thread. Returns 0 or -errno (the kernel keeps its set). */
struct det_interest;
int col_set_interest(struct mz_collector *c, const struct det_interest *ii, uint64_t generation);
uint64_t col_interest_gen(const struct mz_collector *c);

/* Records lost, over every map and reason. */
uint64_t col_lost(const struct mz_collector *c);

/* Whether the open path reads the kernel's structures with direct loads
 * (collector.direct_reads auto on a 6.2+ kernel) rather than probe reads. */
bool col_direct_reads(const struct mz_collector *c);

/* Records that left a map before the collector saw them, over every map:
 * 0 by construction (a check on the generation accounting). */
uint64_t col_evicted_unseen(const struct mz_collector *c);

/* The id of one of the collector's maps by name ("links", "tasks", ...), or
 * 0 when there is no such map. For tests and the tamper check. */
uint32_t col_map_id(const struct mz_collector *c, const char *name);

/* What the collector's BPF programs have cost so far: their summed run time
 * (ns) and run count, as the kernel counts them while run-time statistics
 * are on (kernel.bpf_stats_enabled or a BPF_ENABLE_STATS fd); both 0 when
 * they are off. */
void col_prog_stats(const struct mz_collector *c, uint64_t *run_ns, uint64_t *runs);

/* Pinning and restarts (collector/col_pin.h, bpf/README.md "Pinning and
 * restarts"). col_resume: the next scan also delivers every record changed
 * in generation from_gen or later (what the last daemon may not have
 * printed; see daemon/cursor.h). col_adopted: the maps were adopted from an
 * earlier daemon. col_instance: 16 bytes naming the pinned maps (zero when
 * not pinned). col_gen: the generation of the last scan started.
 * col_is_self: p is this daemon (pid and start time), whose actions only
 * the previous daemon's programs record, in the moments of a restart. */
void col_resume(struct mz_collector *c, uint32_t from_gen);
/* Records changed before generation gen have been printed (the delivery
 * cursor): only those may leave the kernel maps once final (retired).
 * Without a call, a delivered record may. Any thread. */
void col_ack(struct mz_collector *c, uint32_t gen);
bool col_adopted(const struct mz_collector *c);
const uint8_t *col_instance(const struct mz_collector *c);
uint32_t col_gen(const struct mz_collector *c);
bool col_is_self(const struct mz_collector *c, const struct mz_process *p);

/* The syscalls whose exits mizan records (bpf/definitions/syscall_list.h),
 * and the attach of programs to their syscalls:sys_exit_NAME tracepoints,
 * shared with the benchmark's floor: open goes on the opens' tracepoints,
 * other on every other recorded syscall's. A syscall whose tracepoint this
 * kernel lacks is skipped with a log line (info); one that could not be
 * attached, with a warning. Stores the links in links (COL_SYSCALLS
 * entries, owned by the caller: bpf_link__destroy each), the syscall of each
 * in names when not NULL (static strings), and returns how many were
 * attached. */
struct bpf_program;
struct bpf_link;
enum { COL_SYSCALLS = 64 };
int col_attach_syscalls(struct bpf_program *open, struct bpf_program *other,
                        struct bpf_link *links[COL_SYSCALLS], const char *names[COL_SYSCALLS]);

/* Destroys links[0..n) (at most COL_SYSCALLS of them) at once, a thread each:
 * closing a tracepoint's perf event waits for an RCU grace period (about 40
 * ms on our machines) and concurrent waits share one, so 46 links take 60
 * ms instead of 1.8 s. Where a thread cannot start, the caller's thread
 * destroys that link. The last detach from a tracepoint still waits for its
 * unregistration (about 1.7 s for all of mizan's). */
void col_links_destroy(struct bpf_link **links, int n);

/* For bench/collector: detaches the syscall exit programs (on false) or
 * attaches them again (on true), every other hook staying as it is, so that
 * runs with and without them can alternate without reloading. Not with
 * pinned links (collector.pin_dir): -EBUSY. Returns how many are attached,
 * or a negative errno. */
int col_syscalls_set(struct mz_collector *c, bool on);

/* For bench/collector, with collector.bench_gate set before col_new: the
 * word (in the object's mmapped .bss, shared with children forked after
 * col_new) that makes the syscall programs return at their first
 * instruction while it is non-zero. NULL without the gate. */
volatile uint32_t *col_bench_gate(struct mz_collector *c);

/* Frees everything. The programs detach unless they are pinned
 * (collector.pin_dir): then they keep recording for the next daemon. Accepts
 * NULL. */
void col_free(struct mz_collector *c);

#endif
