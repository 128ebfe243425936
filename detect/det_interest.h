/* SPDX-License-Identifier: Apache-2.0 */
/*
 * det_interest.h - the interest set: what the loaded recipes could alert on,
 * reduced to tests the kernel can make cheaply when it creates a file
 * record, so that records a recipe could alert on are kept in room a flood
 * of others cannot take (DESIGN "Kernel side").
 *
 * Each file_access or execution recipe (built-in or user, enabled) is
 * reduced to entries, each a test on the record's file path or on the
 * acting process's exe: an exact path, a directory (the path is under it),
 * a byte prefix, a basename, a basename prefix, or "everything" when
 * nothing narrower is sound. A regex is reduced by expanding its literal
 * parts (alternations, optional groups) until the first construct that is
 * not literal; what cannot be reduced becomes a conservative superset, never
 * a narrower set: a record a recipe could match always passes some entry
 * (a false "interesting" costs room, a false "not interesting" would cost an
 * alert). Each entry carries the file actions that can make it match (0:
 * any). Network, tamper and privilege recipes add nothing (they do not
 * match file records).
 *
 * The set is immutable once built; the engine rebuilds it on every reload
 * (det_engine_interest) and hands out references, so a reader on another
 * thread keeps a consistent set while a new one is installed.
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_DETECT_DET_INTEREST_H
#define MIZAN_DETECT_DET_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct det_set;
struct det_engine;

enum det_interest_kind {
    DET_INTEREST_PATH = 1,        /* the string is the whole path */
    DET_INTEREST_DIR = 2,         /* the path is under the string (a directory, no trailing /) */
    DET_INTEREST_PREFIX = 3,      /* the path starts with the string (not at a / boundary) */
    DET_INTEREST_BASE = 4,        /* the basename is the string */
    DET_INTEREST_BASE_PREFIX = 5, /* the basename starts with the string */
    DET_INTEREST_ALL = 6,         /* every path (string ""): nothing narrower was sound */
};

enum det_interest_on {
    DET_INTEREST_ON_FILE = 0, /* the record's file path */
    DET_INTEREST_ON_EXE = 1,  /* the acting process's executable path */
};

struct det_interest_entry {
    enum det_interest_kind kind;
    enum det_interest_on on;
    uint32_t actions; /* enum mz_file_action bits that can match; 0: any */
    const char *s;    /* owned by the set */
};

struct det_interest;

/* Builds the interest set of every enabled recipe of s. NULL on OOM. */
struct det_interest *det_interest_build(const struct det_set *s);

/* Entries, deduplicated (one per kind, on and string; actions merged). */
size_t det_interest_count(const struct det_interest *ii);
const struct det_interest_entry *det_interest_entry(const struct det_interest *ii, size_t i);

/* The reference test the kernel approximates: whether a record of path,
 * with actions, by a process running exe (may be NULL), passes an entry. */
bool det_interest_match(const struct det_interest *ii, const char *path, uint32_t actions,
                        const char *exe);

/* Per recipe, what it reduced to: {"recipes": {id: {"reduced": "exact" |
 * "superset" | "all" | "none", "entries": [{"kind","on","value","actions"}],
 * "why": text}}, "entries": N}; owned by the caller. "exact": literal bases
 * only; "superset": a regex or filter was widened; "all": some part could
 * not be narrowed; "none": not a file recipe (or disabled). */
struct cJSON *det_interest_json(const struct det_interest *ii);

/* How recipe id reduced ("exact", "superset", "all", "none"), or NULL. */
const char *det_interest_reduced(const struct det_interest *ii, const char *id);

/* References: the engine's set outlives a reload for whoever holds one. */
struct det_interest *det_interest_ref(struct det_interest *ii);
void det_interest_unref(struct det_interest *ii); /* accepts NULL */

/* The engine's current set (a new reference; unref it) and its generation,
 * which grows by one per rebuild. Any thread. */
struct det_interest *det_engine_interest(struct det_engine *e, uint64_t *generation);

const char *det_interest_kind_name(enum det_interest_kind k);

#endif
