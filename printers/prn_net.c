// SPDX-License-Identifier: Apache-2.0
/*
 * prn_net.c - one network output: memory queue, spool, sender thread,
 * backoff (the contract is in prn_net.h). The printer thread (write) and the
 * sender share one mutex; neither holds it across network I/O, so a slow
 * endpoint never holds up write(). Ordering rests on one invariant: the
 * memory queue and the spool are not both non-empty (write goes to the spool
 * once the spool holds anything, and a full queue or a failed attempt moves
 * the whole queue into the spool first), so "spool first, then memory" is the
 * arrival order. A batch in flight from memory that got moved meanwhile is
 * the head of the spool (gen tells), and is consumed there.
 */
#include "printers/prn_net.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "printers/printer.h"

#define BATCH_BYTES_MAX (4u << 20) /* payload per delivery (one webhook body) */
#define IDLE_TICK_MS    1000
#define SPOOL_SYNC_MS   1000
#define LOG_EVERY_MS    10000 /* repeated failures and refusals: one line per 10 s */

struct net {
    struct prn_printer base; /* first: the printer is the net */
    struct prn_transport *t;
    uint32_t batch;
    uint64_t batch_wait_ms, timeout_ms, retry_min_ms, retry_max_ms, drain_wait_ms;
    char spool_dir[4096];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool th_running;
    struct prn_spool *spool;
    /* the memory queue: a ring of owned lines */
    char **q;
    size_t *qlen;
    size_t qcap, qhead, qn;
    uint64_t qbytes;
    uint64_t q_first_ms; /* when the oldest record in q arrived */
    uint64_t gen;        /* bumped each time q moves into the spool */
    bool stopping, finished;
    uint64_t deadline_ms;
    uint64_t next_try_ms, backoff_ms;
    uint32_t attempts; /* failed attempts on the current head */
    uint64_t seed;
    uint64_t last_fail_log_ms, last_refuse_log_ms, refused_unlogged;
    bool fail_logged; /* a failure was reported: report the recovery */
    struct prn_net_stats st;
};

static uint64_t now_ms(void)
{
    return mz_monotonic_ns() / 1000000;
}

static void wait_until(struct net *n, uint64_t when_ms)
{
    uint64_t ns = when_ms * 1000000;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

static void q_pop(struct net *n, size_t k)
{
    for (size_t i = 0; i < k && n->qn; i++) {
        free(n->q[n->qhead]);
        n->q[n->qhead] = NULL;
        n->qbytes -= n->qlen[n->qhead];
        n->qhead = (n->qhead + 1) % n->qcap;
        n->qn--;
    }
    n->q_first_ms = now_ms();
}

/* Moves the whole memory queue, in order, to the spool's tail (the spool is
 * empty, or older). false when it does not fit (nothing moved) or on an
 * I/O error (what was moved stays moved; logged). */
static bool spill_queue(struct net *n)
{
    if (!n->qn)
        return true;
    if (!prn_spool_fits(n->spool, n->qn, n->qbytes))
        return false;
    while (n->qn) {
        int r = prn_spool_append(n->spool, n->q[n->qhead], n->qlen[n->qhead]);
        if (r) {
            log_error("%s: cannot spool: %s", n->t->name, strerror(-r));
            n->gen++;
            return false;
        }
        n->st.spooled++;
        q_pop(n, 1);
    }
    n->gen++;
    return true;
}

static void log_refused(struct net *n, uint64_t count, const char *why)
{
    uint64_t now = now_ms();
    n->st.refused += count;
    n->refused_unlogged += count;
    if (n->last_refuse_log_ms && now - n->last_refuse_log_ms < LOG_EVERY_MS)
        return;
    log_error("%s: %llu alert(s) refused (%s; %llu refused since start); they are in the other "
              "printers' output only",
              n->t->name, (unsigned long long)n->refused_unlogged, why,
              (unsigned long long)n->st.refused);
    n->refused_unlogged = 0;
    n->last_refuse_log_ms = now;
}

static int net_write(struct prn_printer *p, const char *line, size_t len)
{
    struct net *n = (struct net *)p;
    int r = 0;

    pthread_mutex_lock(&n->mu);
    if (prn_spool_records(n->spool) > 0 || n->qn == n->qcap) {
        /* down or behind: the line goes to disk, after what is there */
        if (!spill_queue(n)) {
            r = -ENOSPC;
        } else if ((r = prn_spool_append(n->spool, line, len)) == 0) {
            n->st.spooled++;
            pthread_cond_signal(&n->cv);
        }
        if (r)
            log_refused(n, 1, r == -ENOSPC ? "spool full" : strerror(-r));
    } else {
        size_t slot = (n->qhead + n->qn) % n->qcap;
        n->q[slot] = mz_calloc(1, len + 1);
        memcpy(n->q[slot], line, len);
        n->qlen[slot] = len;
        n->qbytes += len;
        if (n->qn++ == 0)
            n->q_first_ms = now_ms();
        if (n->qn == 1 || n->qn >= n->batch)
            pthread_cond_signal(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    return r;
}

static int net_flush(struct prn_printer *p, bool final)
{
    struct net *n = (struct net *)p;
    pthread_mutex_lock(&n->mu);
    if (final && !n->stopping) {
        n->stopping = true;
        n->deadline_ms = now_ms() + n->drain_wait_ms;
        pthread_cond_signal(&n->cv);
    }
    prn_spool_sync(n->spool, final);
    pthread_mutex_unlock(&n->mu);
    if (final && n->th_running) {
        pthread_join(n->th, NULL);
        n->th_running = false;
    }
    if (final) {
        pthread_mutex_lock(&n->mu);
        if (!n->finished && n->qn) {
            uint64_t left = n->qn;
            if (!spill_queue(n)) {
                log_refused(n, n->qn, "undelivered at exit and the spool is full");
                q_pop(n, n->qn);
            } else {
                log_info("%s: %llu undelivered alert(s) spooled for the next start", n->t->name,
                         (unsigned long long)left);
            }
        }
        if (!n->finished && prn_spool_records(n->spool))
            log_warn("%s: %llu alert(s) wait in the spool %s for the next start", n->t->name,
                     (unsigned long long)prn_spool_records(n->spool), n->spool_dir);
        if (n->refused_unlogged)
            log_error("%s: %llu more alert(s) refused since the last report (%llu in all)",
                      n->t->name, (unsigned long long)n->refused_unlogged,
                      (unsigned long long)n->st.refused);
        n->refused_unlogged = 0;
        n->finished = true;
        prn_spool_sync(n->spool, true);
        pthread_mutex_unlock(&n->mu);
    }
    return 0;
}

/* The next wait after a failure: backoff with jitter in [backoff/2, backoff]. */
static uint64_t next_backoff(struct net *n)
{
    uint64_t b = n->backoff_ms ? n->backoff_ms : n->retry_min_ms;
    n->seed = n->seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t wait = b / 2 + (b > 1 ? (n->seed >> 33) % (b / 2 + 1) : 0);
    n->backoff_ms = b * 2 > n->retry_max_ms ? n->retry_max_ms : b * 2;
    return wait;
}

static void *sender_main(void *arg)
{
    struct net *n = arg;
    struct prn_rec *recs = mz_calloc(n->batch, sizeof(*recs));
    char err[512];

    pthread_mutex_lock(&n->mu);
    for (;;) {
        uint64_t now = now_ms();
        uint64_t spooled = prn_spool_records(n->spool);
        size_t k = 0;
        bool from_spool;
        uint64_t gen;
        int r;

        if (n->stopping && (now >= n->deadline_ms || (!spooled && !n->qn)))
            break;
        if (!spooled && !n->qn) {
            prn_spool_sync(n->spool, false);
            wait_until(n, now + IDLE_TICK_MS);
            continue;
        }
        if (now < n->next_try_ms) {
            uint64_t until = n->next_try_ms;
            if (n->stopping && n->deadline_ms < until)
                until = n->deadline_ms;
            prn_spool_sync(n->spool, false);
            wait_until(n, until);
            continue;
        }
        if (!spooled && n->qn < n->batch && !n->stopping && n->attempts == 0 &&
            now < n->q_first_ms + n->batch_wait_ms) {
            wait_until(n, n->q_first_ms + n->batch_wait_ms);
            continue;
        }
        from_spool = spooled > 0;
        if (from_spool) {
            if (prn_spool_peek(n->spool, n->batch, BATCH_BYTES_MAX, recs, &k) || !k) {
                n->next_try_ms = now + next_backoff(n);
                continue;
            }
        } else {
            uint64_t bytes = 0;
            while (k < n->qn && k < n->batch) {
                size_t i = (n->qhead + k) % n->qcap;
                if (k && bytes + n->qlen[i] > BATCH_BYTES_MAX)
                    break;
                recs[k].data = mz_calloc(1, n->qlen[i] + 1);
                memcpy(recs[k].data, n->q[i], n->qlen[i]);
                recs[k].len = n->qlen[i];
                bytes += n->qlen[i];
                k++;
            }
        }
        gen = n->gen;
        if (n->attempts)
            n->st.retried += k;
        pthread_mutex_unlock(&n->mu);

        err[0] = '\0';
        r = n->t->send(n->t->ctx, recs, k, n->timeout_ms, err, sizeof(err));

        pthread_mutex_lock(&n->mu);
        now = now_ms();
        if (r == 0 || r == PRN_SEND_REJECT) {
            if (r == 0) {
                n->st.sent += k;
                if (n->fail_logged)
                    log_info("%s: delivering again", n->t->name);
                n->fail_logged = false;
            } else {
                n->st.rejected += k;
                for (size_t i = 0; i < k; i++)
                    log_error("%s: the endpoint rejected this alert for good (%s): %s", n->t->name,
                              err, recs[i].data);
            }
            n->st.up = true;
            n->attempts = 0;
            n->backoff_ms = 0;
            n->next_try_ms = 0;
            if (from_spool || gen != n->gen) {
                int cr = prn_spool_consume(n->spool, k);
                if (cr)
                    log_error("%s: cannot advance the spool: %s", n->t->name, strerror(-cr));
            } else {
                q_pop(n, k);
            }
        } else {
            uint64_t wait;
            n->st.failed++;
            n->st.up = false;
            n->attempts++;
            /* what is in memory goes to disk: it survives a restart */
            if (!from_spool && gen == n->gen && !spill_queue(n) && n->qn == n->qcap)
                log_warn("%s: the spool cannot take the queue; it stays in memory", n->t->name);
            wait = next_backoff(n);
            n->next_try_ms = now + wait;
            if (!n->last_fail_log_ms || now - n->last_fail_log_ms >= LOG_EVERY_MS) {
                log_warn("%s: delivery failed: %s; %llu alert(s) spooled, retry in %llu ms",
                         n->t->name, err[0] ? err : strerror(-r),
                         (unsigned long long)prn_spool_records(n->spool), (unsigned long long)wait);
                n->last_fail_log_ms = now;
                n->fail_logged = true;
            }
        }
        prn_recs_free(recs, k);
    }
    pthread_mutex_unlock(&n->mu);
    free(recs);
    return NULL;
}

static void net_destroy(struct prn_printer *p)
{
    struct net *n = (struct net *)p;
    if (!n)
        return;
    if (n->spool && !n->finished) {
        /* never started or never flushed: stop at once, spool what is held */
        pthread_mutex_lock(&n->mu);
        n->drain_wait_ms = 0;
        pthread_mutex_unlock(&n->mu);
        net_flush(p, true);
    }
    q_pop(n, n->qn);
    free(n->q);
    free(n->qlen);
    prn_spool_close(n->spool);
    if (n->t) {
        n->t->free(n->t->ctx);
        free(n->t);
    }
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

struct prn_printer *prn_net_new(const struct mz_output_common *opt, struct prn_transport *t)
{
    struct net *n;
    pthread_condattr_t ca;

    if (!t)
        return NULL;
    n = mz_calloc(1, sizeof(*n));
    n->base.name = t->name;
    n->base.write = net_write;
    n->base.flush = net_flush;
    n->base.destroy = net_destroy;
    n->t = t;
    n->batch = opt->batch ? opt->batch : 1;
    n->batch_wait_ms = opt->batch_wait_ms;
    n->timeout_ms = opt->timeout_ms;
    n->retry_min_ms = opt->retry_min_ms ? opt->retry_min_ms : 1;
    n->retry_max_ms = opt->retry_max_ms < n->retry_min_ms ? n->retry_min_ms : opt->retry_max_ms;
    n->drain_wait_ms = opt->drain_wait_ms;
    n->qcap = opt->queue ? opt->queue : 1;
    n->q = mz_calloc(n->qcap, sizeof(*n->q));
    n->qlen = mz_calloc(n->qcap, sizeof(*n->qlen));
    n->seed = mz_monotonic_ns() | 1;
    (void)mz_strlcpy(n->spool_dir, opt->spool_dir ? opt->spool_dir : "", sizeof(n->spool_dir));
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);

    if (!opt->spool_dir || !*opt->spool_dir) {
        log_error("outputs.%s.spool_dir: a spool directory is required", t->name);
        goto fail;
    }
    n->spool = prn_spool_open(opt->spool_dir, opt->spool_max_size, opt->spool_fsync, SPOOL_SYNC_MS);
    if (!n->spool)
        goto fail;
    n->st.torn = prn_spool_torn(n->spool);
    n->st.up = true;
    if (pthread_create(&n->th, NULL, sender_main, n)) {
        log_error("%s: cannot start the sender thread", t->name);
        goto fail;
    }
    n->th_running = true;
    return &n->base;
fail:
    n->finished = true;
    net_destroy(&n->base);
    return NULL;
}

int prn_net_stats(struct prn_printer *p, struct prn_net_stats *out)
{
    struct net *n = (struct net *)p;
    if (!p || p->write != net_write)
        return -EINVAL;
    pthread_mutex_lock(&n->mu);
    *out = n->st;
    out->spool_bytes = prn_spool_bytes(n->spool);
    out->spool_records = prn_spool_records(n->spool);
    out->queued = n->qn;
    pthread_mutex_unlock(&n->mu);
    return 0;
}
