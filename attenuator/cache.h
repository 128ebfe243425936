/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.h - filter 2 of the chain: the verdict cache, a sqlite3 database in
 * WAL mode with a memory front (two-way set associative, up to 16384 slots)
 * so that a hit costs no SQL and no lock. Keys are 32-byte SHA-256 digests (att_cache_key). Entries
 * expire ttl_ms after they were written (0: never) and the table holds at most max_entries rows:
 * past that the oldest rows (and every expired one) are deleted, down to 90 % of the bound.
 *
 * A database that cannot be opened or is corrupt makes att_cache_open return
 * NULL after logging why; an error later (disk full, corruption found while
 * running) is logged once and switches the cache off: every lookup then
 * misses and every store is dropped. The daemon keeps running either way.
 *
 * Thread-safe: stores (from the model workers) and SQL lookups take one
 * mutex; front hits take none (those that want a reason longer than 256
 * bytes take it, still without SQL). Return convention: 0 or a negative
 * errno.
 */
#ifndef MIZAN_ATTENUATOR_CACHE_H
#define MIZAN_ATTENUATOR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/util.h"

struct cJSON;
struct att_cache;

struct att_cache_entry {
    enum mz_verdict verdict;
    double confidence;
    char severity[16];
    char *reason; /* heap, may be NULL */
};
void att_cache_entry_clear(struct att_cache_entry *e);

/* key = SHA-256(recipe id, artifact digest, prompt digest, model, mode),
 * each field length-prefixed so that no two tuples collide by concatenation. */
void att_cache_key(const char *recipe_id, const unsigned char artifact[32],
                   const unsigned char prompt[32], const char *model, const char *mode,
                   unsigned char key[32]);

/* Opens (creating it, and the directories above it, mode 0700) the database
 * at path. max_entries 0 is refused. */
struct att_cache *att_cache_open(const char *path, uint64_t ttl_ms, uint32_t max_entries);
void att_cache_close(struct att_cache *c);

/* 0 and *out filled on a hit (reason only when want_reason), -ENOENT on a
 * miss, -EIO when the cache is (or just got) switched off. */
int att_cache_get(struct att_cache *c, const unsigned char key[32], bool want_reason,
                  struct att_cache_entry *out) MZ_MUST_CHECK;
/* Stores e under key; context (the redacted JSON sent to the model) and model
 * are kept for operators who inspect the file. */
int att_cache_put(struct att_cache *c, const unsigned char key[32], const struct att_cache_entry *e,
                  const char *model, const char *context);

bool att_cache_is_on(const struct att_cache *c);
/* Rows in the table (a COUNT query), or a negative errno. */
int64_t att_cache_rows(struct att_cache *c);
/* hits, front_hits (of hits: answered without the mutex), misses, stores,
 * evicted, errors, on. */
struct cJSON *att_cache_stats_json(const struct att_cache *c);

#endif
