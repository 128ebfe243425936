// SPDX-License-Identifier: Apache-2.0
/*
 * cache.c - the sqlite3 verdict cache.
 *
 * Workload: a stream of lookups (one per alert that no suppression rule
 * took) with a high hit rate, and rare stores (one per model answer). A
 * two-way set associative memory front of min(max_entries, 16384) slots
 * answers most hits without SQL and without the mutex (with the reason
 * too, when it is at most FRONT_REASON bytes): each slot is a
 * seqlock (every field atomic; writers hold the mutex and make the sequence
 * odd while they change it; a reader that sees it change falls back to the
 * locked path). A miss there falls through to a prepared SELECT under the
 * mutex. Stores go to both. The table is bounded by max_entries: when a store passes it,
 * expired rows and then the oldest rows are deleted down to 90 % of the
 * bound, and the memory front is emptied so that it never answers for a row
 * the table no longer holds.
 *
 * The file is created mode 0600: it holds redacted contexts, which still
 * describe what ran on the host.
 */
#include "attenuator/cache.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attenuator/context.h"
#include "core/log.h"

#define FRONT_MAX  16384
#define SCHEMA_VER 1
#define REASON_CAP 4096

/* A reason up to FRONT_REASON bytes is also held in the slot itself, as
 * atomic words, so that a hit that wants it (reason and block modes: the
 * audit log) is answered without the mutex; a longer one takes the locked
 * path (still no SQL). The front is calloc'ed: pages no slot used are not
 * resident. */
#define FRONT_REASON 256
#define REASON_NULL  UINT32_MAX       /* the entry has no reason */
#define REASON_LONG  (UINT32_MAX - 1) /* longer than FRONT_REASON: in reason only */

/* A slot of the memory front: a seqlock. Writers hold mu; readers without
 * mu check that seq was even and unchanged around their loads. reason (the
 * whole text, any length) is only touched under mu; reason_w holds a copy
 * of a short one for the readers without mu. */
struct front_slot {
    _Atomic uint32_t seq;
    _Atomic uint32_t used;
    _Atomic uint64_t key[4];
    _Atomic uint64_t created_ms;
    _Atomic uint64_t last_use; /* c->tick at the last hit or store */
    _Atomic uint32_t verdict;
    _Atomic uint64_t confidence;  /* the bits of a double */
    _Atomic uint64_t severity[2]; /* 16 bytes, NUL-padded */
    _Atomic uint32_t reason_len;  /* bytes in reason_w, or REASON_NULL / REASON_LONG */
    _Atomic uint64_t reason_w[FRONT_REASON / 8];
    char *reason; /* under mu */
};

struct att_cache {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    char *path;
    uint64_t ttl_ms;
    uint32_t max_entries;
    int64_t rows; /* rows in the table, exact after open and eviction, upper bound between */
    _Atomic bool on;
    struct front_slot *front;
    size_t nfront; /* power of two */
    _Atomic uint64_t tick;
    _Atomic uint64_t hits, misses, stores, evicted, errors;
    _Atomic uint64_t front_hits; /* of hits: answered by the front without the mutex */
};

static uint64_t now_ms(void)
{
    return mz_now_ns() / 1000000ull;
}

void att_cache_entry_clear(struct att_cache_entry *e)
{
    if (!e)
        return;
    free(e->reason);
    memset(e, 0, sizeof(*e));
}

void att_cache_key(const char *recipe_id, const unsigned char artifact[32],
                   const unsigned char prompt[32], const char *model, const char *mode,
                   unsigned char key[32])
{
    const char *parts[] = {recipe_id ? recipe_id : "", model ? model : "", mode ? mode : ""};
    struct mz_buf b;
    size_t cap = 64 + 2 * 32;
    int r = 0;

    for (size_t i = 0; i < 3; i++)
        cap += strlen(parts[i]) + sizeof(uint32_t);
    mz_buf_init(&b, cap); /* sized to fit: the appends cannot fail */
    for (size_t i = 0; i < 3 && !r; i++) {
        uint32_t n = (uint32_t)strlen(parts[i]);
        r = mz_buf_append(&b, &n, sizeof(n));
        if (!r)
            r = mz_buf_append(&b, parts[i], n);
        if (!r && i == 0) {
            r = mz_buf_append(&b, artifact, 32);
            if (!r)
                r = mz_buf_append(&b, prompt, 32);
        }
    }
    if (r || att_sha256(b.data, b.len, key) != 0)
        abort(); /* like an allocation failure: nothing sensible is left to do */
    mz_buf_free(&b);
}

/* Logs once and switches the cache off. Called with mu held. */
static void cache_fail(struct att_cache *c, const char *what, int rc)
{
    atomic_fetch_add(&c->errors, 1);
    if (atomic_exchange(&c->on, false))
        log_error("attenuator: verdict cache %s: %s failed: %s; cache switched off", c->path, what,
                  sqlite3_errstr(rc));
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t count_rows(struct att_cache *c)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -EIO;
    int rc = sqlite3_prepare_v2(c->db, "SELECT COUNT(*) FROM verdicts", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        cache_fail(c, "count", rc);
    sqlite3_finalize(st);
    return n;
}

#define RLX memory_order_relaxed
/* No standalone fences (TSan does not model them): a writer's data stores
 * are release, so its odd sequence is seen before any of them; a reader's
 * data loads are acquire, so its second look at the sequence comes after. */
#define WR memory_order_release
#define RD memory_order_acquire

static void slot_write_begin(struct front_slot *s)
{
    uint32_t q = atomic_load_explicit(&s->seq, RLX);
    atomic_store_explicit(&s->seq, q + 1, RLX);
}

static void slot_write_end(struct front_slot *s)
{
    uint32_t q = atomic_load_explicit(&s->seq, RLX);
    atomic_store_explicit(&s->seq, q + 1, memory_order_release);
}

static void key_words(const unsigned char key[32], uint64_t w[4])
{
    memcpy(w, key, 32);
}

static bool slot_has_key(struct front_slot *s, const uint64_t w[4])
{
    for (int i = 0; i < 4; i++)
        if (atomic_load_explicit(&s->key[i], RD) != w[i])
            return false;
    return true;
}

/* mu held. */
static void front_reset(struct att_cache *c)
{
    for (size_t i = 0; i < c->nfront; i++) {
        struct front_slot *s = &c->front[i];
        slot_write_begin(s);
        atomic_store_explicit(&s->used, 0, WR);
        slot_write_end(s);
        free(s->reason);
        s->reason = NULL;
    }
}

/* Two-way set associative: a key lives in slot h or h ^ 1. */
static size_t front_base(const struct att_cache *c, const unsigned char key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return (size_t)(h & (c->nfront - 1));
}

/* mu held (no writer runs, so relaxed loads are consistent). */
static struct front_slot *front_find(struct att_cache *c, const unsigned char key[32])
{
    size_t b = front_base(c, key);
    uint64_t w[4];
    key_words(key, w);
    for (size_t k = 0; k < 2 && (b ^ k) < c->nfront; k++) {
        struct front_slot *s = &c->front[b ^ k];
        if (atomic_load_explicit(&s->used, RLX) && slot_has_key(s, w))
            return s;
    }
    return NULL;
}

/* The slot for key: its own, else a free one, else the less recently used.
 * mu held. */
static struct front_slot *front_victim(struct att_cache *c, const unsigned char key[32])
{
    struct front_slot *s = front_find(c, key), *a, *b;
    size_t base = front_base(c, key);
    if (s)
        return s;
    a = &c->front[base];
    b = (base ^ 1) < c->nfront ? &c->front[base ^ 1] : a;
    if (!atomic_load_explicit(&a->used, RLX))
        return a;
    if (!atomic_load_explicit(&b->used, RLX))
        return b;
    return atomic_load_explicit(&a->last_use, RLX) <= atomic_load_explicit(&b->last_use, RLX) ? a
                                                                                              : b;
}

/* mu held. */
static void front_store(struct att_cache *c, const unsigned char key[32],
                        const struct att_cache_entry *e, uint64_t created_ms)
{
    struct front_slot *s = front_victim(c, key);
    uint64_t w[4], conf, sev[2] = {0, 0};
    key_words(key, w);
    memcpy(&conf, &e->confidence, sizeof(conf));
    memcpy(sev, e->severity, sizeof(e->severity) < sizeof(sev) ? sizeof(e->severity) : sizeof(sev));
    slot_write_begin(s);
    for (int i = 0; i < 4; i++)
        atomic_store_explicit(&s->key[i], w[i], WR);
    atomic_store_explicit(&s->created_ms, created_ms, WR);
    atomic_store_explicit(&s->last_use, atomic_fetch_add_explicit(&c->tick, 1, RLX) + 1, RLX);
    atomic_store_explicit(&s->verdict, (uint32_t)e->verdict, WR);
    atomic_store_explicit(&s->confidence, conf, WR);
    atomic_store_explicit(&s->severity[0], sev[0], WR);
    atomic_store_explicit(&s->severity[1], sev[1], WR);
    size_t rl = e->reason ? strlen(e->reason) : 0;
    if (!e->reason) {
        atomic_store_explicit(&s->reason_len, REASON_NULL, WR);
    } else if (rl > FRONT_REASON) {
        atomic_store_explicit(&s->reason_len, REASON_LONG, WR);
    } else {
        uint64_t words[FRONT_REASON / 8] = {0};
        memcpy(words, e->reason, rl);
        for (size_t i = 0; i < (rl + 7) / 8; i++)
            atomic_store_explicit(&s->reason_w[i], words[i], WR);
        atomic_store_explicit(&s->reason_len, (uint32_t)rl, WR);
    }
    atomic_store_explicit(&s->used, 1, WR);
    slot_write_end(s);
    free(s->reason);
    s->reason = mz_strdup(e->reason);
}

/* Reads a slot's entry (no reason). mu held, or not: then the caller must
 * validate the sequence around the call. */
static void slot_read(struct front_slot *s, struct att_cache_entry *out, uint64_t *created_ms)
{
    uint64_t conf = atomic_load_explicit(&s->confidence, RD);
    uint64_t sev[2] = {atomic_load_explicit(&s->severity[0], RD),
                       atomic_load_explicit(&s->severity[1], RD)};
    out->verdict = (enum mz_verdict)atomic_load_explicit(&s->verdict, RD);
    memcpy(&out->confidence, &conf, sizeof(conf));
    memcpy(out->severity, sev, sizeof(out->severity));
    out->severity[sizeof(out->severity) - 1] = '\0';
    out->reason = NULL;
    *created_ms = atomic_load_explicit(&s->created_ms, RD);
}

static bool fresh(const struct att_cache *c, uint64_t created_ms, uint64_t now);

/* Copies a short reason out of the slot into buf (NUL-terminated); false
 * when the slot holds none of front size (REASON_LONG). Without mu the
 * caller validates the sequence around the call. */
static bool slot_reason(struct front_slot *s, char buf[FRONT_REASON + 1], bool *null)
{
    uint32_t rl = atomic_load_explicit(&s->reason_len, RD);
    uint64_t words[FRONT_REASON / 8];
    *null = rl == REASON_NULL;
    buf[0] = '\0';
    if (rl == REASON_NULL)
        return true;
    if (rl > FRONT_REASON)
        return false;
    for (size_t i = 0; i < (rl + 7) / 8; i++)
        words[i] = atomic_load_explicit(&s->reason_w[i], RD);
    memcpy(buf, words, rl);
    buf[rl] = '\0';
    return true;
}

/* The lock-free hit path. 1: hit (out filled, the reason too when
 * want_reason); 0: not in the front, a reason too long for it, or a writer
 * got in the way (take the locked path). */
static int front_read(struct att_cache *c, const unsigned char key[32], uint64_t now,
                      bool want_reason, struct att_cache_entry *out)
{
    size_t b = front_base(c, key);
    uint64_t w[4];
    key_words(key, w);
    for (size_t k = 0; k < 2 && (b ^ k) < c->nfront; k++) {
        struct front_slot *s = &c->front[b ^ k];
        struct att_cache_entry e;
        uint64_t created;
        char reason[FRONT_REASON + 1];
        bool have_reason = true, null = true;
        uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (s1 & 1)
            return 0;
        bool match = atomic_load_explicit(&s->used, RD) && slot_has_key(s, w);
        if (match) {
            slot_read(s, &e, &created);
            if (want_reason)
                have_reason = slot_reason(s, reason, &null);
        }
        if (atomic_load_explicit(&s->seq, RLX) != s1)
            return 0;
        if (!match)
            continue;
        if (!fresh(c, created, now) || !have_reason)
            return 0;
        atomic_store_explicit(&s->last_use, atomic_fetch_add_explicit(&c->tick, 1, RLX) + 1, RLX);
        *out = e;
        out->reason = want_reason && !null ? mz_strdup(reason) : NULL;
        return 1;
    }
    return 0;
}

/* Deletes expired rows, then the oldest down to 90 % of max. mu held. */
static void evict(struct att_cache *c)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int64_t before = count_rows(c), after;

    if (before < 0)
        return;
    if (c->ttl_ms) {
        rc = sqlite3_prepare_v2(c->db, "DELETE FROM verdicts WHERE created_ms <= ?", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)(now_ms() - c->ttl_ms));
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE) {
            cache_fail(c, "expire", rc);
            return;
        }
    }
    after = count_rows(c);
    if (after < 0)
        return;
    if (after > (int64_t)c->max_entries) {
        int64_t keep = (int64_t)c->max_entries * 9 / 10;
        rc = sqlite3_prepare_v2(c->db,
                                "DELETE FROM verdicts WHERE key IN (SELECT key FROM verdicts "
                                "ORDER BY created_ms ASC, key ASC LIMIT ?)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, after - keep);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            cache_fail(c, "evict", rc);
            return;
        }
        after = count_rows(c);
        if (after < 0)
            return;
    }
    if (after < before)
        atomic_fetch_add(&c->evicted, (uint64_t)(before - after));
    c->rows = after;
    front_reset(c);
}

/* Creates the directories above path (mode 0700) that do not exist yet, so
 * that the default /var/lib/mizan/verdicts.db works on a fresh host. */
static int make_parents(const char *path)
{
    char dir[4096];
    if (mz_strlcpy(dir, path, sizeof(dir)))
        return -ENAMETOOLONG;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

struct att_cache *att_cache_open(const char *path, uint64_t ttl_ms, uint32_t max_entries)
{
    struct att_cache *c;
    int rc;
    const char *step = "open";

    if (!path || !path[0] || max_entries == 0) {
        log_error("attenuator: verdict cache needs a path and max_entries > 0");
        return NULL;
    }
    c = mz_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->path = mz_strdup(path);
    c->ttl_ms = ttl_ms;
    c->max_entries = max_entries;
    c->nfront = 1;
    while (c->nfront < FRONT_MAX && c->nfront < max_entries)
        c->nfront <<= 1;
    if (c->nfront > max_entries) /* never hold more in memory than the table may */
        c->nfront >>= 1;
    if (c->nfront == 0)
        c->nfront = 1;
    c->front = mz_calloc(c->nfront, sizeof(*c->front));
    atomic_store(&c->on, true);

    if (make_parents(path) != 0) {
        rc = SQLITE_CANTOPEN;
        goto fail;
    }
    rc = sqlite3_open_v2(path, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    (void)chmod(path, 0600);
    sqlite3_busy_timeout(c->db, 1000);
    step = "journal_mode=WAL";
    {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *m = (const char *)sqlite3_column_text(st, 0);
            if (!m || strcmp(m, "wal") != 0)
                rc = SQLITE_CANTOPEN;
            else
                rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            goto fail;
    }
    step = "integrity check";
    {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *m = (const char *)sqlite3_column_text(st, 0);
            rc = m && strcmp(m, "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            goto fail;
    }
    step = "schema";
    rc = exec_sql(c->db, "PRAGMA synchronous=NORMAL");
    if (rc == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        int ver = -1;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            ver = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (rc == SQLITE_OK && ver != SCHEMA_VER) {
            /* an older layout holds nothing we can trust: start over */
            rc = exec_sql(c->db, "DROP TABLE IF EXISTS verdicts;"
                                 "CREATE TABLE verdicts ("
                                 " key BLOB PRIMARY KEY NOT NULL,"
                                 " verdict INTEGER NOT NULL,"
                                 " confidence REAL NOT NULL,"
                                 " severity TEXT NOT NULL,"
                                 " reason TEXT,"
                                 " model TEXT,"
                                 " context TEXT,"
                                 " created_ms INTEGER NOT NULL) WITHOUT ROWID;"
                                 "CREATE INDEX verdicts_age ON verdicts(created_ms);"
                                 "PRAGMA user_version=1;");
        }
    }
    if (rc != SQLITE_OK)
        goto fail;
    step = "prepare";
    rc = sqlite3_prepare_v3(c->db,
                            "SELECT verdict, confidence, severity, reason, created_ms FROM "
                            "verdicts WHERE key = ? AND created_ms > ?",
                            -1, SQLITE_PREPARE_PERSISTENT, &c->get, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(c->db,
                                "INSERT OR REPLACE INTO verdicts (key, verdict, confidence, "
                                "severity, reason, model, context, created_ms) VALUES "
                                "(?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, SQLITE_PREPARE_PERSISTENT, &c->put, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    pthread_mutex_lock(&c->mu);
    evict(c); /* drop what expired while we were down; sets rows */
    pthread_mutex_unlock(&c->mu);
    if (!atomic_load(&c->on)) {
        att_cache_close(c);
        return NULL;
    }
    log_info("attenuator: verdict cache %s: %lld entries", path, (long long)c->rows);
    return c;

fail:
    log_error("attenuator: verdict cache %s: %s failed: %s (%s); running without a cache", path,
              step, c->db ? sqlite3_errmsg(c->db) : "", sqlite3_errstr(rc));
    atomic_store(&c->on, false);
    att_cache_close(c);
    return NULL;
}

void att_cache_close(struct att_cache *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    if (c->db)
        sqlite3_close_v2(c->db);
    front_reset(c);
    free(c->front);
    free(c->path);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool att_cache_is_on(const struct att_cache *c)
{
    return c && atomic_load(&((struct att_cache *)c)->on);
}

static bool fresh(const struct att_cache *c, uint64_t created_ms, uint64_t now)
{
    return c->ttl_ms == 0 || created_ms + c->ttl_ms > now;
}

int att_cache_get(struct att_cache *c, const unsigned char key[32], bool want_reason,
                  struct att_cache_entry *out)
{
    struct front_slot *s;
    uint64_t now = now_ms();
    int r = -ENOENT, rc;

    memset(out, 0, sizeof(*out));
    if (!c || !atomic_load(&c->on))
        return -EIO;
    if (front_read(c, key, now, want_reason, out)) {
        atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->front_hits, 1, memory_order_relaxed);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    s = front_find(c, key);
    if (s) {
        uint64_t created;
        slot_read(s, out, &created);
        if (fresh(c, created, now)) {
            atomic_store_explicit(&s->last_use, atomic_fetch_add_explicit(&c->tick, 1, RLX) + 1,
                                  RLX);
            out->reason = want_reason ? mz_strdup(s->reason) : NULL;
            r = 0;
            goto out;
        }
        memset(out, 0, sizeof(*out));
    }
    sqlite3_reset(c->get);
    sqlite3_bind_blob(c->get, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(c->get, 2, c->ttl_ms ? (int64_t)(now - c->ttl_ms) : INT64_MIN);
    rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW) {
        struct att_cache_entry e = {0};
        int v = sqlite3_column_int(c->get, 0);
        const char *sev = (const char *)sqlite3_column_text(c->get, 2);
        const char *reason = (const char *)sqlite3_column_text(c->get, 3);
        if (v < MZ_VERDICT_TRUE_POSITIVE || v > MZ_VERDICT_UNCERTAIN) {
            /* a row we did not write: treat as a miss, let the store replace it */
            r = -ENOENT;
        } else {
            e.verdict = (enum mz_verdict)v;
            e.confidence = sqlite3_column_double(c->get, 1);
            mz_strlcpy(e.severity, sev ? sev : "", sizeof(e.severity));
            e.reason = reason && strlen(reason) <= REASON_CAP ? (char *)reason : NULL;
            front_store(c, key, &e, (uint64_t)sqlite3_column_int64(c->get, 4));
            *out = e;
            out->reason = want_reason ? mz_strdup(e.reason) : NULL;
            r = 0;
        }
    } else if (rc != SQLITE_DONE) {
        cache_fail(c, "lookup", rc);
        r = -EIO;
    }
    sqlite3_reset(c->get);
    sqlite3_clear_bindings(c->get);
out:
    pthread_mutex_unlock(&c->mu);
    if (r == 0)
        atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    else if (r == -ENOENT)
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
    return r;
}

int att_cache_put(struct att_cache *c, const unsigned char key[32], const struct att_cache_entry *e,
                  const char *model, const char *context)
{
    uint64_t now = now_ms();
    int rc, r = 0;

    if (!c || !atomic_load(&c->on))
        return -EIO;
    pthread_mutex_lock(&c->mu);
    sqlite3_reset(c->put);
    sqlite3_bind_blob(c->put, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_int(c->put, 2, (int)e->verdict);
    sqlite3_bind_double(c->put, 3, e->confidence);
    sqlite3_bind_text(c->put, 4, e->severity, -1, SQLITE_STATIC);
    if (e->reason)
        sqlite3_bind_text(c->put, 5, e->reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(c->put, 5);
    sqlite3_bind_text(c->put, 6, model ? model : "", -1, SQLITE_STATIC);
    if (context)
        sqlite3_bind_text(c->put, 7, context, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(c->put, 7);
    sqlite3_bind_int64(c->put, 8, (int64_t)now);
    rc = sqlite3_step(c->put);
    sqlite3_reset(c->put);
    sqlite3_clear_bindings(c->put);
    if (rc != SQLITE_DONE) {
        cache_fail(c, "store", rc);
        r = -EIO;
        goto out;
    }
    atomic_fetch_add_explicit(&c->stores, 1, memory_order_relaxed);
    front_store(c, key, e, now);
    if (++c->rows > (int64_t)c->max_entries)
        evict(c);
out:
    pthread_mutex_unlock(&c->mu);
    return r;
}

int64_t att_cache_rows(struct att_cache *c)
{
    int64_t n;
    if (!c || !atomic_load(&c->on))
        return -EIO;
    pthread_mutex_lock(&c->mu);
    n = count_rows(c);
    pthread_mutex_unlock(&c->mu);
    return n;
}

cJSON *att_cache_stats_json(const struct att_cache *cc)
{
    struct att_cache *c = (struct att_cache *)cc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "on", c && atomic_load(&c->on));
    if (!c)
        return o;
    cJSON_AddNumberToObject(o, "hits", (double)atomic_load(&c->hits));
    cJSON_AddNumberToObject(o, "front_hits", (double)atomic_load(&c->front_hits));
    cJSON_AddNumberToObject(o, "misses", (double)atomic_load(&c->misses));
    cJSON_AddNumberToObject(o, "stores", (double)atomic_load(&c->stores));
    cJSON_AddNumberToObject(o, "evicted", (double)atomic_load(&c->evicted));
    cJSON_AddNumberToObject(o, "errors", (double)atomic_load(&c->errors));
    cJSON_AddNumberToObject(o, "max_entries", c->max_entries);
    cJSON_AddNumberToObject(o, "ttl_ms", (double)c->ttl_ms);
    return o;
}
