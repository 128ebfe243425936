// SPDX-License-Identifier: Apache-2.0
/*
 * output.c - fan-out of alerts to printers. Each alert is rendered once into a
 * reference-counted line, then pushed onto every target printer's own bounded
 * MPMC queue; each printer has its own thread. When a printer's queue is full
 * (the printer is slow or stuck) the line is appended to that printer's spool
 * file instead (a mutex, but only on that slow path), and the printer thread
 * replays the spool when its queue runs empty. So a submit never waits for a
 * printer and no alert is dropped. Drain: stop flag, then each thread exits
 * when its queue and spool are empty, after a final flush.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define MAX_PRINTERS 8
#define IDLE_WAIT_MS 100

struct prn_line {
    _Atomic uint32_t refs;
    uint32_t scan; /* the alert's source scan, for the on_done callback */
    char *json;
    size_t json_len;
    char *text; /* NULL unless a printer wants text */
    size_t text_len;
};

struct slot {
    struct prn_output *out;
    struct prn_printer *p;
    struct mz_mpmc *q;
    struct mz_waiter waiter;
    _Atomic uint64_t written;
    _Atomic uint64_t errors;
    _Atomic uint64_t spilled;
    _Atomic uint64_t spool_pending;
    pthread_mutex_t spool_mu; /* guards spool and spool_path (slow path only) */
    FILE *spool;
    char spool_path[PATH_MAX + 64];
    unsigned spool_gen;
};

struct prn_output {
    struct slot slots[MAX_PRINTERS];
    size_t n;
    uint32_t queue_cap;
    bool any_text;
    bool started;
    struct mz_stage_set *stages; /* one stage per printer */
    _Atomic uint64_t submitted;
    char spool_dir[PATH_MAX];
    prn_done_fn on_done;
    void *done_ctx;
};

static void line_unref(struct prn_output *o, struct prn_line *l)
{
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1) {
        if (o && o->on_done)
            o->on_done(l->scan, o->done_ctx);
        free(l->json);
        free(l->text);
        free(l);
    }
}

char *prn_render_json(const struct mz_alert *alert)
{
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    if (mz_alert_json(alert, &b) != 0 || !b.data)
        abort(); /* every alert's fields are bounded far below the cap */
    return mz_buf_take(&b);
}

static void write_line(struct slot *s, const char *line, size_t len)
{
    int r = s->p->write(s->p, line, len);
    if (r) {
        atomic_fetch_add(&s->errors, 1);
        log_error("printer %s: write failed: %s", s->p->name, strerror(-r));
    } else {
        atomic_fetch_add_explicit(&s->written, 1, memory_order_relaxed);
    }
}

/* Appends a line to the printer's spool (the queue was full). */
static void spool_line(struct slot *s, const char *line, size_t len)
{
    pthread_mutex_lock(&s->spool_mu);
    if (!s->spool) {
        snprintf(s->spool_path, sizeof(s->spool_path), "%s/spool-%s-%d.jsonl", s->out->spool_dir,
                 s->p->name, (int)getpid());
        s->spool = fopen(s->spool_path, "a+");
    }
    if (!s->spool || fwrite(line, 1, len, s->spool) != len || fputc('\n', s->spool) == EOF ||
        fflush(s->spool)) {
        pthread_mutex_unlock(&s->spool_mu);
        /* the spool is the last resort: write through, late but not lost */
        log_error("printer %s: spool %s unusable; writing through", s->p->name, s->spool_path);
        write_line(s, line, len);
        return;
    }
    atomic_fetch_add(&s->spilled, 1);
    atomic_fetch_add(&s->spool_pending, 1);
    pthread_mutex_unlock(&s->spool_mu);
    mz_waiter_wake(&s->waiter);
}

/* Printer thread: takes the spool file away from producers and replays it. */
static void spool_replay(struct slot *s)
{
    char path[PATH_MAX + 96];
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t count = 0;

    pthread_mutex_lock(&s->spool_mu);
    if (!s->spool) {
        pthread_mutex_unlock(&s->spool_mu);
        return;
    }
    snprintf(path, sizeof(path), "%s.%u", s->spool_path, s->spool_gen++);
    fclose(s->spool);
    s->spool = NULL;
    if (rename(s->spool_path, path)) {
        log_error("printer %s: cannot take spool %s: %s", s->p->name, s->spool_path,
                  strerror(errno));
        pthread_mutex_unlock(&s->spool_mu);
        return;
    }
    pthread_mutex_unlock(&s->spool_mu);

    f = fopen(path, "r");
    if (!f) {
        log_error("printer %s: cannot read spool %s: %s", s->p->name, path, strerror(errno));
        return;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        write_line(s, line, (size_t)n);
        count++;
    }
    free(line);
    fclose(f);
    unlink(path);
    atomic_fetch_sub(&s->spool_pending, count);
}

static void print_one(struct slot *s, struct prn_line *l)
{
    if (s->p->wants_text && l->text)
        write_line(s, l->text, l->text_len);
    else
        write_line(s, l->json, l->json_len);
    line_unref(s->out, l);
}

/* A printer's stage: prints its queue, replays its spool when the queue runs
 * dry, flushes when idle. Once asked to stop (every submitter is done), it
 * empties queue and spool, flushes for the last time and returns. */
static void *printer_main(void *arg)
{
    struct slot *s = arg;
    for (;;) {
        void *item;
        if (mz_mpmc_pop(s->q, &item)) {
            print_one(s, item);
            continue;
        }
        if (atomic_load(&s->spool_pending) > 0) {
            spool_replay(s);
            continue;
        }
        s->p->flush(s->p, false);
        uint32_t seen = mz_waiter_prepare(&s->waiter);
        if (mz_mpmc_pop(s->q, &item)) {
            mz_waiter_cancel(&s->waiter);
            print_one(s, item);
            continue;
        }
        if (atomic_load(&s->spool_pending) > 0) {
            mz_waiter_cancel(&s->waiter);
            continue;
        }
        if (mz_stage_should_stop()) {
            mz_waiter_cancel(&s->waiter);
            break;
        }
        /* the timeout paces interval fsyncs while idle */
        mz_waiter_wait(&s->waiter, seen, IDLE_WAIT_MS);
    }
    s->p->flush(s->p, true);
    return NULL;
}

struct prn_output *prn_output_new(const struct mz_config *cfg)
{
    struct prn_output *o = mz_calloc(1, sizeof(*o));
    o->queue_cap = cfg->queues.alerts;
    snprintf(o->spool_dir, sizeof(o->spool_dir), "/tmp");
    if (cfg->printers.stdout_.enabled &&
        prn_output_add(o, prn_stdout_new(cfg->printers.stdout_.format)))
        goto fail;
    if (cfg->printers.varlog.enabled) {
        const typeof(cfg->printers.varlog) *vl = &cfg->printers.varlog;
        char dir[PATH_MAX], audit[PATH_MAX + 16];
        struct prn_printer *p;
        (void)mz_strlcpy(dir, vl->path, sizeof(dir));
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        p = prn_varlog_new(vl->path, vl->max_size, vl->keep, vl->fsync, vl->fsync_interval_ms,
                           false);
        if (!p || prn_output_add(o, p))
            goto fail;
        snprintf(audit, sizeof(audit), "%s/audit.log", dir);
        /* Withheld alerts are never deleted: the audit log is not rotated by
         * size (rotation would drop the oldest after `keep` files); external
         * log rotation may archive it. */
        p = prn_varlog_new(audit, UINT64_MAX, 0, MZ_FSYNC_ALWAYS, vl->fsync_interval_ms, true);
        if (!p || prn_output_add(o, p))
            goto fail;
        (void)mz_strlcpy(o->spool_dir, dir, sizeof(o->spool_dir));
    }
    /* network outputs: a failing endpoint degrades to spooling, but a bad
     * setting is an error at start */
    if (cfg->outputs.webhook.c.enabled && prn_output_add(o, prn_webhook_new(cfg)))
        goto fail;
    if (cfg->outputs.kafka.c.enabled && prn_output_add(o, prn_kafka_new(cfg)))
        goto fail;
    if (cfg->outputs.syslog.c.enabled && prn_output_add(o, prn_syslog_new(cfg)))
        goto fail;
    return o;
fail:
    log_error("printers: cannot set up the configured printers");
    prn_output_free(o);
    return NULL;
}

int prn_output_add(struct prn_output *o, struct prn_printer *p)
{
    struct slot *s;
    if (!p)
        return -EINVAL;
    if (o->started || o->n >= MAX_PRINTERS) {
        p->destroy(p);
        return -ENOSPC;
    }
    s = &o->slots[o->n];
    memset(s, 0, sizeof(*s));
    s->q = mz_mpmc_new(o->queue_cap ? o->queue_cap : 65536);
    if (!s->q) {
        p->destroy(p);
        return -ENOMEM;
    }
    s->out = o;
    s->p = p;
    mz_waiter_init(&s->waiter);
    pthread_mutex_init(&s->spool_mu, NULL);
    if (p->wants_text)
        o->any_text = true;
    o->n++;
    return 0;
}

void prn_output_on_done(struct prn_output *o, prn_done_fn fn, void *ctx)
{
    o->on_done = fn;
    o->done_ctx = ctx;
}

int prn_output_start(struct prn_output *o)
{
    int r;
    o->stages = mz_stages_new();
    if (!o->stages)
        return -ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        char name[MZ_STAGE_NAME_MAX + 1];
        snprintf(name, sizeof(name), "prn-%s", o->slots[i].p->name);
        int idx = mz_stage_add(o->stages, name, printer_main, &o->slots[i], 1);
        if (idx < 0)
            return idx;
        if ((r = mz_stage_set_waiter(o->stages, idx, &o->slots[i].waiter)))
            return r;
    }
    if ((r = mz_stages_start(o->stages)))
        return r;
    o->started = true;
    return 0;
}

void prn_output_submit(struct prn_output *o, struct mz_alert *alert)
{
    struct prn_line *l = mz_calloc(1, sizeof(*l));
    uint32_t targets = 0;
    bool withheld = alert->att.withheld;

    for (size_t i = 0; i < o->n; i++)
        if (o->slots[i].p->audit == withheld)
            targets++;
    atomic_fetch_add_explicit(&o->submitted, 1, memory_order_relaxed);
    if (targets == 0) {
        /* no printer for this kind of alert (e.g. withheld without varlog):
         * say so on stderr rather than lose it silently */
        char *j = prn_render_json(alert);
        log_warn("no printer takes %s alerts; alert: %s", withheld ? "withheld" : "printed", j);
        free(j);
        free(l);
        if (o->on_done)
            o->on_done(alert->det.obs.src.scan, o->done_ctx);
        mz_alert_free(alert);
        return;
    }
    l->json = prn_render_json(alert);
    l->json_len = strlen(l->json);
    if (o->any_text) {
        struct mz_buf b;
        mz_buf_init(&b, 64 * 1024);
        if (mz_alert_format_text(alert, &b) == 0) {
            l->text_len = b.len;
            l->text = mz_buf_take(&b);
        } else {
            mz_buf_free(&b);
        }
    }
    l->scan = alert->det.obs.src.scan;
    mz_alert_free(alert);
    atomic_store_explicit(&l->refs, targets, memory_order_relaxed);

    for (size_t i = 0; i < o->n; i++) {
        struct slot *s = &o->slots[i];
        if (s->p->audit != withheld)
            continue;
        if (mz_mpmc_push(s->q, l)) {
            mz_waiter_wake(&s->waiter);
        } else {
            if (s->p->wants_text && l->text)
                spool_line(s, l->text, l->text_len);
            else
                spool_line(s, l->json, l->json_len);
            line_unref(s->out, l);
        }
    }
}

void prn_output_drain(struct prn_output *o)
{
    if (!o || !o->started)
        return;
    /* printers are independent: stopping them in order only orders joins */
    mz_stages_join_in_order(o->stages);
    o->started = false;
}

struct cJSON *prn_output_stats_json(const struct prn_output *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "submitted", (double)atomic_load(&o->submitted));
    for (size_t i = 0; i < o->n; i++) {
        const struct slot *s = &o->slots[i];
        cJSON *p = cJSON_AddObjectToObject(j, s->p->name);
        cJSON_AddNumberToObject(p, "written", (double)atomic_load(&s->written));
        cJSON_AddNumberToObject(p, "errors", (double)atomic_load(&s->errors));
        cJSON_AddNumberToObject(p, "spilled", (double)atomic_load(&s->spilled));
        cJSON_AddNumberToObject(p, "queued", (double)mz_mpmc_size(s->q));
        struct prn_net_stats ns;
        if (prn_net_stats(s->p, &ns) == 0) {
            cJSON *n = cJSON_AddObjectToObject(p, "delivery");
            cJSON_AddNumberToObject(n, "sent", (double)ns.sent);
            cJSON_AddNumberToObject(n, "failed", (double)ns.failed);
            cJSON_AddNumberToObject(n, "retried", (double)ns.retried);
            cJSON_AddNumberToObject(n, "spooled", (double)ns.spooled);
            cJSON_AddNumberToObject(n, "refused", (double)ns.refused);
            cJSON_AddNumberToObject(n, "rejected", (double)ns.rejected);
            cJSON_AddNumberToObject(n, "torn", (double)ns.torn);
            cJSON_AddNumberToObject(n, "spool_bytes", (double)ns.spool_bytes);
            cJSON_AddNumberToObject(n, "spool_records", (double)ns.spool_records);
            cJSON_AddNumberToObject(n, "queued", (double)ns.queued);
            cJSON_AddBoolToObject(n, "up", ns.up);
        }
    }
    return j;
}

int prn_output_net_stats(const struct prn_output *o, size_t i, const char **name,
                         struct prn_net_stats *out)
{
    for (size_t k = 0; k < o->n; k++) {
        if (prn_net_stats(o->slots[k].p, out) != 0)
            continue;
        if (i-- == 0) {
            *name = o->slots[k].p->name;
            return 0;
        }
    }
    return -ENOENT;
}

int64_t prn_output_written(const struct prn_output *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->slots[i].p->name, name) == 0)
            return (int64_t)atomic_load(&o->slots[i].written);
    return -1;
}

void prn_output_free(struct prn_output *o)
{
    if (!o)
        return;
    prn_output_drain(o);
    mz_stages_free(o->stages);
    for (size_t i = 0; i < o->n; i++) {
        struct slot *s = &o->slots[i];
        void *item;
        while (mz_mpmc_pop(s->q, &item))
            line_unref(NULL, item); /* only after a failed start: not printed */
        mz_mpmc_free(s->q);
        if (s->spool) {
            fclose(s->spool);
            unlink(s->spool_path);
        }
        pthread_mutex_destroy(&s->spool_mu);
        s->p->destroy(s->p);
    }
    free(o);
}
