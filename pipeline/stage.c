// SPDX-License-Identifier: Apache-2.0
/*
 * stage.c - the stage runner declared in stage.h: a fixed table of stages,
 * each with its threads, a stop flag and an optional waiter to wake on stop.
 *
 * A thread learns its stage through a thread-local pointer set by the
 * trampoline before the stage function runs, so that stage functions keep
 * the plain pthread signature and mz_stage_should_stop() needs no argument.
 * The table is written only by the controlling thread before start; after
 * start, threads only read it, except for the atomic stop flags and waiter
 * pointers.
 */
#include "pipeline/stage.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct stage;

struct worker {
    struct stage *stage;
    unsigned index;
    pthread_t thread;
    bool started; /* pthread_create succeeded */
    bool joined;
    _Atomic bool returned; /* the stage function returned (read by mz_stages_running) */
    void *result;
};

struct stage {
    char name[MZ_STAGE_NAME_MAX + 1];
    void *(*fn)(void *);
    void *arg;
    unsigned nthreads;
    _Atomic bool stop;
    struct mz_waiter *_Atomic waiter;
    struct worker *workers;
};

struct mz_stage_set {
    struct stage stages[MZ_STAGE_MAX];
    int count;
    bool started;
    _Atomic bool joining; /* mz_stages_join_in_order began: returns are expected */
};

static _Thread_local const struct worker *current;

struct mz_stage_set *mz_stages_new(void)
{
    return calloc(1, sizeof(struct mz_stage_set));
}

void mz_stages_free(struct mz_stage_set *set)
{
    if (!set)
        return;
    mz_stages_join_in_order(set);
    for (int i = 0; i < set->count; i++)
        free(set->stages[i].workers);
    free(set);
}

int mz_stage_find(const struct mz_stage_set *set, const char *name)
{
    if (!set || !name)
        return -ENOENT;
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->stages[i].name, name) == 0)
            return i;
    return -ENOENT;
}

int mz_stage_add(struct mz_stage_set *set, const char *name, void *(*fn)(void *), void *arg,
                 unsigned nthreads)
{
    if (!set || !name || !fn || nthreads < 1 || nthreads > MZ_STAGE_MAX_THREADS)
        return -EINVAL;
    size_t len = strlen(name);
    if (len < 1 || len > MZ_STAGE_NAME_MAX || mz_stage_find(set, name) >= 0)
        return -EINVAL;
    if (set->started)
        return -EBUSY;
    if (set->count >= MZ_STAGE_MAX)
        return -ENOSPC;
    struct worker *workers = calloc(nthreads, sizeof(*workers));
    if (!workers)
        return -ENOMEM;
    struct stage *st = &set->stages[set->count];
    memcpy(st->name, name, len + 1);
    st->fn = fn;
    st->arg = arg;
    st->nthreads = nthreads;
    atomic_init(&st->stop, false);
    atomic_init(&st->waiter, NULL);
    st->workers = workers;
    for (unsigned i = 0; i < nthreads; i++) {
        workers[i].stage = st;
        workers[i].index = i;
        atomic_init(&workers[i].returned, false);
    }
    return set->count++;
}

static struct stage *stage_at(const struct mz_stage_set *set, int index)
{
    if (!set || index < 0 || index >= set->count)
        return NULL;
    return (struct stage *)&set->stages[index];
}

int mz_stage_set_waiter(struct mz_stage_set *set, int index, struct mz_waiter *w)
{
    struct stage *st = stage_at(set, index);
    if (!st)
        return -EINVAL;
    atomic_store(&st->waiter, w);
    return 0;
}

int mz_stage_request_stop(struct mz_stage_set *set, int index)
{
    struct stage *st = stage_at(set, index);
    if (!st)
        return -EINVAL;
    atomic_store_explicit(&st->stop, true, memory_order_release);
    struct mz_waiter *w = atomic_load(&st->waiter);
    if (w)
        mz_waiter_wake(w);
    return 0;
}

/* "name" or "name/N", cut so that it fits the kernel's 16 bytes. */
static void thread_name(const struct worker *wk, char out[16])
{
    char suffix[8] = "";
    if (wk->stage->nthreads > 1)
        snprintf(suffix, sizeof(suffix), "/%u", wk->index);
    size_t room = 15 - strlen(suffix);
    size_t n = strlen(wk->stage->name);
    if (n > room)
        n = room;
    memcpy(out, wk->stage->name, n);
    memcpy(out + n, suffix, strlen(suffix) + 1);
}

static void *trampoline(void *arg)
{
    const struct worker *wk = arg;
    current = wk;
    char name[16];
    thread_name(wk, name);
    pthread_setname_np(pthread_self(), name);
    /* Stage threads are consumers woken by the stage before them. SCHED_BATCH
     * turns off wakeup preemption for them: on a busy core a woken stage
     * waits for the thread that woke it to block or use its slice, then takes
     * everything queued meanwhile in one go, instead of one context switch
     * per item (measured by bench/pipeline on one core: about a third more
     * alerts per second). On an idle core it runs at once, as before. */
    struct sched_param sp = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) != 0)
        log_debug("stage %s: SCHED_BATCH refused; scheduling left as it is", wk->stage->name);
    log_debug("stage %s: thread %u started", wk->stage->name, wk->index);
    void *ret = wk->stage->fn(wk->stage->arg);
    atomic_store(&((struct worker *)wk)->returned, true);
    log_debug("stage %s: thread %u returned", wk->stage->name, wk->index);
    current = NULL;
    return ret;
}

static void join_stage(struct stage *st)
{
    for (unsigned i = 0; i < st->nthreads; i++) {
        struct worker *wk = &st->workers[i];
        if (!wk->started || wk->joined)
            continue;
        int err = pthread_join(wk->thread, &wk->result);
        if (err)
            log_error("stage %s: pthread_join: %s", st->name, strerror(err));
        wk->joined = true;
    }
}

void mz_stages_join_in_order(struct mz_stage_set *set)
{
    if (!set || !set->started)
        return;
    atomic_store(&set->joining, true);
    for (int i = 0; i < set->count; i++) {
        mz_stage_request_stop(set, i);
        join_stage(&set->stages[i]);
    }
}

size_t mz_stages_running(const struct mz_stage_set *set, char *buf, size_t len)
{
    size_t threads = 0, used = 0;
    if (len)
        buf[0] = 0;
    if (!set || !set->started)
        return 0;
    for (int i = 0; i < set->count; i++) {
        const struct stage *st = &set->stages[i];
        unsigned n = 0;
        for (unsigned j = 0; j < st->nthreads; j++)
            n += st->workers[j].started && !atomic_load(&st->workers[j].returned);
        if (!n)
            continue;
        threads += n;
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", st->name);
            if (w > 0 && st->nthreads > 1 && (size_t)w < len - used)
                w += snprintf(buf + used + (size_t)w, len - used - (size_t)w, " (%u of %u)", n,
                              st->nthreads);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return threads;
}

size_t mz_stages_exited(const struct mz_stage_set *set, char *buf, size_t len)
{
    size_t threads = 0, used = 0;
    if (len)
        buf[0] = 0;
    if (!set || !set->started || atomic_load(&set->joining))
        return 0;
    for (int i = 0; i < set->count; i++) {
        const struct stage *st = &set->stages[i];
        unsigned n = 0;
        for (unsigned j = 0; j < st->nthreads; j++)
            n += st->workers[j].started && atomic_load(&st->workers[j].returned);
        if (!n)
            continue;
        threads += n;
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", st->name);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return threads;
}

int mz_stages_start(struct mz_stage_set *set)
{
    if (!set || set->count == 0)
        return -EINVAL;
    if (set->started)
        return -EBUSY;
    set->started = true;
    for (int i = 0; i < set->count; i++) {
        struct stage *st = &set->stages[i];
        for (unsigned j = 0; j < st->nthreads; j++) {
            struct worker *wk = &st->workers[j];
            int err = pthread_create(&wk->thread, NULL, trampoline, wk);
            if (err) {
                log_error("stage %s: pthread_create: %s", st->name, strerror(err));
                mz_stages_join_in_order(set);
                return -err;
            }
            wk->started = true;
        }
    }
    return 0;
}

void *mz_stage_result(const struct mz_stage_set *set, int index, unsigned worker)
{
    const struct stage *st = stage_at(set, index);
    if (!st || worker >= st->nthreads || !st->workers[worker].joined)
        return NULL;
    return st->workers[worker].result;
}

bool mz_stage_should_stop(void)
{
    const struct worker *wk = current;
    return wk && atomic_load_explicit(&wk->stage->stop, memory_order_acquire);
}

unsigned mz_stage_worker(void)
{
    return current ? current->index : 0;
}

const char *mz_stage_name(void)
{
    return current ? current->stage->name : "";
}
