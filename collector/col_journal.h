/* SPDX-License-Identifier: Apache-2.0 */
/*
 * col_journal.h - the overflow ring's journal: every record the collector
 * drains from the overflow ring lives in the daemon's memory only (its map
 * was full), so a crash between the drain and the printers would lose it.
 * The journal appends each drained record to a file beside the delivery
 * cursor before any of them is delivered, and a restarted daemon that
 * adopted the same pinned maps delivers again what the cursor does not show
 * printed (the printers skip an alert whose id is already in the logs, so
 * nothing appears twice: daemon/cursor.h).
 *
 * Two files, DIR/ring.journal.0 (older) and .1 (being written), each
 * record tagged with the scan generation it was drained in. When the cursor
 * passes every tag of the older one it is removed and the newer takes its
 * place, so the journal holds about two cursor intervals of ring traffic.
 * A record is framed (magic, length, tag, checksum): a torn tail left by a
 * crash is detected and skipped.
 *
 * Threads: one (the collector's). Every function accepts NULL (journal off:
 * no pinned maps, or no status file to write beside).
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COL_JOURNAL_H
#define MIZAN_COLLECTOR_COL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct col_journal;

/* Opens the journal in dir. keep: the maps were adopted from the daemon
 * that wrote it (its records may be replayed); otherwise any old journal is
 * removed. NULL on error (logged: the daemon runs without one). */
struct col_journal *col_journal_open(const char *dir, int keep);

/* Buffers one drained ring record (len bytes at rec) tagged with gen. */
void col_journal_add(struct col_journal *j, uint32_t gen, const void *rec, size_t len);

/* Writes what was buffered, in one write(2), before the records drained are
 * delivered. Returns 0 or -errno (logged once; the records are still
 * delivered). */
int col_journal_flush(struct col_journal *j);

/* The delivery cursor: every record drained before generation gen is
 * printed. Rotates the files accordingly. */
void col_journal_ack(struct col_journal *j, uint32_t gen);

/* Calls fn for each record of the journal left by the last daemon that is
 * tagged from_gen or later (what the cursor does not show printed), oldest
 * first, then forgets those files. Returns how many records were replayed,
 * or -errno. A torn record ends a file (counted in *torn when not NULL). */
typedef int (*col_journal_fn)(void *ctx, void *rec, size_t len);
int col_journal_replay(struct col_journal *j, uint32_t from_gen, col_journal_fn fn, void *ctx,
                       uint64_t *torn);

/* The framing alone, on len bytes at buf (what replay does with each file):
 * calls fn on each whole record tagged from_gen or later; stops at the
 * first torn or corrupt frame (counted in *torn; what names the file in the
 * warning). Returns how many records fn got. */
int col_journal_parse(const void *buf, size_t len, uint32_t from_gen, col_journal_fn fn, void *ctx,
                      uint64_t *torn, const char *what);

/* Records written and replayed, for the status. */
void col_journal_counts(const struct col_journal *j, uint64_t *written, uint64_t *replayed);

void col_journal_free(struct col_journal *j);

#endif
