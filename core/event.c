// SPDX-License-Identifier: Apache-2.0
/*
 * event.c - lifecycle of observations, detections and alerts, their names,
 * and their JSON forms (one alert object per line on output; observation and
 * detection lines for replay). Parsing is strict about types: a field of the
 * wrong type is an error naming the field; unknown fields are ignored so that
 * a printed alert can be replayed as a detection.
 */
#include "core/event.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* --- lifecycle ----------------------------------------------------------- */

struct mz_observation *mz_observation_new(enum mz_obs_kind kind)
{
    struct mz_observation *o = mz_calloc(1, sizeof(*o));
    o->kind = kind;
    return o;
}

void mz_process_clear(struct mz_process *p)
{
    if (!p)
        return;
    free(p->exe);
    free(p->args);
    free(p->cwd);
    free(p->user);
    free(p->group);
    free(p->container);
    free(p->exe_sha256);
    for (size_t i = 0; i < p->n_ancestry; i++)
        free(p->ancestry[i]);
    free(p->ancestry);
    memset(p, 0, sizeof(*p));
}

void mz_observation_clear(struct mz_observation *obs)
{
    if (!obs)
        return;
    mz_process_clear(&obs->proc);
    free(obs->file.path);
    free(obs->file.path2);
    free(obs->flow.domain);
    free(obs->tamper.detail);
    memset(obs, 0, sizeof(*obs));
}

void mz_observation_free(struct mz_observation *obs)
{
    if (!obs)
        return;
    mz_observation_clear(obs);
    free(obs);
}

void mz_process_copy(struct mz_process *dst, const struct mz_process *src)
{
    *dst = *src;
    dst->exe = mz_strdup(src->exe);
    dst->args = mz_strdup(src->args);
    dst->cwd = mz_strdup(src->cwd);
    dst->user = mz_strdup(src->user);
    dst->group = mz_strdup(src->group);
    dst->container = mz_strdup(src->container);
    dst->exe_sha256 = mz_strdup(src->exe_sha256);
    dst->ancestry = NULL;
    if (src->n_ancestry) {
        dst->ancestry = mz_calloc(src->n_ancestry, sizeof(char *));
        for (size_t i = 0; i < src->n_ancestry; i++)
            dst->ancestry[i] = mz_strdup(src->ancestry[i]);
    }
}

void mz_observation_copy(struct mz_observation *dst, const struct mz_observation *src)
{
    *dst = *src;
    mz_process_copy(&dst->proc, &src->proc);
    dst->file.path = mz_strdup(src->file.path);
    dst->file.path2 = mz_strdup(src->file.path2);
    dst->flow.domain = mz_strdup(src->flow.domain);
    dst->tamper.detail = mz_strdup(src->tamper.detail);
}

void mz_recipe_ref_clear(struct mz_recipe_ref *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->name);
    free(r->description);
    free(r->tactic);
    free(r->technique);
    free(r->mechanism);
    memset(r, 0, sizeof(*r));
}

void mz_recipe_ref_copy(struct mz_recipe_ref *dst, const struct mz_recipe_ref *src)
{
    dst->id = mz_strdup(src->id);
    dst->name = mz_strdup(src->name);
    dst->description = mz_strdup(src->description);
    dst->tactic = mz_strdup(src->tactic);
    dst->technique = mz_strdup(src->technique);
    dst->mechanism = mz_strdup(src->mechanism);
    dst->importance = src->importance;
}

struct mz_detection *mz_detection_new(struct mz_observation *obs,
                                      const struct mz_recipe_ref *recipe)
{
    struct mz_detection *d = mz_calloc(1, sizeof(*d));
    d->time_ns = mz_now_ns();
    if (obs) {
        d->obs = *obs;
        memset(obs, 0, sizeof(*obs));
    }
    if (recipe)
        mz_recipe_ref_copy(&d->recipe, recipe);
    return d;
}

void mz_detection_free(struct mz_detection *det)
{
    if (!det)
        return;
    mz_recipe_ref_clear(&det->recipe);
    mz_observation_clear(&det->obs);
    free(det);
}

void mz_attenuation_clear(struct mz_attenuation *att)
{
    if (!att)
        return;
    free(att->reason);
    free(att->why);
    free(att->model);
    memset(att, 0, sizeof(*att));
}

struct mz_alert *mz_alert_new(struct mz_detection *det, const char *host)
{
    struct mz_alert *a = mz_calloc(1, sizeof(*a));
    mz_random_id(a->id);
    a->time_ns = mz_now_ns();
    a->host = mz_strdup(host ? host : "");
    if (det) {
        a->det = *det;
        free(det);
    }
    return a;
}

void mz_alert_free(struct mz_alert *alert)
{
    if (!alert)
        return;
    free(alert->host);
    mz_recipe_ref_clear(&alert->det.recipe);
    mz_observation_clear(&alert->det.obs);
    mz_attenuation_clear(&alert->att);
    free(alert);
}

/* --- names --------------------------------------------------------------- */

static const char *const kind_names[] = {"none", "exec", "file", "flow", "priv", "tamper"};
static const char *const importance_names[] = {"none", "low", "medium", "high", "critical"};
static const char *const att_status_names[] = {"none", "verdict", "cached", "bypassed",
                                               "suppressed"};
static const char *const verdict_names[] = {"none", "true_positive", "false_positive", "uncertain"};
static const char *const file_action_names[MZ_FA_COUNT] = {
    "open",   "read",   "write", "create",  "truncate", "unlink", "rename",
    "link",   "execve", "mmap",  "close",   "fsync",    "flock",  "llseek",
    "fasync", "chmod",  "chown", "symlink", "memfd",    "setattr"};
static const char *const flow_action_names[MZ_FL_COUNT] = {
    "connect", "accept", "bind", "listen", "send", "established", "close", "failed"};
static const char *const priv_action_names[] = {"setuid", "setgid", "capset", "ptrace"};
static const char *const tamper_names[] = {"none", "map_write", "prog_load", "module_load"};

static int parse_name(const char *const *names, size_t n, const char *s, int *out)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (names[i] && strcmp(names[i], s) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return -EINVAL;
}

#define NAME_OF(arr, i) ((size_t)(i) < MZ_ARRAY_SIZE(arr) ? (arr)[(i)] : "unknown")

const char *mz_obs_kind_name(enum mz_obs_kind kind)
{
    return NAME_OF(kind_names, kind);
}

int mz_obs_kind_parse(const char *s, enum mz_obs_kind *out)
{
    int v;
    int r = parse_name(kind_names, MZ_ARRAY_SIZE(kind_names), s, &v);
    if (r == 0 && v == MZ_OBS_NONE)
        return -EINVAL;
    if (r == 0)
        *out = (enum mz_obs_kind)v;
    return r;
}

const char *mz_importance_name(enum mz_importance imp)
{
    return NAME_OF(importance_names, imp);
}

int mz_importance_parse(const char *s, enum mz_importance *out)
{
    int v;
    int r = parse_name(importance_names, MZ_ARRAY_SIZE(importance_names), s, &v);
    if (r == 0)
        *out = (enum mz_importance)v;
    return r;
}

const char *mz_att_status_name(enum mz_att_status st)
{
    return NAME_OF(att_status_names, st);
}

const char *mz_verdict_name(enum mz_verdict v)
{
    return NAME_OF(verdict_names, v);
}

int mz_verdict_parse(const char *s, enum mz_verdict *out)
{
    int v;
    int r = parse_name(verdict_names, MZ_ARRAY_SIZE(verdict_names), s, &v);
    if (r == 0 && v == MZ_VERDICT_NONE)
        return -EINVAL;
    if (r == 0)
        *out = (enum mz_verdict)v;
    return r;
}

static const char *bit_name(const char *const *names, size_t n, uint32_t bit)
{
    if (bit == 0 || (bit & (bit - 1)))
        return NULL;
    size_t i = (size_t)__builtin_ctz(bit);
    return i < n ? names[i] : NULL;
}

const char *mz_file_action_name(uint32_t bit)
{
    return bit_name(file_action_names, MZ_FA_COUNT, bit);
}

int mz_file_action_parse(const char *s, uint32_t *bit)
{
    int v;
    int r = parse_name(file_action_names, MZ_FA_COUNT, s, &v);
    if (r == 0)
        *bit = 1u << v;
    return r;
}

const char *mz_flow_action_name(uint32_t bit)
{
    return bit_name(flow_action_names, MZ_FL_COUNT, bit);
}

int mz_flow_action_parse(const char *s, uint32_t *bit)
{
    int v;
    int r = parse_name(flow_action_names, MZ_FL_COUNT, s, &v);
    if (r == 0)
        *bit = 1u << v;
    return r;
}

const char *mz_proto_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "icmpv6";
    case IPPROTO_SCTP:
        return "sctp";
    default:
        return "other";
    }
}

static int proto_parse(const char *s, uint8_t *out)
{
    static const struct {
        const char *n;
        uint8_t p;
    } t[] = {{"tcp", IPPROTO_TCP},       {"udp", IPPROTO_UDP},   {"icmp", IPPROTO_ICMP},
             {"icmpv6", IPPROTO_ICMPV6}, {"sctp", IPPROTO_SCTP}, {"other", 255}};
    for (size_t i = 0; i < MZ_ARRAY_SIZE(t); i++) {
        if (strcmp(s, t[i].n) == 0) {
            *out = t[i].p;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *const direction_names[] = {"unknown", "egress", "ingress"};

/* --- to JSON ----------------------------------------------------------------- */

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* Integers go in as raw JSON text: cJSON prints every number through
 * sprintf("%1.15g") and reads it back to check (a measurable share of
 * printing an alert), and a double cannot hold a 64-bit count exactly. */
static void add_int(cJSON *o, const char *key, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    cJSON_AddRawToObject(o, key, p);
}

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
    char buf[MZ_RFC3339_LEN];
    mz_format_rfc3339(ns, buf);
    cJSON_AddStringToObject(o, key, buf);
}

static cJSON *bits_to_json(uint32_t bits, const char *(*name)(uint32_t))
{
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t b = 0; b < 32; b++) {
        if (bits & (1u << b)) {
            const char *n = name(1u << b);
            if (n)
                cJSON_AddItemToArray(arr, cJSON_CreateString(n));
        }
    }
    return arr;
}

static const char *priv_name(uint32_t bit)
{
    return bit_name(priv_action_names, MZ_ARRAY_SIZE(priv_action_names), bit);
}

static cJSON *process_to_json(const struct mz_process *p)
{
    cJSON *o = cJSON_CreateObject();
    add_int(o, "pid", p->pid);
    add_int(o, "ppid", p->ppid);
    cJSON_AddStringToObject(o, "comm", p->comm);
    add_str_or_null(o, "exe", p->exe);
    add_str_or_null(o, "args", p->args);
    if (p->cwd)
        cJSON_AddStringToObject(o, "cwd", p->cwd);
    add_int(o, "uid", p->uid);
    add_int(o, "gid", p->gid);
    add_int(o, "euid", p->euid);
    add_str_or_null(o, "user", p->user);
    if (p->group)
        cJSON_AddStringToObject(o, "group", p->group);
    cJSON *anc = cJSON_AddArrayToObject(o, "ancestry");
    for (size_t i = 0; i < p->n_ancestry; i++)
        cJSON_AddItemToArray(anc, cJSON_CreateString(p->ancestry[i] ? p->ancestry[i] : ""));
    add_str_or_null(o, "container", p->container);
    if (p->exe_sha256)
        cJSON_AddStringToObject(o, "exe_sha256", p->exe_sha256);
    if (p->start_ns)
        add_int(o, "start_ns", (int64_t)p->start_ns);
    return o;
}

static cJSON *endpoint_to_json(const char *addr, uint16_t port)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "addr", addr);
    add_int(o, "port", port);
    return o;
}

/* Adds kind, times, count, process and the artifact of obs to o. */
static void observation_fields(cJSON *o, const struct mz_observation *obs)
{
    cJSON_AddStringToObject(o, "kind", mz_obs_kind_name(obs->kind));
    add_time(o, "first_seen", obs->first_ns);
    add_time(o, "last_seen", obs->last_ns);
    add_int(o, "count", (int64_t)obs->count);
    cJSON_AddItemToObject(o, "process", process_to_json(&obs->proc));
    switch (obs->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE: {
        cJSON *f = cJSON_AddObjectToObject(o, "file");
        add_str_or_null(f, "path", obs->file.path);
        if (obs->file.path2)
            cJSON_AddStringToObject(f, "path2", obs->file.path2);
        cJSON_AddItemToObject(f, "actions", bits_to_json(obs->file.actions, mz_file_action_name));
        break;
    }
    case MZ_OBS_FLOW: {
        const struct mz_flow *fl = &obs->flow;
        cJSON *f = cJSON_AddObjectToObject(o, "flow");
        cJSON_AddStringToObject(f, "proto", mz_proto_name(fl->proto));
        add_int(f, "family", fl->family == AF_INET6 ? 6 : 4);
        cJSON_AddStringToObject(f, "direction", NAME_OF(direction_names, fl->direction));
        cJSON_AddItemToObject(f, "local", endpoint_to_json(fl->local_addr, fl->local_port));
        cJSON_AddItemToObject(f, "remote", endpoint_to_json(fl->remote_addr, fl->remote_port));
        add_str_or_null(f, "domain", fl->domain);
        cJSON_AddItemToObject(f, "actions", bits_to_json(fl->actions, mz_flow_action_name));
        if (fl->domain)
            cJSON_AddStringToObject(o, "domain", fl->domain);
        break;
    }
    case MZ_OBS_PRIV: {
        cJSON *p = cJSON_AddObjectToObject(o, "priv");
        cJSON_AddItemToObject(p, "actions", bits_to_json(obs->priv.actions, priv_name));
        add_int(p, "target", (int64_t)obs->priv.target);
        break;
    }
    case MZ_OBS_TAMPER: {
        cJSON *t = cJSON_AddObjectToObject(o, "tamper");
        cJSON_AddStringToObject(t, "kind", NAME_OF(tamper_names, obs->tamper.kind));
        add_str_or_null(t, "detail", obs->tamper.detail);
        break;
    }
    default:
        break;
    }
}

cJSON *mz_observation_to_json(const struct mz_observation *obs)
{
    cJSON *o = cJSON_CreateObject();
    add_time(o, "time", obs->last_ns);
    observation_fields(o, obs);
    return o;
}

static cJSON *recipe_to_json(const struct mz_recipe_ref *r)
{
    cJSON *o = cJSON_CreateObject();
    add_str_or_null(o, "id", r->id);
    add_str_or_null(o, "name", r->name);
    cJSON_AddStringToObject(o, "importance", mz_importance_name(r->importance));
    add_str_or_null(o, "tactic", r->tactic);
    add_str_or_null(o, "technique", r->technique);
    if (r->mechanism)
        cJSON_AddStringToObject(o, "mechanism", r->mechanism);
    if (r->description)
        cJSON_AddStringToObject(o, "description", r->description);
    return o;
}

cJSON *mz_detection_to_json(const struct mz_detection *det)
{
    cJSON *o = cJSON_CreateObject();
    add_time(o, "time", det->time_ns);
    cJSON_AddItemToObject(o, "recipe", recipe_to_json(&det->recipe));
    observation_fields(o, &det->obs);
    return o;
}

static double round3(double v)
{
    return floor(v * 1000.0 + 0.5) / 1000.0;
}

static cJSON *attenuation_to_json(const struct mz_attenuation *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", mz_att_status_name(a->status));
    if (a->verdict != MZ_VERDICT_NONE) {
        cJSON_AddStringToObject(o, "verdict", mz_verdict_name(a->verdict));
        cJSON_AddNumberToObject(o, "confidence", round3(a->confidence));
        if (a->severity[0])
            cJSON_AddStringToObject(o, "severity", a->severity);
    }
    if (a->model)
        cJSON_AddStringToObject(o, "model", a->model);
    if (a->status != MZ_ATT_NONE) {
        cJSON_AddBoolToObject(o, "cache_hit", a->cache_hit);
        cJSON_AddNumberToObject(o, "latency_ms", round3(a->latency_ms));
    }
    if (a->reason)
        cJSON_AddStringToObject(o, "reason", a->reason);
    if (a->why)
        cJSON_AddStringToObject(o, "why", a->why);
    if (a->injection_suspected)
        cJSON_AddBoolToObject(o, "injection_suspected", true);
    if (a->withheld)
        cJSON_AddBoolToObject(o, "withheld", true);
    return o;
}

cJSON *mz_alert_to_json(const struct mz_alert *alert)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", alert->id);
    add_time(o, "time", alert->time_ns);
    add_str_or_null(o, "host", alert->host);
    cJSON_AddItemToObject(o, "recipe", recipe_to_json(&alert->det.recipe));
    add_time(o, "detected_at", alert->det.time_ns);
    observation_fields(o, &alert->det.obs);
    cJSON_AddItemToObject(o, "attenuation", attenuation_to_json(&alert->att));
    return o;
}

/* --- from JSON ----------------------------------------------------------------- */

struct jctx {
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int jfail(struct jctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Optional string: absent or null leaves *out NULL. */
static int jstr(struct jctx *c, const cJSON *o, const char *key, const char *path, size_t cap,
                char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return jfail(c, "%s%s: expected a string", path, key);
    if (strlen(v->valuestring) > cap)
        return jfail(c, "%s%s: longer than %zu bytes", path, key, cap);
    *out = mz_strdup(v->valuestring);
    return 0;
}

static int jnum(struct jctx *c, const cJSON *o, const char *key, const char *path, double min,
                double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 1; /* absent */
    if (!cJSON_IsNumber(v))
        return jfail(c, "%s%s: expected a number", path, key);
    if (v->valuedouble < min || v->valuedouble > max || v->valuedouble != floor(v->valuedouble))
        return jfail(c, "%s%s: %g out of range", path, key, v->valuedouble);
    *out = v->valuedouble;
    return 0;
}

static int jtime(struct jctx *c, const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 1;
    if (!cJSON_IsString(v) || mz_parse_rfc3339(v->valuestring, out))
        return jfail(c, "%s: expected an RFC 3339 time", key);
    return 0;
}

static int jbits(struct jctx *c, const cJSON *o, const char *key, const char *path,
                 int (*parse)(const char *, uint32_t *), uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return jfail(c, "%s%s: expected an array of action names", path, key);
    cJSON_ArrayForEach(it, v)
    {
        uint32_t bit;
        if (!cJSON_IsString(it) || parse(it->valuestring, &bit))
            return jfail(c, "%s%s: unknown action %s", path, key,
                         cJSON_IsString(it) ? it->valuestring : "(not a string)");
        *out |= bit;
    }
    return 0;
}

static int priv_parse(const char *s, uint32_t *bit)
{
    int v;
    int r = parse_name(priv_action_names, MZ_ARRAY_SIZE(priv_action_names), s, &v);
    if (r == 0)
        *bit = 1u << v;
    return r;
}

static int process_from_json(struct jctx *c, const cJSON *o, struct mz_process *p)
{
    double d;
    int r;
    char *comm = NULL;
    const cJSON *anc;

    if (!cJSON_IsObject(o))
        return jfail(c, "process: expected an object");
    if ((r = jnum(c, o, "pid", "process.", 0, 4194304, &d)) < 0)
        return r;
    p->pid = r == 0 ? (int32_t)d : 0;
    if ((r = jnum(c, o, "ppid", "process.", 0, 4194304, &d)) < 0)
        return r;
    p->ppid = r == 0 ? (int32_t)d : 0;
    if ((r = jnum(c, o, "uid", "process.", 0, 4294967295.0, &d)) < 0)
        return r;
    p->uid = r == 0 ? (uint32_t)d : 0;
    if ((r = jnum(c, o, "gid", "process.", 0, 4294967295.0, &d)) < 0)
        return r;
    p->gid = r == 0 ? (uint32_t)d : 0;
    if ((r = jnum(c, o, "euid", "process.", 0, 4294967295.0, &d)) < 0)
        return r;
    p->euid = r == 0 ? (uint32_t)d : p->uid;
    if ((r = jnum(c, o, "start_ns", "process.", 0, 1.8e19, &d)) < 0)
        return r;
    p->start_ns = r == 0 ? (uint64_t)d : 0;
    if ((r = jstr(c, o, "comm", "process.", 15, &comm)) < 0)
        return r;
    if (comm) {
        (void)mz_strlcpy(p->comm, comm, sizeof(p->comm));
        free(comm);
    }
    if ((r = jstr(c, o, "exe", "process.", MZ_PATH_MAX, &p->exe)) ||
        (r = jstr(c, o, "args", "process.", MZ_ARGS_MAX, &p->args)) ||
        (r = jstr(c, o, "cwd", "process.", MZ_PATH_MAX, &p->cwd)) ||
        (r = jstr(c, o, "user", "process.", 256, &p->user)) ||
        (r = jstr(c, o, "group", "process.", 256, &p->group)) ||
        (r = jstr(c, o, "container", "process.", 256, &p->container)) ||
        (r = jstr(c, o, "exe_sha256", "process.", 64, &p->exe_sha256)))
        return r;
    anc = cJSON_GetObjectItemCaseSensitive(o, "ancestry");
    if (anc && !cJSON_IsNull(anc)) {
        const cJSON *it;
        size_t n = 0;
        if (!cJSON_IsArray(anc))
            return jfail(c, "process.ancestry: expected an array of strings");
        if ((size_t)cJSON_GetArraySize(anc) > MZ_ANCESTRY_MAX)
            return jfail(c, "process.ancestry: more than %d entries", MZ_ANCESTRY_MAX);
        p->ancestry = mz_calloc((size_t)cJSON_GetArraySize(anc) + 1, sizeof(char *));
        cJSON_ArrayForEach(it, anc)
        {
            if (!cJSON_IsString(it) || strlen(it->valuestring) > MZ_PATH_MAX)
                return jfail(c, "process.ancestry[%zu]: expected a path string", n);
            p->ancestry[n++] = mz_strdup(it->valuestring);
            p->n_ancestry = n;
        }
    }
    return 0;
}

static int endpoint_from_json(struct jctx *c, const cJSON *o, const char *name, char *addr,
                              size_t addrlen, uint16_t *port)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, name);
    char *a = NULL;
    double d;
    int r;
    char prefix[32];
    if (!e || cJSON_IsNull(e))
        return 0;
    if (!cJSON_IsObject(e))
        return jfail(c, "flow.%s: expected an object {addr, port}", name);
    snprintf(prefix, sizeof(prefix), "flow.%s.", name);
    if ((r = jstr(c, e, "addr", prefix, addrlen - 1, &a)) < 0)
        return r;
    if (a) {
        (void)mz_strlcpy(addr, a, addrlen);
        free(a);
    }
    if ((r = jnum(c, e, "port", prefix, 0, 65535, &d)) < 0)
        return r;
    *port = r == 0 ? (uint16_t)d : 0;
    return 0;
}

static int observation_from_json(struct jctx *c, const cJSON *j, struct mz_observation *o)
{
    const cJSON *v;
    double d;
    int r;

    if (!cJSON_IsObject(j))
        return jfail(c, "expected a JSON object");
    v = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!cJSON_IsString(v) || mz_obs_kind_parse(v->valuestring, &o->kind))
        return jfail(c, "kind: expected one of exec, file, flow, priv, tamper");
    if ((r = jtime(c, j, "last_seen", &o->last_ns)) < 0)
        return r;
    if (r == 1 && (r = jtime(c, j, "time", &o->last_ns)) < 0)
        return r;
    if (r == 1)
        o->last_ns = mz_now_ns();
    if ((r = jtime(c, j, "first_seen", &o->first_ns)) < 0)
        return r;
    if (r == 1)
        o->first_ns = o->last_ns;
    if ((r = jnum(c, j, "count", "", 0, 9.007199254740992e15, &d)) < 0)
        return r;
    o->count = r == 0 ? (uint64_t)d : 1;
    v = cJSON_GetObjectItemCaseSensitive(j, "process");
    if (!v)
        return jfail(c, "process: missing");
    if ((r = process_from_json(c, v, &o->proc)) < 0)
        return r;

    switch (o->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        v = cJSON_GetObjectItemCaseSensitive(j, "file");
        if (!cJSON_IsObject(v))
            return jfail(c, "file: missing or not an object");
        if ((r = jstr(c, v, "path", "file.", MZ_PATH_MAX, &o->file.path)) ||
            (r = jstr(c, v, "path2", "file.", MZ_PATH_MAX, &o->file.path2)) ||
            (r = jbits(c, v, "actions", "file.", mz_file_action_parse, &o->file.actions)))
            return r;
        if (!o->file.path)
            return jfail(c, "file.path: missing");
        break;
    case MZ_OBS_FLOW: {
        char *s = NULL;
        v = cJSON_GetObjectItemCaseSensitive(j, "flow");
        if (!cJSON_IsObject(v))
            return jfail(c, "flow: missing or not an object");
        if ((r = jstr(c, v, "proto", "flow.", 16, &s)) < 0)
            return r;
        if (s) {
            r = proto_parse(s, &o->flow.proto);
            free(s);
            if (r)
                return jfail(c, "flow.proto: expected tcp, udp, icmp, icmpv6, sctp or other");
        }
        s = NULL;
        if ((r = jstr(c, v, "direction", "flow.", 16, &s)) < 0)
            return r;
        if (s) {
            int dir;
            r = parse_name(direction_names, MZ_ARRAY_SIZE(direction_names), s, &dir);
            free(s);
            if (r)
                return jfail(c, "flow.direction: expected egress, ingress or unknown");
            o->flow.direction = (uint8_t)dir;
        }
        if ((r = jnum(c, v, "family", "flow.", 4, 6, &d)) < 0)
            return r;
        if ((r = endpoint_from_json(c, v, "local", o->flow.local_addr, sizeof(o->flow.local_addr),
                                    &o->flow.local_port)) ||
            (r = endpoint_from_json(c, v, "remote", o->flow.remote_addr,
                                    sizeof(o->flow.remote_addr), &o->flow.remote_port)) ||
            (r = jstr(c, v, "domain", "flow.", 253, &o->flow.domain)) ||
            (r = jbits(c, v, "actions", "flow.", mz_flow_action_parse, &o->flow.actions)))
            return r;
        o->flow.family = strchr(o->flow.remote_addr, ':') ? AF_INET6 : AF_INET;
        break;
    }
    case MZ_OBS_PRIV:
        v = cJSON_GetObjectItemCaseSensitive(j, "priv");
        if (!cJSON_IsObject(v))
            return jfail(c, "priv: missing or not an object");
        if ((r = jbits(c, v, "actions", "priv.", priv_parse, &o->priv.actions)))
            return r;
        if ((r = jnum(c, v, "target", "priv.", -1, 4294967295.0, &d)) < 0)
            return r;
        o->priv.target = r == 0 ? (int64_t)d : 0;
        break;
    case MZ_OBS_TAMPER: {
        char *s = NULL;
        int k;
        v = cJSON_GetObjectItemCaseSensitive(j, "tamper");
        if (!cJSON_IsObject(v))
            return jfail(c, "tamper: missing or not an object");
        if ((r = jstr(c, v, "kind", "tamper.", 32, &s)) < 0)
            return r;
        r = parse_name(tamper_names, MZ_ARRAY_SIZE(tamper_names), s, &k);
        free(s);
        if (r || k == 0)
            return jfail(c, "tamper.kind: expected map_write, prog_load or module_load");
        o->tamper.kind = (uint32_t)k;
        if ((r = jstr(c, v, "detail", "tamper.", 1024, &o->tamper.detail)))
            return r;
        break;
    }
    default:
        return jfail(c, "kind: unsupported");
    }
    return 0;
}

int mz_observation_from_json(const cJSON *j, struct mz_observation *out, char *err, size_t errlen)
{
    struct jctx c = {err, errlen};
    int r;
    memset(out, 0, sizeof(*out));
    r = observation_from_json(&c, j, out);
    if (r)
        mz_observation_clear(out);
    return r;
}

int mz_detection_from_json(const cJSON *j, struct mz_detection *out, char *err, size_t errlen)
{
    struct jctx c = {err, errlen};
    const cJSON *rec;
    char *imp = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(j))
        return jfail(&c, "expected a JSON object");
    rec = cJSON_GetObjectItemCaseSensitive(j, "recipe");
    if (!cJSON_IsObject(rec)) {
        r = jfail(&c, "recipe: missing or not an object");
        goto out;
    }
    if ((r = jstr(&c, rec, "id", "recipe.", 128, &out->recipe.id)) ||
        (r = jstr(&c, rec, "name", "recipe.", 256, &out->recipe.name)) ||
        (r = jstr(&c, rec, "description", "recipe.", 4096, &out->recipe.description)) ||
        (r = jstr(&c, rec, "tactic", "recipe.", 128, &out->recipe.tactic)) ||
        (r = jstr(&c, rec, "technique", "recipe.", 64, &out->recipe.technique)) ||
        (r = jstr(&c, rec, "mechanism", "recipe.", 64, &out->recipe.mechanism)) ||
        (r = jstr(&c, rec, "importance", "recipe.", 16, &imp)))
        goto out;
    if (!out->recipe.id || !*out->recipe.id) {
        r = jfail(&c, "recipe.id: missing");
        goto out;
    }
    if (imp && mz_importance_parse(imp, &out->recipe.importance)) {
        r = jfail(&c, "recipe.importance: expected low, medium, high or critical");
        goto out;
    }
    if (!imp)
        out->recipe.importance = MZ_IMP_MEDIUM;
    if ((r = observation_from_json(&c, j, &out->obs)))
        goto out;
    if ((r = jtime(&c, j, "detected_at", &out->time_ns)) < 0)
        goto out;
    if (r == 1)
        out->time_ns = out->obs.last_ns;
    r = 0;
out:
    free(imp);
    if (r) {
        mz_recipe_ref_clear(&out->recipe);
        mz_observation_clear(&out->obs);
    }
    return r;
}

/* --- text form ----------------------------------------------------------------- */

static int append_bits(struct mz_buf *b, uint32_t bits, const char *(*name)(uint32_t))
{
    int r = 0;
    bool first = true;
    for (uint32_t i = 0; i < 32 && !r; i++) {
        const char *n = (bits & (1u << i)) ? name(1u << i) : NULL;
        if (n) {
            r = mz_buf_appendf(b, "%s%s", first ? "" : ",", n);
            first = false;
        }
    }
    return r;
}

int mz_alert_format_text(const struct mz_alert *a, struct mz_buf *b)
{
    char t[MZ_RFC3339_LEN];
    const struct mz_observation *o = &a->det.obs;
    int r;

    mz_format_rfc3339(a->time_ns, t);
    t[19] = '\0'; /* seconds are enough on a terminal */
    r = mz_buf_appendf(b, "%s %-8s %s pid=%d comm=%s exe=%s", t,
                       mz_importance_name(a->det.recipe.importance),
                       a->det.recipe.id ? a->det.recipe.id : "?", o->proc.pid, o->proc.comm,
                       o->proc.exe ? o->proc.exe : "?");
    if (!r && o->proc.user)
        r = mz_buf_appendf(b, " user=%s", o->proc.user);
    if (!r && (o->kind == MZ_OBS_FILE || o->kind == MZ_OBS_EXEC)) {
        r = mz_buf_appendf(b, " file=%s [", o->file.path ? o->file.path : "?");
        if (!r)
            r = append_bits(b, o->file.actions, mz_file_action_name);
        if (!r)
            r = mz_buf_append(b, "]", 1);
    } else if (!r && o->kind == MZ_OBS_FLOW) {
        r = mz_buf_appendf(b, " %s %s:%u", mz_proto_name(o->flow.proto), o->flow.remote_addr,
                           o->flow.remote_port);
        if (!r && o->flow.domain)
            r = mz_buf_appendf(b, " (%s)", o->flow.domain);
    } else if (!r && o->kind == MZ_OBS_TAMPER) {
        r = mz_buf_appendf(b, " tamper=%s %s", NAME_OF(tamper_names, o->tamper.kind),
                           o->tamper.detail ? o->tamper.detail : "");
    }
    if (!r && o->count > 1)
        r = mz_buf_appendf(b, " x%llu", (unsigned long long)o->count);
    if (!r && a->att.status != MZ_ATT_NONE) {
        r = mz_buf_appendf(b, " | %s", mz_att_status_name(a->att.status));
        if (!r && a->att.verdict != MZ_VERDICT_NONE)
            r = mz_buf_appendf(b, " %s %.2f", mz_verdict_name(a->att.verdict), a->att.confidence);
        if (!r && a->att.why)
            r = mz_buf_appendf(b, " (%s)", a->att.why);
        if (!r && a->att.injection_suspected)
            r = mz_buf_appendf(b, " INJECTION-SUSPECTED");
    }
    return r;
}
