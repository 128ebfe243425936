// SPDX-License-Identifier: Apache-2.0
/*
 * test_stage.c - the stage runner with real threads: argument checks, a
 * worker pool, thread names, results, and a three-stage pipeline
 * (source -> pool of 3 -> sink, joined by MPMC queues and waiters) stopped
 * with mz_stages_join_in_order while items are in flight, which must deliver
 * every item the source produced: nothing lost in the drain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/stage.h"

static void *noop(void *arg)
{
    (void)arg;
    return NULL;
}

static void test_add_errors(void **state)
{
    (void)state;
    struct mz_stage_set *set = mz_stages_new();
    assert_non_null(set);
    assert_int_equal(mz_stages_start(set), -EINVAL); /* empty */
    assert_int_equal(mz_stage_add(set, NULL, noop, NULL, 1), -EINVAL);
    assert_int_equal(mz_stage_add(set, "", noop, NULL, 1), -EINVAL);
    assert_int_equal(mz_stage_add(set, "a", NULL, NULL, 1), -EINVAL);
    assert_int_equal(mz_stage_add(set, "a", noop, NULL, 0), -EINVAL);
    assert_int_equal(mz_stage_add(set, "a", noop, NULL, MZ_STAGE_MAX_THREADS + 1), -EINVAL);
    char longname[MZ_STAGE_NAME_MAX + 2];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(mz_stage_add(set, longname, noop, NULL, 1), -EINVAL);
    longname[MZ_STAGE_NAME_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(mz_stage_add(set, longname, noop, NULL, 1), 0);
    assert_int_equal(mz_stage_add(set, "b", noop, NULL, 2), 1);
    assert_int_equal(mz_stage_add(set, "b", noop, NULL, 1), -EINVAL); /* duplicate */
    assert_int_equal(mz_stage_find(set, "b"), 1);
    assert_int_equal(mz_stage_find(set, longname), 0);
    assert_int_equal(mz_stage_find(set, "zz"), -ENOENT);
    assert_int_equal(mz_stage_request_stop(set, 2), -EINVAL);
    assert_int_equal(mz_stage_request_stop(set, -1), -EINVAL);
    assert_int_equal(mz_stage_set_waiter(set, 5, NULL), -EINVAL);
    assert_int_equal(mz_stages_start(set), 0);
    assert_int_equal(mz_stages_start(set), -EBUSY);
    assert_int_equal(mz_stage_add(set, "c", noop, NULL, 1), -EBUSY);
    mz_stages_join_in_order(set);
    mz_stages_join_in_order(set); /* twice is fine */
    mz_stages_free(set);
    mz_stages_free(NULL);

    set = mz_stages_new();
    assert_non_null(set);
    for (int i = 0; i < MZ_STAGE_MAX; i++) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", i);
        assert_int_equal(mz_stage_add(set, name, noop, NULL, 1), i);
    }
    assert_int_equal(mz_stage_add(set, "one-more", noop, NULL, 1), -ENOSPC);
    mz_stages_free(set); /* never started */
}

static void test_outside_stage(void **state)
{
    (void)state;
    assert_false(mz_stage_should_stop());
    assert_int_equal(mz_stage_worker(), 0);
    assert_string_equal(mz_stage_name(), "");
}

/* A pool: each worker records its index and thread name, waits for its stop
 * flag (with a timeout, no waiter registered) and returns its index + 1. */
#define POOL 4

struct pool {
    _Atomic int seen_index[POOL];
    char names[POOL][16];
    char stage_name[POOL][MZ_STAGE_NAME_MAX + 1];
    _Atomic int bad_index;
    _Atomic int returned;
};

static void *pool_main(void *arg)
{
    struct pool *p = arg;
    unsigned w = mz_stage_worker();
    if (w >= POOL) {
        atomic_fetch_add(&p->bad_index, 1);
        return NULL;
    }
    atomic_fetch_add(&p->seen_index[w], 1);
    pthread_getname_np(pthread_self(), p->names[w], sizeof(p->names[w]));
    snprintf(p->stage_name[w], sizeof(p->stage_name[w]), "%s", mz_stage_name());
    while (!mz_stage_should_stop())
        usleep(1000);
    atomic_fetch_add(&p->returned, 1);
    return (void *)(uintptr_t)(w + 1);
}

static void *single_main(void *arg)
{
    char *name = arg;
    pthread_getname_np(pthread_self(), name, 16);
    while (!mz_stage_should_stop())
        usleep(1000);
    return (void *)(uintptr_t)42;
}

static void test_pool_names_results(void **state)
{
    (void)state;
    struct pool p;
    memset(&p, 0, sizeof(p));
    char single_name[16] = "";
    struct mz_stage_set *set = mz_stages_new();
    assert_non_null(set);
    assert_int_equal(mz_stage_add(set, "a-long-stage-name", pool_main, &p, POOL), 0);
    assert_int_equal(mz_stage_add(set, "solo", single_main, single_name, 1), 1);
    assert_int_equal(mz_stages_start(set), 0);
    /* Stop only the solo stage: the pool must keep running. */
    assert_int_equal(mz_stage_request_stop(set, 1), 0);
    usleep(50000);
    assert_null(mz_stage_result(set, 1, 0)); /* not joined yet */
    assert_int_equal(atomic_load(&p.returned), 0);
    mz_stages_join_in_order(set);
    assert_int_equal(atomic_load(&p.bad_index), 0);
    for (unsigned i = 0; i < POOL; i++) {
        assert_int_equal(atomic_load(&p.seen_index[i]), 1);
        char want[16];
        snprintf(want, sizeof(want), "a-long-stage-/%u", i); /* cut to 15 bytes */
        assert_string_equal(p.names[i], want);
        assert_string_equal(p.stage_name[i], "a-long-stage-name");
        assert_int_equal((uintptr_t)mz_stage_result(set, 0, i), i + 1);
    }
    assert_string_equal(single_name, "solo");
    assert_int_equal((uintptr_t)mz_stage_result(set, 1, 0), 42);
    assert_null(mz_stage_result(set, 0, POOL));
    assert_null(mz_stage_result(set, 2, 0));
    mz_stages_free(set);
}

/* ---- a pipeline drained stage by stage ----------------------------------- */

#define MID_THREADS 3

struct pipe {
    struct mz_mpmc *q1, *q2;
    struct mz_waiter w1, w2;
    uint64_t produced; /* written by the source, read after its join */
    _Atomic uint64_t passed;
    uint64_t sunk, sum; /* written by the sink, read after its join */
    /* Threads of each stage that have returned, and faults seen when a stage
     * noticed its stop flag before its upstream had finished. */
    _Atomic int exited[3];
    _Atomic int early_stop;
};

static void *source_main(void *arg)
{
    struct pipe *p = arg;
    uint64_t n = 0;
    while (!mz_stage_should_stop()) {
        void *item = (void *)(uintptr_t)(n + 1);
        while (!mz_mpmc_push(p->q1, item)) {
            if (mz_stage_should_stop())
                goto out; /* backpressure: the item is simply not produced */
            sched_yield();
        }
        n++;
        mz_waiter_wake(&p->w1);
    }
out:
    p->produced = n;
    atomic_fetch_add(&p->exited[0], 1);
    return NULL;
}

/* The loop from stage.h's contract. */
static void *mid_main(void *arg)
{
    struct pipe *p = arg;
    for (;;) {
        void *item;
        if (!mz_mpmc_pop(p->q1, &item)) {
            uint32_t seen = mz_waiter_prepare(&p->w1);
            if (!mz_mpmc_pop(p->q1, &item)) {
                if (mz_stage_should_stop()) {
                    mz_waiter_cancel(&p->w1);
                    if (atomic_load(&p->exited[0]) != 1)
                        atomic_fetch_add(&p->early_stop, 1);
                    break;
                }
                mz_waiter_wait(&p->w1, seen, 0);
                continue;
            }
            mz_waiter_cancel(&p->w1);
        }
        while (!mz_mpmc_push(p->q2, item))
            sched_yield();
        atomic_fetch_add_explicit(&p->passed, 1, memory_order_relaxed);
        mz_waiter_wake(&p->w2);
    }
    atomic_fetch_add(&p->exited[1], 1);
    return NULL;
}

static void *sink_main(void *arg)
{
    struct pipe *p = arg;
    for (;;) {
        void *item;
        if (!mz_mpmc_pop(p->q2, &item)) {
            uint32_t seen = mz_waiter_prepare(&p->w2);
            if (!mz_mpmc_pop(p->q2, &item)) {
                if (mz_stage_should_stop()) {
                    mz_waiter_cancel(&p->w2);
                    if (atomic_load(&p->exited[1]) != MID_THREADS)
                        atomic_fetch_add(&p->early_stop, 1);
                    break;
                }
                mz_waiter_wait(&p->w2, seen, 0);
                continue;
            }
            mz_waiter_cancel(&p->w2);
        }
        p->sunk++;
        p->sum += (uint64_t)(uintptr_t)item;
        if (p->sunk % 1024 == 0)
            usleep(50); /* a slow sink: q2 fills, the pool blocks, q1 fills */
    }
    atomic_fetch_add(&p->exited[2], 1);
    return NULL;
}

static void test_pipeline_drains_in_order(void **state)
{
    (void)state;
    static struct pipe p; /* big enough to keep off the stack */
    memset(&p, 0, sizeof(p));
    p.q1 = mz_mpmc_new(256);
    p.q2 = mz_mpmc_new(64);
    assert_non_null(p.q1);
    assert_non_null(p.q2);
    mz_waiter_init(&p.w1);
    mz_waiter_init(&p.w2);
    struct mz_stage_set *set = mz_stages_new();
    assert_non_null(set);
    assert_int_equal(mz_stage_add(set, "source", source_main, &p, 1), 0);
    assert_int_equal(mz_stage_add(set, "mid", mid_main, &p, MID_THREADS), 1);
    assert_int_equal(mz_stage_add(set, "sink", sink_main, &p, 1), 2);
    /* Both consumer stages sleep without a timeout: only a wake or the
     * stop request (through the registered waiter) gets them out. */
    assert_int_equal(mz_stage_set_waiter(set, 1, &p.w1), 0);
    assert_int_equal(mz_stage_set_waiter(set, 2, &p.w2), 0);
    assert_int_equal(mz_stages_start(set), 0);
    usleep(300000);
    /* Items are in flight in both queues now (the sink is slow). */
    mz_stages_join_in_order(set);

    assert_int_equal(atomic_load(&p.early_stop), 0);
    assert_int_equal(atomic_load(&p.exited[0]), 1);
    assert_int_equal(atomic_load(&p.exited[1]), MID_THREADS);
    assert_int_equal(atomic_load(&p.exited[2]), 1);
    assert_true(p.produced > 0);
    assert_int_equal(atomic_load(&p.passed), p.produced);
    assert_int_equal(p.sunk, p.produced);
    /* Items are 1..produced, each once: their sum proves no duplicate made
     * up for a loss. */
    assert_int_equal(p.sum, p.produced * (p.produced + 1) / 2);
    void *item;
    assert_false(mz_mpmc_pop(p.q1, &item));
    assert_false(mz_mpmc_pop(p.q2, &item));
    printf("pipeline: %llu items through source -> mid x%d -> sink\n",
           (unsigned long long)p.produced, MID_THREADS);
    mz_stages_free(set);
    mz_mpmc_free(p.q1);
    mz_mpmc_free(p.q2);
}

/* Freeing a running set stops and joins it. */
static void *until_stop(void *arg)
{
    _Atomic int *ran = arg;
    atomic_fetch_add(ran, 1);
    while (!mz_stage_should_stop())
        usleep(1000);
    return NULL;
}

static void test_free_running(void **state)
{
    (void)state;
    _Atomic int ran = 0;
    struct mz_stage_set *set = mz_stages_new();
    assert_non_null(set);
    assert_int_equal(mz_stage_add(set, "x", until_stop, &ran, 2), 0);
    assert_int_equal(mz_stage_add(set, "y", until_stop, &ran, 1), 1);
    assert_int_equal(mz_stages_start(set), 0);
    while (atomic_load(&ran) < 3)
        usleep(1000);
    mz_stages_free(set);
    assert_int_equal(atomic_load(&ran), 3);
}

/* A stage that ignores its stop flag until released: what a stuck printer
 * or collector looks like to the shutdown bound. */
static _Atomic bool release_stuck;

static void *stuck(void *arg)
{
    (void)arg;
    while (!atomic_load(&release_stuck))
        usleep(1000);
    return NULL;
}

static void test_running_names_what_is_left(void **state)
{
    (void)state;
    char buf[128];
    _Atomic int ran = 0;
    struct mz_stage_set *set = mz_stages_new();
    assert_int_equal(mz_stages_running(set, buf, sizeof(buf)), 0); /* not started */
    assert_string_equal(buf, "");
    assert_int_equal(mz_stage_add(set, "quick", until_stop, &ran, 1), 0);
    assert_int_equal(mz_stage_add(set, "stuck", stuck, NULL, 2), 1);
    atomic_store(&release_stuck, false);
    assert_int_equal(mz_stages_start(set), 0);
    while (atomic_load(&ran) < 1)
        usleep(1000);
    assert_int_equal(mz_stages_running(set, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "quick, stuck (2 of 2)");
    assert_int_equal(mz_stage_request_stop(set, 0), 0);
    assert_int_equal(mz_stage_request_stop(set, 1), 0);
    for (int i = 0; i < 5000 && mz_stages_running(set, buf, sizeof(buf)) != 2; i++)
        usleep(1000);
    /* the stopped stage returned; the stuck one is what is left */
    assert_int_equal(mz_stages_running(set, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "stuck (2 of 2)");
    assert_int_equal(mz_stages_running(set, buf, 4), 2); /* cut, still terminated */
    assert_int_equal(strlen(buf), 3);
    atomic_store(&release_stuck, true);
    mz_stages_free(set);
}

/* Health: a thread whose function returned before the shutdown join is
 * "exited" (a dead stage, or one stopped by the test hook); once the join
 * has begun, returns are expected and nothing is reported. */
static void test_exited_outside_the_join(void **state)
{
    (void)state;
    char buf[128];
    _Atomic int ran = 0;
    struct mz_stage_set *set = mz_stages_new();
    assert_int_equal(mz_stages_exited(set, buf, sizeof(buf)), 0); /* not started */
    assert_int_equal(mz_stage_add(set, "collector", until_stop, &ran, 1), 0);
    assert_int_equal(mz_stage_add(set, "detect", until_stop, &ran, 2), 1);
    assert_int_equal(mz_stages_start(set), 0);
    while (atomic_load(&ran) < 3)
        usleep(1000);
    assert_int_equal(mz_stages_exited(set, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(mz_stage_request_stop(set, 1), 0); /* detect dies */
    for (int i = 0; i < 5000 && mz_stages_exited(set, buf, sizeof(buf)) != 2; i++)
        usleep(1000);
    assert_int_equal(mz_stages_exited(set, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "detect");
    mz_stages_join_in_order(set); /* the shutdown: every return is expected */
    assert_int_equal(mz_stages_exited(set, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    mz_stages_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_errors),
        cmocka_unit_test(test_outside_stage),
        cmocka_unit_test(test_pool_names_results),
        cmocka_unit_test(test_pipeline_drains_in_order),
        cmocka_unit_test(test_free_running),
        cmocka_unit_test(test_running_names_what_is_left),
        cmocka_unit_test(test_exited_outside_the_join),
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
