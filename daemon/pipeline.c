// SPDX-License-Identifier: Apache-2.0
/*
 * pipeline.c - assembles detect, the attenuator and the printers, and runs
 * the detect thread that consumes q1. The detect thread sleeps on a waiter
 * when q1 is empty, so an idle daemon costs nothing; the collector wakes it.
 */
#include "daemon/pipeline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attenuator/attenuator.h"
#include "core/log.h"
#include "daemon/cursor.h"
#include "detect/detect.h"
#include "http/http_int.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"
#include "printers/printer.h"
#include "reactions/rx.h"

struct mz_pipeline {
    const struct mz_config *cfg;
    unsigned flags;
    char host[256];
    struct prn_output *out;
    struct att_chain *att;
    struct det_engine *det;
    struct mz_spsc *q1;
    struct mz_waiter q1_waiter;
    struct mz_stage_set *stages; /* the detect thread */
    _Atomic bool reload;
    _Atomic uint64_t observations;
    _Atomic uint64_t detections;
    _Atomic uint64_t alerts;
    _Atomic uint64_t q1_full;
    struct http_alert_counts alert_counts; /* per status, verdict, withheld; latency (/metrics) */
    struct mz_cursor *cur;                 /* live runs: delivery accounting, or NULL */
    struct rx *rx;                         /* reactions (MZ_PIPE_REACTIONS), or NULL */
};

static void on_alert(struct mz_alert *alert, void *ctx)
{
    struct mz_pipeline *p = ctx;
    if (p->cur && alert->det.obs.src.map && mz_cursor_printed(p->cur, alert->id)) {
        /* printed before a restart (cursor.h): not again */
        mz_cursor_add(p->cur, alert->det.obs.src.scan, -1);
        mz_alert_free(alert);
        return;
    }
    atomic_fetch_add_explicit(&p->alerts, 1, memory_order_relaxed);
    http_alert_count(&p->alert_counts, alert);
    /* Reactions run after attenuation, beside the printers: they see the
     * verdict, a withheld alert does not react, and a full reaction queue
     * never delays the print (reactions/rx.h). */
    rx_submit(p->rx, alert);
    prn_output_submit(p->out, alert);
}

static int on_detection(struct mz_detection *det, void *ctx)
{
    struct mz_pipeline *p = ctx;
    mz_cursor_add(p->cur, det->obs.src.scan, 1);
    mz_pipeline_submit_detection(ctx, det);
    return 0;
}

void mz_pipeline_submit_detection(struct mz_pipeline *p, struct mz_detection *det)
{
    atomic_fetch_add_explicit(&p->detections, 1, memory_order_relaxed);
    att_chain_submit(p->att, det);
}

int mz_pipeline_match(struct mz_pipeline *p, const struct mz_observation *obs)
{
    atomic_fetch_add_explicit(&p->observations, 1, memory_order_relaxed);
    return det_match(p->det, obs, on_detection, p);
}

/* --observations: an observation printed as a JSON line, no detection. */
static void print_observation(const struct mz_observation *obs)
{
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    if (mz_observation_json(obs, &b) == 0 && b.data) {
        fputs(b.data, stdout);
        fputc('\n', stdout);
    }
    mz_buf_free(&b);
}

static void detect_one(struct mz_pipeline *p, struct mz_observation *obs)
{
    if (p->flags & MZ_PIPE_OBSERVATIONS) {
        atomic_fetch_add_explicit(&p->observations, 1, memory_order_relaxed);
        print_observation(obs);
    } else {
        mz_pipeline_match(p, obs);
    }
    mz_cursor_add(p->cur, obs->src.scan, -1); /* its detections hold their own counts */
    mz_observation_free(obs);
}

static void add_reaction(const char *recipe, const char *kind, size_t index, const char *format,
                         const char *code, void *ctx)
{
    rx_table_add(ctx, recipe, kind, index, format, code);
}

/* Hands the recipes' reactions to rx (after each load of the recipes). */
static void load_reactions(struct mz_pipeline *p)
{
    if (!p->rx || !p->det)
        return;
    struct rx_table *t = rx_table_new();
    size_t n = det_each_reaction(p->det, add_reaction, t);
    rx_set_reactions(p->rx, t);
    if (n)
        log_info("reactions: %zu reaction(s) loaded", n);
}

/* Reloads recipes when SIGHUP asked for it or inotify saw a change. */
static void maybe_reload(struct mz_pipeline *p)
{
    if (!p->det)
        return;
    if (atomic_exchange(&p->reload, false) || (p->cfg->detect.reload && det_reload_pending(p->det)))
        if (det_engine_reload(p->det) == 0)
            load_reactions(p);
}

/* The detect stage: drains q1 until asked to stop, then drains it once more
 * (the collector, its only producer, has returned by then). */
static void *detect_main(void *arg)
{
    struct mz_pipeline *p = arg;
    uint64_t handled = 0;
    for (;;) {
        void *item;
        if (mz_spsc_pop(p->q1, &item)) {
            detect_one(p, item);
            if ((++handled & 4095) == 0)
                maybe_reload(p); /* under sustained load too */
            continue;
        }
        if (p->flags & MZ_PIPE_OBSERVATIONS)
            fflush(stdout);
        else if (p->det)
            (void)det_tick(p->det, on_detection, p); /* summaries of windows that ended */
        maybe_reload(p);
        uint32_t seen = mz_waiter_prepare(&p->q1_waiter);
        if (mz_spsc_pop(p->q1, &item)) {
            mz_waiter_cancel(&p->q1_waiter);
            detect_one(p, item);
            continue;
        }
        if (mz_stage_should_stop()) {
            mz_waiter_cancel(&p->q1_waiter);
            break;
        }
        mz_waiter_wait(&p->q1_waiter, seen, 200);
    }
    if (p->flags & MZ_PIPE_OBSERVATIONS)
        fflush(stdout);
    return NULL;
}

int mz_pipeline_push_observation(struct mz_pipeline *p, struct mz_observation *obs)
{
    if (!mz_spsc_push(p->q1, obs)) {
        atomic_fetch_add_explicit(&p->q1_full, 1, memory_order_relaxed);
        mz_waiter_wake(&p->q1_waiter);
        return -EAGAIN;
    }
    mz_waiter_wake(&p->q1_waiter);
    return 0;
}

struct mz_pipeline *mz_pipeline_new(const struct mz_config *cfg, unsigned flags, char *err,
                                    size_t errlen)
{
    struct mz_pipeline *p = mz_calloc(1, sizeof(*p));
    p->cfg = cfg;
    p->flags = flags;
    if (cfg->host)
        (void)mz_strlcpy(p->host, cfg->host, sizeof(p->host));
    else if (gethostname(p->host, sizeof(p->host) - 1))
        (void)mz_strlcpy(p->host, "unknown", sizeof(p->host));
    mz_waiter_init(&p->q1_waiter);

    if (!(flags & MZ_PIPE_OBSERVATIONS)) {
        p->det = det_engine_new(cfg, err, errlen);
        if (!p->det)
            goto fail;
        p->out = prn_output_new(cfg);
        if (!p->out) {
            snprintf(err, errlen, "cannot set up the printers (see the log above)");
            goto fail;
        }
        p->att = att_chain_new(cfg, p->host, on_alert, p);
        if (!p->att) {
            snprintf(err, errlen, "cannot set up the attenuator (see the log above)");
            goto fail;
        }
        if ((flags & MZ_PIPE_REACTIONS) && cfg->reactions.enabled) {
            if (!(p->rx = rx_new(cfg, err, errlen)))
                goto fail;
            load_reactions(p);
        }
    }
    if (flags & MZ_PIPE_DETECT_THREAD) {
        p->q1 = mz_spsc_new(cfg->queues.observations);
        p->stages = mz_stages_new();
        if (!p->q1 || !p->stages) {
            snprintf(err, errlen, "cannot allocate the observation queue");
            goto fail;
        }
        int idx = mz_stage_add(p->stages, "detect", detect_main, p, 1);
        if (idx < 0 || mz_stage_set_waiter(p->stages, idx, &p->q1_waiter)) {
            snprintf(err, errlen, "cannot set up the detect stage");
            goto fail;
        }
    }
    return p;
fail:
    mz_pipeline_free(p);
    return NULL;
}

static void alert_done(uint32_t scan, void *ctx)
{
    mz_cursor_add(ctx, scan, -1);
}

void mz_pipeline_set_cursor(struct mz_pipeline *p, struct mz_cursor *cur)
{
    p->cur = cur;
    if (p->out)
        prn_output_on_done(p->out, alert_done, cur);
}

void mz_pipeline_set_netpolicy(struct mz_pipeline *p, struct np *np)
{
    rx_set_netpolicy(p->rx, np);
}

int mz_pipeline_start(struct mz_pipeline *p)
{
    int r;
    if (p->rx && (r = rx_start(p->rx)))
        return r;
    if (p->out && (r = prn_output_start(p->out)))
        return r;
    if (p->stages && (r = mz_stages_start(p->stages)))
        return r;
    return 0;
}

void mz_pipeline_request_reload(struct mz_pipeline *p)
{
    atomic_store(&p->reload, true);
    mz_waiter_wake(&p->q1_waiter);
}

void mz_pipeline_drain(struct mz_pipeline *p)
{
    if (!p)
        return;
    if (p->stages)
        mz_stages_join_in_order(p->stages); /* q1 drained */
    if (p->det && p->att) /* what the rate limits still hold: out before the attenuator drains */
        (void)det_flush(p->det, on_detection, p);
    if (p->att)
        att_chain_drain(p->att);
    rx_drain(p->rx); /* every alert was submitted: what is queued runs, bounded by its timeout */
    if (p->out)
        prn_output_drain(p->out);
    fflush(stdout);
}

struct cJSON *mz_pipeline_stats_json(const struct mz_pipeline *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "observations", (double)atomic_load(&p->observations));
    cJSON_AddNumberToObject(j, "detections", (double)atomic_load(&p->detections));
    cJSON_AddNumberToObject(j, "alerts", (double)atomic_load(&p->alerts));
    cJSON_AddItemToObject(j, "alerts_by", http_alert_counts_json(&p->alert_counts));
    if (p->q1) {
        cJSON *q = cJSON_AddObjectToObject(j, "q1");
        cJSON_AddNumberToObject(q, "size", (double)mz_spsc_size(p->q1));
        cJSON_AddNumberToObject(q, "capacity", (double)mz_spsc_capacity(p->q1));
        cJSON_AddNumberToObject(q, "full_events", (double)atomic_load(&p->q1_full));
    }
    if (p->det)
        cJSON_AddItemToObject(j, "detect", det_stats_json(p->det));
    if (p->att)
        cJSON_AddItemToObject(j, "attenuator", att_chain_stats_json(p->att));
    if (p->out)
        cJSON_AddItemToObject(j, "printers", prn_output_stats_json(p->out));
    if (p->rx)
        cJSON_AddItemToObject(j, "reactions", rx_stats_json(p->rx));
    return j;
}

const struct prn_output *mz_pipeline_output(const struct mz_pipeline *p)
{
    return p->out;
}

size_t mz_pipeline_stages_exited(const struct mz_pipeline *p, char *buf, size_t len)
{
    if (len)
        buf[0] = '\0';
    return p ? mz_stages_exited(p->stages, buf, len) : 0;
}

int mz_pipeline_stop_stage(struct mz_pipeline *p, const char *name)
{
    int i = p ? mz_stage_find(p->stages, name) : -ENOENT;
    return i < 0 ? i : mz_stage_request_stop(p->stages, i);
}

void mz_pipeline_free(struct mz_pipeline *p)
{
    if (!p)
        return;
    mz_pipeline_drain(p);
    mz_stages_free(p->stages);
    if (p->q1) {
        void *item;
        while (mz_spsc_pop(p->q1, &item))
            mz_observation_free(item);
        mz_spsc_free(p->q1);
    }
    att_chain_free(p->att);
    rx_free(p->rx);
    prn_output_free(p->out);
    det_engine_free(p->det);
    free(p);
}

struct det_engine *mz_pipeline_engine(struct mz_pipeline *p)
{
    return p ? p->det : NULL;
}
