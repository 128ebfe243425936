/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - mizan's typed configuration, parsed from YAML (libyaml).
 *
 * Every key has a default (mz_config_defaults, which matches the documented
 * config/mizan.yaml). Parsing is strict: an unknown key, a wrong type or an
 * out-of-range value is an error naming file:line:column and the key path,
 * and nothing is started. The key table lives in config.c: adding a key means
 * a field here, a row in that table, and a documented line in mizan.yaml.
 *
 * Strings are heap-owned by the struct; mz_config_free releases them.
 * Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_CONFIG_CONFIG_H
#define MIZAN_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/util.h"

#define MZ_CFG_LIST_MAX 64

struct mz_str_list {
    char *items[MZ_CFG_LIST_MAX];
    size_t n;
};

enum mz_fsync_policy {
    MZ_FSYNC_NEVER = 0,    /* leave it to the kernel */
    MZ_FSYNC_INTERVAL = 1, /* at most every fsync_interval_ms */
    MZ_FSYNC_ALWAYS = 2,   /* after every line */
};

enum mz_stdout_format {
    MZ_FMT_AUTO = 0, /* text on a terminal, JSON otherwise */
    MZ_FMT_JSON = 1,
    MZ_FMT_TEXT = 2,
};

enum mz_att_mode {
    MZ_MODE_AMEND = 0,
    MZ_MODE_REASON = 1,
    MZ_MODE_BLOCK = 2,
};

/* A deterministic suppression rule (attenuator filter 1). Empty fields match
 * anything; patterns are fnmatch(3) globs. */
struct mz_suppress_rule {
    char *recipe;
    char *exe;
    char *args;
    char *path;
    char *peer; /* remote address or domain */
};
#define MZ_CFG_SUPPRESS_MAX 64

/* collector.direct_reads: the open path reads the opened file through
 * direct loads where the kernel allows them (bpf_rdonly_cast, 6.2+), or
 * through probe-read helpers (slower, any kernel with BTF). */
enum mz_direct_reads { MZ_DIRECT_AUTO = 0, MZ_DIRECT_OFF = 1 };

struct mz_config {
    char *source; /* file the config came from, or "<defaults>" */

    /* top level */
    enum mz_log_level log_level;
    char *host;        /* NULL: gethostname() */
    char *status_file; /* where a running daemon publishes its counters */

    struct {
        uint32_t observations; /* q1: collector -> detect */
        uint32_t detections;   /* q2: detect -> attenuator */
        uint32_t alerts;       /* per printer */
        uint64_t drain_timeout_ms;
    } queues;

    struct {
        bool enabled;
        uint64_t cadence_ms;   /* scan period */
        uint64_t poll_ms;      /* overflow drain and fill check period (early scans) */
        bool hash_executables; /* SHA-256 of exes (cached by dev/inode/mtime/size) */
        uint64_t hash_max_bytes;
        enum mz_direct_reads direct_reads; /* how BPF reads kernel structures */
        char *pin_dir;  /* bpffs directory of the pinned programs and maps; NULL = none */
        bool pin_fresh; /* not a key: `run --fresh` replaces the pins */
    } collector;

    struct {
        uint32_t tasks; /* kernel task map entries */
        uint32_t files;
        uint32_t args;
        uint32_t file_links; /* (task, file) access records */
        uint32_t flows;      /* (task, flow) records */
        uint32_t domains;    /* ip -> domain */
        uint32_t exe_hashes; /* userland SHA-256 cache */
        uint64_t overflow;   /* bytes of the kernel's overflow ring */
    } cache;

    struct {
        bool builtin;                   /* load the embedded recipe library */
        struct mz_str_list dirs;        /* user recipe directories */
        bool reload;                    /* inotify hot reload */
        uint32_t global_max_per_minute; /* global alert cap, 0: none */
        char *lists_dir;                /* relative remote_domains_file names resolve here */
        uint64_t times_window_ms;       /* recipe `times` counts restart after this; 0: never */
    } detect;

    struct {
        bool enabled;
        enum mz_att_mode mode;
        char *url; /* base URL, POST {url}/chat/completions */
        char *model;
        char *token; /* never logged */
        char *token_file;
        char *token_env; /* name of an environment variable */
        double temperature;
        uint32_t max_tokens;
        uint64_t connect_timeout_ms;
        uint64_t timeout_ms;
        uint32_t retries;
        uint64_t retry_after_max_ms;
        uint32_t concurrency;
        uint32_t queue; /* bounded input queue; full -> bypass */
        uint32_t breaker_failures;
        uint64_t breaker_cooldown_ms;
        uint32_t args_max;      /* args are cut to this many bytes in the context */
        bool send_pids;         /* opt in to PIDs/timestamps/hosts/hashes */
        uint64_t drain_wait_ms; /* how long a drain waits for queued model calls;
                                 * 0: half of queues.drain_timeout */
        struct {
            char *path;
            uint64_t ttl_ms;
            uint32_t max_entries;
        } cache;
        struct {
            double min_confidence;
            int max_importance; /* enum mz_importance */
            struct mz_str_list protected_recipes;
        } block;
        struct {
            char *dir; /* overrides the embedded prompts/ */
        } prompts;
        struct mz_suppress_rule suppress[MZ_CFG_SUPPRESS_MAX];
        size_t n_suppress;
    } attenuator;

    struct {
        bool enabled; /* load the network policy (netpolicy/) */
        char *file;   /* Jibril's network_policy format */
    } netpolicy;

    struct {
        bool drop_capabilities; /* after attach, keep only what is needed (daemon/privs.h) */
    } security;

    struct {
        struct {
            bool enabled;
            enum mz_stdout_format format;
        } stdout_;
        struct {
            bool enabled;
            char *path;        /* alerts file; rotated siblings get .1, .2, ... */
            uint64_t max_size; /* bytes before rotation */
            uint32_t keep;     /* rotated files kept */
            enum mz_fsync_policy fsync;
            uint64_t fsync_interval_ms;
        } varlog;
    } printers;
};

/* Fills cfg with the defaults. */
void mz_config_defaults(struct mz_config *cfg);
/* Parses the YAML at path over the defaults. On error returns -EINVAL (or
 * -errno when the file cannot be read) and writes "file:line:col: key: why"
 * into err. cfg is left with defaults on error. */
int mz_config_load(const char *path, struct mz_config *cfg, char *err, size_t errlen) MZ_MUST_CHECK;
/* Same, from a string (name is used in messages). */
int mz_config_load_string(const char *name, const char *yaml, size_t len, struct mz_config *cfg,
                          char *err, size_t errlen) MZ_MUST_CHECK;
void mz_config_free(struct mz_config *cfg);

#endif
