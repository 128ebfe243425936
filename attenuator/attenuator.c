// SPDX-License-Identifier: Apache-2.0
/*
 * attenuator.c - the filter chain and its threads.
 *
 * The submitting thread (detect, or replay) runs everything that does not
 * need the model: the injection scan, suppression rules, the minimized
 * context, the cache key and the cache lookup, and on a hit the guard and
 * the mode. A miss becomes a job on a bounded lock-free MPMC queue
 * (pipeline/queue.h) served by `concurrency` worker threads that ask the
 * model. Jobs are coalesced by cache key: while a key waits for its answer,
 * later alerts with the same key ride on the same job instead of asking
 * again (bounded by FOLLOWERS_PER_QUEUE_SLOT * queue), so a burst of
 * identical alerts costs one model call. When the queue is full the alert is
 * emitted at once, bypassed with why "overload": the submitting thread never
 * waits for the model.
 *
 * Every detection comes out exactly once through emit. `submitted` and
 * `emitted` count both ends; drain waits for them to meet.
 */
#include "attenuator/attenuator.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attenuator/answer.h"
#include "attenuator/cache.h"
#include "attenuator/client.h"
#include "attenuator/context.h"
#include "attenuator/guard.h"
#include "attenuator/shape.h"
#include "attenuator/suppress.h"
#include "core/embedded.h"
#include "core/log.h"
#include "pipeline/queue.h"

#define PROMPT_CAP               (64 * 1024)
#define PENDING_BUCKETS          1024
#define FOLLOWERS_PER_QUEUE_SLOT 16
#define FOLLOWERS_MIN            4096
#define WORKERS_MAX              256 /* the config allows up to 256 */

/* Why an alert bypassed the model (its `why`); each has a counter. The
 * model failures use the client's names (att_fail_name), except that an open
 * circuit breaker reads "unavailable". */
enum bypass {
    BY_OVERLOAD,
    BY_UNAVAILABLE,
    BY_TIMEOUT,
    BY_HTTP,
    BY_INVALID_ANSWER,
    BY_TRUNCATED,
    BY_SHUTDOWN,
    BY_CONTEXT,
    BY__COUNT,
};
static const char *const bypass_names[BY__COUNT] = {
    "overload",       "unavailable", "timeout",  "http_error",
    "invalid_answer", "truncated",   "shutdown", "context",
};

/* How long submit bypasses inline after a worker saw the breaker open,
 * before it lets a job through again to reach the client's probe. */
#define BREAKER_INLINE_NS (250ull * 1000000ull)

enum filter { F_SUPPRESS, F_CACHE, F_MODEL, F_GUARD, F_MODE, F__COUNT };
static const char *const filter_names[F__COUNT] = {"suppression", "cache", "model", "guard",
                                                   "mode"};

struct filter_counts {
    _Atomic uint64_t passed, changed, withheld;
};

struct follower {
    struct mz_alert *alert;
    uint64_t t0;
    struct follower *next;
};

struct att_job {
    unsigned char key[32];
    unsigned char shape_key[32];
    bool want_full, want_shape;         /* what is still to ask the model */
    bool have_full, have_shape;         /* answered (by the cache or the model) */
    struct att_cache_entry full, shape; /* those answers */
    struct mz_alert *alert;
    uint64_t t0;
    struct att_context ctx;
    struct follower *followers;
    size_t n_followers;
    struct att_job *hnext; /* pending table chain */
};

struct att_chain {
    const struct mz_config *cfg;
    uint64_t id; /* unique per chain: tags this chain's entries in the submit memo */
    char *host;
    att_emit_fn emit;
    void *emit_ctx;
    bool enabled;
    const char *mode_name;

    char *system_prompt;
    unsigned char prompt_digest[32];
    struct att_context_opts copts;
    struct att_cache *cache;
    struct att_client *client;
    _Atomic uint64_t breaker_until; /* monotonic ns; submit bypasses before it */

    struct mz_mpmc *q;
    struct mz_waiter work_w;
    pthread_t workers[WORKERS_MAX];
    size_t n_workers;
    _Atomic bool stop;
    bool drained;

    pthread_mutex_t pending_mu;
    struct att_job *pending[PENDING_BUCKETS];
    size_t followers_total, followers_cap;

    _Atomic uint64_t submitted, emitted;
    struct mz_waiter drain_w;

    struct filter_counts filters[F__COUNT];
    _Atomic uint64_t bypass[BY__COUNT];
    _Atomic uint64_t vetoes[ATT_VETO__COUNT];
    _Atomic uint64_t injection;
    _Atomic uint64_t coalesced;
    _Atomic uint64_t model_calls;
    _Atomic uint64_t model_failures;
    _Atomic uint64_t model_ms_total; /* sum of model latency, ms */
};

static _Atomic uint64_t chain_ids; /* att_chain.id */

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

static const char *mode_name(enum mz_att_mode m)
{
    switch (m) {
    case MZ_MODE_REASON:
        return "reason";
    case MZ_MODE_BLOCK:
        return "block";
    default:
        return "amend";
    }
}

/* ------------------------------------------------------------------------ */
/* prompt                                                                    */

/* The system prompt with the answer schema in place of {{schema}} (or
 * appended when the template has no placeholder). */
static char *build_prompt(const char *tmpl, const char *schema)
{
    struct mz_buf b;
    const char *ph = strstr(tmpl, "{{schema}}");
    int r;

    mz_buf_init(&b, PROMPT_CAP + strlen(schema) + 64);
    if (ph) {
        r = mz_buf_append(&b, tmpl, (size_t)(ph - tmpl));
        if (!r)
            r = mz_buf_append(&b, schema, strlen(schema));
        if (!r)
            r = mz_buf_append(&b, ph + 10, strlen(ph + 10));
    } else {
        r = mz_buf_appendf(&b, "%s\n%s\n", tmpl, schema);
    }
    if (r) {
        mz_buf_free(&b);
        return NULL;
    }
    return mz_buf_take(&b);
}

static int load_prompt(struct att_chain *c)
{
    const struct mz_config *cfg = c->cfg;
    char *tmpl = NULL;
    int r = 0;

    if (cfg->attenuator.prompts.dir && cfg->attenuator.prompts.dir[0]) {
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/system.txt", cfg->attenuator.prompts.dir) >=
            (int)sizeof(path))
            return -ENAMETOOLONG;
        r = mz_read_file(path, PROMPT_CAP, &tmpl, NULL);
        if (r) {
            log_error("attenuator: cannot read prompt %s: %s", path, strerror(-r));
            return r;
        }
    } else {
        const struct mz_embedded *e = mz_embedded_find("prompts/system.txt");
        if (!e) {
            log_error("attenuator: no embedded prompts/system.txt");
            return -ENOENT;
        }
        tmpl = mz_strdup(e->data);
    }
    c->system_prompt = build_prompt(tmpl, att_answer_schema_json());
    free(tmpl);
    if (!c->system_prompt)
        return -E2BIG;
    /* the digest covers everything that shapes the answer besides the data */
    {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        char *probe;
        cJSON *empty = cJSON_CreateObject();
        if (!md)
            abort();
        probe = att_context_user_message(empty);
        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        EVP_DigestUpdate(md, c->system_prompt, strlen(c->system_prompt));
        EVP_DigestUpdate(md, "\0", 1);
        EVP_DigestUpdate(md, probe, strlen(probe));
        EVP_DigestFinal_ex(md, c->prompt_digest, NULL);
        EVP_MD_CTX_free(md);
        free(probe);
        cJSON_Delete(empty);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the last two filters and emission                                         */

static void emit_alert(struct att_chain *c, struct mz_alert *alert, uint64_t t0)
{
    alert->att.latency_ms = (double)(mz_monotonic_ns() - t0) / 1e6;
    c->emit(alert, c->emit_ctx);
    atomic_fetch_add_explicit(&c->emitted, 1, memory_order_release);
    mz_waiter_wake(&c->drain_w);
}

/* Filters 4 (guard) and 5 (mode), then emit. origin: the filter whose
 * decision a withheld alert follows. */
static void finish(struct att_chain *c, struct mz_alert *alert, uint64_t t0, enum filter origin)
{
    struct mz_attenuation *a = &alert->att;
    enum att_veto v = att_guard_decide(c->cfg, alert);

    count(&c->vetoes[v]);
    if (a->injection_suspected)
        count(&c->filters[F_GUARD].changed);
    else
        count(&c->filters[F_GUARD].passed);

    /* amend drops the reason; block keeps it for the audit log only */
    if (c->cfg->attenuator.mode != MZ_MODE_REASON && a->reason && v != ATT_WITHHOLD) {
        free(a->reason);
        a->reason = NULL;
    }
    if (v == ATT_WITHHOLD) {
        a->withheld = true;
        count(&c->filters[F_MODE].withheld);
        count(&c->filters[origin].withheld);
    } else if (a->status == MZ_ATT_VERDICT || a->status == MZ_ATT_CACHED) {
        count(&c->filters[F_MODE].changed);
    } else {
        count(&c->filters[F_MODE].passed);
    }
    emit_alert(c, alert, t0);
}

static void set_bypass(struct att_chain *c, struct mz_alert *alert, enum bypass why)
{
    alert->att.status = MZ_ATT_BYPASSED;
    free(alert->att.why);
    alert->att.why = mz_strdup(bypass_names[why]);
    count(&c->bypass[why]);
}

static void bypass_now(struct att_chain *c, struct mz_alert *alert, uint64_t t0, enum bypass why)
{
    set_bypass(c, alert, why);
    count(&c->filters[F_MODEL].passed);
    finish(c, alert, t0, F_MODEL);
}

static void apply_entry(struct att_chain *c, struct mz_alert *alert,
                        const struct att_cache_entry *e, enum mz_att_status st)
{
    struct mz_attenuation *a = &alert->att;
    a->status = st;
    a->verdict = e->verdict;
    a->confidence = e->confidence;
    mz_strlcpy(a->severity, e->severity, sizeof(a->severity));
    free(a->reason);
    a->reason = c->cfg->attenuator.mode != MZ_MODE_AMEND ? mz_strdup(e->reason) : NULL;
    free(a->model);
    a->model = mz_strdup(c->cfg->attenuator.model);
    a->cache_hit = st == MZ_ATT_CACHED;
}

static void apply_shape(struct mz_alert *alert, const struct att_cache_entry *e)
{
    alert->att.shape_verdict = e->verdict;
    alert->att.shape_confidence = e->confidence;
}

/* Does this alert need a verdict on its shape-only context? Only block mode
 * withholds, and an alert with free text beyond its shape never is. */
static bool wants_shape(const struct att_chain *c, const struct mz_alert *alert)
{
    return c->cfg->attenuator.mode == MZ_MODE_BLOCK && !alert->att.injection_suspected;
}

/* ------------------------------------------------------------------------ */
/* pending jobs (coalescing by key)                                        */

static size_t bucket_of(const unsigned char key[32])
{
    uint32_t h;
    memcpy(&h, key, sizeof(h));
    return h % PENDING_BUCKETS;
}

/* The pending job for key whose leader has the same injection mark: an
 * answer to a context that held an instruction must not decide for one that
 * did not (the key leaves out comm, user, cwd and ancestry). */
static struct att_job *pending_find(struct att_chain *c, const unsigned char key[32],
                                    bool injection)
{
    for (struct att_job *j = c->pending[bucket_of(key)]; j; j = j->hnext)
        if (memcmp(j->key, key, 32) == 0 && j->alert->att.injection_suspected == injection)
            return j;
    return NULL;
}

static void pending_remove(struct att_chain *c, struct att_job *job)
{
    struct att_job **pp = &c->pending[bucket_of(job->key)];
    while (*pp && *pp != job)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = job->hnext;
    job->hnext = NULL;
}

static void job_free(struct att_job *job)
{
    att_cache_entry_clear(&job->full);
    att_cache_entry_clear(&job->shape);
    att_context_clear(&job->ctx);
    free(job);
}

/* ------------------------------------------------------------------------ */
/* workers                                                                   */

static enum bypass bypass_of(enum att_fail f)
{
    switch (f) {
    case ATT_FAIL_TIMEOUT:
        return BY_TIMEOUT;
    case ATT_FAIL_HTTP:
        return BY_HTTP;
    case ATT_FAIL_INVALID_ANSWER:
        return BY_INVALID_ANSWER;
    case ATT_FAIL_TRUNCATED:
        return BY_TRUNCATED;
    default:
        return BY_UNAVAILABLE;
    }
}

/* Asks the model about one document (the full or the shape-only context).
 * Fills *e and *context_json (the document as sent, for the cache) on
 * success and returns BY__COUNT, else the bypass reason. Takes doc. */
static enum bypass ask_doc(struct att_chain *c, cJSON *doc, struct att_cache_entry *e,
                           char **context_json)
{
    struct att_answer ans = {0};
    char *user;
    double ms = 0;
    enum att_fail f;

    *context_json = NULL;
    if (atomic_load(&c->stop)) {
        cJSON_Delete(doc);
        return BY_SHUTDOWN;
    }
    user = att_context_user_message(doc);
    if (!user) {
        cJSON_Delete(doc);
        return BY_CONTEXT;
    }
    count(&c->model_calls);
    f = att_client_ask(c->client, c->system_prompt, user, &ans, &ms);
    free(user);
    atomic_fetch_add_explicit(&c->model_ms_total, (uint64_t)ms, memory_order_relaxed);
    if (f != ATT_OK) {
        cJSON_Delete(doc);
        count(&c->model_failures);
        if (f == ATT_FAIL_CIRCUIT_OPEN)
            atomic_store(&c->breaker_until, mz_monotonic_ns() + BREAKER_INLINE_NS);
        if (atomic_load(&c->stop) && f == ATT_FAIL_UNAVAILABLE)
            return BY_SHUTDOWN;
        return bypass_of(f);
    }
    e->verdict = ans.verdict;
    e->confidence = ans.confidence;
    mz_strlcpy(e->severity, ans.severity, sizeof(e->severity));
    e->reason = ans.reason; /* taken */
    ans.reason = NULL;
    att_answer_clear(&ans);
    *context_json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return BY__COUNT;
}

/* Gives one alert the job's answers: the full verdict (or the bypass), and
 * the shape-only verdict when there is one. */
static void settle(struct att_chain *c, struct att_job *job, struct mz_alert *alert, uint64_t t0,
                   enum bypass why)
{
    if (job->have_shape)
        apply_shape(alert, &job->shape);
    if (why == BY__COUNT) {
        apply_entry(c, alert, &job->full, MZ_ATT_VERDICT);
        count(&c->filters[F_MODEL].changed);
        finish(c, alert, t0, F_MODEL);
    } else {
        bypass_now(c, alert, t0, why);
    }
}

static void run_job(struct att_chain *c, struct att_job *job)
{
    enum bypass why = BY__COUNT;
    char *context_json = NULL;
    struct follower *f;

    /* The shape-only context holds no attacker text: its verdict is stored
     * whatever the full context held. A failed shape call only costs the
     * alert its right to be withheld. */
    if (job->want_shape) {
        enum bypass w = ask_doc(c, att_shape_to_json(&job->alert->det), &job->shape, &context_json);
        if (w == BY__COUNT) {
            job->have_shape = true;
            if (c->cache)
                (void)att_cache_put(c->cache, job->shape_key, &job->shape, c->cfg->attenuator.model,
                                    context_json);
        }
        free(context_json);
        context_json = NULL;
    }
    if (job->want_full) {
        why = ask_doc(c, att_context_to_json(&job->ctx, &job->alert->det, &c->copts, c->host),
                      &job->full, &context_json);
        /* A verdict on a context that held free text or an instruction-like
         * text may be the attacker's: never cache it (later alerts with the
         * same key but clean comm/ancestry would inherit it). */
        if (why == BY__COUNT && c->cache && !job->alert->att.injection_suspected)
            (void)att_cache_put(c->cache, job->key, &job->full, c->cfg->attenuator.model,
                                context_json);
        free(context_json);
    }

    pthread_mutex_lock(&c->pending_mu);
    pending_remove(c, job);
    f = job->followers;
    c->followers_total -= job->n_followers;
    job->followers = NULL;
    pthread_mutex_unlock(&c->pending_mu);

    settle(c, job, job->alert, job->t0, why);
    while (f) {
        struct follower *next = f->next;
        settle(c, job, f->alert, f->t0, why);
        free(f);
        f = next;
    }
    job_free(job);
}

static void *worker_main(void *arg)
{
    struct att_chain *c = arg;
    for (;;) {
        void *item;
        if (mz_mpmc_pop(c->q, &item)) {
            run_job(c, item);
            continue;
        }
        if (atomic_load(&c->stop))
            break;
        /* every prepare ends in exactly one cancel or wait (queue.h) */
        uint32_t seen = mz_waiter_prepare(&c->work_w);
        if (mz_mpmc_pop(c->q, &item)) {
            mz_waiter_cancel(&c->work_w);
            run_job(c, item);
            continue;
        }
        if (atomic_load(&c->stop)) {
            mz_waiter_cancel(&c->work_w);
            break;
        }
        mz_waiter_wait(&c->work_w, seen, 200);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* public                                                                    */

struct att_chain *att_chain_new(const struct mz_config *cfg, const char *host, att_emit_fn emit,
                                void *ctx)
{
    struct att_chain *c;

    if (!cfg || !emit)
        return NULL;
    const typeof(cfg->attenuator) *ac = &cfg->attenuator;
    c = mz_calloc(1, sizeof(*c));
    c->cfg = cfg;
    c->id = atomic_fetch_add(&chain_ids, 1) + 1;
    c->host = mz_strdup(host ? host : "");
    c->emit = emit;
    c->emit_ctx = ctx;
    c->enabled = ac->enabled;
    c->mode_name = mode_name(ac->mode);
    mz_waiter_init(&c->drain_w);
    mz_waiter_init(&c->work_w);
    pthread_mutex_init(&c->pending_mu, NULL);
    if (!c->enabled)
        return c;

    c->copts.args_max = ac->args_max ? ac->args_max : MZ_ARGS_MAX;
    c->copts.send_pids = ac->send_pids;
    if (load_prompt(c))
        goto fail;
    for (size_t i = 0; i < ac->n_suppress; i++)
        if (att_suppress_rule_empty(&ac->suppress[i]))
            log_warn("attenuator: suppress rule %zu has no field set; it matches nothing", i);
    if (ac->cache.path && ac->cache.path[0])
        c->cache = att_cache_open(ac->cache.path, ac->cache.ttl_ms, ac->cache.max_entries);
    c->client = att_client_new(cfg);
    if (!c->client)
        log_error("attenuator: no model client (%s): every alert bypasses the model",
                  ac->url && ac->url[0] ? "see above" : "attenuator.url is empty");

    c->q = mz_mpmc_new(ac->queue >= 2 ? ac->queue : 2);
    if (!c->q)
        goto fail;
    c->followers_cap = (size_t)(ac->queue ? ac->queue : 1) * FOLLOWERS_PER_QUEUE_SLOT;
    if (c->followers_cap < FOLLOWERS_MIN)
        c->followers_cap = FOLLOWERS_MIN;
    size_t nw = ac->concurrency ? ac->concurrency : 1;
    if (nw > WORKERS_MAX)
        nw = WORKERS_MAX;
    for (size_t i = 0; i < nw; i++) {
        int r = pthread_create(&c->workers[i], NULL, worker_main, c);
        if (r) {
            log_error("attenuator: cannot start worker: %s", strerror(r));
            goto fail;
        }
        c->n_workers++;
    }
    log_info("attenuator: mode %s, model %s at %s, %zu workers, queue %u, cache %s", c->mode_name,
             ac->model ? ac->model : "(none)", ac->url ? ac->url : "(none)", c->n_workers,
             ac->queue, c->cache ? "on" : "off");
    return c;

fail:
    att_chain_free(c);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* what submit derives from a detection, memoized                            */

/* The cache keys and the shape scan are a function of the detection's stable
 * fields alone (and of the chain: its prompt, model, mode and args_max). The
 * same alerts come back again and again, so each submitting thread keeps its
 * last results in a two-way set-associative memo keyed by those fields' bytes: a
 * repeat costs one serialization, a hash and a compare instead of the
 * redaction copies, the shape pass and three SHA-256 digests. */
struct prep {
    unsigned char key[32], shape_key[32];
    struct att_shape_scan sc;
};

#define PREP_SETS      2048 /* two ways each: 4096 detections a thread */
#define PREP_SLOTS     (2 * PREP_SETS)
#define PREP_IDENT_CAP (64 * 1024) /* larger detections are not memoized */
struct prep_slot {
    uint64_t chain;
    uint64_t used; /* the memo's tick at the last hit: the older way is replaced */
    size_t len;
    char *ident;
    struct prep p;
};
struct ident {
    size_t len;
    bool over; /* did not fit: not memoized */
    char data[PREP_IDENT_CAP];
};
struct prep_memo {
    struct ident ident; /* scratch, reused */
    uint64_t tick;
    struct prep_slot slots[PREP_SLOTS];
};
static pthread_key_t prep_key;
static pthread_once_t prep_once = PTHREAD_ONCE_INIT;

static void prep_memo_free(void *arg)
{
    struct prep_memo *m = arg;
    for (size_t i = 0; i < PREP_SLOTS; i++)
        free(m->slots[i].ident);
    free(m);
}

static void prep_init(void)
{
    if (pthread_key_create(&prep_key, prep_memo_free) != 0)
        abort();
}

static inline void ident_mem(struct ident *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (n > sizeof(b->data) - b->len) {
        b->over = true;
        return;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void ident_str(struct ident *b, const char *s)
{
    size_t l = s ? strlen(s) : 0;
    uint32_t n = s ? (uint32_t)l + 1 : 0; /* 0: NULL, 1: "" */
    ident_mem(b, &n, sizeof(n));
    ident_mem(b, s, l);
}

/* Every field that att_context_build, att_cache_key and att_shape_scan
 * read, in one byte string. */
static void ident_of(const struct mz_detection *det, struct ident *b)
{
    const struct mz_observation *o = &det->obs;
    const struct mz_process *p = &o->proc;
    uint32_t kind = (uint32_t)o->kind, imp = (uint32_t)det->recipe.importance;
    size_t na = p->n_ancestry < MZ_ANCESTRY_MAX ? p->n_ancestry : MZ_ANCESTRY_MAX;

    b->len = 0;
    b->over = false;
    ident_mem(b, &kind, sizeof(kind));
    ident_mem(b, &imp, sizeof(imp));
    ident_str(b, det->recipe.id);
    ident_str(b, p->exe);
    ident_str(b, p->exe_sha256);
    ident_str(b, p->args);
    ident_mem(b, p->comm, sizeof(p->comm));
    ident_str(b, p->cwd);
    ident_str(b, p->user);
    ident_str(b, p->container);
    ident_mem(b, &na, sizeof(na));
    for (size_t i = 0; i < na; i++)
        ident_str(b, p->ancestry[i]);
    /* the shape context names what the recipe matched (parts are zeroed
     * past their NUL: detect and the JSON reader clear them) */
    ident_mem(b, &det->matched.n, sizeof(det->matched.n));
    ident_mem(b, det->matched.part,
              (det->matched.n < MZ_MATCHED_MAX ? det->matched.n : MZ_MATCHED_MAX) *
                  sizeof(det->matched.part[0]));
    switch (o->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        ident_str(b, o->file.path);
        ident_str(b, o->file.path2);
        ident_mem(b, &o->file.actions, sizeof(o->file.actions));
        break;
    case MZ_OBS_FLOW:
        ident_str(b, o->flow.domain);
        ident_str(b, o->flow.remote_addr);
        ident_mem(b, &o->flow.remote_port, sizeof(o->flow.remote_port));
        ident_mem(b, &o->flow.proto, sizeof(o->flow.proto));
        ident_mem(b, &o->flow.direction, sizeof(o->flow.direction));
        ident_mem(b, &o->flow.actions, sizeof(o->flow.actions));
        break;
    case MZ_OBS_PRIV:
        ident_mem(b, &o->priv.actions, sizeof(o->priv.actions));
        ident_mem(b, &o->priv.target, sizeof(o->priv.target));
        break;
    case MZ_OBS_TAMPER:
        ident_mem(b, &o->tamper.kind, sizeof(o->tamper.kind));
        ident_str(b, o->tamper.detail);
        break;
    default:
        break;
    }
}

/* Picks a memo slot: 8 bytes a step (a byte-at-a-time hash would cost more
 * than everything else on a hit). */
static uint64_t ident_hash(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull), w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* Computes *out for det. 0, or a negative errno when the context cannot be
 * built (the alert then bypasses as "context"). */
static int prep_compute(struct att_chain *c, const struct mz_detection *det, struct prep *out)
{
    struct att_context ctx;
    int r = att_shape_scan(det, c->cfg->attenuator.mode == MZ_MODE_BLOCK, &out->sc);
    if (r) {
        memset(&out->sc, 0, sizeof(out->sc));
        out->sc.untrusted = true;
        snprintf(out->sc.why, sizeof(out->sc.why), "context: too large to shape");
    }
    r = att_context_build(det, &c->copts, &ctx);
    if (r)
        return r;
    att_cache_key(det->recipe.id, ctx.artifact_digest, c->prompt_digest, c->cfg->attenuator.model,
                  c->mode_name, out->key);
    att_context_clear(&ctx);
    if (out->sc.have_digest)
        att_cache_key(det->recipe.id, out->sc.digest, c->prompt_digest, c->cfg->attenuator.model,
                      "shape", out->shape_key);
    else
        memset(out->shape_key, 0, sizeof(out->shape_key));
    return 0;
}

/* *out for det, from this thread's memo when it holds it. */
static int prep_get(struct att_chain *c, const struct mz_detection *det, struct prep *out)
{
    pthread_once(&prep_once, prep_init);
    struct prep_memo *m = pthread_getspecific(prep_key);
    if (!m) {
        m = mz_calloc(1, sizeof(*m));
        if (pthread_setspecific(prep_key, m) != 0) {
            prep_memo_free(m);
            return prep_compute(c, det, out);
        }
    }
    ident_of(det, &m->ident);
    if (m->ident.over)
        return prep_compute(c, det, out);
    const char *s = m->ident.data;
    size_t n = m->ident.len;
    struct prep_slot *set = &m->slots[2 * (ident_hash(s, n, c->id) % PREP_SETS)], *e;
    m->tick++;
    for (int w = 0; w < 2; w++) {
        e = &set[w];
        if (e->ident && e->chain == c->id && e->len == n && memcmp(e->ident, s, n) == 0) {
            e->used = m->tick;
            *out = e->p;
            return 0;
        }
    }
    e = set[0].used <= set[1].used ? &set[0] : &set[1];
    int r = prep_compute(c, det, out);
    if (r)
        return r;
    free(e->ident);
    e->ident = mz_calloc(1, n ? n : 1);
    memcpy(e->ident, s, n);
    e->len = n;
    e->chain = c->id;
    e->used = m->tick;
    e->p = *out;
    return 0;
}

/* Looks key up; on a hit fills *e. */
static bool cache_lookup(struct att_chain *c, const unsigned char key[32], bool reason,
                         struct att_cache_entry *e)
{
    return c->cache && att_cache_get(c->cache, key, reason, e) == 0;
}

void att_chain_submit(struct att_chain *c, struct mz_detection *det)
{
    uint64_t t0 = mz_monotonic_ns();
    struct mz_alert *alert;
    struct mz_attenuation *a;
    struct att_context ctx;
    struct prep pp;
    unsigned char key[32], shape_key[32];
    struct att_cache_entry full = {0}, shape = {0};
    bool have_full = false, have_shape = false, need_shape;
    bool reason = c->cfg->attenuator.mode != MZ_MODE_AMEND;
    char why[192];
    int idx;

    atomic_fetch_add_explicit(&c->submitted, 1, memory_order_relaxed);
    alert = mz_alert_new(det, c->host);
    a = &alert->att;
    if (!c->enabled) {
        a->status = MZ_ATT_NONE;
        emit_alert(c, alert, t0);
        return;
    }

    /* Free text beyond a field's shape and the phrase guard feed filter 4;
     * in block mode the same pass gives the shape-only context's digest. */
    int pr = prep_get(c, &alert->det, &pp);
    const struct att_shape_scan *sc = &pp.sc;
    if (pr)
        memset(&pp, 0, sizeof(pp));
    if (sc->untrusted) {
        a->injection_suspected = true;
        a->untrusted_text = mz_strdup(sc->why);
        count(&c->injection);
        log_debug("attenuator: %s: untrusted text (%s)",
                  alert->det.recipe.id ? alert->det.recipe.id : "?", sc->why);
    }
    if (sc->have_digest)
        mz_hex(sc->digest, 32, a->shape_digest);
    need_shape = wants_shape(c, alert) && sc->have_digest;

    /* 1: suppression */
    idx =
        att_suppress_match(c->cfg->attenuator.suppress, c->cfg->attenuator.n_suppress, &alert->det);
    if (idx >= 0) {
        a->status = MZ_ATT_SUPPRESSED;
        snprintf(why, sizeof(why), "suppress rule %d", idx);
        a->why = mz_strdup(why);
        count(&c->filters[F_SUPPRESS].changed);
        finish(c, alert, t0, F_SUPPRESS);
        return;
    }
    count(&c->filters[F_SUPPRESS].passed);

    if (pr) {
        count(&c->filters[F_CACHE].passed);
        bypass_now(c, alert, t0, BY_CONTEXT);
        return;
    }
    memcpy(key, pp.key, 32);
    memcpy(shape_key, pp.shape_key, 32);

    /* 2: cache */
    have_full = cache_lookup(c, key, reason, &full);
    if (need_shape)
        have_shape = cache_lookup(c, shape_key, false, &shape);
    if (have_full && (!need_shape || have_shape)) {
        apply_entry(c, alert, &full, MZ_ATT_CACHED);
        if (have_shape)
            apply_shape(alert, &shape);
        att_cache_entry_clear(&full);
        att_cache_entry_clear(&shape);
        count(&c->filters[F_CACHE].changed);
        finish(c, alert, t0, F_CACHE);
        return;
    }
    count(&c->filters[F_CACHE].passed);

    /* 3: model, asynchronously */
    if (atomic_load(&c->stop) || c->n_workers == 0 || !c->client ||
        t0 < atomic_load_explicit(&c->breaker_until, memory_order_relaxed)) {
        enum bypass by = atomic_load(&c->stop) || c->n_workers == 0 ? BY_SHUTDOWN : BY_UNAVAILABLE;
        att_cache_entry_clear(&full);
        att_cache_entry_clear(&shape);
        bypass_now(c, alert, t0, by);
        return;
    }
    pthread_mutex_lock(&c->pending_mu);
    struct att_job *job = pending_find(c, key, a->injection_suspected);
    if (job) {
        att_cache_entry_clear(&full);
        att_cache_entry_clear(&shape);
        if (c->followers_total < c->followers_cap) {
            struct follower *f = mz_calloc(1, sizeof(*f));
            f->alert = alert;
            f->t0 = t0;
            f->next = job->followers;
            job->followers = f;
            job->n_followers++;
            c->followers_total++;
            pthread_mutex_unlock(&c->pending_mu);
            count(&c->coalesced);
            return;
        }
        pthread_mutex_unlock(&c->pending_mu);
        bypass_now(c, alert, t0, BY_OVERLOAD);
        return;
    }
    /* A worker stores the answers before it unlists its job: a key neither
     * pending nor cached now was not answered while we looked. Without this
     * second look, an answer landing between our lookup and this lock would
     * cost a second model call. */
    if (!have_full)
        have_full = cache_lookup(c, key, reason, &full);
    if (need_shape && !have_shape)
        have_shape = cache_lookup(c, shape_key, false, &shape);
    if (have_full && (!need_shape || have_shape)) {
        pthread_mutex_unlock(&c->pending_mu);
        apply_entry(c, alert, &full, MZ_ATT_CACHED);
        if (have_shape)
            apply_shape(alert, &shape);
        att_cache_entry_clear(&full);
        att_cache_entry_clear(&shape);
        atomic_fetch_sub_explicit(&c->filters[F_CACHE].passed, 1, memory_order_relaxed);
        count(&c->filters[F_CACHE].changed);
        finish(c, alert, t0, F_CACHE);
        return;
    }
    /* the full context the worker sends (a miss: built only now) */
    if (att_context_build(&alert->det, &c->copts, &ctx) != 0) {
        pthread_mutex_unlock(&c->pending_mu);
        att_cache_entry_clear(&full);
        att_cache_entry_clear(&shape);
        bypass_now(c, alert, t0, BY_CONTEXT);
        return;
    }
    job = mz_calloc(1, sizeof(*job));
    memcpy(job->key, key, 32);
    memcpy(job->shape_key, shape_key, 32);
    job->want_full = !have_full;
    job->have_full = have_full;
    job->full = full; /* taken */
    job->want_shape = need_shape && !have_shape;
    job->have_shape = have_shape;
    job->shape = shape; /* taken */
    job->alert = alert;
    job->t0 = t0;
    job->ctx = ctx;
    job->hnext = c->pending[bucket_of(key)];
    c->pending[bucket_of(key)] = job;
    if (!mz_mpmc_push(c->q, job)) {
        pending_remove(c, job);
        pthread_mutex_unlock(&c->pending_mu);
        job->alert = NULL;
        job_free(job);
        bypass_now(c, alert, t0, BY_OVERLOAD);
        return;
    }
    pthread_mutex_unlock(&c->pending_mu);
    mz_waiter_wake(&c->work_w);
}

static bool all_emitted(struct att_chain *c)
{
    return atomic_load_explicit(&c->emitted, memory_order_acquire) >=
           atomic_load_explicit(&c->submitted, memory_order_relaxed);
}

void att_chain_drain(struct att_chain *c)
{
    uint64_t limit_ms, start = mz_monotonic_ns();
    bool cut = false;

    if (!c || c->drained)
        return;
    /* Let the model answer what is queued for up to attenuator.drain_wait
     * (by default half of drain_timeout: the printers need the rest to
     * flush); then cut the client short:
     * what is left is emitted at once, bypassed "shutdown". */
    limit_ms = c->cfg->attenuator.drain_wait_ms;
    if (!limit_ms) {
        limit_ms = c->cfg->queues.drain_timeout_ms / 2;
        if (c->cfg->queues.drain_timeout_ms && !limit_ms)
            limit_ms = 1;
    }
    for (;;) {
        uint32_t seen = mz_waiter_prepare(&c->drain_w);
        if (all_emitted(c)) {
            mz_waiter_cancel(&c->drain_w);
            break;
        }
        if (!cut && limit_ms && mz_monotonic_ns() - start >= limit_ms * 1000000ull) {
            log_warn("attenuator: drain: model still busy after %llu ms; bypassing the rest",
                     (unsigned long long)limit_ms);
            atomic_store(&c->stop, true);
            if (c->client)
                att_client_shutdown(c->client);
            cut = true;
        }
        mz_waiter_wait(&c->drain_w, seen, 100);
    }
    atomic_store(&c->stop, true);
    mz_waiter_wake(&c->work_w);
    for (size_t i = 0; i < c->n_workers; i++)
        pthread_join(c->workers[i], NULL);
    c->n_workers = 0;
    c->drained = true;
}

cJSON *att_chain_stats_json(const struct att_chain *c)
{
    cJSON *o = cJSON_CreateObject(), *f, *b, *v;
    if (!c)
        return o;
    cJSON_AddBoolToObject(o, "enabled", c->enabled);
    cJSON_AddStringToObject(o, "mode", c->mode_name);
    cJSON_AddNumberToObject(o, "submitted", (double)load(&c->submitted));
    cJSON_AddNumberToObject(o, "emitted", (double)load(&c->emitted));
    f = cJSON_AddObjectToObject(o, "filters");
    for (int i = 0; i < F__COUNT; i++) {
        cJSON *x = cJSON_AddObjectToObject(f, filter_names[i]);
        cJSON_AddNumberToObject(x, "passed", (double)load(&c->filters[i].passed));
        cJSON_AddNumberToObject(x, "changed", (double)load(&c->filters[i].changed));
        cJSON_AddNumberToObject(x, "withheld", (double)load(&c->filters[i].withheld));
    }
    cJSON_AddItemToObject(o, "cache", att_cache_stats_json(c->cache));
    b = cJSON_AddObjectToObject(o, "bypassed");
    for (int i = 0; i < BY__COUNT; i++)
        cJSON_AddNumberToObject(b, bypass_names[i], (double)load(&c->bypass[i]));
    v = cJSON_AddObjectToObject(o, "guard");
    cJSON_AddNumberToObject(v, "injection_suspected", (double)load(&c->injection));
    for (int i = 0; i < ATT_VETO__COUNT; i++)
        cJSON_AddNumberToObject(v, att_veto_name((enum att_veto)i), (double)load(&c->vetoes[i]));
    cJSON_AddNumberToObject(o, "coalesced", (double)load(&c->coalesced));
    v = cJSON_AddObjectToObject(o, "model");
    cJSON_AddNumberToObject(v, "calls", (double)load(&c->model_calls));
    cJSON_AddNumberToObject(v, "failures", (double)load(&c->model_failures));
    cJSON_AddNumberToObject(v, "latency_ms_total", (double)load(&c->model_ms_total));
    if (c->client)
        cJSON_AddItemToObject(v, "client", att_client_stats_json(c->client));
    return o;
}

void att_chain_free(struct att_chain *c)
{
    if (!c)
        return;
    att_chain_drain(c);
    att_client_free(c->client);
    mz_mpmc_free(c->q);
    att_cache_close(c->cache);
    pthread_mutex_destroy(&c->pending_mu);
    free(c->system_prompt);
    free(c->host);
    free(c);
}
