// SPDX-License-Identifier: Apache-2.0
/*
 * http_metrics.c - renders the status tree (what status.json holds: the
 * collector's per-map counts, the pipeline's detect, attenuator and printer
 * figures, the per-alert counts below, and the optional "reactions" object)
 * as Prometheus text exposition format 0.0.4. Names follow Prometheus
 * conventions: mizan_<area>_<what>_total for counters, base units (seconds),
 * one HELP and one TYPE line per family, label values escaped. A figure the
 * tree does not hold (a module that is off or absent) is left out, except
 * for the reactions family, which reads 0 until a reactions module fills
 * the pipeline's "reactions" object (reactions/rx.h).
 *
 * Also here: the per-alert counters (status, verdict, withheld, latency
 * histogram) the pipeline keeps, which no other module counts.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"

#ifndef MIZAN_VERSION
#define MIZAN_VERSION "0.1.0"
#endif

const double http_latency_bounds_s[HTTP_LATENCY_BUCKETS - 1] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30,
};

void http_alert_count(struct http_alert_counts *c, const struct mz_alert *a)
{
    if (!c || !a)
        return;
    unsigned st = (unsigned)a->att.status, v = (unsigned)a->att.verdict;
    if (st < HTTP_ATT_STATUSES)
        atomic_fetch_add_explicit(&c->by_status[st], 1, memory_order_relaxed);
    if (v < HTTP_VERDICTS)
        atomic_fetch_add_explicit(&c->by_verdict[v], 1, memory_order_relaxed);
    if (a->att.withheld)
        atomic_fetch_add_explicit(&c->withheld, 1, memory_order_relaxed);
    double s = a->att.latency_ms > 0 ? a->att.latency_ms / 1000.0 : 0;
    unsigned b = 0;
    while (b < HTTP_LATENCY_BUCKETS - 1 && s > http_latency_bounds_s[b])
        b++;
    atomic_fetch_add_explicit(&c->latency_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->latency_us_sum, (uint64_t)(s * 1e6), memory_order_relaxed);
}

static double ld(const _Atomic uint64_t *x)
{
    return (double)atomic_load_explicit((_Atomic uint64_t *)x, memory_order_relaxed);
}

cJSON *http_alert_counts_json(const struct http_alert_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !c)
        return o;
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    for (int i = 0; i < HTTP_ATT_STATUSES; i++)
        cJSON_AddNumberToObject(st, mz_att_status_name((enum mz_att_status)i),
                                ld(&c->by_status[i]));
    cJSON *v = cJSON_AddObjectToObject(o, "verdict");
    for (int i = 0; i < HTTP_VERDICTS; i++)
        cJSON_AddNumberToObject(v, mz_verdict_name((enum mz_verdict)i), ld(&c->by_verdict[i]));
    cJSON_AddNumberToObject(o, "withheld", ld(&c->withheld));
    cJSON *h = cJSON_AddObjectToObject(o, "latency_seconds");
    cJSON *le = cJSON_AddArrayToObject(h, "le");
    cJSON *bk = cJSON_AddArrayToObject(h, "buckets");
    double n = 0;
    for (int i = 0; i < HTTP_LATENCY_BUCKETS; i++) {
        n += ld(&c->latency_bucket[i]);
        cJSON_AddItemToArray(le, i < HTTP_LATENCY_BUCKETS - 1
                                     ? cJSON_CreateNumber(http_latency_bounds_s[i])
                                     : cJSON_CreateString("+Inf"));
        cJSON_AddItemToArray(bk, cJSON_CreateNumber(n)); /* cumulative, as Prometheus wants */
    }
    cJSON_AddNumberToObject(h, "sum", ld(&c->latency_us_sum) / 1e6);
    cJSON_AddNumberToObject(h, "count", n);
    return o;
}

/* ---- the text format ---------------------------------------------------- */

struct out {
    struct mz_buf *b;
    int err;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (o->err)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        o->err = -E2BIG;
        return;
    }
    if (mz_buf_append(o->b, line, (size_t)n))
        o->err = -E2BIG;
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the text format wants it: \, " and newline escaped,
 * other control and non-ASCII bytes as '_'; a value past 200 bytes is cut
 * on a boundary that keeps the escapes whole. */
static void esc(const char *s, char *out, size_t len)
{
    size_t j = 0;
    for (; s && *s && j + 3 < len && j < 200; s++) {
        if (*s == '\\' || *s == '"') {
            out[j++] = '\\';
            out[j++] = *s;
        } else if (*s == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) {
            out[j++] = '_'; /* a scrape stays valid UTF-8 whatever a name holds */
        } else {
            out[j++] = *s;
        }
    }
    out[j] = '\0';
}

static void num(char *out, size_t len, double v)
{
    if (isnan(v))
        snprintf(out, len, "NaN");
    else if (v == floor(v) && fabs(v) < 9e15)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%.9g", v);
}

/* name{k1="v1",k2="v2"} value; NULL keys mean no label. */
static void sample2(struct out *o, const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2, double v)
{
    char e1[512], e2[512], n[64];
    num(n, sizeof(n), v);
    if (!k1) {
        put(o, "%s %s\n", name, n);
        return;
    }
    esc(v1, e1, sizeof(e1));
    if (!k2) {
        put(o, "%s{%s=\"%s\"} %s\n", name, k1, e1, n);
        return;
    }
    esc(v2, e2, sizeof(e2));
    put(o, "%s{%s=\"%s\",%s=\"%s\"} %s\n", name, k1, e1, k2, e2, n);
}

static void sample(struct out *o, const char *name, const char *k, const char *v, double x)
{
    sample2(o, name, k, v, NULL, NULL, x);
}

static const cJSON *at(const cJSON *j, const char *path)
{
    char part[64];
    while (j && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        j = cJSON_GetObjectItemCaseSensitive(j, part);
        path += n + (dot ? 1 : 0);
    }
    return j;
}

static bool has(const cJSON *j, const char *path)
{
    return cJSON_IsNumber(at(j, path));
}

static double get(const cJSON *j, const char *path)
{
    const cJSON *x = at(j, path);
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

/* One family with one unlabelled sample, when the tree has the figure. */
static void single(struct out *o, const cJSON *j, const char *path, const char *name,
                   const char *type, const char *help)
{
    if (!has(j, path))
        return;
    family(o, name, type, help);
    sample(o, name, NULL, NULL, get(j, path));
}

/* For every child object of parent: name{label=child} = child.field. */
static void per_child(struct out *o, const cJSON *parent, const char *field, const char *name,
                      const char *type, const char *label, const char *help)
{
    const cJSON *c;
    bool any = false;
    cJSON_ArrayForEach(c, parent)
    {
        if (!cJSON_IsObject(c) || !has(c, field))
            continue;
        if (!any)
            family(o, name, type, help);
        any = true;
        sample(o, name, label, c->string, get(c, field));
    }
}

static void render_collector(struct out *o, const cJSON *st)
{
    const cJSON *col = at(st, "collector");
    if (!col)
        return;
    single(o, st, "scans", "mizan_collector_scans_total", "counter", "Scans of the kernel maps.");
    single(o, st, "scans_paused_by_backpressure", "mizan_collector_scans_paused_total", "counter",
           "Scans cut short because the observation queue (q1) was full.");
    single(o, col, "early_scans", "mizan_collector_early_scans_total", "counter",
           "Scans started before the cadence because a map was past half full.");
    single(o, col, "pending", "mizan_collector_pending_records", "gauge",
           "Records read from the kernel and not yet delivered as observations.");
    if (has(col, "last_scan_us")) {
        family(o, "mizan_collector_last_scan_seconds", "gauge", "How long the last scan took.");
        sample(o, "mizan_collector_last_scan_seconds", NULL, NULL, get(col, "last_scan_us") / 1e6);
    }
    const cJSON *maps = at(col, "maps");
    per_child(o, maps, "created", "mizan_collector_records_created_total", "counter", "map",
              "Records made in a kernel map (in the map, in the overflow ring, or lost).");
    per_child(o, maps, "updated", "mizan_collector_records_updated_total", "counter", "map",
              "Changes to a record after the scan that last read it.");
    per_child(o, maps, "delivered", "mizan_collector_records_delivered_total", "counter", "map",
              "Records delivered as observations (or taken out of the kernel, joined maps).");
    family(o, "mizan_collector_records_lost_total", "counter",
           "Records lost, by map and reason (full: neither map nor overflow ring had room; "
           "read_error: unreadable; join_miss: a joined record was gone).");
    const cJSON *m;
    cJSON_ArrayForEach(m, maps)
    {
        static const char *const why[] = {"full", "read_error", "join_miss"};
        for (size_t i = 0; i < MZ_ARRAY_SIZE(why); i++) {
            char p[32];
            snprintf(p, sizeof(p), "lost.%s", why[i]);
            sample2(o, "mizan_collector_records_lost_total", "map", m->string, "reason", why[i],
                    get(m, p));
        }
    }
    per_child(o, maps, "overflowed", "mizan_collector_records_overflowed_total", "counter", "map",
              "Records that went through the overflow ring because the map was full.");
    per_child(o, maps, "aggregated", "mizan_collector_records_aggregated_total", "counter", "map",
              "Records not made under pressure because no loaded recipe could alert on them "
              "(map full, overflow ring past half): summed per process, not a loss.");
    single(o, col, "ring_journal.replayed", "mizan_collector_ring_journal_replayed_total",
           "counter", "Overflow ring records a restart delivered again from the journal.");
    per_child(o, maps, "entries", "mizan_collector_map_entries", "gauge", "map",
              "Records in the kernel map now.");
    per_child(o, maps, "max_entries", "mizan_collector_map_capacity", "gauge", "map",
              "Size of the kernel map (cache.*).");
    single(o, col, "exe_hashes.hits", "mizan_collector_exe_hash_cache_hits_total", "counter",
           "Executable SHA-256 digests served from the cache.");
}

static void render_detect(struct out *o, const cJSON *det)
{
    if (!det)
        return;
    single(o, det, "recipes", "mizan_detect_recipes", "gauge", "Recipes loaded.");
    single(o, det, "reloads", "mizan_detect_reloads_total", "counter", "Recipe reloads.");
    single(o, det, "reload_failures", "mizan_detect_reload_failures_total", "counter",
           "Recipe reloads rejected (the previous set stayed).");
    const cJSON *per = at(det, "per_recipe");
    per_child(o, per, "matched", "mizan_detect_matches_total", "counter", "recipe",
              "Observations a recipe matched (recipes that never matched are absent).");
    per_child(o, per, "emitted", "mizan_detect_detections_total", "counter", "recipe",
              "Detections a recipe emitted.");
    per_child(o, per, "rate_suppressed", "mizan_detect_rate_limited_total", "counter", "recipe",
              "Detections a recipe's rate limits held back (folded into summary alerts).");
    single(o, det, "global_suppressed", "mizan_detect_global_cap_held_total", "counter",
           "Detections detect.global_max_per_minute held back (folded into summary alerts).");
    single(o, det, "summaries.emitted", "mizan_detect_summaries_total", "counter",
           "Summary alerts (\"N more like this\") emitted.");
    single(o, det, "summaries.held", "mizan_detect_held_detections", "gauge",
           "Detections held back in windows that have not ended yet.");
}

static void render_attenuator(struct out *o, const cJSON *att, const cJSON *counts)
{
    const cJSON *c;
    if (att) {
        single(o, att, "submitted", "mizan_attenuator_submitted_total", "counter",
               "Detections submitted to the attenuator.");
        single(o, att, "emitted", "mizan_attenuator_emitted_total", "counter",
               "Alerts the attenuator emitted.");
        family(o, "mizan_attenuator_filter_total", "counter",
               "Alerts per attenuation filter and outcome (passed, changed, withheld).");
        cJSON_ArrayForEach(c, at(att, "filters"))
        {
            static const char *const what[] = {"passed", "changed", "withheld"};
            for (size_t i = 0; i < MZ_ARRAY_SIZE(what); i++)
                sample2(o, "mizan_attenuator_filter_total", "filter", c->string, "outcome", what[i],
                        get(c, what[i]));
        }
        single(o, att, "cache.hits", "mizan_attenuator_cache_hits_total", "counter",
               "Verdicts served from the verdict cache.");
        single(o, att, "cache.misses", "mizan_attenuator_cache_misses_total", "counter",
               "Verdict cache lookups that found nothing.");
        const cJSON *by = at(att, "bypassed");
        if (by) {
            family(o, "mizan_attenuator_bypassed_total", "counter",
                   "Alerts printed without a model verdict, by reason.");
            cJSON_ArrayForEach(c, by) sample(o, "mizan_attenuator_bypassed_total", "reason",
                                             c->string, cJSON_GetNumberValue(c));
        }
        single(o, att, "model.calls", "mizan_attenuator_model_calls_total", "counter",
               "Model calls made.");
        const cJSON *fails = at(att, "model.client.failures");
        if (fails) {
            family(o, "mizan_attenuator_model_errors_total", "counter",
                   "Model requests that failed, by kind.");
            cJSON_ArrayForEach(c, fails) sample(o, "mizan_attenuator_model_errors_total", "kind",
                                                c->string, cJSON_GetNumberValue(c));
        }
    }
    if (!counts)
        return;
    family(o, "mizan_attenuator_alerts_total", "counter",
           "Alerts emitted, by attenuation status (none, verdict, cached, bypassed, suppressed).");
    cJSON_ArrayForEach(c, at(counts, "status"))
        sample(o, "mizan_attenuator_alerts_total", "status", c->string, cJSON_GetNumberValue(c));
    family(o, "mizan_attenuator_verdicts_total", "counter",
           "Alerts emitted, by model verdict (none: no verdict).");
    cJSON_ArrayForEach(c, at(counts, "verdict"))
        sample(o, "mizan_attenuator_verdicts_total", "verdict", c->string, cJSON_GetNumberValue(c));
    single(o, counts, "withheld", "mizan_attenuator_withheld_total", "counter",
           "Alerts withheld in block mode: written to audit.log only, never deleted.");
    const cJSON *h = at(counts, "latency_seconds");
    const cJSON *le = at(h, "le"), *bk = at(h, "buckets");
    int n = cJSON_GetArraySize(le);
    if (n > 0 && n == cJSON_GetArraySize(bk)) {
        family(o, "mizan_attenuator_latency_seconds", "histogram",
               "Time the attenuator added to an alert.");
        for (int i = 0; i < n; i++) {
            const cJSON *b = cJSON_GetArrayItem(le, i);
            char bound[64];
            if (cJSON_IsString(b))
                snprintf(bound, sizeof(bound), "%s", b->valuestring);
            else
                num(bound, sizeof(bound), cJSON_GetNumberValue(b));
            sample(o, "mizan_attenuator_latency_seconds_bucket", "le", bound,
                   cJSON_GetNumberValue(cJSON_GetArrayItem(bk, i)));
        }
        sample(o, "mizan_attenuator_latency_seconds_sum", NULL, NULL, get(h, "sum"));
        sample(o, "mizan_attenuator_latency_seconds_count", NULL, NULL, get(h, "count"));
    }
}

static void render_printers(struct out *o, const cJSON *prn)
{
    if (!prn)
        return;
    per_child(o, prn, "written", "mizan_printer_written_total", "counter", "printer",
              "Alert lines a printer wrote.");
    per_child(o, prn, "errors", "mizan_printer_errors_total", "counter", "printer",
              "Write errors of a printer.");
    per_child(o, prn, "spilled", "mizan_printer_spilled_total", "counter", "printer",
              "Alert lines that went to the printer's spool because its queue was full.");
    per_child(o, prn, "spool_lines", "mizan_printer_spool_lines", "gauge", "printer",
              "Alert lines in the printer's spool now.");
    per_child(o, prn, "spool_bytes", "mizan_printer_spool_bytes", "gauge", "printer",
              "Size of the printer's spool now.");
    per_child(o, prn, "refused", "mizan_printer_refused_total", "counter", "printer",
              "Alert lines a full spool refused (logged).");
    /* the network outputs (webhook, kafka, syslog: printers/prn_net.h) */
    per_child(o, prn, "delivery.sent", "mizan_output_sent_total", "counter", "printer",
              "Alerts a network output delivered.");
    per_child(o, prn, "delivery.failed", "mizan_output_failed_total", "counter", "printer",
              "Delivery attempts of a network output that failed (retried).");
    per_child(o, prn, "delivery.spooled", "mizan_output_spooled_total", "counter", "printer",
              "Alerts a network output put in its on-disk spool while its endpoint was down.");
    per_child(o, prn, "delivery.refused", "mizan_output_refused_total", "counter", "printer",
              "Alerts a network output's full spool refused (logged; printed by the others).");
    per_child(o, prn, "delivery.spool_bytes", "mizan_output_spool_bytes", "gauge", "printer",
              "Size of a network output's on-disk spool now.");
}

static void render_queues(struct out *o, const cJSON *st, const cJSON *pipe)
{
    const cJSON *c;
    family(o, "mizan_queue_depth", "gauge", "Items in a pipeline queue now.");
    if (has(pipe, "q1.size"))
        sample(o, "mizan_queue_depth", "queue", "q1", get(pipe, "q1.size"));
    if (has(pipe, "attenuator.submitted"))
        sample(o, "mizan_queue_depth", "queue", "attenuator",
               get(pipe, "attenuator.submitted") - get(pipe, "attenuator.emitted"));
    cJSON_ArrayForEach(c, at(pipe, "printers"))
    {
        if (!cJSON_IsObject(c) || !has(c, "queued"))
            continue;
        char q[96];
        snprintf(q, sizeof(q), "printer_%s", c->string);
        sample(o, "mizan_queue_depth", "queue", q, get(c, "queued"));
    }
    if (has(pipe, "q1.capacity")) {
        family(o, "mizan_queue_capacity", "gauge", "Capacity of a pipeline queue.");
        sample(o, "mizan_queue_capacity", "queue", "q1", get(pipe, "q1.capacity"));
        family(o, "mizan_queue_full_total", "counter",
               "Pushes refused by a full queue (the producer applied backpressure).");
        sample(o, "mizan_queue_full_total", "queue", "q1", get(pipe, "q1.full_events"));
    }
    family(o, "mizan_stage_items_total", "counter",
           "Items a pipeline stage handled (collector: observations emitted; detect: "
           "observations matched; attenuator: alerts emitted; printers: alerts submitted).");
    if (has(st, "collector.emitted"))
        sample(o, "mizan_stage_items_total", "stage", "collector", get(st, "collector.emitted"));
    if (has(pipe, "observations"))
        sample(o, "mizan_stage_items_total", "stage", "detect", get(pipe, "observations"));
    if (has(pipe, "attenuator.emitted"))
        sample(o, "mizan_stage_items_total", "stage", "attenuator",
               get(pipe, "attenuator.emitted"));
    if (has(pipe, "printers.submitted"))
        sample(o, "mizan_stage_items_total", "stage", "printers", get(pipe, "printers.submitted"));
}

int http_render_metrics(const cJSON *st, const struct http_state *s, struct mz_buf *b)
{
    struct out o = {b, 0};
    family(&o, "mizan_build_info", "gauge", "mizan's version (always 1).");
    sample(&o, "mizan_build_info", "version", MIZAN_VERSION, 1);
    family(&o, "mizan_ready", "gauge",
           "1 once the programs are attached and the first scan is done (/readyz).");
    sample(&o, "mizan_ready", NULL, NULL, s && s->ready);
    family(&o, "mizan_healthy", "gauge",
           "1 while every stage thread runs and no queue is stuck (/healthz).");
    sample(&o, "mizan_healthy", NULL, NULL, !s || s->healthy);
    if (st) {
        const cJSON *pipe = at(st, "pipeline");
        single(&o, st, "uptime_s", "mizan_uptime_seconds", "gauge", "Seconds since mizan started.");
        render_collector(&o, st);
        if (pipe) {
            render_queues(&o, st, pipe);
            render_detect(&o, at(pipe, "detect"));
            render_attenuator(&o, at(pipe, "attenuator"), at(pipe, "alerts_by"));
            render_printers(&o, at(pipe, "printers"));
        }
        /* Reactions (reactions/rx.h rx_stats_json, in the pipeline's
         * status): 0 while reactions are off. */
        static const char *const rx[][3] = {
            {"ran", "mizan_reactions_run_total", "Reactions run."},
            {"failed", "mizan_reactions_failed_total", "Reactions that failed."},
            {"timed_out", "mizan_reactions_timed_out_total", "Reactions stopped at their timeout."},
            {"queue_full", "mizan_reactions_queue_full_total",
             "Reactions dropped because the reaction queue was full (the alert was printed)."},
            {"withheld", "mizan_reactions_withheld_total",
             "Reactions not run because the attenuator withheld their alert."},
        };
        const cJSON *r = pipe ? at(pipe, "reactions") : NULL;
        for (size_t i = 0; i < MZ_ARRAY_SIZE(rx); i++) {
            family(&o, rx[i][1], "counter", rx[i][2]);
            sample(&o, rx[i][1], NULL, NULL, get(r, rx[i][0]));
        }
    }
    return o.err;
}
