// SPDX-License-Identifier: Apache-2.0
/* test_prn_net.c - the network outputs' delivery engine (printers/prn_net.c)
 * with a scripted in-process transport: under failures at random points,
 * with a queue smaller than a batch's worth of writes, every record arrives
 * and first arrivals keep the write order; records the endpoint rejects for
 * good are counted and do not block the rest; at exit with the endpoint
 * down, memory is spooled. The writer and the sender race here (run it
 * under TSan too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

enum mode { OK, FLAKY, DOWN, REJECT };

struct fake {
    pthread_mutex_t mu;
    enum mode mode;
    uint64_t seed;
    int *got;
    size_t n, cap;
    size_t attempts;
};

static int fake_send(void *ctx, const struct prn_rec *recs, size_t n, uint64_t timeout_ms,
                     char *err, size_t errlen)
{
    struct fake *f = ctx;
    int r = 0;
    (void)timeout_ms;
    pthread_mutex_lock(&f->mu);
    f->attempts++;
    f->seed = f->seed * 6364136223846793005ull + 1442695040888963407ull;
    if (f->mode == DOWN || (f->mode == FLAKY && (f->seed >> 33) % 3 == 0)) {
        snprintf(err, errlen, "scripted failure");
        r = PRN_SEND_RETRY;
    } else if (f->mode == REJECT) {
        snprintf(err, errlen, "scripted rejection");
        r = PRN_SEND_REJECT;
    } else {
        for (size_t i = 0; i < n; i++) {
            char *e;
            long v = strtol(recs[i].data + 1, &e, 10);
            assert_true(recs[i].data[0] == 'r' && *e == '\0' &&
                        recs[i].len == strlen(recs[i].data));
            if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 1024;
                f->got = mz_realloc(f->got, f->cap * sizeof(*f->got));
            }
            f->got[f->n++] = (int)v;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static void fake_free(void *ctx)
{
    (void)ctx; /* the test owns it */
}

static void set_mode(struct fake *f, enum mode m)
{
    pthread_mutex_lock(&f->mu);
    f->mode = m;
    pthread_mutex_unlock(&f->mu);
}

static char g_dir[64];

static struct prn_printer *make(struct fake *f, const char *tag, uint32_t queue, uint32_t batch,
                                uint64_t spool_max)
{
    char spool[128];
    struct mz_output_common o = {0};
    struct prn_transport *t = mz_calloc(1, sizeof(*t));
    snprintf(spool, sizeof(spool), "%s/%s", g_dir, tag);
    o.enabled = true;
    o.queue = queue;
    o.batch = batch;
    o.batch_wait_ms = 1;
    o.timeout_ms = 1000;
    o.retry_min_ms = 1;
    o.retry_max_ms = 4;
    o.spool_dir = spool;
    o.spool_max_size = spool_max;
    o.spool_fsync = MZ_FSYNC_NEVER;
    o.drain_wait_ms = 2000;
    t->name = "fake";
    t->ctx = f;
    t->send = fake_send;
    t->free = fake_free;
    struct prn_printer *p = prn_net_new(&o, t);
    assert_non_null(p);
    return p;
}

static struct prn_net_stats stats(struct prn_printer *p)
{
    struct prn_net_stats s;
    assert_int_equal(prn_net_stats(p, &s), 0);
    return s;
}

static int w(struct prn_printer *p, int i)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "r%d", i);
    return p->write(p, line, (size_t)n);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void fake_init(struct fake *f, enum mode m)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->mode = m;
    f->seed = 42;
}

static void fake_fini(struct fake *f)
{
    free(f->got);
    pthread_mutex_destroy(&f->mu);
}

static void test_flaky_endpoint_in_order_nothing_missing(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f, FLAKY);
    struct prn_printer *p = make(&f, "flaky", 16, 7, 1 << 20);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(w(p, i), 0);
        if (i % 500 == 0)
            sleep_ms(2);
    }
    /* flaky, not down: everything gets through (bounded: 60 s) */
    for (int k = 0; k < 6000 && (stats(p).spool_records || stats(p).queued); k++)
        sleep_ms(10);
    p->flush(p, true);
    struct prn_net_stats st = stats(p);
    assert_int_equal(st.spool_records, 0);
    assert_int_equal(st.queued, 0);
    assert_true(st.failed > 0);
    assert_true(st.retried > 0);
    assert_true(st.spooled > 0);
    assert_int_equal(st.refused, 0);
    int next = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (f.got[i] == next)
            next++;
        else if (f.got[i] > next)
            fail_msg("r%d arrived before r%d", f.got[i], next);
    }
    assert_int_equal(next, 5000);
    assert_int_equal(st.sent, f.n);
    p->destroy(p);
    fake_fini(&f);
}

static void test_rejected_records_counted_and_skipped(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f, REJECT);
    struct prn_printer *p = make(&f, "reject", 64, 5, 1 << 20);
    for (int i = 0; i < 10; i++)
        assert_int_equal(w(p, i), 0);
    for (int k = 0; k < 500 && stats(p).rejected < 10; k++)
        sleep_ms(10);
    assert_int_equal(stats(p).rejected, 10);
    set_mode(&f, OK);
    for (int i = 10; i < 20; i++)
        assert_int_equal(w(p, i), 0);
    p->flush(p, true);
    assert_int_equal(stats(p).sent, 10);
    assert_int_equal(f.n, 10);
    assert_int_equal(f.got[0], 10);
    p->destroy(p);
    fake_fini(&f);
}

static void test_exit_while_down_spools_memory(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f, DOWN);
    struct prn_printer *p = make(&f, "down", 1000, 1000, 1 << 20);
    for (int i = 0; i < 100; i++)
        assert_int_equal(w(p, i), 0);
    /* drain_wait 2 s against an endpoint that never answers */
    p->flush(p, true);
    struct prn_net_stats st = stats(p);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.spool_records, 100);
    assert_int_equal(st.sent, 0);
    p->destroy(p);
    /* the next start sends them, in order */
    set_mode(&f, OK);
    p = make(&f, "down", 1000, 1000, 1 << 20);
    p->flush(p, true);
    assert_int_equal(f.n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(f.got[i], i);
    p->destroy(p);
    fake_fini(&f);
}

static int setup_all(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/mizan-net-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flaky_endpoint_in_order_nothing_missing),
        cmocka_unit_test(test_rejected_records_counted_and_skipped),
        cmocka_unit_test(test_exit_while_down_spools_memory),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
