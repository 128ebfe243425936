/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prn_spool.h - the bounded on-disk FIFO the network outputs (webhook, kafka,
 * syslog) keep while their endpoint is down. One directory per output holds
 * numbered segment files of records and a `head` file naming the first
 * record not yet delivered. Records are appended with one write(2) each and
 * fsync'd per policy; consuming advances the head (written to head.tmp and
 * renamed over head), and a segment is deleted once the head has passed it.
 * So after a crash the spool replays in order from the last persisted head:
 * delivery is at-least-once (a batch sent just before the crash may be sent
 * again). A record is: magic "MZS1", payload length (u32 LE), CRC-32 of the
 * payload (u32 LE), the payload. On open every segment is checked: a torn
 * or corrupt record is cut out (the segment rewritten without it) and
 * counted, never replayed as garbage.
 *
 * Not thread-safe: its owner (prn_net.c) holds a mutex around every call.
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_PRINTERS_PRN_SPOOL_H
#define MIZAN_PRINTERS_PRN_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define PRN_SPOOL_REC_MAX   (16u << 20) /* a longer record is refused (and torn on disk) */
#define PRN_SPOOL_HDR_BYTES 12

struct prn_spool;

/* One record handed out by prn_spool_peek: data is a new NUL-terminated
 * copy owned by the caller. */
struct prn_rec {
    char *data;
    size_t len;
};
void prn_recs_free(struct prn_rec *recs, size_t n);

/* Opens (creating it and its parents, mode 0700) the spool directory dir,
 * holding at most max_bytes of records (headers included). What was left in
 * it by an earlier run is kept for replay. NULL on error (logged). */
struct prn_spool *prn_spool_open(const char *dir, uint64_t max_bytes, enum mz_fsync_policy fsync,
                                 uint64_t fsync_interval_ms);
/* Appends one record: 0; -ENOSPC when it would pass max_bytes (nothing
 * written); -EMSGSIZE past PRN_SPOOL_REC_MAX; -errno on I/O errors. */
int prn_spool_append(struct prn_spool *s, const char *data, size_t len) MZ_MUST_CHECK;
/* Would n records totalling bytes payload bytes fit? */
bool prn_spool_fits(const struct prn_spool *s, size_t n, uint64_t bytes);
/* Copies up to max_n of the oldest records (stopping before max_bytes of
 * payload, but always at least one) into out without consuming them; *n is
 * how many. 0 or -errno. */
int prn_spool_peek(struct prn_spool *s, size_t max_n, size_t max_bytes, struct prn_rec *out,
                   size_t *n) MZ_MUST_CHECK;
/* Drops the n oldest records (delivered) and persists the new head. */
int prn_spool_consume(struct prn_spool *s, size_t n) MZ_MUST_CHECK;
/* fsync for the interval policy: call when idle; force: whatever the policy. */
void prn_spool_sync(struct prn_spool *s, bool force);
uint64_t prn_spool_bytes(const struct prn_spool *s);   /* headers included */
uint64_t prn_spool_records(const struct prn_spool *s); /* not yet consumed */
uint64_t prn_spool_torn(const struct prn_spool *s);    /* records cut out on open */
void prn_spool_close(struct prn_spool *s);

/* The record parser (what open runs on each segment; a fuzz target). Walks
 * buf from the start; calls fn(ctx, off, payload, len) for each whole,
 * CRC-valid record at offset off. A bad record is skipped by scanning for
 * the next magic; *bad counts the bad spans (each a torn or corrupt record),
 * *good_end is the offset just past the last good record. Returns the
 * number of good records. fn may be NULL. */
typedef void (*prn_spool_rec_fn)(void *ctx, size_t off, const uint8_t *payload, size_t len);
size_t prn_spool_parse(const uint8_t *buf, size_t len, prn_spool_rec_fn fn, void *ctx, size_t *bad,
                       size_t *good_end);

#endif
