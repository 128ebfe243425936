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
 * and the printers flush; exit 0. The whole of it is bounded by
 * queues.drain_timeout: a guard thread watches the drain, and when the time
 * is up with a stage still busy (a printer whose reader stopped reading, a
 * collector stuck in a read), it logs what was left (the stages still
 * running, the queues' contents) and exits 1 at once.
 *
 * Operations (http/): once a second the main thread builds the status tree,
 * writes it to the status file, judges health from it (an exited stage
 * thread, a stuck queue) and publishes it to the HTTP endpoint (/metrics,
 * /healthz, /readyz). Readiness (programs attached, first scan done) is
 * also when systemd hears READY=1; WATCHDOG=1 is sent only while healthy.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "collector/col_pin.h"
#include "collector/collector.h"
#include "detect/det_interest.h"
#include "core/log.h"
#include "daemon/cursor.h"
#include "daemon/daemon.h"
#include "daemon/pipeline.h"
#include "daemon/privs.h"
#include "http/http.h"
#include "http/http_int.h"
#include "netpolicy/np.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"

struct runner {
    struct mz_config *cfg;
    struct mz_pipeline *pipe;
    struct mz_collector *col;
    struct np *np;               /* the network policy, when netpolicy.enabled */
    struct mz_cursor *cur;       /* delivery cursor (live runs with a status file) */
    struct mz_stage_set *stages; /* the collector stage */
    struct mz_waiter col_waiter; /* wakes the collector early on stop */
    _Atomic uint64_t scans;
    _Atomic uint64_t paused; /* scans cut short by a full q1 */
    uint64_t started_ns;
    _Atomic uint64_t first_scan_ns;
    bool final_scan;
    struct http_server *http;  /* /metrics, /healthz, /readyz, when http.enabled */
    struct http_health health; /* what the health check remembers between ticks */
    bool started;              /* the pipeline and the collector thread run */
    bool ready;                /* READY=1 sent: attached and first scan done */
    const char *kill_stage;    /* MIZAN_TEST_KILL_STAGE (test-only), until done */
};

static int emit_observation(struct mz_observation *obs, void *ctx)
{
    struct runner *r = ctx;
    if (col_is_self(r->col, &obs->proc)) {
        /* this daemon, seen by the last one's programs while it took over */
        mz_observation_free(obs);
        return 0;
    }
    uint32_t scan = obs->src.scan;
    mz_cursor_add(r->cur, scan, 1);
    if (!r->final_scan) {
        int err = mz_pipeline_push_observation(r->pipe, obs);
        if (err)
            mz_cursor_add(r->cur, scan, -1);
        return err;
    }
    /* last scan before exit: wait for room rather than leave data behind */
    while (mz_pipeline_push_observation(r->pipe, obs) == -EAGAIN) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* One scan, with the cursor told where the logs were when it began and
 * when everything it read has been handed over. */
/* The kernel's interest set follows the engine's (built at start, rebuilt on
 * each recipe reload): loaded before the scan whenever its generation moved. */
static void sync_interest(struct runner *r)
{
    uint64_t gen = 0;
    struct det_interest *ii = det_engine_interest(mz_pipeline_engine(r->pipe), &gen);
    if (ii && gen != col_interest_gen(r->col))
        (void)col_set_interest(r->col, ii, gen);
    det_interest_unref(ii);
}

static int scan_once(struct runner *r)
{
    sync_interest(r);
    mz_cursor_scan_start(r->cur, col_gen(r->col) + 1);
    int n = col_scan(r->col, emit_observation, r);
    if (n >= 0)
        mz_cursor_scanned(r->cur, col_gen(r->col));
    return n;
}

/* The collector stage: a scan per cadence until asked to stop, then a last
 * scan that waits for q1 room instead of leaving records behind. */
static void *collector_main(void *arg)
{
    struct runner *r = arg;
    for (;;) {
        int n = scan_once(r);
        if (r->np && np_tick(r->np, emit_observation, r) == -EAGAIN)
            n = -EAGAIN;
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
    int n = scan_once(r);
    if (n < 0)
        log_warn("collector: final scan failed: %s", strerror(-n));
    if (r->np)
        (void)np_tick(r->np, emit_observation, r);
    return NULL;
}

/* The shutdown bound: started when the drain starts, it waits for done
 * until drain_timeout, and past that reports what is left and ends the
 * process, whatever the stages are doing. */
struct drain_guard {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    bool freeing; /* the drain is over and what the report reads is being freed */
    bool started;
    pthread_t thread;
    struct runner *r;
};

static void *drain_guard_main(void *arg)
{
    struct drain_guard *g = arg;
    struct timespec until;
    uint64_t ms = g->r->cfg->queues.drain_timeout_ms;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    while (!g->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cond, &g->lock, &until);
    if (!g->done) {
        /* Holding the lock keeps the main thread from freeing what is read
         * here. If even the log write blocks (stderr nobody reads), SIGALRM
         * ends the process a second later. */
        alarm(1);
        if (g->freeing) {
            log_error("run: drain_timeout (%llu ms) passed while releasing the collector "
                      "and the pipeline (the queues had drained); exiting now",
                      (unsigned long long)ms);
            _exit(1);
        }
        char stages[256];
        size_t n = mz_stages_running(g->r->stages, stages, sizeof(stages));
        cJSON *j = mz_pipeline_stats_json(g->r->pipe);
        char *left = j ? cJSON_PrintUnformatted(j) : NULL;
        log_error("run: drain_timeout (%llu ms) passed with work left; exiting now. "
                  "Collector threads still running: %zu%s%s; pipeline: %s",
                  (unsigned long long)ms, n, n ? ": " : "", stages, left ? left : "?");
        _exit(1);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static void drain_guard_start(struct drain_guard *g, struct runner *r)
{
    pthread_condattr_t ca;
    memset(g, 0, sizeof(*g));
    g->r = r;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    g->started = pthread_create(&g->thread, NULL, drain_guard_main, g) == 0;
    if (!g->started)
        log_warn("run: no drain guard thread: the drain is not bounded by drain_timeout");
}

/* The queues drained: from now on the guard's report may not read them. */
static void drain_guard_freeing(struct drain_guard *g)
{
    pthread_mutex_lock(&g->lock);
    g->freeing = true;
    pthread_mutex_unlock(&g->lock);
}

/* Everything is released in time: the guard leaves. */
static void drain_guard_done(struct drain_guard *g)
{
    pthread_mutex_lock(&g->lock);
    g->done = true;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->lock);
    if (g->started)
        pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

/* The status tree: what status.json holds and /metrics renders. New
 * object owned by the caller. */
static cJSON *status_tree(struct runner *r)
{
    cJSON *j = cJSON_CreateObject();
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
    if (r->np)
        cJSON_AddItemToObject(j, "netpolicy", np_stats_json(r->np));
    if (r->cur)
        cJSON_AddItemToObject(j, "delivery_cursor", mz_cursor_stats_json(r->cur));
    cJSON_AddItemToObject(j, "security", mz_privs_stats_json(r->cfg));
    cJSON_AddItemToObject(j, "pipeline", mz_pipeline_stats_json(r->pipe));
    if (r->http) {
        cJSON *h = cJSON_AddObjectToObject(j, "http");
        cJSON_AddStringToObject(h, "listen", r->cfg->http.listen);
        cJSON_AddNumberToObject(h, "port", http_port(r->http));
    }
    return j;
}

/* Writes the status file atomically (temp file + rename). */
static void write_status_file(struct runner *r, const cJSON *j)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    const char *path = r->cfg->status_file;
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
    s = cJSON_Print(j);
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

static void write_status(struct runner *r)
{
    cJSON *j = status_tree(r);
    if (j)
        write_status_file(r, j);
    cJSON_Delete(j);
}

/* Test-only hook: MIZAN_TEST_KILL_STAGE=NAME stops stage NAME (collector or
 * detect) once the daemon is ready, outside the shutdown, as though its
 * thread had died, so that a test can watch /healthz fail. Documented in
 * docs/operations.md; it does nothing unless the variable is set. */
static void test_kill_hook(struct runner *r)
{
    if (!r->kill_stage || !r->ready)
        return;
    int i = mz_stage_find(r->stages, r->kill_stage);
    int err = i >= 0 ? mz_stage_request_stop(r->stages, i)
                     : mz_pipeline_stop_stage(r->pipe, r->kill_stage);
    log_warn("run: MIZAN_TEST_KILL_STAGE: stage %s stopped%s (test-only hook)", r->kill_stage,
             err ? ": no such stage" : "");
    r->kill_stage = NULL;
}

/* Once a second, from the main thread: the status tree to the status file
 * and the HTTP endpoint, readiness and health judged from it, systemd told. */
static void tick(struct runner *r, bool draining)
{
    char exited[256] = "", more[256] = "", why[320] = "";
    cJSON *j = status_tree(r);
    if (!j)
        return;
    size_t n = mz_stages_exited(r->stages, exited, sizeof(exited));
    if (mz_pipeline_stages_exited(r->pipe, more, sizeof(more)))
        snprintf(exited + strlen(exited), sizeof(exited) - strlen(exited), "%s%s", n ? ", " : "",
                 more);
    cJSON_AddStringToObject(j, "stages_exited", exited);
    bool attached = r->started && (r->col || !r->cfg->collector.enabled);
    bool scanned = !r->col || atomic_load(&r->first_scan_ns) != 0;
    struct http_state st = {
        .ready = attached && scanned && !draining,
        .not_ready_why = draining    ? "draining"
                         : !attached ? "programs not attached yet"
                                     : "first scan not done",
        .healthy = http_health_check(&r->health, j, mz_monotonic_ns(),
                                     r->cfg->http.stuck_after_ms * 1000000ull, why, sizeof(why)),
        .unhealthy_why = why,
    };
    cJSON_AddBoolToObject(j, "ready", st.ready);
    cJSON_AddBoolToObject(j, "healthy", st.healthy);
    if (!st.healthy)
        cJSON_AddStringToObject(j, "unhealthy_why", why);
    write_status_file(r, j);
    (void)http_publish(r->http, j, &st);
    cJSON_Delete(j);
    if (st.ready && !r->ready) {
        r->ready = true;
        log_info("run: ready (programs attached, first scan done)");
        (void)sd_notify(0, "READY=1\nSTATUS=running");
    }
    if (!st.healthy)
        (void)sd_notifyf(0, "STATUS=unhealthy: %s", why);
    if (r->ready && st.healthy && !draining) /* systemd arms the watchdog at READY=1 */
        (void)sd_notify(0, "WATCHDOG=1");
    test_kill_hook(r);
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
    np_request_reload(r->np);
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

    if (cfg->netpolicy.enabled) {
        /* a bad policy file is a configuration error: nothing is started */
        struct np_policy *policy = np_policy_load(cfg->netpolicy.file, err, sizeof(err));
        if (!policy) {
            log_error("run: %s", err);
            return 2;
        }
        np_policy_free(policy);
    }
    r.pipe = mz_pipeline_new(
        cfg, MZ_PIPE_DETECT_THREAD | MZ_PIPE_REACTIONS | (observations ? MZ_PIPE_OBSERVATIONS : 0),
        err, sizeof(err));
    if (!r.pipe) {
        log_error("run: %s", err);
        return 2;
    }
    r.kill_stage = getenv("MIZAN_TEST_KILL_STAGE");
    if (cfg->http.enabled) {
        /* up before the programs load, so that /readyz answers "not ready"
         * meanwhile; a port mizan cannot bind degrades, it stops nothing */
        r.http = http_start(cfg->http.listen, err, sizeof(err));
        if (r.http)
            log_info("http: listening on %s (port %u): /metrics /healthz /readyz", cfg->http.listen,
                     (unsigned)http_port(r.http));
        else
            log_warn("run: %s; running without the metrics and health endpoint", err);
        tick(&r, false); /* /readyz: "programs not attached yet" while they load */
    }
    if (cfg->collector.enabled) {
        r.col = col_new(cfg);
        if (!r.col) {
            log_error("run: the collector could not start (see above); nothing to observe");
            goto out;
        }
        r.cur = mz_cursor_new(cfg, col_instance(r.col));
        uint32_t from = 0;
        if (r.cur && mz_cursor_restore(r.cur, col_adopted(r.col), &from) > 0)
            col_resume(r.col, from);
        mz_pipeline_set_cursor(r.pipe, r.cur);
    } else {
        log_warn("run: collector.enabled is false: no behaviour will be observed");
    }
    if (cfg->netpolicy.enabled && !r.col) {
        log_error("run: netpolicy.enabled needs collector.enabled: no network policy");
    } else if (cfg->netpolicy.enabled) {
        /* a policy mizan cannot apply degrades the daemon, it never stops
         * collection (a bad file was refused before, by check-config's check) */
        r.np = np_new(cfg, err, sizeof(err));
        if (!r.np)
            log_error("run: %s: running without the network policy", err);
        else
            np_set_domains_map(r.np, bpf_map_get_fd_by_id(col_map_id(r.col, "domains")));
        mz_pipeline_set_netpolicy(r.pipe, r.np); /* NetBlockIp and friends */
    }
    /* Loaded and attached: from here on (model answers, reloads, scans)
     * only what the configured features need. A failed drop is logged and
     * collection goes on. */
    if (cfg->security.drop_capabilities) {
        uint64_t keep = mz_privs_needed(cfg);
        char names[256];
        if (mz_privs_drop(keep, err, sizeof(err)))
            log_error("run: dropping capabilities: %s", err);
        else
            log_info("run: capabilities dropped; kept: %s",
                     mz_privs_names(keep, names, sizeof(names)));
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
    r.started = true;
    tick(&r, false);

    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        tick(&r, sig == SIGTERM || sig == SIGINT);
        if (r.cur) {
            (void)mz_cursor_save(r.cur);
            col_ack(r.col, mz_cursor_gen(r.cur)); /* what is printed may be retired */
        }
        if (sig == SIGHUP)
            reload_config(&r, cfg_path);
        else if (sig == SIGTERM || sig == SIGINT) {
            log_info("run: %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            (void)sd_notify(0, "STOPPING=1");
            break;
        }
    }
    status = 0;
out:;
    struct drain_guard guard;
    drain_guard_start(&guard, &r);
    mz_stages_join_in_order(r.stages); /* the collector's last scan is in q1 */
    log_debug("run: collector stopped after its last scan");
    mz_pipeline_drain(r.pipe);
    log_debug("run: pipeline drained");
    if (r.pipe)
        write_status(&r);
    if (status == 0)
        (void)mz_cursor_save(r.cur); /* drained: everything scanned is printed */
    drain_guard_freeing(&guard);
    http_stop(r.http);
    mz_stages_free(r.stages);
    mz_pipeline_free(r.pipe);
    np_free(r.np); /* detaches: nothing is refused once mizan is gone */
    mz_cursor_free(r.cur);
    col_free(r.col);
    log_debug("run: collector detached");
    drain_guard_done(&guard);
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
    if (!alive) {
        /* A stale file's counters would read as the present: only the
         * warning, whatever the output form. */
        fprintf(stderr, "mizan: no daemon is running (%s is stale: pid %d has exited)\n",
                cfg->status_file, cJSON_IsNumber(pid) ? (int)pid->valuedouble : -1);
        cJSON_Delete(j);
        return 1;
    }
    if (!raw)
        fprintf(stderr, "mizan: daemon pid %d is running\n", (int)pid->valuedouble);
    print_losses(j, raw);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (s) {
        puts(s);
        free(s);
    }
    return 0;
}

int mz_uninstall(const struct mz_config *cfg)
{
    if (geteuid() != 0) {
        fprintf(stderr, "mizan: uninstall needs root\n");
        return 3;
    }
    int n = col_pin_remove(cfg->collector.pin_dir);
    if (n == -EBUSY) {
        fprintf(stderr, "mizan: a daemon is running on %s: stop it first\n",
                cfg->collector.pin_dir);
        return 3;
    }
    if (n < 0) {
        fprintf(stderr, "mizan: %s: %s\n", cfg->collector.pin_dir, strerror(-n));
        return 3;
    }
    int err = mz_cursor_remove(cfg);
    if (err < 0)
        fprintf(stderr, "mizan: removing the delivery cursor: %s\n", strerror(-err));
    printf("removed %d pins from %s; mizan's programs are detached\n", n,
           cfg->collector.pin_dir ? cfg->collector.pin_dir : "(no pin_dir)");
    return err < 0 ? 1 : 0;
}
