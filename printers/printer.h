/* SPDX-License-Identifier: Apache-2.0 */
/*
 * printer.h - where alerts go. Two layers:
 *
 *   a printer (stdout, varlog, ...) writes rendered alert lines and flushes;
 *     it runs on one thread only and needs no locking.
 *   prn_output fans alerts out: each alert is rendered once (JSON line, and a
 *     text line when a printer wants it), then handed to every printer's own
 *     bounded queue and thread, so a slow or stuck printer stalls no other.
 *     A full printer queue spills to a per-printer spool file that the
 *     printer's thread replays when it catches up: nothing is dropped.
 *     Withheld alerts (block mode) go only to the audit printer.
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_PRINTERS_PRINTER_H
#define MIZAN_PRINTERS_PRINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/event.h"

struct cJSON;

struct prn_printer {
    const char *name;
    bool wants_text; /* renders text lines instead of JSON */
    bool audit;      /* receives withheld alerts only */
    /* Writes one line (without its newline). */
    int (*write)(struct prn_printer *p, const char *line, size_t len);
    /* Called when the printer's queue is empty: flush buffers, fsync per policy. */
    int (*flush)(struct prn_printer *p, bool final);
    void (*destroy)(struct prn_printer *p);
};

/* stdout: format json or text (auto resolves by isatty). */
struct prn_printer *prn_stdout_new(enum mz_stdout_format format);
/* varlog: JSON lines appended to path with size rotation (path.1 .. path.keep),
 * one write(2) per line with O_APPEND, fsync per policy. On open a torn last
 * line (from a crash mid-write) is cut back to the last whole line. */
struct prn_printer *prn_varlog_new(const char *path, uint64_t max_size, uint32_t keep,
                                   enum mz_fsync_policy fsync, uint64_t fsync_interval_ms,
                                   bool audit);

/* The network outputs (outputs.webhook, outputs.kafka, outputs.syslog):
 * each its own memory queue, on-disk spool and sender thread (prn_net.h).
 * NULL on a bad setting (logged, naming the key). */
struct prn_printer *prn_webhook_new(const struct mz_config *cfg);
struct prn_printer *prn_kafka_new(const struct mz_config *cfg);
struct prn_printer *prn_syslog_new(const struct mz_config *cfg);

struct prn_output;
/* Builds the printers from cfg: stdout, varlog, the audit log (audit.log
 * beside the varlog file) and the enabled network outputs. Threads start with prn_output_start.
 * NULL on error (logged). */
struct prn_output *prn_output_new(const struct mz_config *cfg);
/* Adds a printer before prn_output_start (tests, extra printers). Takes p. */
int prn_output_add(struct prn_output *o, struct prn_printer *p) MZ_MUST_CHECK;
int prn_output_start(struct prn_output *o) MZ_MUST_CHECK;
/* Before start: fn(scan, ctx) runs once per submitted alert, on whichever
 * thread finished it, when every printer it went to has written it (or
 * spooled it); scan is the alert's det.obs.src.scan (daemon/cursor.h). */
typedef void (*prn_done_fn)(uint32_t scan, void *ctx);
void prn_output_on_done(struct prn_output *o, prn_done_fn fn, void *ctx);
/* Takes alert. Thread-safe: any number of threads may submit at once. Never
 * blocks on a printer. */
void prn_output_submit(struct prn_output *o, struct mz_alert *alert);
/* Waits for every queue and spool to drain and every printer to flush; joins
 * the threads. Call once, after the last submit. */
void prn_output_drain(struct prn_output *o);
struct cJSON *prn_output_stats_json(const struct prn_output *o);
/* The counters of network output i (0, 1, ... in the order they were
 * added: webhook, kafka, syslog when enabled); *name is its name. 0, or
 * -ENOENT past the last one. Thread-safe; what /metrics exports. */
struct prn_net_stats;
int prn_output_net_stats(const struct prn_output *o, size_t i, const char **name,
                         struct prn_net_stats *out) MZ_MUST_CHECK;
/* Lines a printer has written so far; -1 when there is no such printer. */
int64_t prn_output_written(const struct prn_output *o, const char *name);
void prn_output_free(struct prn_output *o);

/* Renders one alert the way printers print it (a JSON line without newline).
 * New string, owned by the caller. */
char *prn_render_json(const struct mz_alert *alert);

#endif
