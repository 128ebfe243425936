/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_int.h - the parts of http/ the daemon and the unit tests call
 * directly: the Prometheus renderer, the health check, and the per-alert
 * counters the pipeline keeps for what the status tree had no figure for
 * (alerts per attenuation status and verdict, withheld alerts, the latency
 * histogram).
 *
 * Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_HTTP_HTTP_INT_H
#define MIZAN_HTTP_HTTP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/util.h"
#include "http/http.h"

struct cJSON;

/* ---- per-alert counters (daemon/pipeline.c counts every alert it emits) -- */

#define HTTP_ATT_STATUSES    5  /* enum mz_att_status: none .. suppressed */
#define HTTP_VERDICTS        4  /* enum mz_verdict: none .. uncertain */
#define HTTP_LATENCY_BUCKETS 12 /* the last one is +Inf */
extern const double http_latency_bounds_s[HTTP_LATENCY_BUCKETS - 1];

struct http_alert_counts {
    _Atomic uint64_t by_status[HTTP_ATT_STATUSES];
    _Atomic uint64_t by_verdict[HTTP_VERDICTS];
    _Atomic uint64_t withheld; /* block mode: to audit.log instead of stdout */
    _Atomic uint64_t latency_bucket[HTTP_LATENCY_BUCKETS]; /* not cumulative */
    _Atomic uint64_t latency_us_sum;
};

/* Counts one alert: its status, verdict, withheld flag and latency. Any
 * thread; relaxed atomics. */
void http_alert_count(struct http_alert_counts *c, const struct mz_alert *a);
/* The counts as a status.json object ("status", "verdict", "withheld",
 * "latency_seconds": {"le": [...], "buckets": [...], "sum", "count"}). */
struct cJSON *http_alert_counts_json(const struct http_alert_counts *c);

/* ---- rendering ------------------------------------------------------------ */

/* Appends the Prometheus text of status and st to b. Returns 0 or -E2BIG
 * (the cap of b). */
int http_render_metrics(const struct cJSON *status, const struct http_state *st, struct mz_buf *b);

/* ---- health ------------------------------------------------------------------ */

#define HTTP_HEALTH_QUEUES 32

/* What http_health_check remembers between calls: per queue, the progress
 * counter last seen and when it last moved. */
struct http_health {
    struct {
        char name[48];
        double progress;
        uint64_t moved_ns;
        bool used;
    } q[HTTP_HEALTH_QUEUES];
};

/*
 * Healthy when status names no exited stage thread ("stages_exited") and no
 * queue is stuck: a queue is stuck when it holds items (depth > 0) and its
 * consumer's progress counter has not moved for stuck_after_ns. The queues
 * read from status: q1 (pipeline.q1.size, progress pipeline.observations),
 * the attenuator (submitted - emitted, progress emitted), each printer
 * (queued, progress written). On false, why holds the reason. Call it from
 * one thread, about once a second.
 */
bool http_health_check(struct http_health *h, const struct cJSON *status, uint64_t now_ns,
                       uint64_t stuck_after_ns, char *why, size_t len);

#endif
