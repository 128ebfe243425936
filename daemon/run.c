// SPDX-License-Identifier: Apache-2.0
/*
 * run.c - `mizan run`: the live daemon. Threads: the collector (scans the BPF
 * maps at the cadence and pushes observations onto q1), the detect thread,
 * the attenuator's workers, one thread per printer, and this main thread,
 * which only waits for signals and publishes the status file every second.
 *
 * Backpressure: when q1 is full the collector stops its scan where it is; the
 * collector keeps what it had not delivered and the kernel keeps aggregating,
 * so nothing is lost, only delayed.
 *
 * Shutdown on SIGTERM/SIGINT: the collector does one last scan (waiting for
 * q1 space rather than giving up), then the pipeline drains stage by stage
 * and the printers flush; exit 0.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/pipeline.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"

struct runner {
    struct mz_config *cfg;
    struct mz_pipeline *pipe;
    struct mz_collector *col;
    struct mz_stage_set *stages; /* the collector stage */
    struct mz_waiter col_waiter; /* wakes the collector early on stop */
    _Atomic uint64_t scans;
    _Atomic uint64_t paused; /* scans cut short by a full q1 */
    uint64_t started_ns;
    _Atomic uint64_t first_scan_ns;
    bool final_scan;
};

static int emit_observation(struct mz_observation *obs, void *ctx)
{
    struct runner *r = ctx;
    if (!r->final_scan)
        return mz_pipeline_push_observation(r->pipe, obs);
    /* last scan before exit: wait for room rather than leave data behind */
    while (mz_pipeline_push_observation(r->pipe, obs) == -EAGAIN) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* The collector stage: a scan per cadence until asked to stop, then a last
 * scan that waits for q1 room instead of leaving records behind. */
static void *collector_main(void *arg)
{
    struct runner *r = arg;
    for (;;) {
        int n = col_scan(r->col, emit_observation, r);
        uint64_t zero = 0;
        atomic_fetch_add(&r->scans, 1);
        atomic_compare_exchange_strong(&r->first_scan_ns, &zero, mz_monotonic_ns());
        if (n == -EAGAIN)
            atomic_fetch_add(&r->paused, 1);
        else if (n < 0)
            log_warn("collector: scan failed: %s", strerror(-n));
        /* Until the cadence, in slices of collector.poll: drain the overflow
         * ring and scan early when a map is past half full. */
        uint64_t due = mz_monotonic_ns() + r->cfg->collector.cadence_ms * 1000000ull;
        bool stop = false;
        for (;;) {
            uint64_t now = mz_monotonic_ns();
            if (now >= due)
                break;
            uint64_t left_ms = (due - now + 999999) / 1000000;
            uint64_t slice =
                r->cfg->collector.poll_ms < left_ms ? r->cfg->collector.poll_ms : left_ms;
            uint32_t seen = mz_waiter_prepare(&r->col_waiter);
            if (mz_stage_should_stop()) {
                mz_waiter_cancel(&r->col_waiter);
                stop = true;
                break;
            }
            mz_waiter_wait(&r->col_waiter, seen, (unsigned)slice);
            if (mz_stage_should_stop()) {
                stop = true;
                break;
            }
            if (col_due(r->col)) {
                col_note_early(r->col);
                break;
            }
        }
        if (stop)
            break;
    }
    r->final_scan = true;
    int n = col_scan(r->col, emit_observation, r);
    if (n < 0)
        log_warn("collector: final scan failed: %s", strerror(-n));
    return NULL;
}

/* Writes the status file atomically (temp file + rename). */
static void write_status(struct runner *r)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    const char *path = r->cfg->status_file;
    cJSON *j;
    char *s;
    FILE *f;

    if (!path || !*path)
        return;
    (void)mz_strlcpy(dir, path, sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0755);
    }
    j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "pid", getpid());
    {
        char t[MZ_RFC3339_LEN];
        mz_format_rfc3339(mz_now_ns(), t);
        cJSON_AddStringToObject(j, "time", t);
    }
    cJSON_AddNumberToObject(j, "uptime_s", (double)(mz_monotonic_ns() - r->started_ns) / 1e9);
    cJSON_AddNumberToObject(j, "scans", (double)atomic_load(&r->scans));
    cJSON_AddNumberToObject(j, "scans_paused_by_backpressure", (double)atomic_load(&r->paused));
    uint64_t first = atomic_load(&r->first_scan_ns);
    if (first)
        cJSON_AddNumberToObject(j, "start_to_first_scan_ms", (double)(first - r->started_ns) / 1e6);
    if (r->col)
        cJSON_AddItemToObject(j, "collector", col_stats_json(r->col));
    cJSON_AddItemToObject(j, "pipeline", mz_pipeline_stats_json(r->pipe));
    s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f) {
        bool ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path))
            log_debug("status: cannot write %s: %s", path, strerror(errno));
    }
    free(s);
}

static void reload_config(struct runner *r, const char *cfg_path)
{
    struct mz_config fresh;
    char err[512];
    if (cfg_path) {
        if (mz_config_load(cfg_path, &fresh, err, sizeof(err))) {
            log_error("reload: %s; keeping the running configuration", err);
        } else {
            mz_log_set_level(fresh.log_level);
            r->cfg->log_level = fresh.log_level;
        }
        mz_config_free(&fresh);
    }
    mz_pipeline_request_reload(r->pipe);
    log_info("reload: recipes and log level reloaded on SIGHUP");
}

int mz_run(struct mz_config *cfg, const char *cfg_path, bool observations)
{
    struct runner r = {0};
    sigset_t set;
    char err[512] = "";
    int status = 3;

    r.cfg = cfg;
    r.started_ns = mz_monotonic_ns();
    mz_waiter_init(&r.col_waiter);

    /* every thread inherits this mask; only the main thread takes signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    r.pipe = mz_pipeline_new(cfg, MZ_PIPE_DETECT_THREAD | (observations ? MZ_PIPE_OBSERVATIONS : 0),
                             err, sizeof(err));
    if (!r.pipe) {
        log_error("run: %s", err);
        return 2;
    }
    if (cfg->collector.enabled) {
        r.col = col_new(cfg);
        if (!r.col) {
            log_error("run: the collector could not start (see above); nothing to observe");
            goto out;
        }
    } else {
        log_warn("run: collector.enabled is false: no behaviour will be observed");
    }
    if (mz_pipeline_start(r.pipe)) {
        log_error("run: cannot start the pipeline threads");
        goto out;
    }
    if (r.col) {
        int idx;
        r.stages = mz_stages_new();
        if (!r.stages || (idx = mz_stage_add(r.stages, "collector", collector_main, &r, 1)) < 0 ||
            mz_stage_set_waiter(r.stages, idx, &r.col_waiter) || mz_stages_start(r.stages)) {
            log_error("run: cannot start the collector thread");
            goto out;
        }
    }
    log_info("mizan running (pid %d, cadence %llums%s)", (int)getpid(),
             (unsigned long long)cfg->collector.cadence_ms,
             observations ? ", printing observations" : "");

    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        write_status(&r);
        if (sig == SIGHUP)
            reload_config(&r, cfg_path);
        else if (sig == SIGTERM || sig == SIGINT) {
            log_info("run: %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    status = 0;
out:
    mz_stages_join_in_order(r.stages); /* the collector's last scan is in q1 */
    mz_stages_free(r.stages);
    log_debug("run: collector stopped after its last scan");
    mz_pipeline_drain(r.pipe);
    log_debug("run: pipeline drained");
    if (r.pipe)
        write_status(&r);
    mz_pipeline_free(r.pipe);
    col_free(r.col);
    log_debug("run: collector detached");
    if (status == 0)
        log_info("run: drained, exiting");
    return status;
}

/* Before the JSON, one line per map that lost records (on stderr, not with
 * --raw): which map, how many, why. */
static void print_losses(const cJSON *j, bool raw)
{
    const cJSON *col = cJSON_GetObjectItemCaseSensitive(j, "collector");
    const cJSON *maps = cJSON_GetObjectItemCaseSensitive(col, "maps");
    const cJSON *m;
    if (raw || !maps)
        return;
    cJSON_ArrayForEach(m, maps)
    {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "lost");
        double full = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "full"));
        double rd = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "read_error"));
        double join = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "join_miss"));
        double created = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "created"));
        double sum = (full > 0 ? full : 0) + (rd > 0 ? rd : 0) + (join > 0 ? join : 0);
        if (sum > 0)
            fprintf(stderr,
                    "mizan: WARNING: map %s lost %.0f of %.0f records (%.0f map and overflow "
                    "full, %.0f unreadable, %.0f join misses)\n",
                    m->string, sum, created, full > 0 ? full : 0, rd > 0 ? rd : 0,
                    join > 0 ? join : 0);
    }
}

int mz_status(const struct mz_config *cfg, bool raw)
{
    char *data = NULL;
    size_t len = 0;
    int r = mz_read_file(cfg->status_file, 16u << 20, &data, &len);
    cJSON *j;
    if (r) {
        fprintf(stderr, "mizan: no status at %s (%s): is the daemon running?\n", cfg->status_file,
                strerror(-r));
        return 3;
    }
    j = cJSON_ParseWithLength(data, len);
    free(data);
    if (!j) {
        fprintf(stderr, "mizan: %s is not valid JSON\n", cfg->status_file);
        return 3;
    }
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
    bool alive = cJSON_IsNumber(pid) && kill((pid_t)pid->valuedouble, 0) == 0;
    if (!raw)
        fprintf(stderr, "mizan: daemon pid %d is %s\n",
                cJSON_IsNumber(pid) ? (int)pid->valuedouble : -1,
                alive ? "running" : "NOT running (stale status)");
    print_losses(j, raw);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (s) {
        puts(s);
        free(s);
    }
    return alive ? 0 : 1;
}
