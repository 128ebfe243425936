// SPDX-License-Identifier: Apache-2.0
/*
 * pipeline.c (bench) - the userland pipeline end to end on one core, as the
 * daemon runs it: observations pushed into q1 -> the detect thread (the
 * built-in recipe library plus one bench recipe) -> the attenuation chain ->
 * the stdout and varlog printers, every thread of this process pinned to one
 * CPU. DESIGN's target: detect + attenuate (cache hit) + print >= 100k
 * alerts/s on one core.
 *
 * Two configurations, interleaved over several rounds, the median printed:
 *
 *   baseline    attenuator disabled: detect + print
 *   attenuated  attenuator enabled in block mode (the deployment our users
 *               run: each alert looks up its full-context and shape-only
 *               verdicts, with the reason for the audit log) against the
 *               fixture model server (build/tests/fixture_model, on
 *               127.0.0.1), its sqlite cache warmed first, so that every
 *               alert is a cache hit (counted in varlog's cache_hit fields)
 *
 * Every observation fires: the bench recipe has no rate limits and the
 * global cap is off (those are filters of their own, measured by
 * bench/detect). Observations are built before the clock starts; stdout goes
 * to /dev/null, varlog to a temporary file (fsync never), whose lines are
 * counted to check that every alert was printed. Asserts nothing.
 *
 * usage: build/bench/pipeline [ALERTS_PER_RUN] [ROUNDS]  (default 100000, 5)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "daemon/pipeline.h"
#include "fixture_proc.h"

/* A recipe with no `times`: every matching observation is a detection. */
static const char bench_recipe[] = "- kind: bench_secret_read\n"
                                   "  name: bench_secret_read\n"
                                   "  enabled: true\n"
                                   "  version: 1.0\n"
                                   "  description: Bench secret read\n"
                                   "  breed: file_access\n"
                                   "  mechanism: file_access\n"
                                   "  tactic: credential_access\n"
                                   "  technique: os_credential_dumping\n"
                                   "  importance: high\n"
                                   "  file_actions:\n"
                                   "    - open\n"
                                   "  file_actions_how: any\n"
                                   "  bases:\n"
                                   "    - dir: /srv/bench\n"
                                   "      base: secret\n";

/* distinct (exe, args) pairs: what the verdict cache keys on besides the
 * recipe and the path */
enum { PAIRS = 50 };

static struct mz_observation *make_obs(long i)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    char args[128], exe[64];
    int pair = (int)(i % PAIRS);
    snprintf(exe, sizeof(exe), "/opt/app/bin/worker%d", pair);
    snprintf(args, sizeof(args), "%s --shard %d --config /etc/app/worker.yaml", exe, pair);
    o->first_ns = o->last_ns = mz_now_ns();
    o->count = 1;
    o->proc.pid = (int)(10000 + i % 4000000);
    o->proc.ppid = 1;
    o->proc.uid = o->proc.euid = 1000;
    o->proc.gid = 1000;
    mz_strlcpy(o->proc.comm, "worker", sizeof(o->proc.comm));
    o->proc.exe = mz_strdup(exe);
    o->proc.args = mz_strdup(args);
    o->proc.user = mz_strdup("app");
    o->proc.cwd = mz_strdup("/srv/app");
    o->proc.ancestry = mz_calloc(2, sizeof(char *));
    o->proc.ancestry[0] = mz_strdup("/usr/bin/bash");
    o->proc.ancestry[1] = mz_strdup("/usr/lib/systemd/systemd");
    o->proc.n_ancestry = 2;
    o->file.path = mz_strdup("/srv/bench/secret");
    o->file.actions = MZ_FA_OPEN | MZ_FA_READ;
    return o;
}

/* ---- runs ------------------------------------------------------------------ */

struct setup {
    char dir[64];
    char recipes[128];
    char varlog[128];
    char db[128];
    char url[128];
};

static void config_for(struct mz_config *cfg, const struct setup *s, bool attenuate)
{
    mz_config_defaults(cfg);
    cfg->collector.enabled = false;
    cfg->detect.global_max_per_minute = 0;
    cfg->detect.reload = false;
    cfg->detect.dirs.items[0] = mz_strdup(s->recipes);
    cfg->detect.dirs.n = 1;
    cfg->printers.stdout_.format = MZ_FMT_JSON;
    free(cfg->printers.varlog.path);
    cfg->printers.varlog.path = mz_strdup(s->varlog);
    cfg->printers.varlog.fsync = MZ_FSYNC_NEVER;
    cfg->printers.varlog.max_size = 1ull << 40; /* no rotation mid-run */
    free(cfg->attenuator.cache.path);
    cfg->attenuator.cache.path = mz_strdup(s->db);
    cfg->attenuator.enabled = attenuate;
    if (attenuate) {
        free(cfg->attenuator.url);
        cfg->attenuator.url = mz_strdup(s->url);
        /* the deployment our users run: a hit looks up the full-context and
         * the shape-only verdicts, and keeps the reason for the audit log */
        cfg->attenuator.mode = MZ_MODE_BLOCK;
    }
}

/* Lines of path, and of them those holding needle (NULL: none). */
static size_t count_lines(const char *path, const char *needle, size_t *with)
{
    FILE *f = fopen(path, "r");
    size_t n = 0, cap = 0;
    char *line = NULL;
    *with = 0;
    if (!f)
        return 0;
    while (getline(&line, &cap, f) > 0) {
        n++;
        *with += needle && strstr(line, needle) != NULL;
    }
    free(line);
    fclose(f);
    return n;
}

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pushes n observations through a fresh pipeline and drains it. Returns
 * alerts per second of the process's CPU time (all its threads, on the one
 * CPU they share: what else the machine runs does not count), sets *wall to
 * alerts per wall-clock second and *printed to the lines varlog received. */
static double run(const struct setup *s, bool attenuate, long n, size_t *printed, size_t *hits,
                  double *wall)
{
    struct mz_config cfg;
    char err[512];
    config_for(&cfg, s, attenuate);
    unlink(s->varlog);
    struct mz_observation **obs = mz_calloc((size_t)n, sizeof(*obs));
    for (long i = 0; i < n; i++)
        obs[i] = make_obs(i);
    struct mz_pipeline *p = mz_pipeline_new(&cfg, MZ_PIPE_DETECT_THREAD, err, sizeof(err));
    if (!p || mz_pipeline_start(p) != 0) {
        fprintf(stderr, "bench/pipeline: %s\n", p ? "cannot start the pipeline" : err);
        exit(1);
    }
    uint64_t t0 = mz_monotonic_ns();
    double c0 = process_cpu_s();
    for (long i = 0; i < n; i++)
        while (mz_pipeline_push_observation(p, obs[i]) == -EAGAIN)
            sched_yield(); /* q1 full: let the stages run */
    mz_pipeline_drain(p);
    double cpu = process_cpu_s() - c0;
    *wall = (double)n / ((double)(mz_monotonic_ns() - t0) / 1e9);
    mz_pipeline_free(p);
    free(obs);
    mz_config_free(&cfg);
    *printed = count_lines(s->varlog, "\"cache_hit\":true", hits);
    return (double)n / cpu;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (n <= 0 || rounds <= 0 || rounds > 50) {
        fprintf(stderr, "usage: pipeline [ALERTS_PER_RUN] [ROUNDS<=50]\n");
        return 2;
    }
    char fixture[4096];
    if (!bench_fixture_path(fixture, sizeof(fixture))) {
        fprintf(stderr, "bench/pipeline: no fixture server at %s (build the tests)\n", fixture);
        return 2;
    }
    mz_log_set_level(MZ_LOG_ERROR);

    struct setup s;
    snprintf(s.dir, sizeof(s.dir), "/tmp/mizan-bench-pipe-XXXXXX");
    if (!mkdtemp(s.dir))
        return 1;
    snprintf(s.recipes, sizeof(s.recipes), "%s/recipes", s.dir);
    snprintf(s.varlog, sizeof(s.varlog), "%s/alerts.log", s.dir);
    snprintf(s.db, sizeof(s.db), "%s/verdicts.db", s.dir);
    char path[256];
    snprintf(path, sizeof(path), "%s/bench.yaml", s.recipes);
    FILE *rf = mkdir(s.recipes, 0700) == 0 ? fopen(path, "w") : NULL;
    if (!rf || fputs(bench_recipe, rf) < 0 || fclose(rf) != 0) {
        fprintf(stderr, "bench/pipeline: cannot write %s\n", path);
        return 1;
    }
    if (bench_fixture_start(fixture, s.dir, 0, s.url, sizeof(s.url)) != 0) {
        fprintf(stderr, "bench/pipeline: cannot start %s\n", fixture);
        return 1;
    }

    /* Results go to the real stdout; the stdout printer to /dev/null. */
    fflush(stdout);
    int out = dup(STDOUT_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (out < 0 || devnull < 0)
        return 1;
    dup2(devnull, STDOUT_FILENO);
    close(devnull);
    FILE *res = fdopen(out, "w");

    /* Every thread the pipelines start inherits this: one core. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof(one), &one) < 0)
        fprintf(res, "(could not pin to CPU 0: %s)\n", strerror(errno));

    size_t printed, hits;
    double wb[50], wa[50];
    (void)run(&s, true, PAIRS * 4, &printed, &hits, &wb[0]); /* warms the verdict cache */
    double base[50], att[50];
    size_t base_printed = 0, att_printed = 0, att_hits = 0;
    for (int r = 0; r < rounds; r++) {
        size_t p1, p2, h1, h2;
        if (r % 2) {
            att[r] = run(&s, true, n, &p2, &h2, &wa[r]);
            base[r] = run(&s, false, n, &p1, &h1, &wb[r]);
        } else {
            base[r] = run(&s, false, n, &p1, &h1, &wb[r]);
            att[r] = run(&s, true, n, &p2, &h2, &wa[r]);
        }
        base_printed += p1;
        att_printed += p2;
        att_hits += h2;
    }
    bench_fixture_stop();
    qsort(base, (size_t)rounds, sizeof(double), cmp_double);
    qsort(att, (size_t)rounds, sizeof(double), cmp_double);
    qsort(wb, (size_t)rounds, sizeof(double), cmp_double);
    qsort(wa, (size_t)rounds, sizeof(double), cmp_double);
    double b = base[rounds / 2], a = att[rounds / 2];
    fprintf(res,
            "pipeline bench: %ld observations per run (each fires), %d runs each, every thread "
            "on CPU 0;\nq1 -> detect (built-in library + 1 bench recipe) -> attenuator (mode "
            "block) -> stdout (/dev/null) + varlog\n",
            n, rounds);
    fprintf(res, "  alerts per CPU-second of the process (median; min, max; per wall-second)\n");
    fprintf(res, "  baseline (attenuator off)      %9.0f  (%.0f, %.0f; wall %.0f)\n", b, base[0],
            base[rounds - 1], wb[rounds / 2]);
    fprintf(res,
            "  attenuated (every one a hit)   %9.0f  (%.0f, %.0f; wall %.0f)  (target >= "
            "100000)\n",
            a, att[0], att[rounds - 1], wa[rounds / 2]);
    fprintf(res, "  ratio attenuated/baseline      %9.3f\n", a / b);
    fprintf(res, "  printed to varlog: %zu of %ld (baseline), %zu of %ld (attenuated)\n",
            base_printed, n * rounds, att_printed, n * rounds);
    fprintf(res, "  attenuated alerts that were cache hits: %zu of %zu\n", att_hits, att_printed);
    fclose(res);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s.dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
