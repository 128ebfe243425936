// SPDX-License-Identifier: Apache-2.0
/*
 * det_rate.c - rate limits (the alchemy `times` list and the global cap)
 * and the summaries of what they hold back.
 *
 * Each declared limit {kind, max} allows at most `max` emitted detections of
 * a recipe per key, where the key is what the kind names: the process (pid +
 * start time), its executable, its parent process, its parent's executable,
 * the whole ancestry, the command line, or one key for the host
 * (times_in_total). On top, the global cap allows `global_max` detections a
 * minute across all recipes; high and critical detections always pass it
 * (and count in it).
 *
 * The caller asks first (det_rate_check), emits, and only then spends the
 * budget (det_rate_spend): a detection held back, or one whose emission
 * failed, spends nothing. What a limit holds back is never dropped: it is
 * folded (det_rate_hold) into a pending summary per (recipe, limit, key) -
 * a count, the first and last times and the first detection as a sample -
 * that det_rate_flush emits when the limit's window ends, or at once with
 * `all` (shutdown). A summary is due at the end of the key's window
 * (detect.times_window after its first detection), one hour after its first
 * hold when the window is 0 (counts never restart), and at the end of the
 * minute for the global cap.
 *
 * Counters live in a fixed, set-associative table (4 ways per set; the least
 * recently used way is replaced), so memory is bounded whatever the
 * workload. Eviction forgets a count and can let a detection through again:
 * the table errs towards alerting. Pending summaries are bounded too
 * (PEND_MAX): when all are in use, the one due first is emitted early to
 * make room, so the bound costs timeliness, never a count. Keys hash the
 * recipe id, not its index, so counts survive a reload; a pending summary
 * holds its own copy of the recipe reference. The clock is the caller's
 * (monotonic ns), so tests drive time.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "detect/det_int.h"

#define WAYS                  4
#define PEND_MAX              512
#define MINUTE                (60ull * 1000000000ull)
#define FOREVER_SUMMARY_AFTER (3600ull * 1000000000ull) /* window 0: summaries hourly */

struct slot {
    uint64_t key;   /* 0: empty */
    uint64_t used;  /* tick of last use */
    uint64_t since; /* monotonic ns when this count started */
    uint32_t count;
    uint32_t pend; /* index + 1 of this key's pending summary, 0: none */
};

/* A summary being collected. */
struct pending {
    uint64_t key; /* the slot key it belongs to; 0: free */
    uint64_t due; /* monotonic ns */
    int limit;    /* index into the recipe's times[], or DET_RATE_GLOBAL */
    enum det_times_kind kind;
    uint32_t max;
    struct mz_summary sum;
    struct mz_recipe_ref ref;
    struct mz_observation sample;
};

struct det_rate {
    struct slot *slots;
    size_t n_sets; /* power of two */
    uint64_t tick;
    uint64_t window; /* ns; 0: counts never restart */

    uint32_t global_max; /* 0: no cap */
    uint64_t win_start;
    uint32_t win_count;
    bool win_started;

    struct pending *pend; /* PEND_MAX */
    uint64_t next_due;    /* earliest due among pending; UINT64_MAX: none */
    /* written by the detect thread, read by det_rate_stats from any thread */
    _Atomic uint64_t n_pend;
    _Atomic uint64_t held; /* detections in pending summaries */
    _Atomic uint64_t summaries, early;
};

struct det_rate *det_rate_new(size_t slots, uint64_t window_ns, uint32_t global_max)
{
    struct det_rate *r = mz_calloc(1, sizeof(*r));
    r->window = window_ns;
    r->global_max = global_max;
    size_t sets = 1;
    while (sets * WAYS < slots)
        sets <<= 1;
    r->n_sets = sets;
    r->slots = mz_calloc(sets * WAYS, sizeof(struct slot));
    r->pend = mz_calloc(PEND_MAX, sizeof(struct pending));
    r->next_due = UINT64_MAX;
    return r;
}

static void pending_clear(struct pending *p)
{
    free(p->sum.limit);
    free(p->sum.keys_json);
    mz_recipe_ref_clear(&p->ref);
    mz_observation_clear(&p->sample);
    memset(p, 0, sizeof(*p));
}

void det_rate_free(struct det_rate *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < PEND_MAX; i++)
        if (r->pend[i].key)
            pending_clear(&r->pend[i]);
    free(r->pend);
    free(r->slots);
    free(r);
}

static uint64_t hstr(uint64_t h, const char *s)
{
    if (!s)
        s = "";
    return det_hash64(s, strlen(s), h);
}

static uint64_t key_of(const struct det_recipe *rc, enum det_times_kind kind,
                       const struct mz_observation *o)
{
    uint64_t h = det_hash64(&kind, sizeof(kind), rc->id_hash);
    const struct mz_process *p = &o->proc;
    switch (kind) {
    case DET_TIMES_PROC: {
        int64_t v[2] = {p->pid, (int64_t)p->start_ns};
        return det_hash64(v, sizeof(v), h);
    }
    case DET_TIMES_EXE:
        return hstr(h, p->exe);
    case DET_TIMES_PARENT_PROC: {
        int64_t v = p->ppid;
        return det_hash64(&v, sizeof(v), h);
    }
    case DET_TIMES_PARENT_EXE:
        return hstr(h, p->n_ancestry ? p->ancestry[0] : NULL);
    case DET_TIMES_FULL_ANCESTRY:
        h = hstr(h, p->exe);
        for (size_t i = 0; i < p->n_ancestry; i++)
            h = hstr(h, p->ancestry[i]);
        return h;
    case DET_TIMES_CMD:
        return hstr(hstr(h, p->exe), p->args);
    case DET_TIMES_TOTAL:
    case DET_TIMES_COUNT: /* the global cap's summaries: one per recipe */
        break;
    }
    return h;
}

/* The fields a limit keys on, from the sample, as a JSON object. */
static char *keys_json(enum det_times_kind kind, const struct mz_observation *o)
{
    const struct mz_process *p = &o->proc;
    cJSON *j = cJSON_CreateObject();
    switch (kind) {
    case DET_TIMES_PROC:
        cJSON_AddNumberToObject(j, "pid", p->pid);
        cJSON_AddNumberToObject(j, "start_ns", (double)p->start_ns);
        break;
    case DET_TIMES_EXE:
        cJSON_AddStringToObject(j, "exe", p->exe ? p->exe : "");
        break;
    case DET_TIMES_PARENT_PROC:
        cJSON_AddNumberToObject(j, "ppid", p->ppid);
        break;
    case DET_TIMES_PARENT_EXE:
        cJSON_AddStringToObject(j, "parent_exe",
                                p->n_ancestry && p->ancestry[0] ? p->ancestry[0] : "");
        break;
    case DET_TIMES_FULL_ANCESTRY: {
        cJSON_AddStringToObject(j, "exe", p->exe ? p->exe : "");
        cJSON *a = cJSON_AddArrayToObject(j, "ancestry");
        for (size_t i = 0; i < p->n_ancestry; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(p->ancestry[i] ? p->ancestry[i] : ""));
        break;
    }
    case DET_TIMES_CMD:
        cJSON_AddStringToObject(j, "exe", p->exe ? p->exe : "");
        cJSON_AddStringToObject(j, "args", p->args ? p->args : "");
        break;
    case DET_TIMES_TOTAL:
    case DET_TIMES_COUNT:
        break;
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        abort(); /* OOM */
    return s;
}

static struct slot *lookup(struct det_rate *r, uint64_t key, bool create, uint64_t now)
{
    key |= 1; /* never 0 */
    struct slot *set = &r->slots[((key >> 8) & (r->n_sets - 1)) * WAYS];
    struct slot *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == key) {
            if (r->window && now - set[i].since >= r->window) {
                set[i].count = 0; /* the window passed: count again */
                set[i].since = now;
            }
            return &set[i];
        }
        if (set[i].used < victim->used)
            victim = &set[i];
    }
    if (!create)
        return NULL;
    /* a pending summary of the evicted key stays due at its own time */
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    victim->used = r->tick;
    victim->since = now;
    return victim;
}

static void global_roll(struct det_rate *r, uint64_t now)
{
    if (!r->win_started || now - r->win_start >= MINUTE) {
        r->win_started = true;
        r->win_start = now;
        r->win_count = 0;
    }
}

int det_rate_check(struct det_rate *r, const struct det_recipe *rc, const struct mz_observation *o,
                   uint64_t now)
{
    r->tick++;
    for (size_t i = 0; i < rc->n_times; i++) {
        struct slot *s = lookup(r, key_of(rc, rc->times[i].kind, o), false, now);
        if (s && s->count >= rc->times[i].max) {
            s->used = r->tick;
            return (int)i;
        }
    }
    if (r->global_max && rc->importance < MZ_IMP_HIGH) {
        global_roll(r, now);
        if (r->win_count >= r->global_max)
            return DET_RATE_GLOBAL;
    }
    return DET_RATE_PASS;
}

void det_rate_spend(struct det_rate *r, const struct det_recipe *rc, const struct mz_observation *o,
                    uint64_t now)
{
    for (size_t i = 0; i < rc->n_times; i++) {
        struct slot *e = lookup(r, key_of(rc, rc->times[i].kind, o), true, now);
        e->used = r->tick;
        e->count++;
    }
    if (r->global_max) {
        global_roll(r, now);
        r->win_count++;
    }
}

/* Turns p into a detection (p is freed) and emits it. */
static int emit_pending(struct det_rate *r, struct pending *p, det_emit_fn emit, void *ctx)
{
    struct mz_detection *d = mz_detection_new(&p->sample, &p->ref);
    struct mz_summary *s = mz_calloc(1, sizeof(*s));
    *s = p->sum;
    memset(&p->sum, 0, sizeof(p->sum));
    d->summary = s;
    r->held -= s->count;
    r->summaries++;
    pending_clear(p);
    r->n_pend--;
    return emit(d, ctx);
}

static void recompute_due(struct det_rate *r)
{
    r->next_due = UINT64_MAX;
    for (size_t i = 0; i < PEND_MAX; i++)
        if (r->pend[i].key && r->pend[i].due < r->next_due)
            r->next_due = r->pend[i].due;
}

int det_rate_hold(struct det_rate *r, const struct det_recipe *rc, int limit,
                  const struct mz_observation *o, uint64_t now, det_emit_fn emit, void *ctx)
{
    enum det_times_kind kind = limit == DET_RATE_GLOBAL ? DET_TIMES_COUNT : rc->times[limit].kind;
    struct slot *s = lookup(r, key_of(rc, kind, o), true, now);
    s->used = r->tick;
    struct pending *p = s->pend ? &r->pend[s->pend - 1] : NULL;
    int rc_emit = 0;
    bool flushed = false;
    uint64_t first = o->first_ns ? o->first_ns : mz_now_ns();
    uint64_t last = o->last_ns ? o->last_ns : first;

    if (!p || p->key != s->key) {
        size_t free_i = PEND_MAX;
        for (size_t i = 0; i < PEND_MAX && free_i == PEND_MAX; i++)
            if (!r->pend[i].key)
                free_i = i;
        if (free_i == PEND_MAX) {
            /* all in use: the one due first goes out now */
            size_t best = 0;
            for (size_t i = 1; i < PEND_MAX; i++)
                if (r->pend[i].due < r->pend[best].due)
                    best = i;
            r->early++;
            rc_emit = emit_pending(r, &r->pend[best], emit, ctx);
            flushed = true;
            free_i = best;
        }
        p = &r->pend[free_i];
        p->key = s->key;
        p->limit = limit;
        p->kind = kind;
        if (limit == DET_RATE_GLOBAL) {
            p->due = r->win_start + MINUTE;
            p->max = r->global_max;
            p->sum.limit = mz_strdup("global_max_per_minute");
        } else {
            p->due = r->window ? s->since + r->window : now + FOREVER_SUMMARY_AFTER;
            p->max = rc->times[limit].max;
            p->sum.limit = mz_strdup(det_times_name(kind));
        }
        if (p->due <= now) /* a window that ended already: out on the next flush */
            p->due = now;
        p->sum.max = p->max;
        p->sum.first_ns = first;
        p->sum.last_ns = last;
        mz_recipe_ref_copy(&p->ref, &rc->ref);
        mz_observation_copy(&p->sample, o);
        p->sum.keys_json = keys_json(kind, o);
        s->pend = (uint32_t)(free_i + 1);
        r->n_pend++;
        if (p->due < r->next_due)
            r->next_due = p->due;
    }
    p->sum.count++;
    if (first < p->sum.first_ns)
        p->sum.first_ns = first;
    if (last > p->sum.last_ns)
        p->sum.last_ns = last;
    r->held++;
    if (flushed)
        recompute_due(r);
    return rc_emit < 0 ? rc_emit : 0;
}

bool det_rate_due(const struct det_rate *r, uint64_t now)
{
    return r->next_due <= now;
}

int det_rate_flush(struct det_rate *r, uint64_t now, bool all, det_emit_fn emit, void *ctx)
{
    if (!r->n_pend || (!all && now < r->next_due))
        return 0;
    int n = 0, err = 0;
    for (size_t i = 0; i < PEND_MAX; i++) {
        struct pending *p = &r->pend[i];
        if (!p->key || (!all && p->due > now))
            continue;
        int rc = emit_pending(r, p, emit, ctx);
        if (rc < 0 && !err)
            err = rc; /* the detection was taken; go on with the others */
        n++;
    }
    recompute_due(r);
    return err ? err : n;
}

void det_rate_stats(const struct det_rate *r, struct det_rate_stats *out)
{
    out->held = atomic_load_explicit(&r->held, memory_order_relaxed);
    out->pending = atomic_load_explicit(&r->n_pend, memory_order_relaxed);
    out->summaries = atomic_load_explicit(&r->summaries, memory_order_relaxed);
    out->early = atomic_load_explicit(&r->early, memory_order_relaxed);
}
