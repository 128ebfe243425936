// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - strict YAML configuration. The file is loaded into a libyaml
 * document (which keeps each node's line and column) and walked against the
 * key table below. Every key has a type, a default (mz_config_defaults) and,
 * for numbers, a range; anything else is an error "file:line:col: key: why".
 * To add a key: a field in config.h, a row here, a documented line in
 * config/mizan.yaml.
 */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <yaml.h>

#include "config/cfg_yaml.h"

#include "core/event.h"
#include "core/util.h"

#define CFG_FILE_MAX (1u << 20) /* a config larger than 1 MiB is an error */

enum cfg_type {
    T_END = 0,
    T_SECTION,
    T_BOOL,
    T_U32,
    T_U64,
    T_DOUBLE,
    T_STR,      /* char *, null allowed */
    T_DURATION, /* uint64_t milliseconds */
    T_SIZE,     /* uint64_t bytes */
    T_ENUM,     /* int-sized enum, names in .enums */
    T_LOGLEVEL,
    T_IMPORTANCE, /* int */
    T_STRLIST,    /* struct mz_str_list */
    T_SUPPRESS,   /* attenuator.suppress rules */
    T_LISTEN,     /* char *, an address mz_config_parse_listen accepts */
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t off;
    double min, max; /* numbers, durations (ms), sizes (bytes) */
    const char *const *enums;
    const struct cfg_key *sub;
};

#define OFF(field) offsetof(struct mz_config, field)
#define KEND                                                                                       \
    {                                                                                              \
        NULL, T_END, 0, 0, 0, NULL, NULL                                                           \
    }

static const char *const fsync_names[] = {"never", "interval", "always", NULL};
static const char *const direct_reads_names[] = {"auto", "off", NULL};
static const char *const format_names[] = {"auto", "json", "text", NULL};
static const char *const mode_names[] = {"amend", "reason", "block", NULL};

static const struct cfg_key k_queues[] = {
    {"observations", T_U32, OFF(queues.observations), 2, 1 << 24, NULL, NULL},
    {"detections", T_U32, OFF(queues.detections), 2, 1 << 24, NULL, NULL},
    {"alerts", T_U32, OFF(queues.alerts), 2, 1 << 24, NULL, NULL},
    {"drain_timeout", T_DURATION, OFF(queues.drain_timeout_ms), 0, 3600000, NULL, NULL},
    KEND,
};

static const struct cfg_key k_collector[] = {
    {"enabled", T_BOOL, OFF(collector.enabled), 0, 0, NULL, NULL},
    {"cadence", T_DURATION, OFF(collector.cadence_ms), 10, 60000, NULL, NULL},
    {"poll", T_DURATION, OFF(collector.poll_ms), 1, 60000, NULL, NULL},
    {"hash_executables", T_BOOL, OFF(collector.hash_executables), 0, 0, NULL, NULL},
    {"hash_max_bytes", T_SIZE, OFF(collector.hash_max_bytes), 0, 1e12, NULL, NULL},
    {"direct_reads", T_ENUM, OFF(collector.direct_reads), 0, 0, direct_reads_names, NULL},
    {"pin_dir", T_STR, OFF(collector.pin_dir), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_cache[] = {
    {"tasks", T_U32, OFF(cache.tasks), 64, 1 << 24, NULL, NULL},
    {"files", T_U32, OFF(cache.files), 64, 1 << 24, NULL, NULL},
    {"args", T_U32, OFF(cache.args), 64, 1 << 24, NULL, NULL},
    {"file_links", T_U32, OFF(cache.file_links), 64, 1 << 24, NULL, NULL},
    {"flows", T_U32, OFF(cache.flows), 64, 1 << 24, NULL, NULL},
    {"domains", T_U32, OFF(cache.domains), 64, 1 << 24, NULL, NULL},
    {"exe_hashes", T_U32, OFF(cache.exe_hashes), 0, 1 << 24, NULL, NULL},
    {"overflow", T_SIZE, OFF(cache.overflow), 4096, 1ull << 30, NULL, NULL},
    KEND,
};

static const struct cfg_key k_detect[] = {
    {"builtin", T_BOOL, OFF(detect.builtin), 0, 0, NULL, NULL},
    {"dirs", T_STRLIST, OFF(detect.dirs), 0, 0, NULL, NULL},
    {"reload", T_BOOL, OFF(detect.reload), 0, 0, NULL, NULL},
    {"global_max_per_minute", T_U32, OFF(detect.global_max_per_minute), 0, 1e9, NULL, NULL},
    {"lists_dir", T_STR, OFF(detect.lists_dir), 0, 0, NULL, NULL},
    {"times_window", T_DURATION, OFF(detect.times_window_ms), 0, 366.0 * 24 * 3600 * 1000, NULL,
     NULL},
    KEND,
};

static const struct cfg_key k_att_cache[] = {
    {"path", T_STR, OFF(attenuator.cache.path), 0, 0, NULL, NULL},
    {"ttl", T_DURATION, OFF(attenuator.cache.ttl_ms), 0, 3.2e10, NULL, NULL},
    {"max_entries", T_U32, OFF(attenuator.cache.max_entries), 0, 1e9, NULL, NULL},
    KEND,
};

static const struct cfg_key k_att_block[] = {
    {"min_confidence", T_DOUBLE, OFF(attenuator.block.min_confidence), 0, 1, NULL, NULL},
    {"max_importance", T_IMPORTANCE, OFF(attenuator.block.max_importance), 0, 0, NULL, NULL},
    {"protected_recipes", T_STRLIST, OFF(attenuator.block.protected_recipes), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_att_prompts[] = {
    {"dir", T_STR, OFF(attenuator.prompts.dir), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_attenuator[] = {
    {"enabled", T_BOOL, OFF(attenuator.enabled), 0, 0, NULL, NULL},
    {"mode", T_ENUM, OFF(attenuator.mode), 0, 0, mode_names, NULL},
    {"url", T_STR, OFF(attenuator.url), 0, 0, NULL, NULL},
    {"model", T_STR, OFF(attenuator.model), 0, 0, NULL, NULL},
    {"token", T_STR, OFF(attenuator.token), 0, 0, NULL, NULL},
    {"token_file", T_STR, OFF(attenuator.token_file), 0, 0, NULL, NULL},
    {"token_env", T_STR, OFF(attenuator.token_env), 0, 0, NULL, NULL},
    {"temperature", T_DOUBLE, OFF(attenuator.temperature), 0, 2, NULL, NULL},
    {"max_tokens", T_U32, OFF(attenuator.max_tokens), 16, 1e6, NULL, NULL},
    {"connect_timeout", T_DURATION, OFF(attenuator.connect_timeout_ms), 1, 600000, NULL, NULL},
    {"timeout", T_DURATION, OFF(attenuator.timeout_ms), 1, 3600000, NULL, NULL},
    {"retries", T_U32, OFF(attenuator.retries), 0, 20, NULL, NULL},
    {"retry_after_max", T_DURATION, OFF(attenuator.retry_after_max_ms), 0, 3600000, NULL, NULL},
    {"concurrency", T_U32, OFF(attenuator.concurrency), 1, 256, NULL, NULL},
    {"queue", T_U32, OFF(attenuator.queue), 2, 1 << 24, NULL, NULL},
    {"breaker_failures", T_U32, OFF(attenuator.breaker_failures), 1, 1e6, NULL, NULL},
    {"breaker_cooldown", T_DURATION, OFF(attenuator.breaker_cooldown_ms), 0, 86400000, NULL, NULL},
    {"args_max", T_U32, OFF(attenuator.args_max), 16, MZ_ARGS_MAX, NULL, NULL},
    {"send_pids", T_BOOL, OFF(attenuator.send_pids), 0, 0, NULL, NULL},
    {"drain_wait", T_DURATION, OFF(attenuator.drain_wait_ms), 0, 86400000, NULL, NULL},
    {"cache", T_SECTION, 0, 0, 0, NULL, k_att_cache},
    {"block", T_SECTION, 0, 0, 0, NULL, k_att_block},
    {"prompts", T_SECTION, 0, 0, 0, NULL, k_att_prompts},
    {"suppress", T_SUPPRESS, 0, 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_stdout[] = {
    {"enabled", T_BOOL, OFF(printers.stdout_.enabled), 0, 0, NULL, NULL},
    {"format", T_ENUM, OFF(printers.stdout_.format), 0, 0, format_names, NULL},
    KEND,
};

static const struct cfg_key k_varlog[] = {
    {"enabled", T_BOOL, OFF(printers.varlog.enabled), 0, 0, NULL, NULL},
    {"path", T_STR, OFF(printers.varlog.path), 0, 0, NULL, NULL},
    {"max_size", T_SIZE, OFF(printers.varlog.max_size), 4096, 1e13, NULL, NULL},
    {"keep", T_U32, OFF(printers.varlog.keep), 0, 1000, NULL, NULL},
    {"fsync", T_ENUM, OFF(printers.varlog.fsync), 0, 0, fsync_names, NULL},
    {"fsync_interval", T_DURATION, OFF(printers.varlog.fsync_interval_ms), 1, 3600000, NULL, NULL},
    KEND,
};

static const struct cfg_key k_printers[] = {
    {"stdout", T_SECTION, 0, 0, 0, NULL, k_stdout},
    {"varlog", T_SECTION, 0, 0, 0, NULL, k_varlog},
    KEND,
};

static const char *const transport_names[] = {"udp", "tcp", NULL};

/* The rows every outputs.<name> section has, over its struct mz_output_common. */
#define OUTPUT_COMMON(o)                                                                           \
    {"enabled", T_BOOL, OFF(o.enabled), 0, 0, NULL, NULL},                                         \
        {"queue", T_U32, OFF(o.queue), 1, 1 << 24, NULL, NULL},                                    \
        {"batch", T_U32, OFF(o.batch), 1, 100000, NULL, NULL},                                     \
        {"batch_wait", T_DURATION, OFF(o.batch_wait_ms), 0, 600000, NULL, NULL},                   \
        {"timeout", T_DURATION, OFF(o.timeout_ms), 10, 600000, NULL, NULL},                        \
        {"retry_min", T_DURATION, OFF(o.retry_min_ms), 1, 3600000, NULL, NULL},                    \
        {"retry_max", T_DURATION, OFF(o.retry_max_ms), 1, 3600000, NULL, NULL},                    \
        {"spool_dir", T_STR, OFF(o.spool_dir), 0, 0, NULL, NULL},                                  \
        {"spool_max_size", T_SIZE, OFF(o.spool_max_size), 4096, 1e13, NULL, NULL},                 \
        {"spool_fsync", T_ENUM, OFF(o.spool_fsync), 0, 0, fsync_names, NULL},                      \
    {                                                                                              \
        "drain_wait", T_DURATION, OFF(o.drain_wait_ms), 0, 3600000, NULL, NULL                     \
    }

static const struct cfg_key k_webhook[] = {
    OUTPUT_COMMON(outputs.webhook.c),
    {"url", T_STR, OFF(outputs.webhook.url), 0, 0, NULL, NULL},
    {"token_file", T_STR, OFF(outputs.webhook.token_file), 0, 0, NULL, NULL},
    {"token_env", T_STR, OFF(outputs.webhook.token_env), 0, 0, NULL, NULL},
    {"ca_file", T_STR, OFF(outputs.webhook.ca_file), 0, 0, NULL, NULL},
    {"tls_verify", T_BOOL, OFF(outputs.webhook.tls_verify), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_kafka[] = {
    OUTPUT_COMMON(outputs.kafka.c),
    {"brokers", T_STR, OFF(outputs.kafka.brokers), 0, 0, NULL, NULL},
    {"topic", T_STR, OFF(outputs.kafka.topic), 0, 0, NULL, NULL},
    {"security_protocol", T_STR, OFF(outputs.kafka.security_protocol), 0, 0, NULL, NULL},
    {"sasl_mechanism", T_STR, OFF(outputs.kafka.sasl_mechanism), 0, 0, NULL, NULL},
    {"sasl_username", T_STR, OFF(outputs.kafka.sasl_username), 0, 0, NULL, NULL},
    {"sasl_password_file", T_STR, OFF(outputs.kafka.sasl_password_file), 0, 0, NULL, NULL},
    {"ca_file", T_STR, OFF(outputs.kafka.ca_file), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_syslog[] = {
    OUTPUT_COMMON(outputs.syslog.c),
    {"transport", T_ENUM, OFF(outputs.syslog.transport), 0, 0, transport_names, NULL},
    {"address", T_STR, OFF(outputs.syslog.address), 0, 0, NULL, NULL},
    {"port", T_U32, OFF(outputs.syslog.port), 1, 65535, NULL, NULL},
    {"facility", T_U32, OFF(outputs.syslog.facility), 0, 23, NULL, NULL},
    {"app_name", T_STR, OFF(outputs.syslog.app_name), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_outputs[] = {
    {"webhook", T_SECTION, 0, 0, 0, NULL, k_webhook},
    {"kafka", T_SECTION, 0, 0, 0, NULL, k_kafka},
    {"syslog", T_SECTION, 0, 0, 0, NULL, k_syslog},
    KEND,
};

static const struct cfg_key k_netpolicy[] = {
    {"enabled", T_BOOL, OFF(netpolicy.enabled), 0, 0, NULL, NULL},
    {"file", T_STR, OFF(netpolicy.file), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_http[] = {
    {"enabled", T_BOOL, OFF(http.enabled), 0, 0, NULL, NULL},
    {"listen", T_LISTEN, OFF(http.listen), 0, 0, NULL, NULL},
    {"stuck_after", T_DURATION, OFF(http.stuck_after_ms), 1000, 86400000, NULL, NULL},
    KEND,
};

static const struct cfg_key k_reactions[] = {
    {"enabled", T_BOOL, OFF(reactions.enabled), 0, 0, NULL, NULL},
    {"workers", T_U32, OFF(reactions.workers), 1, 64, NULL, NULL},
    {"queue", T_U32, OFF(reactions.queue), 2, 1 << 20, NULL, NULL},
    {"timeout", T_DURATION, OFF(reactions.timeout_ms), 10, 3600000, NULL, NULL},
    {"node", T_STR, OFF(reactions.node), 0, 0, NULL, NULL},
    {"socket", T_STR, OFF(reactions.socket), 0, 0, NULL, NULL},
    {"allow_emergency", T_BOOL, OFF(reactions.allow_emergency), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_security[] = {
    {"drop_capabilities", T_BOOL, OFF(security.drop_capabilities), 0, 0, NULL, NULL},
    KEND,
};

static const struct cfg_key k_root[] = {
    {"log_level", T_LOGLEVEL, OFF(log_level), 0, 0, NULL, NULL},
    {"host", T_STR, OFF(host), 0, 0, NULL, NULL},
    {"status_file", T_STR, OFF(status_file), 0, 0, NULL, NULL},
    {"queues", T_SECTION, 0, 0, 0, NULL, k_queues},
    {"collector", T_SECTION, 0, 0, 0, NULL, k_collector},
    {"cache", T_SECTION, 0, 0, 0, NULL, k_cache},
    {"detect", T_SECTION, 0, 0, 0, NULL, k_detect},
    {"attenuator", T_SECTION, 0, 0, 0, NULL, k_attenuator},
    {"netpolicy", T_SECTION, 0, 0, 0, NULL, k_netpolicy},
    {"http", T_SECTION, 0, 0, 0, NULL, k_http},
    {"reactions", T_SECTION, 0, 0, 0, NULL, k_reactions},
    {"security", T_SECTION, 0, 0, 0, NULL, k_security},
    {"printers", T_SECTION, 0, 0, 0, NULL, k_printers},
    {"outputs", T_SECTION, 0, 0, 0, NULL, k_outputs},
    KEND,
};

static void output_defaults(struct mz_output_common *o, const char *spool_dir)
{
    o->enabled = false;
    o->queue = 4096;
    o->batch_wait_ms = 200;
    o->timeout_ms = 10000;
    o->retry_min_ms = 500;
    o->retry_max_ms = 60000;
    o->spool_dir = mz_strdup(spool_dir);
    o->spool_max_size = 256ull << 20;
    o->spool_fsync = MZ_FSYNC_INTERVAL;
    o->drain_wait_ms = 5000;
}

void mz_config_defaults(struct mz_config *c)
{
    memset(c, 0, sizeof(*c));
    c->source = mz_strdup("<defaults>");
    c->log_level = MZ_LOG_INFO;
    c->status_file = mz_strdup("/run/mizan/status.json");

    c->queues.observations = 65536;
    c->queues.detections = 65536;
    c->queues.alerts = 65536;
    c->queues.drain_timeout_ms = 30000;

    c->collector.enabled = true;
    c->collector.cadence_ms = 500;
    c->collector.poll_ms = 20;
    c->collector.hash_executables = true;
    c->collector.hash_max_bytes = 256ull << 20;
    c->collector.pin_dir = mz_strdup("/sys/fs/bpf/mizan");

    c->cache.tasks = 16384;
    c->cache.files = 32768;
    c->cache.args = 8192;
    c->cache.file_links = 65536;
    c->cache.flows = 16384;
    c->cache.domains = 8192;
    c->cache.exe_hashes = 4096;
    c->cache.overflow = 8ull << 20;

    c->detect.builtin = true;
    c->detect.reload = true;
    c->detect.global_max_per_minute = 10000;
    c->detect.times_window_ms = 3600000; /* 1h: a spent budget comes back (alchemy: never) */
    c->detect.lists_dir = mz_strdup("/etc/mizan/lists");

    c->netpolicy.enabled = false;
    c->netpolicy.file = mz_strdup("/etc/mizan/netpolicy.yaml");
    c->security.drop_capabilities = true;

    c->http.enabled = true;
    c->http.listen = mz_strdup("127.0.0.1:9090");
    c->http.stuck_after_ms = 60000;
    c->reactions.enabled = true;
    c->reactions.workers = 2;
    c->reactions.queue = 1024;
    c->reactions.timeout_ms = 10000;
    c->reactions.node = mz_strdup("/usr/bin/node");
    c->reactions.socket = mz_strdup("/run/mizan/react.sock");
    c->reactions.allow_emergency = false;

    c->attenuator.enabled = false;
    c->attenuator.mode = MZ_MODE_AMEND;
    c->attenuator.url = mz_strdup("http://127.0.0.1:8080/v1");
    c->attenuator.model = mz_strdup("local");
    c->attenuator.temperature = 0.0;
    c->attenuator.max_tokens = 256;
    c->attenuator.connect_timeout_ms = 2000;
    c->attenuator.timeout_ms = 30000;
    c->attenuator.retries = 2;
    c->attenuator.retry_after_max_ms = 10000;
    c->attenuator.concurrency = 2;
    c->attenuator.queue = 1024;
    c->attenuator.breaker_failures = 5;
    c->attenuator.breaker_cooldown_ms = 30000;
    c->attenuator.args_max = 512;
    c->attenuator.cache.path = mz_strdup("/var/lib/mizan/verdicts.db");
    c->attenuator.cache.ttl_ms = 7ull * 24 * 3600 * 1000;
    c->attenuator.cache.max_entries = 100000;
    c->attenuator.block.min_confidence = 0.9;
    c->attenuator.block.max_importance = MZ_IMP_MEDIUM;

    c->printers.stdout_.enabled = true;
    c->printers.stdout_.format = MZ_FMT_AUTO;
    c->printers.varlog.enabled = true;
    c->printers.varlog.path = mz_strdup("/var/log/mizan/alerts.log");
    c->printers.varlog.max_size = 100ull << 20;
    c->printers.varlog.keep = 5;
    c->printers.varlog.fsync = MZ_FSYNC_INTERVAL;
    c->printers.varlog.fsync_interval_ms = 1000;

    output_defaults(&c->outputs.webhook.c, "/var/lib/mizan/spool/webhook");
    c->outputs.webhook.c.batch = 100;
    c->outputs.webhook.url = mz_strdup("https://127.0.0.1:8443/alerts");
    c->outputs.webhook.token_env = mz_strdup("MIZAN_WEBHOOK_TOKEN");
    c->outputs.webhook.tls_verify = true;
    output_defaults(&c->outputs.kafka.c, "/var/lib/mizan/spool/kafka");
    c->outputs.kafka.c.batch = 500;
    c->outputs.kafka.brokers = mz_strdup("127.0.0.1:9092");
    c->outputs.kafka.topic = mz_strdup("mizan-alerts");
    c->outputs.kafka.security_protocol = mz_strdup("plaintext");
    output_defaults(&c->outputs.syslog.c, "/var/lib/mizan/spool/syslog");
    c->outputs.syslog.c.batch = 100;
    c->outputs.syslog.transport = MZ_SYSLOG_TCP;
    c->outputs.syslog.address = mz_strdup("127.0.0.1");
    c->outputs.syslog.port = 514;
    c->outputs.syslog.facility = 13; /* log audit (RFC 5424 table 1) */
    c->outputs.syslog.app_name = mz_strdup("mizan");
}

static void str_list_free(struct mz_str_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

static void free_strings(struct mz_config *c, const struct cfg_key *keys)
{
    for (const struct cfg_key *k = keys; k->name; k++) {
        char *base = (char *)c;
        if (k->type == T_SECTION) {
            free_strings(c, k->sub);
        } else if (k->type == T_STR || k->type == T_LISTEN) {
            char **p = (char **)(base + k->off);
            free(*p);
            *p = NULL;
        } else if (k->type == T_STRLIST) {
            str_list_free((struct mz_str_list *)(base + k->off));
        }
    }
}

static void suppress_free(struct mz_config *c)
{
    for (size_t i = 0; i < c->attenuator.n_suppress; i++) {
        struct mz_suppress_rule *r = &c->attenuator.suppress[i];
        free(r->recipe);
        free(r->exe);
        free(r->args);
        free(r->path);
        free(r->peer);
    }
    c->attenuator.n_suppress = 0;
}

void mz_config_free(struct mz_config *c)
{
    if (!c)
        return;
    free_strings(c, k_root);
    suppress_free(c);
    free(c->source);
    c->source = NULL;
}

/* --- the walk ---------------------------------------------------------------- */

struct walk {
    const char *file;
    yaml_document_t *doc;
    struct mz_config *cfg;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 4, 5))) static int fail(struct walk *w, const yaml_node_t *n,
                                                      const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = cfg_yaml_fail(w->err, w->errlen, w->file, n, path, fmt, ap);
    va_end(ap);
    return r;
}

static const char *scalar(const yaml_node_t *n)
{
    return cfg_yaml_scalar(n);
}

static bool is_null(const yaml_node_t *n)
{
    const char *s = scalar(n);
    return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "") == 0);
}

static int set_value(struct walk *w, const struct cfg_key *k, const yaml_node_t *n,
                     const char *path);

static int walk_section(struct walk *w, const struct cfg_key *keys, const yaml_node_t *n,
                        const char *prefix)
{
    char path[256];
    if (is_null(n))
        return 0; /* "section:" with nothing under it keeps the defaults */
    if (n->type != YAML_MAPPING_NODE)
        return fail(w, n, prefix, "expected a mapping of keys");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        const char *name = scalar(kn);
        const struct cfg_key *k;
        if (!name)
            return fail(w, kn, prefix, "expected a plain key");
        /* duplicate keys are a mistake worth naming */
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            const char *other = scalar(yaml_document_get_node(w->doc, q->key));
            if (other && strcmp(other, name) == 0) {
                snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
                return fail(w, kn, path, "duplicate key");
            }
        }
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
        for (k = keys; k->name; k++)
            if (strcmp(k->name, name) == 0)
                break;
        if (!k->name)
            return fail(w, kn, path, "unknown key");
        int r = set_value(w, k, vn, path);
        if (r)
            return r;
    }
    return 0;
}

static int set_str(struct walk *w, char **dst, const yaml_node_t *n, const char *path)
{
    const char *s = scalar(n);
    if (!s)
        return fail(w, n, path, "expected a string");
    if (strlen(s) > 4096)
        return fail(w, n, path, "longer than 4096 bytes");
    free(*dst);
    *dst = is_null(n) ? NULL : mz_strdup(s);
    return 0;
}

static int set_list(struct walk *w, struct mz_str_list *l, const yaml_node_t *n, const char *path)
{
    str_list_free(l);
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(w, n, path, "expected a list of strings");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *in = yaml_document_get_node(w->doc, *it);
        const char *s = scalar(in);
        if (!s || is_null(in))
            return fail(w, in, path, "expected a string item");
        if (l->n >= MZ_CFG_LIST_MAX)
            return fail(w, in, path, "more than %d items", MZ_CFG_LIST_MAX);
        l->items[l->n++] = mz_strdup(s);
    }
    return 0;
}

static int set_suppress(struct walk *w, const yaml_node_t *n, const char *path)
{
    static const char *const fields[] = {"recipe", "exe", "args", "path", "peer"};
    suppress_free(w->cfg);
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(w, n, path, "expected a list of rules {recipe, exe, args, path, peer}");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *rn = yaml_document_get_node(w->doc, *it);
        struct mz_suppress_rule *rule;
        if (rn->type != YAML_MAPPING_NODE)
            return fail(w, rn, path, "expected a rule mapping {recipe, exe, args, path, peer}");
        if (w->cfg->attenuator.n_suppress >= MZ_CFG_SUPPRESS_MAX)
            return fail(w, rn, path, "more than %d rules", MZ_CFG_SUPPRESS_MAX);
        rule = &w->cfg->attenuator.suppress[w->cfg->attenuator.n_suppress++];
        memset(rule, 0, sizeof(*rule));
        char **slots[] = {&rule->recipe, &rule->exe, &rule->args, &rule->path, &rule->peer};
        for (yaml_node_pair_t *p = rn->data.mapping.pairs.start; p < rn->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
            const char *name = scalar(kn);
            size_t i;
            char sub[300];
            for (i = 0; i < MZ_ARRAY_SIZE(fields); i++)
                if (name && strcmp(name, fields[i]) == 0)
                    break;
            snprintf(sub, sizeof(sub), "%s[%zu].%s", path, w->cfg->attenuator.n_suppress - 1,
                     name ? name : "?");
            if (i == MZ_ARRAY_SIZE(fields))
                return fail(w, kn, sub, "unknown key (expected recipe, exe, args, path, peer)");
            int r = set_str(w, slots[i], vn, sub);
            if (r)
                return r;
        }
    }
    return 0;
}

bool mz_url_https_or_loopback(const char *url)
{
    static const char *const ok[] = {"https://",         "http://127.0.0.1:", "http://127.0.0.1/",
                                     "http://[::1]:",    "http://[::1]/",     "http://localhost:",
                                     "http://localhost/"};
    for (size_t i = 0; url && i < MZ_ARRAY_SIZE(ok); i++)
        if (strncmp(url, ok[i], strlen(ok[i])) == 0)
            return true;
    return false;
}

/* The node of key name in mapping n, or n itself when absent. */
static const yaml_node_t *child_or_self(struct walk *w, const yaml_node_t *n, const char *name)
{
    if (n->type != YAML_MAPPING_NODE)
        return n;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(w->doc, p->key));
        if (k && strcmp(k, name) == 0)
            return yaml_document_get_node(w->doc, p->value);
    }
    return n;
}

/* What one key's range cannot say about an outputs.<name> section. */
static int check_output(struct walk *w, const struct cfg_key *k, const yaml_node_t *n,
                        const char *path)
{
    const struct mz_output_common *o = NULL;
    char sub[300];
    if (k->sub == k_webhook)
        o = &w->cfg->outputs.webhook.c;
    else if (k->sub == k_kafka)
        o = &w->cfg->outputs.kafka.c;
    else if (k->sub == k_syslog)
        o = &w->cfg->outputs.syslog.c;
    if (!o)
        return 0;
    if (o->retry_min_ms > o->retry_max_ms) {
        snprintf(sub, sizeof(sub), "%s.retry_min", path);
        return fail(w, child_or_self(w, n, "retry_min"), sub, "longer than retry_max");
    }
    if (k->sub == k_webhook && !mz_url_https_or_loopback(w->cfg->outputs.webhook.url)) {
        snprintf(sub, sizeof(sub), "%s.url", path);
        return fail(w, child_or_self(w, n, "url"), sub,
                    "expected an https:// URL (plain http:// only to a loopback address)");
    }
    return 0;
}

static int set_value(struct walk *w, const struct cfg_key *k, const yaml_node_t *n,
                     const char *path)
{
    char *base = (char *)w->cfg;
    const char *s = scalar(n);
    int r;

    switch (k->type) {
    case T_SECTION:
        r = walk_section(w, k->sub, n, path);
        return r ? r : check_output(w, k, n, path);
    case T_STR:
        return set_str(w, (char **)(base + k->off), n, path);
    case T_STRLIST:
        return set_list(w, (struct mz_str_list *)(base + k->off), n, path);
    case T_SUPPRESS:
        return set_suppress(w, n, path);
    case T_LISTEN: {
        struct sockaddr_storage ss;
        unsigned sl;
        if (!s || is_null(n) || mz_config_parse_listen(s, &ss, &sl))
            return fail(w, n, path, "expected ADDR:PORT or [ADDR6]:PORT with a numeric address");
        return set_str(w, (char **)(base + k->off), n, path);
    }
    default:
        break;
    }
    if (!s || is_null(n))
        return fail(w, n, path, "expected a value");
    switch (k->type) {
    case T_BOOL:
        if (mz_parse_bool(s, (bool *)(base + k->off)))
            return fail(w, n, path, "expected true or false, got \"%s\"", s);
        return 0;
    case T_U32:
    case T_U64: {
        uint64_t v;
        r = mz_parse_u64(s, UINT64_MAX, &v);
        if (r == -EINVAL)
            return fail(w, n, path, "expected a whole number, got \"%s\"", s);
        if (r || (double)v < k->min || (double)v > k->max)
            return fail(w, n, path, "%s is out of range [%.0f, %.0f]", s, k->min, k->max);
        if (k->type == T_U32)
            *(uint32_t *)(base + k->off) = (uint32_t)v;
        else
            *(uint64_t *)(base + k->off) = v;
        return 0;
    }
    case T_DOUBLE: {
        double v;
        if (mz_parse_double(s, &v))
            return fail(w, n, path, "expected a number, got \"%s\"", s);
        if (v < k->min || v > k->max)
            return fail(w, n, path, "%s is out of range [%g, %g]", s, k->min, k->max);
        *(double *)(base + k->off) = v;
        return 0;
    }
    case T_DURATION:
    case T_SIZE: {
        /* the same check for both; only the parser and the wording differ */
        bool dur = k->type == T_DURATION;
        uint64_t v;
        if (dur ? mz_parse_duration_ms(s, &v) : mz_parse_size(s, &v))
            return fail(w, n, path, "expected a %s, got \"%s\"",
                        dur ? "duration like 500ms, 2s, 5m" : "size like 4096, 64KiB, 100MiB", s);
        if ((double)v < k->min || (double)v > k->max)
            return fail(w, n, path, "%s is out of range [%.0f%s, %.0f%s]%s", s, k->min,
                        dur ? "ms" : "", k->max, dur ? "ms" : "", dur ? "" : " bytes");
        *(uint64_t *)(base + k->off) = v;
        return 0;
    }
    case T_ENUM:
        for (int i = 0; k->enums[i]; i++) {
            if (strcmp(k->enums[i], s) == 0) {
                *(int *)(base + k->off) = i;
                return 0;
            }
        }
        {
            char list[256] = "";
            size_t len = 0;
            for (int i = 0; k->enums[i]; i++) {
                int m =
                    snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", k->enums[i]);
                if (m < 0 || (size_t)m >= sizeof(list) - len)
                    break;
                len += (size_t)m;
            }
            return fail(w, n, path, "expected one of %s, got \"%s\"", list, s);
        }
    case T_LOGLEVEL:
        if (mz_log_level_parse(s, (enum mz_log_level *)(base + k->off)))
            return fail(w, n, path, "expected error, warn, info, debug or trace, got \"%s\"", s);
        return 0;
    case T_IMPORTANCE: {
        enum mz_importance imp;
        if (mz_importance_parse(s, &imp) || imp == MZ_IMP_NONE)
            return fail(w, n, path, "expected low, medium, high or critical, got \"%s\"", s);
        *(int *)(base + k->off) = (int)imp;
        return 0;
    }
    default:
        return fail(w, n, path, "internal: unhandled key type");
    }
}

int mz_config_load_string(const char *name, const char *yaml, size_t len, struct mz_config *cfg,
                          char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct walk w = {name, &doc, cfg, err, errlen};
    yaml_node_t *root;
    int r;

    mz_config_defaults(cfg);
    free(cfg->source);
    cfg->source = mz_strdup(name);
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot initialize the YAML parser", name);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: YAML syntax: %s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "error");
        yaml_parser_delete(&parser);
        r = -EINVAL;
        goto fail;
    }
    root = yaml_document_get_root_node(&doc);
    r = root ? walk_section(&w, k_root, root, "") : 0; /* empty file: defaults */
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (r)
        goto fail;
    return 0;
fail : {
    char *src = cfg->source;
    cfg->source = NULL;
    mz_config_free(cfg);
    mz_config_defaults(cfg);
    free(cfg->source);
    cfg->source = src;
}
    return r;
}

int mz_config_load(const char *path, struct mz_config *cfg, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int r = mz_read_file(path, CFG_FILE_MAX, &data, &len);
    if (r) {
        mz_config_defaults(cfg);
        snprintf(err, errlen, "%s: %s", path, r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
        return r;
    }
    r = mz_config_load_string(path, data, len, cfg, err, errlen);
    free(data);
    return r;
}

int mz_config_state_dir(const struct mz_config *cfg, char *out, size_t len)
{
    if (!cfg->status_file || !*cfg->status_file)
        return -ENOENT;
    if (mz_strlcpy(out, cfg->status_file, len) < 0)
        return -ENAMETOOLONG;
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = 0; /* /status.json: the root */
    else if (slash)
        *slash = 0;
    else if (mz_strlcpy(out, ".", len) < 0)
        return -ENAMETOOLONG;
    return 0;
}

int mz_config_parse_listen(const char *s, struct sockaddr_storage *out, unsigned *outlen)
{
    char host[64];
    const char *port;
    size_t hl;
    if (!s || !out || !outlen)
        return -EINVAL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        hl = (size_t)(end - s - 1);
        s++;
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host) || !*port || strlen(port) > 5)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    char *e;
    unsigned long p = strtoul(port, &e, 10);
    if (*e || p > 65535 || port[0] < '0' || port[0] > '9')
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        *outlen = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        *outlen = sizeof(*v6);
        return 0;
    }
    return -EINVAL;
}
