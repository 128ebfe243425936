/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stage.h - the stage runner: one thread per pipeline stage, or a pool of N
 * threads running the same function, each thread named after its stage, and
 * a stop flag per stage so that the daemon can shut the pipeline down stage
 * by stage, draining every queue on the way.
 *
 * Life cycle (all calls below from one controlling thread):
 *
 *     set = mz_stages_new();
 *     mz_stage_add(set, "collector", collector_main, &col, 1);
 *     mz_stage_add(set, "detect", detect_main, &det, 2);        // a pool
 *     mz_stage_set_waiter(set, 1, &det.waiter);                  // optional
 *     mz_stage_add(set, "printer", printer_main, &prn, 1);
 *     if (mz_stages_start(set) < 0) ...
 *     ... until SIGTERM ...
 *     mz_stages_join_in_order(set);   // stops and joins collector, then
 *     mz_stages_free(set);            // detect, then printer
 *
 * Contract of a stage function: it runs until mz_stage_should_stop() returns
 * true, then drains its input queue and returns. mz_stages_join_in_order
 * requests the stop of stage i only after every thread of stages 0..i-1 has
 * returned, so when a stage sees its stop flag its producers are gone and
 * one last "pop until empty" pass loses nothing:
 *
 *     void *detect_main(void *arg) {
 *         struct det *d = arg;
 *         for (;;) {
 *             void *item;
 *             if (mz_mpmc_pop(d->in, &item)) { handle(d, item); continue; }
 *             uint32_t seen = mz_waiter_prepare(&d->waiter);
 *             if (mz_mpmc_pop(d->in, &item)) {
 *                 mz_waiter_cancel(&d->waiter); handle(d, item); continue;
 *             }
 *             if (mz_stage_should_stop()) { mz_waiter_cancel(&d->waiter); break; }
 *             mz_waiter_wait(&d->waiter, seen, 0);
 *         }
 *         return NULL;   // the queue is empty and no producer is left
 *     }
 *
 * A stage that sleeps on a waiter registers it with mz_stage_set_waiter so
 * that mz_stage_request_stop wakes it; otherwise it must wait with a timeout.
 * Stopping an upstream stage early (e.g. the collector, on SIGTERM, from the
 * main thread) is allowed: requests are idempotent.
 *
 * The return value of a stage function is kept: mz_stage_result reads it
 * after the join (by convention NULL means success).
 *
 * Return convention: 0 (or an index) or a negative errno; mz_stages_new
 * returns NULL only if out of memory; mz_stages_free accepts NULL.
 */
#ifndef MIZAN_PIPELINE_STAGE_H
#define MIZAN_PIPELINE_STAGE_H

#include <stdbool.h>

#include "pipeline/queue.h"

#define MZ_STAGE_MAX         32 /* stages per set */
#define MZ_STAGE_MAX_THREADS 64 /* threads per stage */
#define MZ_STAGE_NAME_MAX    31 /* bytes, NUL excluded */

struct mz_stage_set;

struct mz_stage_set *mz_stages_new(void);
/* Joins whatever still runs (as mz_stages_join_in_order), then frees. */
void mz_stages_free(struct mz_stage_set *set);

/*
 * Adds a stage of nthreads (1..MZ_STAGE_MAX_THREADS) threads that each run
 * fn(arg); a pool shares arg, so fn tells its workers apart with
 * mz_stage_worker(). name: 1..MZ_STAGE_NAME_MAX bytes, unique in the set; the
 * thread name (15 bytes at most, a kernel limit) is the name, cut to fit,
 * followed by "/N" in a pool. Returns the stage's index (>= 0, in order of
 * addition), -EINVAL (bad argument, duplicate name), -ENOSPC (MZ_STAGE_MAX
 * reached) or -EBUSY (the set was already started).
 */
int mz_stage_add(struct mz_stage_set *set, const char *name, void *(*fn)(void *), void *arg,
                 unsigned nthreads) __attribute__((warn_unused_result));
/* Index of the stage named name, or -ENOENT. */
int mz_stage_find(const struct mz_stage_set *set, const char *name);
/* Registers a waiter that mz_stage_request_stop wakes (before start or not).
 * Returns 0 or -EINVAL. */
int mz_stage_set_waiter(struct mz_stage_set *set, int index, struct mz_waiter *w);

/*
 * Starts every thread, stages in order of addition. On failure (-errno of
 * pthread_create) the threads already started are stopped and joined in
 * order, and the set can only be freed. -EBUSY if already started, -EINVAL
 * if the set is empty.
 */
int mz_stages_start(struct mz_stage_set *set) __attribute__((warn_unused_result));

/* Sets the stop flag of stage index and wakes its waiter if it has one. Safe
 * from any thread, idempotent. Returns 0 or -EINVAL. Not async-signal-safe:
 * a signal handler sets a flag and the main thread calls this. */
int mz_stage_request_stop(struct mz_stage_set *set, int index);

/*
 * For each stage in order of addition: requests its stop and joins all its
 * threads, then goes on to the next. Returns once every thread has returned.
 * Safe to call more than once; does nothing if the set never started.
 */
void mz_stages_join_in_order(struct mz_stage_set *set);

/* The stages that have a thread whose function has not returned yet, as
 * "collector, detect (1 of 2)" in buf (cut to len bytes). Returns the number
 * of such threads. Safe from any thread while another joins: what a
 * shutdown deadline reports as left behind. */
size_t mz_stages_running(const struct mz_stage_set *set, char *buf, size_t len);

/* Health (http/, /healthz): the stages with a thread whose function
 * returned although mz_stages_join_in_order had not begun -- a stage that
 * died, or one stopped on its own by mz_stage_request_stop (the test hook
 * MIZAN_TEST_KILL_STAGE, daemon/run.c). Names them in buf as
 * mz_stages_running does; returns the number of such threads (0 once the
 * shutdown join has begun). Safe from any thread. */
size_t mz_stages_exited(const struct mz_stage_set *set, char *buf, size_t len);

/* After the join: what thread `worker` of stage index returned (NULL if it
 * has not been joined or the arguments are out of range). */
void *mz_stage_result(const struct mz_stage_set *set, int index, unsigned worker);

/* ---- inside a stage thread ---------------------------------------------- */

/* True once the calling thread's stage was asked to stop (false outside a
 * stage thread). One atomic load. */
bool mz_stage_should_stop(void);
/* 0..nthreads-1 in the calling stage thread (0 outside one). */
unsigned mz_stage_worker(void);
/* The calling thread's stage name ("" outside one). */
const char *mz_stage_name(void);

#endif
