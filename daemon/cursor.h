/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cursor.h - delivery exactly once across a crash of the daemon.
 *
 * The cursor is the generation C such that everything the collector read in
 * scans up to C has gone all the way: every observation was matched, every
 * alert it made was written by every printer (or spooled). It is counted
 * per scan: an observation adds one to its scan's slot when the collector
 * hands it over; detect adds one per detection and takes one for the
 * observation; a printed (or skipped) alert takes one. A slot at zero after
 * its scan has handed over everything is done.
 *
 * The main thread writes C every second to `cursor.json` beside the status
 * file, with the position the varlog and audit logs had when scan C began
 * (the instance of the pinned maps names the file's owner). A restarted
 * daemon that adopted those maps delivers again every record changed in
 * generation C or later, and skips an alert whose id (a digest of the record
 * and the recipe, core/event.h) the logs already hold after that position.
 * So nothing read but not yet printed is missed, and nothing printed before
 * the crash is printed again.
 *
 * Threads: mz_cursor_add and mz_cursor_printed from any thread; scan_start
 * and scanned from the collector's; restore and save from the main thread.
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_DAEMON_CURSOR_H
#define MIZAN_DAEMON_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct cJSON;
struct mz_cursor;

/* instance: the 16 bytes naming the pinned maps (all zero: nothing pinned,
 * the cursor then only counts). NULL without a status_file (nowhere to keep
 * it) or on OOM. */
struct mz_cursor *mz_cursor_new(const struct mz_config *cfg, const uint8_t instance[16]);

/* At start, before the pipeline runs. adopted: the maps come from an earlier
 * daemon. Then sets *from_gen to the generation to deliver again from
 * (the saved cursor, or 0 when there is none: everything) and loads the ids
 * of the alerts the logs hold since; returns 1. Returns 0 when there is
 * nothing to resume (fresh maps), or -errno. */
int mz_cursor_restore(struct mz_cursor *c, bool adopted, uint32_t *from_gen) MZ_MUST_CHECK;

/* Collector thread: scan gen is about to start (the log positions are taken
 * now), and every observation of scans up to gen has been handed over. */
void mz_cursor_scan_start(struct mz_cursor *c, uint32_t gen);
void mz_cursor_scanned(struct mz_cursor *c, uint32_t gen);

/* n observations, detections or alerts of scan `scan` entered (n > 0) or
 * left (n < 0) the pipeline. */
void mz_cursor_add(struct mz_cursor *c, uint32_t scan, int64_t n);

/* Whether an alert of this id was printed before the restart; counts it. */
bool mz_cursor_printed(struct mz_cursor *c, const char id[33]);

/* The cursor: everything the scans up to it read is printed. */
uint32_t mz_cursor_gen(const struct mz_cursor *c);

/* Writes the cursor file when it moved (atomically: temp file + rename). */
int mz_cursor_save(struct mz_cursor *c);

/* {gen, duplicates_skipped, resumed_from, restored_ids}. Caller owns it. */
struct cJSON *mz_cursor_stats_json(const struct mz_cursor *c);

void mz_cursor_free(struct mz_cursor *c);

/* Removes the cursor file of cfg (uninstall). 0 when there was none. */
int mz_cursor_remove(const struct mz_config *cfg);

#endif
