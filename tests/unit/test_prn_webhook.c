// SPDX-License-Identifier: Apache-2.0
/* test_prn_webhook.c - the webhook output against a real HTTPS endpoint on
 * 127.0.0.1 (tests/support/https_sink, a CA made by openssl at test time):
 * it goes down and comes back and no alert is missing or out of order; the
 * spool stays within its bound and, when full, what it refuses is counted
 * exactly; a spool left by a stopped (or crashed) daemon is replayed at the
 * next start; a certificate the configured CA did not sign is an error that
 * spools, not a drop; and a down endpoint does not hold up varlog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"
#include "tests/support/https_sink.h"

static char g_dir[64];
static char g_ca[128], g_other_ca[128], g_cert[128], g_key[128];

static int setup_all(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(g_dir, sizeof(g_dir), "/tmp/mizan-webhook-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "bash %s/tests/support/test_ca.sh %s",
             getenv("MIZAN_SOURCE_DIR") ? getenv("MIZAN_SOURCE_DIR") : "..", g_dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(g_ca, sizeof(g_ca), "%s/ca.pem", g_dir);
    snprintf(g_other_ca, sizeof(g_other_ca), "%s/other-ca.pem", g_dir);
    snprintf(g_cert, sizeof(g_cert), "%s/server.pem", g_dir);
    snprintf(g_key, sizeof(g_key), "%s/server.key", g_dir);
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = mz_strdup(v);
}

/* A webhook config to 127.0.0.1:port with a fresh spool dir named tag. */
static void config(struct mz_config *c, uint16_t port, const char *tag, const char *ca)
{
    char url[128], spool[256];
    mz_config_defaults(c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/alerts", port);
    snprintf(spool, sizeof(spool), "%s/spool-%s", g_dir, tag);
    set_str(&c->outputs.webhook.url, url);
    set_str(&c->outputs.webhook.ca_file, ca);
    set_str(&c->outputs.webhook.token_env, "MIZAN_TEST_WEBHOOK_TOKEN");
    set_str(&c->outputs.webhook.c.spool_dir, spool);
    c->outputs.webhook.c.enabled = true;
    c->outputs.webhook.c.batch = 10;
    c->outputs.webhook.c.batch_wait_ms = 5;
    c->outputs.webhook.c.retry_min_ms = 20;
    c->outputs.webhook.c.retry_max_ms = 200;
    c->outputs.webhook.c.timeout_ms = 3000;
    c->outputs.webhook.c.drain_wait_ms = 3000;
    c->outputs.webhook.c.spool_max_size = 1 << 20;
    c->outputs.webhook.c.spool_fsync = MZ_FSYNC_NEVER;
}

static int write_alert(struct prn_printer *p, int i)
{
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "{\"id\":\"a%05d\",\"time\":\"2026-12-01T12:00:00Z\",\"host\":\"h\","
                     "\"recipe\":{\"id\":\"r\",\"importance\":\"low\"},\"pad\":\"%040d\"}",
                     i, i);
    return p->write(p, line, (size_t)n);
}

static struct prn_net_stats stats(struct prn_printer *p)
{
    struct prn_net_stats s;
    assert_int_equal(prn_net_stats(p, &s), 0);
    return s;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int _i = 0; _i < 3000 && !(cond); _i++)                                               \
            sleep_ms(10);                                                                          \
        if (!(cond))                                                                               \
            fail_msg("timed out waiting for " #cond);                                              \
    } while (0)

static int id_num(char *id)
{
    char *end;
    long v = strtol(id + 1, &end, 10);
    if (id[0] != 'a' || *end)
        fail_msg("unexpected id %s", id);
    free(id);
    return (int)v;
}

/* The sink's ids, first arrivals only (at-least-once may repeat a batch),
 * must be a0000 .. a(n-1) in order; returns how many arrivals were repeats. */
static size_t expect_in_order(struct https_sink *s, int n)
{
    int next = 0;
    size_t repeats = 0;
    for (size_t i = 0;; i++) {
        char *id = https_sink_id(s, i);
        if (!id)
            break;
        int v = id_num(id);
        if (v == next)
            next++;
        else if (v > next)
            fail_msg("alert a%05d arrived before a%05d", v, next);
        else
            repeats++; /* a repeat of an earlier batch */
    }
    assert_int_equal(next, n);
    return repeats;
}

static void test_down_and_back_nothing_missing_in_order(void **state)
{
    (void)state;
    struct https_sink *sink = https_sink_start(g_cert, g_key, 0);
    struct mz_config c;
    assert_non_null(sink);
    setenv("MIZAN_TEST_WEBHOOK_TOKEN", "s3cret-token", 1);
    config(&c, https_sink_port(sink), "back", g_ca);
    struct prn_printer *p = prn_webhook_new(&c);
    assert_non_null(p);

    for (int i = 0; i < 50; i++)
        assert_int_equal(write_alert(p, i), 0);
    WAIT_FOR(https_sink_count(sink) >= 50);
    char *auth = https_sink_last_auth(sink);
    assert_string_equal(auth, "Bearer s3cret-token");
    free(auth);
    assert_int_equal(stats(p).spooled, 0); /* up: nothing touched the disk */

    /* the endpoint goes away; alerts keep coming */
    https_sink_down(sink);
    for (int i = 50; i < 250; i++) {
        assert_int_equal(write_alert(p, i), 0);
        if (i % 50 == 0)
            sleep_ms(30); /* let the sender try (and fail) in between */
    }
    WAIT_FOR(stats(p).failed >= 2);
    struct prn_net_stats st = stats(p);
    assert_true(st.spooled > 0);
    assert_true(st.spool_bytes > 0 && st.spool_bytes <= c.outputs.webhook.c.spool_max_size);
    assert_false(st.up);
    assert_int_equal(st.refused, 0);

    /* it comes back on the same port: everything arrives, in order */
    assert_int_equal(https_sink_up(sink), 0);
    WAIT_FOR(stats(p).sent >= 250 && stats(p).spool_records == 0 && stats(p).queued == 0);
    expect_in_order(sink, 250);
    st = stats(p);
    assert_true(st.retried > 0);
    assert_true(st.up);
    assert_int_equal(st.spool_bytes, 0);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
    https_sink_free(sink);
}

static void test_spool_full_refusals_counted_exactly(void **state)
{
    (void)state;
    struct https_sink *sink = https_sink_start(g_cert, g_key, 0);
    struct mz_config c;
    int refused = 0;
    assert_non_null(sink);
    https_sink_down(sink);
    config(&c, https_sink_port(sink), "full", g_ca);
    c.outputs.webhook.c.spool_max_size = 4096; /* about 25 of these alerts */
    c.outputs.webhook.c.queue = 4;
    struct prn_printer *p = prn_webhook_new(&c);
    assert_non_null(p);
    for (int i = 0; i < 100; i++) {
        int r = write_alert(p, i);
        if (r == -ENOSPC)
            refused++;
        else
            assert_int_equal(r, 0);
    }
    struct prn_net_stats st = stats(p);
    assert_true(refused > 0);
    assert_int_equal(st.refused, (uint64_t)refused);
    assert_true(st.spool_bytes <= 4096);
    /* what was not refused is all delivered once the endpoint is back */
    assert_int_equal(https_sink_up(sink), 0);
    WAIT_FOR(stats(p).spool_records == 0 && stats(p).queued == 0);
    size_t distinct = 0;
    int last = -1;
    for (size_t i = 0;; i++) {
        char *id = https_sink_id(sink, i);
        if (!id)
            break;
        int v = id_num(id);
        if (v > last) {
            distinct++;
            last = v;
        }
    }
    assert_int_equal(distinct + (size_t)refused, 100);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
    https_sink_free(sink);
}

/* The newest segment file in dir. */
static void last_segment(const char *dir, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[256] = "";
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0 && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", e->d_name);
    closedir(d);
    assert_true(best[0]);
    snprintf(out, outlen, "%s/%s", dir, best);
}

static void test_spool_survives_restart_and_torn_tail(void **state)
{
    (void)state;
    struct https_sink *sink = https_sink_start(g_cert, g_key, 0);
    struct mz_config c;
    char seg[512];
    assert_non_null(sink);
    https_sink_down(sink);
    config(&c, https_sink_port(sink), "restart", g_ca);
    c.outputs.webhook.c.drain_wait_ms = 100;
    struct prn_printer *p = prn_webhook_new(&c);
    assert_non_null(p);
    for (int i = 0; i < 30; i++)
        assert_int_equal(write_alert(p, i), 0);
    p->flush(p, true); /* exit: what is in memory is spooled */
    assert_int_equal(stats(p).spool_records, 30);
    p->destroy(p);

    /* a crash mid-append leaves half a record at the end */
    last_segment(c.outputs.webhook.c.spool_dir, seg, sizeof(seg));
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "MZS1\x40\x00\x00\x00zz", 10), 10);
    close(fd);

    /* the next start replays the spool first, in order */
    assert_int_equal(https_sink_up(sink), 0);
    p = prn_webhook_new(&c);
    assert_non_null(p);
    assert_int_equal(stats(p).torn, 1);
    for (int i = 30; i < 40; i++)
        assert_int_equal(write_alert(p, i), 0);
    WAIT_FOR(stats(p).sent >= 40 && stats(p).spool_records == 0 && stats(p).queued == 0);
    expect_in_order(sink, 40);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
    https_sink_free(sink);
}

static void test_wrong_ca_is_an_error_that_spools(void **state)
{
    (void)state;
    struct https_sink *sink = https_sink_start(g_cert, g_key, 0);
    struct mz_config c;
    assert_non_null(sink);
    config(&c, https_sink_port(sink), "wrongca", g_other_ca);
    struct prn_printer *p = prn_webhook_new(&c);
    assert_non_null(p);
    for (int i = 0; i < 5; i++)
        assert_int_equal(write_alert(p, i), 0);
    WAIT_FOR(stats(p).failed >= 1 && stats(p).spool_records == 5);
    assert_int_equal(stats(p).sent, 0);
    assert_int_equal(https_sink_requests(sink), 0); /* TLS stopped it before HTTP */
    p->flush(p, false);
    /* shorten the exit: nothing will get through */
    p->destroy(p);
    /* the same spool with the right CA: all five arrive */
    set_str(&c.outputs.webhook.ca_file, g_ca);
    p = prn_webhook_new(&c);
    assert_non_null(p);
    WAIT_FOR(stats(p).sent >= 5);
    expect_in_order(sink, 5);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
    https_sink_free(sink);
}

static struct mz_alert *make_alert(int i)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_recipe_ref r = {.id = "r", .importance = MZ_IMP_LOW};
    o->proc.pid = i;
    o->file.path = mz_strdup("/etc/shadow");
    struct mz_alert *a = mz_alert_new(mz_detection_new(o, &r), "h");
    mz_observation_free(o);
    return a;
}

static void test_down_endpoint_does_not_hold_up_varlog(void **state)
{
    (void)state;
    struct https_sink *sink = https_sink_start(g_cert, g_key, 0);
    struct mz_config c;
    char log[256];
    assert_non_null(sink);
    https_sink_down(sink);
    config(&c, https_sink_port(sink), "isolation", g_ca);
    c.printers.stdout_.enabled = false;
    snprintf(log, sizeof(log), "%s/varlog/alerts.log", g_dir);
    set_str(&c.printers.varlog.path, log);
    c.printers.varlog.fsync = MZ_FSYNC_NEVER;
    c.outputs.webhook.c.timeout_ms = 30000; /* a slow failure would show */
    c.outputs.webhook.c.drain_wait_ms = 200;
    struct prn_output *o = prn_output_new(&c);
    assert_non_null(o);
    assert_int_equal(prn_output_start(o), 0);
    for (int i = 0; i < 500; i++)
        prn_output_submit(o, make_alert(i));
    WAIT_FOR(prn_output_written(o, "varlog") == 500);
    WAIT_FOR(prn_output_written(o, "webhook") == 500); /* taken: queued or spooled */
    const char *name;
    struct prn_net_stats st;
    assert_int_equal(prn_output_net_stats(o, 0, &name, &st), 0);
    assert_string_equal(name, "webhook");
    assert_int_equal(st.sent, 0);
    assert_int_equal(prn_output_net_stats(o, 1, &name, &st), -ENOENT);
    /* the same counters in status.json */
    cJSON *j = prn_output_stats_json(o);
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "webhook"), "delivery");
    assert_non_null(d);
    assert_true(cJSON_GetObjectItem(d, "spooled")->valuedouble > 0);
    assert_true(cJSON_GetObjectItem(d, "failed")->valuedouble >= 1);
    cJSON_Delete(j);
    prn_output_drain(o);
    prn_output_free(o);
    mz_config_free(&c);
    https_sink_free(sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_and_back_nothing_missing_in_order),
        cmocka_unit_test(test_spool_full_refusals_counted_exactly),
        cmocka_unit_test(test_spool_survives_restart_and_torn_tail),
        cmocka_unit_test(test_wrong_ca_is_an_error_that_spools),
        cmocka_unit_test(test_down_endpoint_does_not_hold_up_varlog),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
