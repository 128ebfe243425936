// SPDX-License-Identifier: Apache-2.0
/*
 * attenuator.c - benchmark of the attenuation chain (attenuator/attenuator.h)
 * against the fixture model server (build/tests/fixture_model, started and
 * stopped by this program) and a real sqlite cache in a temporary directory.
 *
 * Prints:
 *   1. alerts/s through the chain at 100 % cache hits, submitting thread
 *      pinned to one core, against a baseline of the same loop with the
 *      attenuator disabled (alert creation + emit only);
 *   2. model calls per 10,000 alerts of a repetitive stream (Zipf-like over
 *      50 distinct (recipe, artifact) pairs, cold cache);
 *   3. p50 / p99 latency the chain adds, for cache hits, and for misses with
 *      a server answering in 50 ms (baseline: those 50 ms).
 *
 *   bench/attenuator [--alerts N] [--quick] [--fixture PATH]
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attenuator/attenuator.h"
#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "fixture_proc.h"

/* --- sink ------------------------------------------------------------------ */

struct sink {
    _Atomic uint64_t n;
    pthread_mutex_t mu;
    double *lat; /* latency samples, when collecting */
    size_t nlat, cap;
};

static void sink_emit(struct mz_alert *a, void *ctx)
{
    struct sink *s = ctx;
    if (s->lat) {
        pthread_mutex_lock(&s->mu);
        if (s->nlat < s->cap)
            s->lat[s->nlat++] = a->att.latency_ms;
        pthread_mutex_unlock(&s->mu);
    }
    mz_alert_free(a);
    atomic_fetch_add_explicit(&s->n, 1, memory_order_relaxed);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof(double), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* --- detections -------------------------------------------------------------- */

static struct mz_detection *make_det(int pair, int i)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_recipe_ref r = {0};
    char recipe[32], args[128], path[64];
    snprintf(recipe, sizeof(recipe), "bench_recipe_%d", pair % 5);
    snprintf(args, sizeof(args), "/usr/bin/python3 /opt/app/worker.py --shard %d --verbose", pair);
    snprintf(path, sizeof(path), "/srv/app/data/%d.db", pair);
    o->count = 1;
    o->proc.pid = 1000 + i;
    o->proc.uid = 1000;
    mz_strlcpy(o->proc.comm, "python3", sizeof(o->proc.comm));
    o->proc.exe = mz_strdup("/usr/bin/python3.11");
    o->proc.args = mz_strdup(args);
    o->proc.user = mz_strdup("app");
    o->proc.ancestry = mz_calloc(2, sizeof(char *));
    o->proc.ancestry[0] = mz_strdup("/usr/bin/bash");
    o->proc.ancestry[1] = mz_strdup("/usr/lib/systemd/systemd");
    o->proc.n_ancestry = 2;
    o->file.path = mz_strdup(path);
    o->file.actions = MZ_FA_OPEN | MZ_FA_READ;
    r.id = recipe;
    r.description = (char *)"benchmark recipe";
    r.tactic = (char *)"collection";
    r.importance = MZ_IMP_MEDIUM;
    struct mz_detection *d = mz_detection_new(o, &r);
    mz_observation_free(o);
    return d;
}

static void config_for(struct mz_config *cfg, const char *url, const char *db)
{
    mz_config_defaults(cfg);
    cfg->attenuator.enabled = true;
    free(cfg->attenuator.url);
    cfg->attenuator.url = mz_strdup(url);
    free(cfg->attenuator.cache.path);
    cfg->attenuator.cache.path = mz_strdup(db);
    cfg->attenuator.concurrency = 2;
    cfg->attenuator.queue = 1024;
}

static double now_s(void)
{
    return (double)mz_monotonic_ns() / 1e9;
}

/* CPU time of the calling thread: the machine may be shared, and "alerts/s
 * on one core" is alerts per second of the core's time. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rate {
    double wall; /* alerts per wall-clock second */
    double cpu;  /* alerts per second of the submitting thread's CPU time */
};

/* Submits total alerts cycling over npairs prepared detections, in batches
 * (building detections is not timed). */
static struct rate run_throughput(struct att_chain *c, struct sink *s, int npairs, size_t total)
{
    enum { BATCH = 20000 };
    struct mz_detection **dets = mz_calloc(BATCH, sizeof(*dets));
    double busy = 0, cpu = 0;
    size_t done = 0;
    uint64_t before = atomic_load(&s->n);
    while (done < total) {
        size_t n = total - done < BATCH ? total - done : BATCH;
        for (size_t i = 0; i < n; i++)
            dets[i] = make_det((int)((done + i) % (size_t)npairs), (int)(done + i));
        double t = now_s(), tc = cpu_s();
        for (size_t i = 0; i < n; i++)
            att_chain_submit(c, dets[i]);
        busy += now_s() - t;
        cpu += cpu_s() - tc;
        done += n;
    }
    while (atomic_load(&s->n) - before < total)
        usleep(1000);
    free(dets);
    return (struct rate){(double)total / busy, (double)total / cpu};
}

static double stat_num(cJSON *st, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItem(st, a);
    if (b)
        x = cJSON_GetObjectItem(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

int main(int argc, char **argv)
{
    size_t total = 500000;
    bool quick = false; /* only section 1 */
    char fixture[PATH_MAX] = "", dir[] = "/tmp/mizan-bench-att-XXXXXX", db[600], url[128];
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--alerts") == 0 && i + 1 < argc)
            total = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--fixture") == 0 && i + 1 < argc)
            mz_strlcpy(fixture, argv[++i], sizeof(fixture));
        else {
            fprintf(stderr, "usage: %s [--alerts N] [--quick] [--fixture PATH]\n", argv[0]);
            return 2;
        }
    }
    if (fixture[0] ? access(fixture, X_OK) != 0 : !bench_fixture_path(fixture, sizeof(fixture))) {
        fprintf(stderr, "bench/attenuator: fixture server %s not found (build the tests)\n",
                fixture);
        return 2;
    }
    if (!mkdtemp(dir))
        return 2;
    mz_log_set_level(MZ_LOG_ERROR);
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        sched_setaffinity(0, sizeof(set), &set); /* this (submitting) thread */
    }
    printf("attenuator benchmark (submitting thread pinned to CPU 0)\n");

    /* --- 1. throughput at 100 % cache hits ------------------------------- */
    if (bench_fixture_start(fixture, dir, 0, url, sizeof(url)) != 0) {
        fprintf(stderr, "cannot start %s\n", fixture);
        goto out;
    }
    snprintf(db, sizeof(db), "%s/verdicts.db", dir);
    const int npairs = 1000;
    {
        struct mz_config cfg;
        struct sink s = {0};
        pthread_mutex_init(&s.mu, NULL);

        /* baseline: attenuator disabled, same detections and sink */
        mz_config_defaults(&cfg);
        struct att_chain *c = att_chain_new(&cfg, "bench", sink_emit, &s);
        struct rate base = run_throughput(c, &s, npairs, total);
        att_chain_free(c);
        mz_config_free(&cfg);

        /* warm the cache: every pair answered once */
        config_for(&cfg, url, db);
        c = att_chain_new(&cfg, "bench", sink_emit, &s);
        run_throughput(c, &s, npairs, (size_t)npairs);
        att_chain_free(c);

        c = att_chain_new(&cfg, "bench", sink_emit, &s);
        struct rate hit = run_throughput(c, &s, npairs, total);
        cJSON *st = att_chain_stats_json(c);
        double hits = stat_num(st, "cache", "hits"), calls = stat_num(st, "model", "calls");
        cJSON_Delete(st);

        /* added latency on the hit path */
        s.cap = 100000;
        s.lat = mz_calloc(s.cap, sizeof(double));
        run_throughput(c, &s, npairs, s.cap);
        double hp50 = pct(s.lat, s.nlat, 0.50), hp99 = pct(s.lat, s.nlat, 0.99);
        free(s.lat);
        s.lat = NULL;
        att_chain_free(c);
        mz_config_free(&cfg);

        printf("\n1. throughput, 100%% cache hits, %zu alerts over %d pairs\n", total, npairs);
        printf("   %-36s %12s %14s\n", "", "per CPU-s", "per wall-s");
        printf("   %-36s %12.0f %14.0f  alerts/s (target >= 100000 on one core)\n",
               "chain (suppress+cache+guard+mode)", hit.cpu, hit.wall);
        printf("   %-36s %12.0f %14.0f  alerts/s\n", "baseline (attenuator disabled)", base.cpu,
               base.wall);
        printf("   %-36s %12.2f %14.2f\n", "ratio chain/baseline", hit.cpu / base.cpu,
               hit.wall / base.wall);
        printf("   (per CPU-s: alerts per second of the submitting thread's own CPU time,\n"
               "    which a machine shared with other work does not distort)\n");
        printf("   cache hits %.0f, model calls during the run %.0f\n", hits, calls);
        printf("   added latency on a hit: p50 %.4f ms, p99 %.4f ms\n", hp50, hp99);
    }
    bench_fixture_stop();
    if (quick) {
        rc = 0;
        goto out;
    }

    /* --- 2. model calls per 10,000 alerts of a repetitive stream --------- */
    if (bench_fixture_start(fixture, dir, 50, url, sizeof(url)) != 0)
        goto out;
    {
        struct mz_config cfg;
        struct sink s = {0};
        pthread_mutex_init(&s.mu, NULL);
        snprintf(db, sizeof(db), "%s/repetitive.db", dir);
        config_for(&cfg, url, db);
        struct att_chain *c = att_chain_new(&cfg, "bench", sink_emit, &s);
        /* Zipf-like over 50 pairs: pair k drawn with weight 1/(k+1) */
        double w[50], sum = 0;
        for (int k = 0; k < 50; k++)
            sum += w[k] = 1.0 / (k + 1);
        unsigned seed = 42;
        double t = now_s();
        for (int i = 0; i < 10000; i++) {
            double x = (double)rand_r(&seed) / RAND_MAX * sum;
            int k = 0;
            while (k < 49 && (x -= w[k]) > 0)
                k++;
            att_chain_submit(c, make_det(k, i));
        }
        double submit_s = now_s() - t;
        att_chain_drain(c);
        double all_s = now_s() - t;
        cJSON *st = att_chain_stats_json(c);
        printf("\n2. repetitive stream: 10000 alerts over 50 pairs (Zipf-like), cold cache, "
               "server answers in 50 ms\n");
        printf("   model calls: %.0f per 10000 alerts (distinct pairs: 50; no cache would "
               "be 10000)\n",
               stat_num(st, "model", "calls"));
        printf("   cache hits %.0f, coalesced onto a pending call %.0f, bypassed overload "
               "%.0f\n",
               stat_num(st, "cache", "hits"), stat_num(st, "coalesced", NULL),
               stat_num(st, "bypassed", "overload"));
        printf("   submit took %.3f s, all emitted after %.3f s\n", submit_s, all_s);
        cJSON_Delete(st);
        att_chain_free(c);
        mz_config_free(&cfg);
    }

    /* --- 3. added latency on misses, 50 ms server ---------------------- */
    {
        struct mz_config cfg;
        struct sink s = {0};
        pthread_mutex_init(&s.mu, NULL);
        snprintf(db, sizeof(db), "%s/latency.db", dir);
        config_for(&cfg, url, db);
        s.cap = 300;
        s.lat = mz_calloc(s.cap, sizeof(double));
        struct att_chain *c = att_chain_new(&cfg, "bench", sink_emit, &s);
        /* every alert a distinct pair, 25/s: below the 2 x 20/s capacity */
        for (size_t i = 0; i < s.cap; i++) {
            att_chain_submit(c, make_det(100000 + (int)i, (int)i));
            usleep(40000);
        }
        att_chain_drain(c);
        double p50 = pct(s.lat, s.nlat, 0.50), p99 = pct(s.lat, s.nlat, 0.99);
        printf("\n3. added latency, cache misses, server answering in 50 ms (%zu alerts at "
               "25/s, concurrency 2)\n",
               s.nlat);
        printf("   p50 %.2f ms, p99 %.2f ms; baseline (the server's delay) 50 ms: "
               "p50/baseline %.2f\n",
               p50, p99, p50 / 50.0);
        free(s.lat);
        att_chain_free(c);
        mz_config_free(&cfg);
    }
    rc = 0;
out:
    bench_fixture_stop();
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return rc;
}
