// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_rate.c - rate limits: one test per `times` kind (the key it
 * counts by, and that another key is counted apart), the combination of
 * several limits, the global per-minute cap, the counters that
 * det_stats_json reports, and the summaries of what the limits hold back
 * (their count equals what was held, they come out when the window ends
 * and at shutdown, the cap never holds back high or critical detections,
 * only emitted alerts spend a budget). Time is a fake clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "detect/det_int.h"
#include "detect/detect.h"

static char dir[] = "/tmp/mizan-det-rate-XXXXXX";

static const char *const kinds[] = {
    "times_per_proc",          "times_per_exe", "times_per_parent_proc", "times_per_parent_exe",
    "times_per_full_ancestry", "times_per_cmd", "times_in_total"};

static int setup(void **state)
{
    (void)state;
    mz_log_set_level(MZ_LOG_WARN);
    if (!mkdtemp(dir))
        return -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/rate.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
        fprintf(f,
                "- kind: rate_test\n  name: %s\n  mechanism: execution\n  importance: low\n"
                "  description: d\n  tactic: t\n  technique: t\n"
                "  times:\n    - kind: %s\n      max: 2\n"
                "  file_actions: execve\n  bases:\n    - base: %s\n",
                kinds[i], kinds[i], kinds[i]);
    /* two limits at once */
    fprintf(f, "- kind: rate_test\n  name: combined\n  mechanism: execution\n  importance: low\n"
               "  description: d\n  tactic: t\n  technique: t\n"
               "  times:\n    - kind: times_per_exe\n      max: 3\n"
               "    - kind: times_per_proc\n      max: 1\n"
               "  bases:\n    - base: combined\n");
    /* no limit: for the global cap */
    fprintf(f, "- kind: rate_test\n  name: unlimited\n  mechanism: execution\n  importance: low\n"
               "  description: d\n  tactic: t\n  technique: t\n"
               "  bases:\n    - base: unlimited\n");
    fprintf(f, "- kind: rate_test\n  name: unlimited_high\n  mechanism: execution\n"
               "  importance: high\n  description: d\n  tactic: t\n  technique: t\n"
               "  bases:\n    - base: unlimited_high\n");
    fprintf(f, "- kind: rate_test\n  name: unlimited_critical\n  mechanism: execution\n"
               "  importance: critical\n  description: d\n  tactic: t\n  technique: t\n"
               "  bases:\n    - base: unlimited_critical\n");
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/rate.yaml", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* The engines' clock: tests move it. */
static uint64_t fake_now = 1000000000ull;

static uint64_t fake_clock(void)
{
    return fake_now;
}

#define SEC 1000000000ull

static struct det_engine *engine_w(uint32_t global_max, uint64_t window_ms)
{
    struct mz_config cfg;
    char err[512];
    mz_config_defaults(&cfg);
    cfg.detect.builtin = false;
    cfg.detect.reload = false;
    cfg.detect.global_max_per_minute = global_max;
    cfg.detect.times_window_ms = window_ms;
    cfg.detect.dirs.items[0] = mz_strdup(dir);
    cfg.detect.dirs.n = 1;
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    if (!e)
        print_message("%s\n", err);
    else
        det_engine_set_clock(e, fake_clock);
    mz_config_free(&cfg);
    return e;
}

static struct det_engine *engine(uint32_t global_max)
{
    return engine_w(global_max, 0);
}

struct obs_spec {
    int pid;
    int ppid;
    uint64_t start;
    const char *dir;
    const char *parent;
    const char *grandparent;
    const char *args;
    uint64_t time; /* the observation's first/last wall-clock time */
};

/* What an emit function received: plain detections and summaries. */
struct got {
    int plain;
    struct mz_detection *sums[64];
    int n_sums;
    uint64_t summed; /* the summaries' counts added */
    int fail;        /* the next emit fails with -EIO (the detection is freed) */
};

static int collect(struct mz_detection *det, void *ctx)
{
    struct got *g = ctx;
    if (g->fail) {
        g->fail--;
        mz_detection_free(det);
        return -EIO;
    }
    if (det->summary) {
        g->summed += det->summary->count;
        if (g->n_sums < 64) {
            g->sums[g->n_sums++] = det;
            return 0;
        }
    } else {
        g->plain++;
    }
    mz_detection_free(det);
    return 0;
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n_sums; i++)
        mz_detection_free(g->sums[i]);
    memset(g, 0, sizeof(*g));
}

/* Matches one observation of the recipe named base into g; returns what
 * det_match returned. */
static int fire_into(struct det_engine *e, const char *base, struct obs_spec s, struct got *g)
{
    char exe[256];
    char *anc[2] = {(char *)(s.parent ? s.parent : "/usr/bin/bash"),
                    (char *)(s.grandparent ? s.grandparent : "/usr/sbin/sshd")};
    snprintf(exe, sizeof(exe), "%s/%s", s.dir ? s.dir : "/usr/bin", base);
    struct mz_observation o = {.kind = MZ_OBS_EXEC};
    o.proc.pid = s.pid ? s.pid : 100;
    o.proc.ppid = s.ppid ? s.ppid : 1;
    o.proc.start_ns = s.start;
    o.proc.exe = exe;
    o.proc.args = (char *)(s.args ? s.args : base);
    o.proc.ancestry = anc;
    o.proc.n_ancestry = 2;
    o.file.path = exe;
    o.file.actions = MZ_FA_EXECVE;
    o.first_ns = o.last_ns = s.time;
    return det_match(e, &o, collect, g);
}

/* The same, for tests of plain detections: returns how many were emitted. */
static int fire(struct det_engine *e, const char *base, struct obs_spec s)
{
    struct got g = {0};
    int rc = fire_into(e, base, s, &g);
    assert_true(rc >= 0);
    assert_int_equal(rc, g.plain + g.n_sums);
    got_free(&g);
    return rc;
}

static double jnum(const cJSON *j, const char *path1, const char *path2)
{
    const cJSON *x = cJSON_GetObjectItem(j, path1);
    if (path2)
        x = cJSON_GetObjectItem(x, path2);
    assert_non_null(x);
    return x->valuedouble;
}

static void test_per_proc(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    assert_non_null(e);
    const char *k = "times_per_proc";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 10, .start = 5}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 10, .start = 5}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 10, .start = 5}), 0);
    /* same pid, another start time: another process */
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 10, .start = 6}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 11, .start = 5}), 1);
    det_engine_free(e);
}

static void test_per_exe(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_per_exe";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .dir = "/opt/x"}), 1);
    det_engine_free(e);
}

static void test_per_parent_proc(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_per_parent_proc";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1, .ppid = 50}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2, .ppid = 50, .dir = "/opt"}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3, .ppid = 50}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .ppid = 51}), 1);
    det_engine_free(e);
}

static void test_per_parent_exe(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_per_parent_exe";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1, .ppid = 50}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2, .ppid = 51}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3, .ppid = 52}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .parent = "/usr/bin/python3"}), 1);
    det_engine_free(e);
}

static void test_per_full_ancestry(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_per_full_ancestry";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2, .ppid = 9}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3, .ppid = 10}), 0);
    /* one ancestor differs: another chain */
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .grandparent = "/usr/sbin/cron"}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 5, .dir = "/opt"}), 1);
    det_engine_free(e);
}

static void test_per_cmd(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_per_cmd";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1, .args = "x -a"}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2, .args = "x -a"}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3, .args = "x -a"}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .args = "x -b"}), 1);
    det_engine_free(e);
}

static void test_in_total(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "times_in_total";
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2, .dir = "/opt", .ppid = 7}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3, .dir = "/srv", .args = "z"}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4, .parent = "/x", .ppid = 8}), 0);
    det_engine_free(e);
}

static void test_combined_and_stats(void **state)
{
    (void)state;
    struct det_engine *e = engine(0);
    const char *k = "combined";
    /* per proc max 1, per exe max 3: every limit must have room */
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 3}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 4}), 0);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 5}), 0);

    cJSON *j = det_stats_json(e);
    cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "per_recipe"), "combined");
    assert_non_null(r);
    assert_int_equal(cJSON_GetObjectItem(r, "matched")->valuedouble, 6);
    assert_int_equal(cJSON_GetObjectItem(r, "emitted")->valuedouble, 3);
    assert_int_equal(cJSON_GetObjectItem(r, "rate_suppressed")->valuedouble, 3);
    assert_int_equal(cJSON_GetObjectItem(j, "global_suppressed")->valuedouble, 0);
    assert_int_equal(cJSON_GetObjectItem(j, "recipes")->valuedouble, 11);
    cJSON_Delete(j);
    det_engine_free(e);
}

static void test_global_cap(void **state)
{
    (void)state;
    struct det_engine *e = engine(3);
    int total = 0;
    for (int i = 0; i < 10; i++)
        total += fire(e, "unlimited", (struct obs_spec){.pid = 100 + i});
    assert_int_equal(total, 3);
    /* the cap applies to every recipe together */
    assert_int_equal(fire(e, "times_per_exe", (struct obs_spec){.pid = 1}), 0);
    cJSON *j = det_stats_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "global_suppressed")->valuedouble, 8);
    assert_int_equal(cJSON_GetObjectItem(j, "emitted")->valuedouble, 3);
    cJSON_Delete(j);
    det_engine_free(e);

    e = engine(0); /* 0: no cap */
    total = 0;
    for (int i = 0; i < 50; i++)
        total += fire(e, "unlimited", (struct obs_spec){.pid = 100 + i});
    assert_int_equal(total, 50);
    det_engine_free(e);
}

static void test_window(void **state)
{
    (void)state;
    struct det_engine *e = engine_w(0, 300);
    const char *k = "times_per_exe";
    struct got g = {0};
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 1}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 2}), 1);
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 3}, &g), 0);
    fake_now += 350 * 1000000ull;
    /* the window passed: its summary first, then the key counts from zero */
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 4}, &g), 2);
    assert_int_equal(g.n_sums, 1);
    assert_int_equal(g.plain, 1);
    assert_int_equal(g.sums[0]->summary->count, 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 5}), 1);
    assert_int_equal(fire(e, k, (struct obs_spec){.pid = 6}), 0);
    got_free(&g);
    det_engine_free(e);
}

/* The summary's count is what the limit held back (rate_suppressed moved by
 * as much), with the limit, its key, the first/last times and a sample. */
static void test_summary_carries_what_was_held(void **state)
{
    (void)state;
    struct det_engine *e = engine_w(0, 60000);
    const char *k = "times_per_exe";
    struct got g = {0};
    uint64_t t0 = 1700000000ull * SEC;
    for (int i = 0; i < 9; i++)
        assert_true(fire_into(e, k,
                              (struct obs_spec){.pid = 10 + i, .time = t0 + (uint64_t)i * SEC},
                              &g) >= 0);
    assert_int_equal(g.plain, 2);
    assert_int_equal(g.n_sums, 0); /* held until the window ends */
    cJSON *j = det_stats_json(e);
    double held = jnum(cJSON_GetObjectItem(j, "per_recipe"), k, "rate_suppressed");
    assert_int_equal(held, 7);
    assert_int_equal(jnum(j, "summaries", "held"), 7);
    assert_int_equal(jnum(j, "summaries", "pending"), 1);
    cJSON_Delete(j);

    fake_now += 59 * SEC;
    assert_int_equal(det_tick(e, collect, &g), 0);
    fake_now += 2 * SEC;
    assert_int_equal(det_tick(e, collect, &g), 1);
    assert_int_equal(g.n_sums, 1);
    const struct mz_detection *d = g.sums[0];
    const struct mz_summary *sum = d->summary;
    assert_int_equal(sum->count, (uint64_t)held);
    assert_string_equal(sum->limit, "times_per_exe");
    assert_int_equal(sum->max, 2);
    assert_string_equal(sum->keys_json, "{\"exe\":\"/usr/bin/times_per_exe\"}");
    assert_int_equal(sum->first_ns, t0 + 2 * SEC);
    assert_int_equal(sum->last_ns, t0 + 8 * SEC);
    assert_string_equal(d->recipe.id, k);
    assert_int_equal(d->obs.proc.pid, 12); /* the first one held back */

    /* the alert's JSON form */
    struct mz_alert *a = mz_alert_new(g.sums[0], "h"); /* takes it */
    g.sums[0] = NULL;
    g.n_sums = 0;
    cJSON *aj = mz_alert_to_json(a);
    cJSON *js = cJSON_GetObjectItem(aj, "summary");
    assert_non_null(js);
    assert_int_equal(jnum(js, "count", NULL), 7);
    assert_int_equal(jnum(js, "max", NULL), 2);
    assert_string_equal(cJSON_GetObjectItem(js, "limit")->valuestring, "times_per_exe");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(js, "keys"), "exe")->valuestring,
                        "/usr/bin/times_per_exe");
    assert_non_null(cJSON_GetObjectItem(js, "first_seen"));
    assert_non_null(cJSON_GetObjectItem(js, "last_seen"));
    cJSON_Delete(aj);
    struct mz_buf b;
    mz_buf_init(&b, 65536);
    assert_int_equal(mz_alert_format_text(a, &b), 0);
    assert_non_null(strstr(b.data, "+7 more like this"));
    mz_buf_free(&b);
    mz_alert_free(a);

    j = det_stats_json(e);
    assert_int_equal(jnum(j, "summaries", "held"), 0);
    assert_int_equal(jnum(j, "summaries", "emitted"), 1);
    cJSON_Delete(j);
    det_engine_free(e);
}

/* Every limit kind names its key in the summary. */
static void test_summary_keys(void **state)
{
    (void)state;
    static const char *const want[] = {
        "{\"pid\":7,\"start_ns\":3}",
        "{\"exe\":\"/usr/bin/times_per_exe\"}",
        "{\"ppid\":9}",
        "{\"parent_exe\":\"/usr/bin/bash\"}",
        "{\"exe\":\"/usr/bin/times_per_full_ancestry\",\"ancestry\":[\"/usr/bin/bash\","
        "\"/usr/sbin/sshd\"]}",
        "{\"exe\":\"/usr/bin/times_per_cmd\",\"args\":\"x -y\"}",
        "{}"};
    struct det_engine *e = engine_w(0, 1000);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
        struct got g = {0};
        for (int n = 0; n < 3; n++)
            assert_true(
                fire_into(e, kinds[i],
                          (struct obs_spec){.pid = 7, .ppid = 9, .start = 3, .args = "x -y"},
                          &g) >= 0);
        assert_int_equal(g.plain, 2);
        assert_int_equal(det_flush(e, collect, &g), 1);
        assert_int_equal(g.n_sums, 1);
        assert_string_equal(g.sums[0]->summary->limit, kinds[i]);
        assert_string_equal(g.sums[0]->summary->keys_json, want[i]);
        got_free(&g);
    }
    det_engine_free(e);
}

/* det_flush (shutdown) emits what is held, due or not; nothing is left. */
static void test_flush_at_shutdown(void **state)
{
    (void)state;
    struct det_engine *e = engine_w(5, 3600000);
    struct got g = {0};
    for (int i = 0; i < 4; i++) /* 2 emitted, 2 held by times */
        assert_true(fire_into(e, "times_per_proc", (struct obs_spec){.pid = 1}, &g) >= 0);
    for (int i = 0; i < 10; i++) /* 3 emitted (the cap is 5), 7 held by the cap */
        assert_true(fire_into(e, "unlimited", (struct obs_spec){.pid = 100 + i}, &g) >= 0);
    assert_int_equal(g.plain, 5);
    assert_int_equal(det_tick(e, collect, &g), 0);
    assert_int_equal(det_flush(e, collect, &g), 2);
    assert_int_equal(g.summed, 9);
    int global = g.sums[0]->summary->limit[0] == 'g' ? 0 : 1;
    assert_string_equal(g.sums[global]->summary->limit, "global_max_per_minute");
    assert_int_equal(g.sums[global]->summary->count, 7);
    assert_int_equal(g.sums[global]->summary->max, 5);
    assert_int_equal(g.sums[1 - global]->summary->count, 2);
    assert_int_equal(det_flush(e, collect, &g), 0);
    cJSON *j = det_stats_json(e);
    assert_int_equal(jnum(j, "summaries", "pending"), 0);
    assert_int_equal(jnum(j, "global_suppressed", NULL), 7);
    cJSON_Delete(j);
    got_free(&g);
    det_engine_free(e);
}

/* The global cap holds back low and medium detections, never high or
 * critical ones; its summary comes out at the end of the minute. */
static void test_global_cap_spares_high(void **state)
{
    (void)state;
    struct det_engine *e = engine(3);
    struct got g = {0};
    for (int i = 0; i < 10; i++)
        assert_true(fire_into(e, "unlimited_high", (struct obs_spec){.pid = 100 + i}, &g) >= 0);
    for (int i = 0; i < 10; i++)
        assert_true(fire_into(e, "unlimited_critical", (struct obs_spec){.pid = 200 + i}, &g) >= 0);
    assert_int_equal(g.plain, 20);
    /* they count in the cap: low ones are held now */
    for (int i = 0; i < 4; i++)
        assert_true(fire_into(e, "unlimited", (struct obs_spec){.pid = 300 + i}, &g) >= 0);
    assert_int_equal(g.plain, 20);
    assert_int_equal(g.n_sums, 0);
    fake_now += 61 * SEC;
    assert_int_equal(fire_into(e, "unlimited", (struct obs_spec){.pid = 400}, &g), 2);
    assert_int_equal(g.n_sums, 1);
    assert_int_equal(g.sums[0]->summary->count, 4);
    assert_string_equal(g.sums[0]->recipe.id, "unlimited");
    assert_int_equal(g.plain, 21);
    got_free(&g);
    det_engine_free(e);
}

/* A detection the global cap held back, or one whose emission failed,
 * spends no `times` budget. */
static void test_budget_spent_only_when_emitted(void **state)
{
    (void)state;
    struct det_engine *e = engine_w(1, 3600000);
    const char *k = "times_per_exe"; /* max 2 */
    struct got g = {0};
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 1}, &g), 1);
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 2}, &g), 0); /* the cap */
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 3}, &g), 0);
    fake_now += 61 * SEC; /* a new minute; the times window (1h) goes on */
    /* the cap's summary, then the second alert of the budget */
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 4}, &g), 2);
    assert_int_equal(g.plain, 2);
    assert_int_equal(g.summed, 2);
    got_free(&g);
    det_engine_free(e);

    e = engine_w(0, 3600000);
    g.fail = 1;
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 1}, &g), -EIO);
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 2}, &g), 1);
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 3}, &g), 1);
    assert_int_equal(fire_into(e, k, (struct obs_spec){.pid = 4}, &g), 0);
    got_free(&g);
    det_engine_free(e);
}

/* The default window is finite (1h): four `python -c` runs from one bash
 * spend code_on_the_fly's per-parent budget for an hour, not for ever, and
 * what was held comes out as a summary. */
static void test_default_window_builtin(void **state)
{
    (void)state;
    struct mz_config cfg;
    char err[512];
    mz_config_defaults(&cfg);
    assert_int_equal(cfg.detect.times_window_ms, 3600000);
    cfg.detect.reload = false;
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    mz_config_free(&cfg);
    assert_non_null(e);
    det_engine_set_clock(e, fake_clock);
    struct got g = {0};
    char *anc[1] = {"/usr/bin/bash"};
    for (int i = 0; i < 5; i++) {
        char args[64];
        snprintf(args, sizeof(args), "python3 -c print(%d)", i);
        if (i == 4)
            fake_now += 3601 * SEC;
        struct mz_observation o = {.kind = MZ_OBS_EXEC};
        o.proc.pid = 500 + i;
        o.proc.ppid = 77;
        o.proc.exe = "/usr/bin/python3";
        o.proc.args = args;
        o.proc.ancestry = anc;
        o.proc.n_ancestry = 1;
        o.file.path = "/usr/bin/python3";
        o.file.actions = MZ_FA_EXECVE;
        assert_true(det_match(e, &o, collect, &g) >= 0);
        if (i == 3) {
            assert_int_equal(g.plain, 2);
            assert_int_equal(g.n_sums, 0);
        }
    }
    assert_int_equal(g.plain, 3); /* the budget came back */
    assert_int_equal(g.n_sums, 1);
    assert_string_equal(g.sums[0]->recipe.id, "code_on_the_fly");
    assert_int_equal(g.sums[0]->summary->count, 2);
    got_free(&g);
    det_engine_free(e);
}

/* More keys held at once than there are pending summaries: the earliest
 * are emitted early, and the counts still add up to what was held. */
static void test_pending_table_full(void **state)
{
    (void)state;
    struct det_engine *e = engine_w(0, 3600000);
    struct got g = {0};
    uint64_t held = 0, summed = 0;
    for (int pid = 1; pid <= 600; pid++) {
        for (int n = 0; n < 3 + pid % 2; n++)
            assert_true(
                fire_into(e, "times_per_proc", (struct obs_spec){.pid = pid, .start = 1}, &g) >= 0);
        held += 1 + (uint64_t)(pid % 2);
        summed += g.summed;
        got_free(&g);
    }
    cJSON *j = det_stats_json(e);
    double early = jnum(j, "summaries", "emitted");
    assert_true(early >= 600 - 512);
    double pending_held = jnum(j, "summaries", "held");
    cJSON_Delete(j);
    struct got f = {0};
    int n = det_flush(e, collect, &f);
    assert_true(n > 0);
    assert_int_equal(f.summed, (uint64_t)pending_held);
    assert_int_equal(summed + f.summed, held); /* nothing lost to the table's bound */
    j = det_stats_json(e);
    assert_int_equal(jnum(j, "summaries", "emitted"), 600);
    assert_int_equal(jnum(j, "summaries", "early"), early);
    assert_int_equal(
        jnum(cJSON_GetObjectItem(j, "per_recipe"), "times_per_proc", "rate_suppressed"),
        (double)held);
    cJSON_Delete(j);
    got_free(&f);
    det_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_proc),
        cmocka_unit_test(test_per_exe),
        cmocka_unit_test(test_per_parent_proc),
        cmocka_unit_test(test_per_parent_exe),
        cmocka_unit_test(test_per_full_ancestry),
        cmocka_unit_test(test_per_cmd),
        cmocka_unit_test(test_in_total),
        cmocka_unit_test(test_combined_and_stats),
        cmocka_unit_test(test_global_cap),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_summary_carries_what_was_held),
        cmocka_unit_test(test_summary_keys),
        cmocka_unit_test(test_flush_at_shutdown),
        cmocka_unit_test(test_global_cap_spares_high),
        cmocka_unit_test(test_budget_spent_only_when_emitted),
        cmocka_unit_test(test_default_window_builtin),
        cmocka_unit_test(test_pending_table_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
