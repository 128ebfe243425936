/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prn_net.h - the delivery engine the network outputs share (webhook, kafka,
 * syslog: one transport each, this one queue-spool-retry mechanism).
 *
 * A network output is a prn_printer. Its write() (on the output's printer
 * thread, printers/output.c) never touches the network: it puts the line in
 * a bounded memory queue, or, when the queue is full or the spool already
 * holds records (the endpoint is down), appends it to the output's on-disk
 * spool (printers/prn_spool.h). A sender thread of its own takes batches,
 * oldest first (the memory queue and the spool are never both non-empty, so
 * order is one FIFO), calls the transport and, on failure, moves what is in
 * memory into the spool and retries with exponential backoff and jitter.
 * So a down endpoint costs disk, never a stall of the pipeline or of the
 * other printers; delivery is at-least-once and in order. When the spool is
 * full a record is refused: counted (refused), logged, and the write fails
 * (output.c counts it as a printer error). At exit, delivery goes on for at
 * most drain_wait, then what is left in memory is spooled for the next start.
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_PRINTERS_PRN_NET_H
#define MIZAN_PRINTERS_PRN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "printers/prn_spool.h"

struct prn_printer;

/* What a transport's send returns besides 0 (everything delivered). */
#define PRN_SEND_RETRY  (-EAGAIN)  /* transient: keep, back off, send again */
#define PRN_SEND_REJECT (-EBADMSG) /* the endpoint refuses these records for good */

struct prn_transport {
    const char *name; /* "webhook", "kafka", "syslog" */
    void *ctx;
    /* Delivers recs[0..n) in order within timeout_ms. On failure fills err
     * (no secrets in it). Runs on the sender thread only. */
    int (*send)(void *ctx, const struct prn_rec *recs, size_t n, uint64_t timeout_ms, char *err,
                size_t errlen);
    void (*free)(void *ctx);
};

/* The counters one network output keeps (what /metrics exports). All are
 * totals since start except spool_bytes, spool_records, queued and up. */
struct prn_net_stats {
    uint64_t sent;          /* records the endpoint accepted */
    uint64_t failed;        /* delivery attempts that failed (each a batch) */
    uint64_t retried;       /* records sent again after a failed attempt */
    uint64_t spooled;       /* records written to the spool */
    uint64_t refused;       /* records refused: spool full (logged) */
    uint64_t rejected;      /* records the endpoint refused for good (logged) */
    uint64_t torn;          /* torn or corrupt spool records cut out at start */
    uint64_t spool_bytes;   /* on disk now */
    uint64_t spool_records; /* on disk now */
    uint64_t queued;        /* in memory now */
    bool up;                /* the last attempt succeeded */
};

/* Builds the output; takes t (freed with the printer, or here on error).
 * The spool is opened now, so records left by an earlier run are replayed
 * first. The sender thread starts at the first write or flush. NULL on
 * error (logged). */
struct prn_printer *prn_net_new(const struct mz_output_common *opt, struct prn_transport *t);
/* Copies p's counters into out: 0, or -EINVAL when p is not a network
 * output. Thread-safe. */
int prn_net_stats(struct prn_printer *p, struct prn_net_stats *out);

#endif
