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

/* outputs.<name>: what the three network outputs (printers/prn_net.h)
 * share: a bounded queue in memory, a bounded spool on disk while the
 * endpoint is down, batching and retries. */
struct mz_output_common {
    bool enabled;
    uint32_t queue;         /* records held in memory before the spool */
    uint32_t batch;         /* records per delivery */
    uint64_t batch_wait_ms; /* how long a partial batch waits for more */
    uint64_t timeout_ms;    /* per delivery attempt */
    uint64_t retry_min_ms;  /* first backoff; doubles up to retry_max */
    uint64_t retry_max_ms;
    char *spool_dir;         /* this output's own spool directory */
    uint64_t spool_max_size; /* bytes on disk; past it records are refused */
    enum mz_fsync_policy spool_fsync;
    uint64_t drain_wait_ms; /* at exit: how long to keep delivering */
};

enum mz_syslog_transport { MZ_SYSLOG_UDP = 0, MZ_SYSLOG_TCP = 1 };

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
        char *pin_dir;   /* bpffs directory of the pinned programs and maps; NULL = none */
        bool pin_fresh;  /* not a key: `run --fresh` replaces the pins */
        bool bench_gate; /* not a key: bench/collector's gate (col_bench_gate) */
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
        bool enabled;            /* serve /metrics, /healthz, /readyz (http/) */
        char *listen;            /* "ADDR:PORT", "[ADDR6]:PORT"; port 0: any free one */
        uint64_t stuck_after_ms; /* a queue with items and no progress this long is stuck */
    } http;

    struct {
        bool enabled; /* load the network policy (netpolicy/) */
        char *file;   /* Jibril's network_policy format */
    } netpolicy;

    struct {
        bool enabled;         /* run the reactions of recipes (reactions/) */
        uint32_t workers;     /* reactions running at once (one node process each) */
        uint32_t queue;       /* reactions waiting; past it they are counted and dropped */
        uint64_t timeout_ms;  /* a reaction is killed after this long */
        char *node;           /* the node binary that runs js reactions */
        char *socket;         /* the root-only socket of `mizan react` */
        bool allow_emergency; /* PowerOff and Panic may act */
    } reactions;
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

    struct {
        struct {
            struct mz_output_common c;
            char *url;        /* https://... (http:// only to loopback) */
            char *token_file; /* bearer token, first line */
            char *token_env;  /* or the name of an environment variable */
            char *ca_file;    /* NULL: the system's CA store */
            bool tls_verify;
        } webhook;
        struct {
            struct mz_output_common c;
            char *brokers; /* host:port,host:port */
            char *topic;
            char *security_protocol; /* plaintext, ssl, sasl_plaintext, sasl_ssl */
            char *sasl_mechanism;    /* PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 */
            char *sasl_username;
            char *sasl_password_file;
            char *ca_file;
        } kafka;
        struct {
            struct mz_output_common c;
            enum mz_syslog_transport transport;
            char *address; /* host or IP */
            uint32_t port;
            uint32_t facility; /* 0..23 */
            char *app_name;
        } syslog;
    } outputs;
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
/* An https:// URL, or a plain http:// one to a loopback host (what
 * outputs.webhook.url accepts). */
bool mz_url_https_or_loopback(const char *url);

/* The directory of the status file, where the daemon keeps what must
 * survive it (the delivery cursor, the overflow ring's journal), into out.
 * Returns 0, -ENOENT without a status file, -ENAMETOOLONG. */
int mz_config_state_dir(const struct mz_config *cfg, char *out, size_t len);

/* Parses an http.listen value, "A.B.C.D:PORT" or "[IPV6]:PORT" (numeric
 * addresses only, port 0..65535), into *out (a struct sockaddr_in or
 * sockaddr_in6) and *outlen. Returns 0 or -EINVAL. */
struct sockaddr_storage;
int mz_config_parse_listen(const char *s, struct sockaddr_storage *out, unsigned *outlen);

#endif
