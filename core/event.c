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
#include <float.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include <openssl/evp.h>

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
    free(p->exe_seen_as);
    free(p->exe_host_path);
    free(p->args);
    free(p->cwd);
    free(p->user);
    free(p->group);
    free(p->container);
    free(p->exe_sha256);
    free(p->exe_sha256_why);
    free(p->exe_trust_why);
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
    free(obs->file.seen_as);
    free(obs->file.host_path);
    free(obs->flow.domain);
    free(obs->flow.domain_other);
    for (size_t i = 0; i < obs->flow.n_domain_names && i < MZ_DOMAIN_NAMES_MAX; i++)
        free(obs->flow.domain_names[i]);
    free(obs->flow.rule);
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
    dst->exe_seen_as = mz_strdup(src->exe_seen_as);
    dst->exe_host_path = mz_strdup(src->exe_host_path);
    dst->args = mz_strdup(src->args);
    dst->cwd = mz_strdup(src->cwd);
    dst->user = mz_strdup(src->user);
    dst->group = mz_strdup(src->group);
    dst->container = mz_strdup(src->container);
    dst->exe_sha256 = mz_strdup(src->exe_sha256);
    dst->exe_sha256_why = mz_strdup(src->exe_sha256_why);
    dst->exe_trust_why = mz_strdup(src->exe_trust_why);
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
    dst->file.seen_as = mz_strdup(src->file.seen_as);
    dst->file.host_path = mz_strdup(src->file.host_path);
    dst->flow.domain = mz_strdup(src->flow.domain);
    dst->flow.domain_other = mz_strdup(src->flow.domain_other);
    for (size_t i = 0; i < src->flow.n_domain_names && i < MZ_DOMAIN_NAMES_MAX; i++)
        dst->flow.domain_names[i] = mz_strdup(src->flow.domain_names[i]);
    dst->flow.rule = mz_strdup(src->flow.rule);
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
    mz_summary_free(det->summary);
    free(det);
}

void mz_summary_free(struct mz_summary *s)
{
    if (!s)
        return;
    free(s->limit);
    free(s->keys_json);
    free(s);
}

void mz_attenuation_clear(struct mz_attenuation *att)
{
    if (!att)
        return;
    free(att->reason);
    free(att->why);
    free(att->model);
    free(att->untrusted_text);
    memset(att, 0, sizeof(*att));
}

/* The id of a live alert: the first 128 bits of SHA-256 over its source,
 * recipe id and summary count (0: not a summary), hex. Falls back to a random id if hashing fails.
 */
static void source_id(const struct mz_source *src, const char *recipe, uint64_t summary,
                      char out[33])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, "mizan-alert", 12) == 1 &&
              EVP_DigestUpdate(ctx, &src->map, 1) == 1 &&
              EVP_DigestUpdate(ctx, src->key, sizeof(src->key)) == 1 &&
              EVP_DigestUpdate(ctx, &src->fp, sizeof(src->fp)) == 1 &&
              EVP_DigestUpdate(ctx, recipe ? recipe : "", recipe ? strlen(recipe) + 1 : 1) == 1 &&
              EVP_DigestUpdate(ctx, &summary, sizeof(summary)) == 1 &&
              EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (ok)
        mz_hex(md, 16, out);
    else
        mz_random_id(out);
}

struct mz_alert *mz_alert_new(struct mz_detection *det, const char *host)
{
    struct mz_alert *a = mz_calloc(1, sizeof(*a));
    if (det && det->obs.src.map)
        /* a summary (its obs is a sample) is not the alert of its sample */
        source_id(&det->obs.src, det->recipe.id, det->summary ? det->summary->count : 0, a->id);
    else
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
    mz_summary_free(alert->det.summary);
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
    "connect", "accept", "bind",   "listen",     "send",   "established",
    "close",   "failed", "dropip", "dropdomain", "blocked"};
static const char *const priv_action_names[] = {"setuid", "setgid", "capset", "ptrace"};
static const char *const tamper_names[] = {"none",        "map_write", "prog_load",
                                           "module_load", "map_open",  "record_flood"};

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

static const char *const match_field_names[MZ_MF__COUNT] = {
    "none",       "path",      "path2",      "exe",    "args",         "comm",       "cwd",
    "user",       "container", "ancestry",   "domain", "remote_addr",  "local_addr", "remote_port",
    "local_port", "detail",    "exe_sha256", "id",     "domain_names",
};
static const char *const match_how_names[MZ_MH__COUNT] = {
    "exact", "base", "dir", "regex", "list", "cidr", "port", "number", "score",
};

void mz_match_part_set_pattern(struct mz_match_part *p, const char *s)
{
    const unsigned char *in = (const unsigned char *)(s ? s : "");
    size_t o = 0, n = strlen((const char *)in);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = mz_utf8_decode(in + i, n - i, &cp);
        if (l == 0) {
            if (o + 1 >= sizeof(p->pattern))
                break;
            p->pattern[o++] = '?';
            i++;
            continue;
        }
        if (o + l >= sizeof(p->pattern))
            break;
        memcpy(p->pattern + o, in + i, l);
        o += l;
        i += l;
    }
    memset(p->pattern + o, 0, sizeof(p->pattern) - o);
}

const char *mz_match_field_name(unsigned field)
{
    return field < MZ_MF__COUNT ? match_field_names[field] : "?";
}

const char *mz_match_how_name(unsigned how)
{
    return how < MZ_MH__COUNT ? match_how_names[how] : "?";
}

int mz_match_field_parse(const char *s, unsigned *out)
{
    int v;
    int r = parse_name(match_field_names, MZ_MF__COUNT, s, &v);
    if (r == 0)
        *out = (unsigned)v;
    return r;
}

int mz_match_how_parse(const char *s, unsigned *out)
{
    int v;
    int r = parse_name(match_how_names, MZ_MH__COUNT, s, &v);
    if (r == 0)
        *out = (unsigned)v;
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

/* The JSON forms are written straight into a buffer, in one pass, with no
 * tree and no allocation per field: printing alerts is the daemon's busiest
 * path. The text is byte for byte what cJSON_PrintUnformatted gives for the
 * same document (the same escapes and number forms); the cJSON forms parse
 * it. */
struct jw {
    struct mz_buf *b;
    int err;
    bool comma; /* the current object or array has a member already */
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
    struct mz_buf *b = w->b;
    if (w->err || !n)
        return;
    if (b->data && n < b->alloc - b->len && n <= b->cap - b->len) {
        /* room already: what mz_buf_append does, without its call */
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    w->err = mz_buf_append(b, s, n);
}

static void jw_sep(struct jw *w)
{
    if (w->comma)
        jw_raw(w, ",", 1);
    w->comma = true;
}

/* A JSON string, escaped as cJSON does: the two-character escapes, \u00xx
 * for the other control characters, every other byte as it is. */
static void jw_quoted(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    jw_raw(w, "\"", 1);
    for (;;) {
        const unsigned char *run = p;
        while (*p >= 32 && *p != '"' && *p != '\\')
            p++;
        jw_raw(w, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (*p) {
        case '"':
        case '\\':
            esc[1] = (char)*p;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            n = 6;
            break;
        }
        jw_raw(w, esc, n);
        p++;
    }
    jw_raw(w, "\"", 1);
}

/* The member's key (or, with key NULL, an array element's separator). */
/* Keys are our own literals: nothing in them needs escaping. */
static void jw_key(struct jw *w, const char *key)
{
    jw_sep(w);
    if (key) {
        char k[64];
        size_t n = strlen(key);
        if (n + 3 > sizeof(k)) {
            jw_quoted(w, key);
            jw_raw(w, ":", 1);
            return;
        }
        k[0] = '"';
        memcpy(k + 1, key, n);
        k[n + 1] = '"';
        k[n + 2] = ':';
        jw_raw(w, k, n + 3);
    }
}

static void jw_open(struct jw *w, const char *key, char bracket)
{
    jw_key(w, key);
    jw_raw(w, &bracket, 1);
    w->comma = false;
}

static void jw_close(struct jw *w, char bracket)
{
    jw_raw(w, &bracket, 1);
    w->comma = true;
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
    jw_key(w, key);
    jw_quoted(w, v);
}

static void jw_str_or_null(struct jw *w, const char *key, const char *v)
{
    if (v) {
        jw_str(w, key, v);
    } else {
        jw_key(w, key);
        jw_raw(w, "null", 4);
    }
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

static void jw_int(struct jw *w, const char *key, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jw_key(w, key);
    jw_raw(w, p, (size_t)(buf + sizeof(buf) - p));
}

/* A value of at most three decimals (as round3 leaves them) below 1e9, as
 * %1.15g prints it: the integer part, then the decimals without trailing
 * zeros. 0 when v is not such a value. */
static size_t milli_text(double v, char *out)
{
    double a = fabs(v), m = floor(a * 1000.0 + 0.5);
    if (!(a < 1e9) || a < 0.001 || m / 1000.0 != a)
        return 0;
    uint64_t k = (uint64_t)m, ip = k / 1000;
    unsigned frac = (unsigned)(k % 1000);
    char tmp[32], *p = tmp + sizeof(tmp);
    if (frac) {
        char d[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                     (char)('0' + frac % 10)};
        size_t nd = 3;
        while (d[nd - 1] == '0')
            nd--;
        p -= nd;
        memcpy(p, d, nd);
        *--p = '.';
    }
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    out[n] = 0;
    return n;
}

/* A double as cJSON prints one: an int when it is one, else the shortest
 * of %1.15g and %1.17g that reads back the same. */
static void jw_num(struct jw *w, const char *key, double d)
{
    char buf[32];
    if (isnan(d) || isinf(d)) {
        jw_key(w, key);
        jw_raw(w, "null", 4);
        return;
    }
    int iv = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    if (d != (double)iv && milli_text(d, buf)) {
        /* the common case (confidence, latency_ms), without printf */
    } else if (d == (double)iv) {
        jw_int(w, key, iv); /* 0 ms, 1.0: without printf */
        return;
    } else {
        snprintf(buf, sizeof(buf), "%1.15g", d);
        double back = strtod(buf, NULL);
        double big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
        if (!(fabs(back - d) <= big * DBL_EPSILON))
            snprintf(buf, sizeof(buf), "%1.17g", d);
    }
    jw_key(w, key);
    jw_raw(w, buf, strlen(buf));
}

static void jw_time(struct jw *w, const char *key, uint64_t ns)
{
    char buf[MZ_RFC3339_LEN];
    mz_format_rfc3339(ns, buf);
    jw_str(w, key, buf);
}

static void jw_bits(struct jw *w, const char *key, uint32_t bits, const char *(*name)(uint32_t))
{
    jw_open(w, key, '[');
    for (uint32_t b = 0; b < 32; b++) {
        if (bits & (1u << b)) {
            const char *n = name(1u << b);
            if (n)
                jw_str(w, NULL, n);
        }
    }
    jw_close(w, ']');
}

static const char *priv_name(uint32_t bit)
{
    return bit_name(priv_action_names, MZ_ARRAY_SIZE(priv_action_names), bit);
}

static void jw_process(struct jw *w, const struct mz_process *p)
{
    jw_open(w, "process", '{');
    jw_int(w, "pid", p->pid);
    jw_int(w, "ppid", p->ppid);
    jw_str(w, "comm", p->comm);
    jw_str_or_null(w, "exe", p->exe);
    if (p->exe_seen_as)
        jw_str(w, "exe_seen_as", p->exe_seen_as);
    if (p->exe_mnt_ns) {
        jw_str_or_null(w, "exe_host_path", p->exe_host_path);
        jw_int(w, "exe_mnt_ns", p->exe_mnt_ns);
    }
    jw_str_or_null(w, "args", p->args);
    if (p->cwd)
        jw_str(w, "cwd", p->cwd);
    jw_int(w, "uid", p->uid);
    jw_int(w, "gid", p->gid);
    jw_int(w, "euid", p->euid);
    jw_str_or_null(w, "user", p->user);
    if (p->group)
        jw_str(w, "group", p->group);
    jw_open(w, "ancestry", '[');
    for (size_t i = 0; i < p->n_ancestry; i++)
        jw_str(w, NULL, p->ancestry[i] ? p->ancestry[i] : "");
    jw_close(w, ']');
    jw_str_or_null(w, "container", p->container);
    if (p->exe_sha256)
        jw_str(w, "exe_sha256", p->exe_sha256);
    else if (p->exe_sha256_why) {
        jw_str_or_null(w, "exe_sha256", NULL);
        jw_str(w, "exe_sha256_why", p->exe_sha256_why);
    }
    if (p->exe_trust_why) {
        jw_bool(w, "exe_trusted", p->exe_trusted);
        jw_bool(w, "parent_exe_trusted", p->parent_exe_trusted);
        jw_str(w, "exe_trust_why", p->exe_trust_why);
    }
    if (p->start_ns)
        jw_int(w, "start_ns", (int64_t)p->start_ns);
    jw_close(w, '}');
}

static void jw_endpoint(struct jw *w, const char *key, const char *addr, uint16_t port)
{
    jw_open(w, key, '{');
    jw_str(w, "addr", addr);
    jw_int(w, "port", port);
    jw_close(w, '}');
}

/* kind, times, count, process and the artifact of obs. */
static void jw_observation_fields(struct jw *w, const struct mz_observation *obs)
{
    jw_str(w, "kind", mz_obs_kind_name(obs->kind));
    jw_time(w, "first_seen", obs->first_ns);
    jw_time(w, "last_seen", obs->last_ns);
    jw_int(w, "count", (int64_t)obs->count);
    jw_process(w, &obs->proc);
    switch (obs->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        jw_open(w, "file", '{');
        jw_str_or_null(w, "path", obs->file.path);
        if (obs->file.path2)
            jw_str(w, "path2", obs->file.path2);
        if (obs->file.seen_as)
            jw_str(w, "seen_as", obs->file.seen_as);
        if (obs->file.mnt_ns) {
            jw_str_or_null(w, "host_path", obs->file.host_path);
            jw_int(w, "mnt_ns", obs->file.mnt_ns);
        }
        if (obs->file.ino) {
            char dev[32];
            snprintf(dev, sizeof(dev), "%u:%u", major((dev_t)obs->file.dev),
                     minor((dev_t)obs->file.dev));
            jw_str(w, "dev", dev);
            jw_int(w, "inode", (int64_t)obs->file.ino);
        }
        jw_bits(w, "actions", obs->file.actions, mz_file_action_name);
        jw_close(w, '}');
        break;
    case MZ_OBS_FLOW: {
        const struct mz_flow *fl = &obs->flow;
        jw_open(w, "flow", '{');
        jw_str(w, "proto", mz_proto_name(fl->proto));
        jw_int(w, "family", fl->family == AF_INET6 ? 6 : 4);
        jw_str(w, "direction", NAME_OF(direction_names, fl->direction));
        jw_endpoint(w, "local", fl->local_addr, fl->local_port);
        jw_endpoint(w, "remote", fl->remote_addr, fl->remote_port);
        jw_str_or_null(w, "domain", fl->domain);
        if (fl->domain_conflict) {
            jw_bool(w, "domain_conflict", true);
            if (fl->domain_other)
                jw_str(w, "domain_other", fl->domain_other);
        }
        if (fl->n_domain_names) {
            jw_open(w, "domain_names", '[');
            for (size_t i = 0; i < fl->n_domain_names && i < MZ_DOMAIN_NAMES_MAX; i++)
                jw_str(w, NULL, fl->domain_names[i] ? fl->domain_names[i] : "");
            jw_close(w, ']');
        }
        if (fl->has_resolution) {
            jw_open(w, "resolution", '{');
            jw_int(w, "qid", fl->resolution_qid);
            if (fl->resolution_netns)
                jw_int(w, "netns", fl->resolution_netns);
            jw_bool(w, "own", fl->resolution_own);
            jw_close(w, '}');
        }
        jw_bits(w, "actions", fl->actions, mz_flow_action_name);
        if (fl->rule)
            jw_str(w, "rule", fl->rule);
        jw_close(w, '}');
        if (fl->domain)
            jw_str(w, "domain", fl->domain);
        break;
    }
    case MZ_OBS_PRIV:
        jw_open(w, "priv", '{');
        jw_bits(w, "actions", obs->priv.actions, priv_name);
        jw_int(w, "target", (int64_t)obs->priv.target);
        jw_close(w, '}');
        break;
    case MZ_OBS_TAMPER:
        jw_open(w, "tamper", '{');
        jw_str(w, "kind", NAME_OF(tamper_names, obs->tamper.kind));
        jw_str_or_null(w, "detail", obs->tamper.detail);
        jw_close(w, '}');
        break;
    default:
        break;
    }
}

static void jw_recipe(struct jw *w, const struct mz_recipe_ref *r)
{
    jw_open(w, "recipe", '{');
    jw_str_or_null(w, "id", r->id);
    jw_str_or_null(w, "name", r->name);
    jw_str(w, "importance", mz_importance_name(r->importance));
    jw_str_or_null(w, "tactic", r->tactic);
    jw_str_or_null(w, "technique", r->technique);
    if (r->mechanism)
        jw_str(w, "mechanism", r->mechanism);
    if (r->description)
        jw_str(w, "description", r->description);
    jw_close(w, '}');
}

/* keys_json is made by detect (cJSON_PrintUnformatted), so it is canonical
 * JSON already and goes in as it is. */
static void jw_summary(struct jw *w, const struct mz_summary *s)
{
    if (!s)
        return;
    jw_open(w, "summary", '{');
    jw_int(w, "count", (int64_t)s->count);
    jw_time(w, "first_seen", s->first_ns);
    jw_time(w, "last_seen", s->last_ns);
    jw_str_or_null(w, "limit", s->limit);
    jw_int(w, "max", s->max);
    jw_key(w, "keys");
    if (s->keys_json && *s->keys_json)
        jw_raw(w, s->keys_json, strlen(s->keys_json));
    else
        jw_raw(w, "{}", 2);
    jw_close(w, '}');
}

/* What the recipe matched (detect's record), when it was recorded. */
static void jw_matched(struct jw *w, const struct mz_matched *m)
{
    if (!m->n)
        return;
    jw_open(w, "matched", '[');
    for (size_t i = 0; i < m->n && i < MZ_MATCHED_MAX; i++) {
        const struct mz_match_part *p = &m->part[i];
        jw_open(w, NULL, '{');
        jw_str(w, "field", mz_match_field_name(p->field));
        if (p->field == MZ_MF_ANCESTRY || p->field == MZ_MF_DOMAIN_NAMES)
            jw_int(w, "index", p->index);
        jw_str(w, "how", mz_match_how_name(p->how));
        jw_str(w, "pattern", p->pattern);
        if (p->len) {
            jw_int(w, "offset", p->off);
            jw_int(w, "length", p->len);
        }
        jw_close(w, '}');
    }
    jw_close(w, ']');
}

static double round3(double v)
{
    return floor(v * 1000.0 + 0.5) / 1000.0;
}

static void jw_attenuation(struct jw *w, const struct mz_attenuation *a)
{
    jw_open(w, "attenuation", '{');
    jw_str(w, "status", mz_att_status_name(a->status));
    if (a->verdict != MZ_VERDICT_NONE) {
        jw_str(w, "verdict", mz_verdict_name(a->verdict));
        jw_num(w, "confidence", round3(a->confidence));
        if (a->severity[0])
            jw_str(w, "severity", a->severity);
    }
    if (a->model)
        jw_str(w, "model", a->model);
    if (a->status != MZ_ATT_NONE) {
        jw_bool(w, "cache_hit", a->cache_hit);
        jw_num(w, "latency_ms", round3(a->latency_ms));
    }
    if (a->reason)
        jw_str(w, "reason", a->reason);
    if (a->why)
        jw_str(w, "why", a->why);
    if (a->injection_suspected)
        jw_bool(w, "injection_suspected", true);
    if (a->untrusted_text)
        jw_str(w, "untrusted_text", a->untrusted_text);
    if (a->shape_verdict != MZ_VERDICT_NONE || a->shape_digest[0]) {
        jw_open(w, "shape", '{');
        if (a->shape_verdict != MZ_VERDICT_NONE) {
            jw_str(w, "verdict", mz_verdict_name(a->shape_verdict));
            jw_num(w, "confidence", round3(a->shape_confidence));
        }
        if (a->shape_digest[0])
            jw_str(w, "digest", a->shape_digest);
        jw_close(w, '}');
    }
    if (a->withheld)
        jw_bool(w, "withheld", true);
    jw_close(w, '}');
}

int mz_observation_json(const struct mz_observation *obs, struct mz_buf *out)
{
    struct jw w = {.b = out};
    jw_open(&w, NULL, '{');
    jw_time(&w, "time", obs->last_ns);
    jw_observation_fields(&w, obs);
    jw_close(&w, '}');
    return w.err;
}

int mz_detection_json(const struct mz_detection *det, struct mz_buf *out)
{
    struct jw w = {.b = out};
    jw_open(&w, NULL, '{');
    jw_time(&w, "time", det->time_ns);
    jw_recipe(&w, &det->recipe);
    jw_summary(&w, det->summary);
    jw_matched(&w, &det->matched);
    jw_observation_fields(&w, &det->obs);
    jw_close(&w, '}');
    return w.err;
}

int mz_alert_json(const struct mz_alert *alert, struct mz_buf *out)
{
    struct jw w = {.b = out};
    w.err = mz_buf_reserve(out, 2048); /* most alerts fit */
    jw_open(&w, NULL, '{');
    jw_str(&w, "id", alert->id);
    jw_time(&w, "time", alert->time_ns);
    jw_str_or_null(&w, "host", alert->host);
    jw_recipe(&w, &alert->det.recipe);
    jw_time(&w, "detected_at", alert->det.time_ns);
    jw_summary(&w, alert->det.summary);
    jw_matched(&w, &alert->det.matched);
    jw_observation_fields(&w, &alert->det.obs);
    jw_attenuation(&w, &alert->att);
    jw_close(&w, '}');
    return w.err;
}

/* The cJSON forms: the text above (in b, written with result err), parsed;
 * b is freed. */
static cJSON *parsed(struct mz_buf *b, int err)
{
    cJSON *j = err == 0 && b->data ? cJSON_Parse(b->data) : NULL;
    mz_buf_free(b);
    if (!j)
        abort(); /* only on OOM: the text is JSON by construction */
    return j;
}

cJSON *mz_observation_to_json(const struct mz_observation *obs)
{
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    return parsed(&b, mz_observation_json(obs, &b));
}

cJSON *mz_detection_to_json(const struct mz_detection *det)
{
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    return parsed(&b, mz_detection_json(det, &b));
}

cJSON *mz_alert_to_json(const struct mz_alert *alert)
{
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    return parsed(&b, mz_alert_json(alert, &b));
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

/* file.dev ("MAJOR:MINOR") and file.inode, both or neither. */
static int file_ident_from_json(struct jctx *c, const cJSON *o, struct mz_file *f)
{
    double ino = 0;
    int r = jnum(c, o, "inode", "file.", 1, 9007199254740992.0, &ino);
    if (r < 0)
        return r;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "dev");
    if (r == 1 && (!d || cJSON_IsNull(d)))
        return 0;
    if (r == 1 || !cJSON_IsString(d) || !d->valuestring)
        return jfail(c, "file.dev, file.inode: give both (dev as \"MAJOR:MINOR\")");
    char *end;
    errno = 0;
    unsigned long maj = strtoul(d->valuestring, &end, 10);
    if (errno || end == d->valuestring || *end != ':' || maj > 4095)
        return jfail(c, "file.dev: expected \"MAJOR:MINOR\"");
    const char *m = end + 1;
    unsigned long min = strtoul(m, &end, 10);
    if (errno || end == m || *end || min > 1048575)
        return jfail(c, "file.dev: expected \"MAJOR:MINOR\"");
    f->dev = makedev(maj, min);
    f->ino = (uint64_t)ino;
    return 0;
}

/* 0 with *out set, 0 with *out false when absent or null, or an error. */
static int jbool(struct jctx *c, const cJSON *o, const char *key, const char *path, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = false;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return jfail(c, "%s%s: expected true or false", path, key);
    *out = cJSON_IsTrue(v);
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
    if ((r = jnum(c, o, "exe_mnt_ns", "process.", 1, 4294967295.0, &d)) < 0)
        return r;
    p->exe_mnt_ns = r == 0 ? (uint32_t)d : 0;
    if ((r = jstr(c, o, "comm", "process.", 15, &comm)) < 0)
        return r;
    if (comm) {
        (void)mz_strlcpy(p->comm, comm, sizeof(p->comm));
        free(comm);
    }
    if ((r = jstr(c, o, "exe", "process.", MZ_PATH_MAX, &p->exe)) ||
        (r = jstr(c, o, "exe_seen_as", "process.", MZ_PATH_MAX, &p->exe_seen_as)) ||
        (r = jstr(c, o, "exe_host_path", "process.", MZ_PATH_MAX, &p->exe_host_path)) ||
        (r = jstr(c, o, "args", "process.", MZ_ARGS_MAX, &p->args)) ||
        (r = jstr(c, o, "cwd", "process.", MZ_PATH_MAX, &p->cwd)) ||
        (r = jstr(c, o, "user", "process.", 256, &p->user)) ||
        (r = jstr(c, o, "group", "process.", 256, &p->group)) ||
        (r = jstr(c, o, "container", "process.", 256, &p->container)) ||
        (r = jstr(c, o, "exe_sha256", "process.", 64, &p->exe_sha256)) ||
        (r = jstr(c, o, "exe_sha256_why", "process.", 64, &p->exe_sha256_why)) ||
        (r = jstr(c, o, "exe_trust_why", "process.", 64, &p->exe_trust_why)) ||
        (r = jbool(c, o, "exe_trusted", "process.", &p->exe_trusted)) ||
        (r = jbool(c, o, "parent_exe_trusted", "process.", &p->parent_exe_trusted)))
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

/* flow.domain_names (at most MZ_DOMAIN_NAMES_MAX names of at most 253
 * bytes) and flow.resolution ({"qid", "netns", "own"}), each optional. */
static int flow_names_from_json(struct jctx *c, const cJSON *o, struct mz_flow *f)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "domain_names");
    if (a && !cJSON_IsNull(a)) {
        const cJSON *it;
        if (!cJSON_IsArray(a))
            return jfail(c, "flow.domain_names: expected an array of names");
        if (cJSON_GetArraySize(a) > MZ_DOMAIN_NAMES_MAX)
            return jfail(c, "flow.domain_names: more than %d names", MZ_DOMAIN_NAMES_MAX);
        cJSON_ArrayForEach(it, a)
        {
            if (!cJSON_IsString(it) || strlen(it->valuestring) > 253)
                return jfail(c, "flow.domain_names[%zu]: expected a name of at most 253 bytes",
                             f->n_domain_names);
            f->domain_names[f->n_domain_names++] = mz_strdup(it->valuestring);
        }
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "resolution");
    if (!r || cJSON_IsNull(r))
        return 0;
    if (!cJSON_IsObject(r))
        return jfail(c, "flow.resolution: expected an object");
    double qid = 0, netns = 0;
    int rc;
    if ((rc = jnum(c, r, "qid", "flow.resolution.", 0, UINT16_MAX, &qid)) < 0)
        return rc;
    if (rc)
        return jfail(c, "flow.resolution.qid: missing");
    if (jnum(c, r, "netns", "flow.resolution.", 0, UINT32_MAX, &netns) < 0 ||
        jbool(c, r, "own", "flow.resolution.", &f->resolution_own) < 0)
        return -EINVAL;
    f->has_resolution = true;
    f->resolution_qid = (uint16_t)qid;
    f->resolution_netns = (uint32_t)netns;
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
            (r = jstr(c, v, "seen_as", "file.", MZ_PATH_MAX, &o->file.seen_as)) ||
            (r = jstr(c, v, "host_path", "file.", MZ_PATH_MAX, &o->file.host_path)) ||
            (r = jbits(c, v, "actions", "file.", mz_file_action_parse, &o->file.actions)))
            return r;
        if (!o->file.path)
            return jfail(c, "file.path: missing");
        if ((r = file_ident_from_json(c, v, &o->file)) < 0)
            return r;
        if ((r = jnum(c, v, "mnt_ns", "file.", 1, 4294967295.0, &d)) < 0)
            return r;
        o->file.mnt_ns = r == 0 ? (uint32_t)d : 0;
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
            (r = jbool(c, v, "domain_conflict", "flow.", &o->flow.domain_conflict)) ||
            (r = jstr(c, v, "domain_other", "flow.", 253, &o->flow.domain_other)) ||
            (r = flow_names_from_json(c, v, &o->flow)) ||
            (r = jstr(c, v, "rule", "flow.", 512, &o->flow.rule)) ||
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
            return jfail(c, "tamper.kind: expected map_write, map_open, prog_load, module_load or "
                            "record_flood");
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

/* The optional "matched" array (what detect recorded; README "Replay
 * formats"): at most MZ_MATCHED_MAX entries are kept, the rest set more. */
static int matched_from_json(struct jctx *c, const cJSON *j, struct mz_matched *m)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "matched"), *e;
    int i = 0;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return jfail(c, "matched: expected an array");
    cJSON_ArrayForEach(e, a)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field"),
                    *h = cJSON_GetObjectItemCaseSensitive(e, "how"),
                    *pt = cJSON_GetObjectItemCaseSensitive(e, "pattern");
        unsigned fv, hv;
        double idx = 0, off = 0, len = 0;
        if (!cJSON_IsObject(e))
            return jfail(c, "matched[%d]: expected an object", i);
        if (!cJSON_IsString(f) || mz_match_field_parse(f->valuestring, &fv))
            return jfail(c, "matched[%d].field: expected a field name (path, args, ...)", i);
        if (!cJSON_IsString(h) || mz_match_how_parse(h->valuestring, &hv))
            return jfail(c,
                         "matched[%d].how: expected exact, base, dir, regex, list, cidr, "
                         "port, number or score",
                         i);
        if (!cJSON_IsString(pt))
            return jfail(c, "matched[%d].pattern: expected a string", i);
        if (jnum(c, e, "index", "matched[].", 0, MZ_ANCESTRY_MAX - 1, &idx) < 0 ||
            jnum(c, e, "offset", "matched[].", 0, UINT16_MAX, &off) < 0 ||
            jnum(c, e, "length", "matched[].", 0, UINT16_MAX, &len) < 0)
            return -EINVAL;
        if (m->n >= MZ_MATCHED_MAX) {
            m->more = true;
        } else {
            struct mz_match_part *p = &m->part[m->n++];
            p->field = (uint8_t)fv;
            p->how = (uint8_t)hv;
            p->index = (uint8_t)idx;
            p->off = (uint16_t)off;
            p->len = (uint16_t)len;
            mz_match_part_set_pattern(p, pt->valuestring);
        }
        i++;
    }
    return 0;
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
    if ((r = matched_from_json(&c, j, &out->matched)))
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
        if (!r && o->flow.domain_conflict)
            r = mz_buf_appendf(b, " [other clients: %s]",
                               o->flow.domain_other ? o->flow.domain_other : "another name");
        if (!r && o->flow.rule)
            r = mz_buf_appendf(b, " rule=\"%s\"", o->flow.rule);
    } else if (!r && o->kind == MZ_OBS_TAMPER) {
        r = mz_buf_appendf(b, " tamper=%s %s", NAME_OF(tamper_names, o->tamper.kind),
                           o->tamper.detail ? o->tamper.detail : "");
    }
    if (!r && o->count > 1)
        r = mz_buf_appendf(b, " x%llu", (unsigned long long)o->count);
    if (!r && a->det.summary)
        r = mz_buf_appendf(b, " (+%llu more like this, %s)",
                           (unsigned long long)a->det.summary->count,
                           a->det.summary->limit ? a->det.summary->limit : "limit");
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
