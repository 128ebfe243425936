/* SPDX-License-Identifier: Apache-2.0 */
/*
 * det_int.h - internals shared by the detect/ modules: the compiled recipe
 * (det_recipe), a recipe set with its match index (det_set), the loader's
 * diagnostics, rate limits and domain helpers. Not for use outside detect/
 * (bench/ and tests/ excepted).
 */
#ifndef MIZAN_DETECT_DET_INT_H
#define MIZAN_DETECT_DET_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/util.h"
#include "detect/detect.h"

#define DET_FILE_MAX       (16u << 20) /* one recipe file, bytes */
#define DET_RECIPES_MAX    4096        /* recipes in one set */
#define DET_LIST_ITEMS_MAX 200000      /* entries in one YAML list or domain list */
#define DET_STR_MAX        65536       /* one scalar */
#define DET_DOMAIN_MAX     253

enum det_mechanism {
    DET_MECH_NONE = 0,
    DET_MECH_FILE = 1,   /* file_access */
    DET_MECH_EXEC = 2,   /* execution */
    DET_MECH_NET = 3,    /* network_peers */
    DET_MECH_TAMPER = 4, /* tamper (mizan): TAMPER observations */
    DET_MECH_PRIV = 5,   /* privilege (mizan): PRIV observations */
};

/* `times` kinds. */
enum det_times_kind {
    DET_TIMES_PROC = 0,
    DET_TIMES_EXE,
    DET_TIMES_PARENT_PROC,
    DET_TIMES_PARENT_EXE,
    DET_TIMES_FULL_ANCESTRY,
    DET_TIMES_CMD,
    DET_TIMES_TOTAL, /* also times_per_host, times_per_hostname: one host */
    DET_TIMES_COUNT
};

/* A compiled regular expression (PCRE2, JIT when available) and the longest
 * literal every match must contain (a cheap memmem prefilter), or NULL. */
struct det_regex {
    pcre2_code *code;
    pcre2_match_data *md;
    char *src;
    char *literal;
    size_t literal_len;
    bool match_all; /* ".*" and friends */
};

/* One `bases` entry: at least one of dir / base / regex. */
struct det_base {
    char *dir;  /* without trailing slash; path must be under it */
    char *base; /* the basename */
    struct det_regex re;
    bool has_re;
};

enum det_what {
    DET_WHAT_UNSUPPORTED = 0,
    DET_WHAT_EXE,
    DET_WHAT_COMM,
    DET_WHAT_ARGS, /* cmd is args */
    DET_WHAT_UID,
    DET_WHAT_GID,
    DET_WHAT_EUID,
    DET_WHAT_PID,
    DET_WHAT_PPID,
    DET_WHAT_USER,
    DET_WHAT_CWD,
    DET_WHAT_CONTAINER,
    DET_WHAT_PARENT_EXE,
    DET_WHAT_TASK_OR_PARENT_EXE,
    DET_WHAT_ANCESTRY,
    DET_WHAT_PATH,
    DET_WHAT_PATH2,
    DET_WHAT_DOMAIN,
    DET_WHAT_REMOTE_ADDR,
    DET_WHAT_LOCAL_ADDR,
    DET_WHAT_REMOTE_PORT,
    DET_WHAT_LOCAL_PORT,
    DET_WHAT_TIME,
    DET_WHAT_EXE_SHA256,
    DET_WHAT_TAMPER_DETAIL,
    DET_WHAT_PRIV_TARGET,
    /* mizan's own: the exe (parent's exe, either) only when the collector
     * found it a trusted system binary (mz_process.exe_trusted); what
     * built-in exclusions by program use, so that a copy cannot pass */
    DET_WHAT_TRUSTED_EXE,
    DET_WHAT_TRUSTED_PARENT_EXE,
    DET_WHAT_TRUSTED_TASK_OR_PARENT_EXE,
};

enum det_item_type {
    DET_ITEM_PATTERN,
    DET_ITEM_NUMBER,
    DET_ITEM_NUMBERS,
    DET_ITEM_CIDR,
    DET_ITEM_TIME
};
enum det_when { DET_WHEN_EQUAL = 0, DET_WHEN_SMALLER, DET_WHEN_BIGGER };

struct det_cidr {
    uint8_t family; /* AF_INET / AF_INET6 */
    uint8_t bits;
    uint8_t addr[16];
};

struct det_item {
    enum det_what what;
    enum det_item_type type;
    bool pertinent; /* must match (true) or must not match (false) */
    enum det_when when;
    struct det_regex re;
    int64_t number;
    int64_t *numbers;
    size_t n_numbers;
    struct det_cidr cidr;
    uint64_t time_ns;
};

struct det_group {
    bool all; /* how: AND (true) / OR (false) */
    struct det_item *items;
    size_t n_items;
};

/* Flow conditions are tested on a virtual mask: the record's action bits
 * plus these direction bits. */
#define DET_FLV_EGRESS  (1u << 20)
#define DET_FLV_INGRESS (1u << 21)

struct det_flow_cond {
    uint32_t masks[24]; /* one per listed name: any bit of it satisfies the name */
    size_t n;
    bool all;
    uint32_t excl;
};

/* A set of domains matched exactly, as a label suffix, or as a prefix. */
struct det_domset;

struct det_ports {
    uint16_t *v;
    size_t n;
};

struct det_reaction {
    char *format;
    char *code;
};

struct det_stats {
    _Atomic uint64_t matched;
    _Atomic uint64_t emitted;
    _Atomic uint64_t rate_suppressed;
};

struct det_recipe {
    /* identity */
    char *id; /* the alchemy name (kind when name is absent) */
    char *kind;
    char *description;
    char *documentation;
    char *version;
    char *breed;
    char *tactic, *technique, *subtechnique;
    char *origin;  /* "builtin" or the file path */
    int line, col; /* where the recipe starts (1-based) */
    bool enabled;
    bool builtin;
    enum det_mechanism mech;
    enum mz_importance importance;
    struct mz_recipe_ref ref; /* what detections carry */
    uint64_t id_hash;
    uint32_t set_index; /* position in its set (match order) */

    struct {
        enum det_times_kind kind;
        uint32_t max;
    } times[DET_TIMES_COUNT];
    size_t n_times;

    struct det_group *groups;
    size_t n_groups;

    /* file_access / execution */
    uint32_t fa_mask; /* 0: any action */
    bool fa_all;
    uint32_t fa_excl;
    struct det_base *bases;
    size_t n_bases;

    /* network_peers */
    uint8_t proto; /* 0: any */
    struct det_cidr *local_cidrs, *remote_cidrs;
    size_t n_local_cidrs, n_remote_cidrs;
    struct det_ports local_ports, remote_ports;
    struct det_domset *domains; /* remote_domains + remote_domains_file, or NULL */
    bool has_domains;           /* a domain condition exists (even if its list is empty) */
    double algorithmic_min;     /* > 0: domain must score at least this */
    bool new_domains;           /* domain seen for the first time */
    struct det_flow_cond flow;

    /* tamper / privilege (mizan) */
    uint32_t tamper_mask; /* bits 1 << enum mz_tamper_kind; 0: any */
    uint32_t priv_mask;   /* enum mz_priv_action bits; 0: any */

    struct det_reaction *reactions;
    size_t n_reactions;

    struct det_stats stats;
};

/* Diagnostics of one load: errors and warnings as "file:line:col: field: why". */
struct det_diag {
    char **msgs;
    bool *is_error;
    size_t n;
    size_t n_errors, n_warnings;
};
void det_diag_add(struct det_diag *d, bool error, const char *file, int line, int col,
                  const char *field, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void det_diag_free(struct det_diag *d);

/* Options of a load. */
struct det_load_opts {
    const char *lists_dir; /* relative remote_domains_file names resolve here */
    bool builtin;
    bool no_list_files; /* remote_domains_file is not read (fuzzing) */
};

/* Parses one YAML text (name is used in messages) and appends the compiled
 * recipes to *out (an array of pointers, grown). Errors and warnings go to
 * diag. Returns 0, or -EINVAL when any error was found (nothing appended). */
int det_load_text(const char *name, const char *text, size_t len, const struct det_load_opts *o,
                  struct det_recipe ***out, size_t *n_out, struct det_diag *diag) MZ_MUST_CHECK;
void det_recipe_free(struct det_recipe *r);

/* Regex helpers (regex.c). */
int det_regex_compile(struct det_regex *re, const char *src, char *err,
                      size_t errlen) MZ_MUST_CHECK;
bool det_regex_match(const struct det_regex *re, const char *s, size_t len);
/* The same test, and where the match lies in s (*off, *mlen: all of s for
 * a match-all pattern). */
bool det_regex_span(const struct det_regex *re, const char *s, size_t len, size_t *off,
                    size_t *mlen);
void det_regex_free(struct det_regex *re);
/* "^/a/b/c..." -> "/a/b" (every match is under it), or NULL. */
char *det_regex_anchored_dir(const char *src);

/* CIDR helpers. */
int det_cidr_parse(const char *s, struct det_cidr *out) MZ_MUST_CHECK;
/* Parses a textual address into family + 16 bytes; 0 or -EINVAL. */
int det_addr_parse(const char *s, uint8_t *family, uint8_t addr[16]);
bool det_cidr_contains(const struct det_cidr *c, uint8_t family, const uint8_t addr[16]);

/* Domain sets (domains.c). */
enum det_dom_type { DET_DOM_EXACT = 0, DET_DOM_SUFFIX, DET_DOM_PREFIX };
struct det_domset *det_domset_new(enum det_dom_type type);
int det_domset_add(struct det_domset *s, const char *domain) MZ_MUST_CHECK;
/* Reads one domain per line ('#' comments, hosts-file "0.0.0.0 name" lines). */
int det_domset_add_file(struct det_domset *s, const char *path, char *err,
                        size_t errlen) MZ_MUST_CHECK;
bool det_domset_match(const struct det_domset *s, const char *domain);
/* The same, and the entry that matched (into entry, cut to entry_len - 1)
 * and where it lies in domain once lower-cased (*off, *len). */
bool det_domset_match_entry(const struct det_domset *s, const char *domain, char *entry,
                            size_t entry_len, size_t *off, size_t *len);
size_t det_domset_size(const struct det_domset *s);
void det_domset_free(struct det_domset *s);
/* Our algorithmic-domain score in [0, 1]: high for DGA-like names. */
double det_domain_score(const char *domain);

/* Rate limits (det_rate.c): the recipes' `times` and the global cap, with
 * the summaries of what they hold back. now is the caller's monotonic clock
 * (ns). Single thread (the detect stage). */
struct det_rate;
/* window_ns 0: `times` counts never restart; global_max 0: no global cap. */
struct det_rate *det_rate_new(size_t slots, uint64_t window_ns, uint32_t global_max);
enum { DET_RATE_PASS = -1, DET_RATE_GLOBAL = -2 };
/* DET_RATE_PASS when every limit has room for obs; else the index in
 * rc->times of the first full limit, or DET_RATE_GLOBAL. Spends nothing. */
int det_rate_check(struct det_rate *r, const struct det_recipe *rc, const struct mz_observation *o,
                   uint64_t now);
/* Counts one emitted detection against every limit of rc and the cap. */
void det_rate_spend(struct det_rate *r, const struct det_recipe *rc, const struct mz_observation *o,
                    uint64_t now);
/* Folds a detection that `limit` (a det_rate_check result) held back into
 * its pending summary. When every pending summary is in use, the one due
 * first is emitted through emit now; its result is returned (0 otherwise). */
int det_rate_hold(struct det_rate *r, const struct det_recipe *rc, int limit,
                  const struct mz_observation *o, uint64_t now, det_emit_fn emit, void *ctx);
/* True when a pending summary is due at now. */
bool det_rate_due(const struct det_rate *r, uint64_t now);
/* Emits the summaries due at now (every one with all) as detections with a
 * summary. Returns how many, or the first negative result of emit (the
 * others are emitted still). */
int det_rate_flush(struct det_rate *r, uint64_t now, bool all, det_emit_fn emit, void *ctx);
struct det_rate_stats {
    uint64_t held;      /* detections in pending summaries now */
    uint64_t pending;   /* pending summaries */
    uint64_t summaries; /* summaries emitted */
    uint64_t early;     /* of them, emitted before their window ended (table full) */
};
void det_rate_stats(const struct det_rate *r, struct det_rate_stats *out);
void det_rate_free(struct det_rate *r);

/* A recipe set with its index (match.c). */
struct det_set;
struct det_set *det_set_new(struct det_recipe **recipes, size_t n); /* takes the recipes */
void det_set_free(struct det_set *s);
size_t det_set_count(const struct det_set *s);
struct det_recipe *det_set_recipe(const struct det_set *s, size_t i);
/* Collects the recipes matching obs (before rate limits) into out (capacity
 * cap); returns how many. `naive` tests every recipe instead of the index
 * (for the benchmark and for tests that compare both). new_domain_ok tells
 * whether obs's domain is seen for the first time. */
size_t det_set_match(struct det_set *s, const struct mz_observation *o, bool naive, bool new_domain,
                     struct det_recipe **out, size_t cap);
/* Whether one recipe matches (the whole test, no index). */
bool det_recipe_matches(const struct det_recipe *r, const struct mz_observation *o,
                        bool new_domain);
/* The same test, recording into *out which field matched which pattern or
 * entry of r (mz_matched, event.h); out->n is 0 when r does not match. */
bool det_recipe_explain(const struct det_recipe *r, const struct mz_observation *o, bool new_domain,
                        struct mz_matched *out);

/* The engine's current set (owner thread only: the CLI, tests). */
struct det_engine;
struct det_set *det_engine_set(struct det_engine *e);
/* Replaces the engine's monotonic clock (tests; NULL: the real one). */
void det_engine_set_clock(struct det_engine *e, uint64_t (*clock)(void));

/* Name tables. */
const char *det_mech_name(enum det_mechanism m);
const char *det_times_name(enum det_times_kind k);
uint64_t det_hash64(const void *data, size_t len, uint64_t seed);

#endif
