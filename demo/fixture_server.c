/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_server.c - the tests' and the demo's model server: libmicrohttpd on 127.0.0.1
 * with a thread per connection (so a slow answer does not hold up others),
 * answering chat completions according to a scripted behaviour and keeping
 * a record of every request for the tests' assertions.
 *
 * A request is recorded when it has fully arrived, before any delay, with
 * the status it is going to get, so that a client which gave up (timeout)
 * still finds its request counted.
 */
#include "demo/fixture_server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

#define BODY_CAP   (8u << 20)
#define SCRIPT_MAX 64
#define RULES_MAX  32
#define HUGE_SIZE  (2u << 20)

static const char *const behaviour_names[FIXTURE_BEHAVIOUR_COUNT] = {
    [FIXTURE_NORMAL] = "normal",
    [FIXTURE_OBEY_INJECTION] = "obey_injection",
    [FIXTURE_OBEY_ANY] = "obey_any",
    [FIXTURE_SLOW] = "slow",
    [FIXTURE_RATE_LIMIT] = "429",
    [FIXTURE_ERROR_500] = "500",
    [FIXTURE_LOADING_503] = "503",
    [FIXTURE_GARBAGE] = "garbage",
    [FIXTURE_TRUNCATED] = "truncated",
    [FIXTURE_LENGTH] = "length",
    [FIXTURE_BAD_SCHEMA] = "bad_schema",
    [FIXTURE_REJECT_JSON_SCHEMA] = "reject_json_schema",
    [FIXTURE_REJECT_STRUCTURED] = "reject_structured",
    [FIXTURE_HUGE] = "huge",
    [FIXTURE_DROP] = "drop",
};

const char *fixture_behaviour_name(enum fixture_behaviour b)
{
    if ((unsigned)b >= FIXTURE_BEHAVIOUR_COUNT)
        return "unknown";
    return behaviour_names[b];
}

int fixture_behaviour_parse(const char *s, enum fixture_behaviour *out)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i < FIXTURE_BEHAVIOUR_COUNT; i++) {
        if (strcmp(s, behaviour_names[i]) == 0) {
            *out = (enum fixture_behaviour)i;
            return 0;
        }
    }
    /* a few aliases */
    if (strcmp(s, "rate_limit") == 0)
        *out = FIXTURE_RATE_LIMIT;
    else if (strcmp(s, "error_500") == 0)
        *out = FIXTURE_ERROR_500;
    else if (strcmp(s, "loading") == 0 || strcmp(s, "loading_503") == 0)
        *out = FIXTURE_LOADING_503;
    else
        return -EINVAL;
    return 0;
}

void fixture_options_default(struct fixture_options *o)
{
    memset(o, 0, sizeof(*o));
    o->behaviour = FIXTURE_NORMAL;
    o->verdict = MZ_VERDICT_FALSE_POSITIVE;
    o->confidence = 0.95;
    o->severity = "low";
    o->reason = "fixture verdict";
    o->slow_ms = 5000;
    o->retry_after_s = 1;
}

/* --- per-content counts: open addressing on a 64-bit FNV-1a hash --------- */

struct content_slot {
    char *content; /* NULL: empty slot */
    uint64_t hash;
    size_t count;
};

struct content_table {
    struct content_slot *slots;
    size_t cap; /* power of two */
    size_t used;
    size_t max_count;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static struct content_slot *content_find(struct content_table *t, const char *s, uint64_t h)
{
    size_t i = h & (t->cap - 1);
    while (t->slots[i].content) {
        if (t->slots[i].hash == h && strcmp(t->slots[i].content, s) == 0)
            return &t->slots[i];
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slots[i];
}

static void content_add(struct content_table *t, const char *s)
{
    if (t->used * 2 >= t->cap) {
        struct content_table n = {.cap = t->cap ? t->cap * 2 : 64, .max_count = t->max_count};
        n.slots = mz_calloc(n.cap, sizeof(*n.slots));
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].content)
                continue;
            *content_find(&n, t->slots[i].content, t->slots[i].hash) = t->slots[i];
            n.used++;
        }
        free(t->slots);
        *t = n;
    }
    uint64_t h = fnv1a(s);
    struct content_slot *sl = content_find(t, s, h);
    if (!sl->content) {
        sl->content = mz_strdup(s);
        sl->hash = h;
        t->used++;
    }
    sl->count++;
    if (sl->count > t->max_count)
        t->max_count = sl->count;
}

static void content_clear(struct content_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].content);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* --- the server ---------------------------------------------------------------- */

struct fixture_server {
    struct MHD_Daemon *daemon;
    uint16_t port;
    char url[64];

    pthread_mutex_t lock;
    pthread_cond_t wake; /* broadcast on stop */
    bool stopping;

    /* behaviour, guarded by lock */
    enum fixture_behaviour behaviour;
    enum mz_verdict verdict;
    double confidence;
    char severity[16];
    char *reason;
    unsigned delay_ms;
    unsigned slow_ms;
    unsigned retry_after_s;
    struct {
        char *needle;
        enum mz_verdict verdict;
        double confidence;
        char severity[16];
    } rules[RULES_MAX];
    size_t n_rules;
    struct obey_case {
        char **frags; /* normalized (fixture_normalize) */
        size_t n;
    } * obey;
    size_t n_obey, cap_obey;
    enum fixture_behaviour script[SCRIPT_MAX];
    size_t script_n, script_pos;

    /* records, guarded by lock */
    struct fixture_request **reqs;
    size_t n_reqs, cap_reqs;
    struct content_table contents;
    size_t in_flight, max_in_flight;
    FILE *record;
};

struct conn_ctx {
    struct mz_buf body;
    bool too_big;
};

static void request_free(struct fixture_request *r)
{
    if (!r)
        return;
    free(r->method);
    free(r->path);
    free(r->body);
    free(r->authorization);
    free(r->system_content);
    free(r->user_content);
    free(r->response_format);
    free(r->model);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    free(r->header_names);
    free(r->header_values);
    free(r);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct fixture_request *r = cls;
    r->header_names = mz_realloc(r->header_names, (r->n_headers + 1) * sizeof(char *));
    r->header_values = mz_realloc(r->header_values, (r->n_headers + 1) * sizeof(char *));
    r->header_names[r->n_headers] = mz_strdup(key ? key : "");
    r->header_values[r->n_headers] = mz_strdup(value ? value : "");
    r->n_headers++;
    if (key && strcasecmp(key, "Authorization") == 0 && !r->authorization)
        r->authorization = mz_strdup(value);
    return MHD_YES;
}

const char *fixture_request_header(const struct fixture_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->header_names[i], name) == 0)
            return r->header_values[i];
    return NULL;
}

/* Pulls messages and response_format out of a chat completion body. */
static void parse_chat_body(struct fixture_request *r)
{
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    if (!cJSON_IsObject(root))
        goto out;
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(m))
        r->model = mz_strdup(m->valuestring);
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    cJSON *it;
    cJSON_ArrayForEach(it, msgs)
    {
        cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            continue;
        if (strcmp(role->valuestring, "system") == 0 && !r->system_content)
            r->system_content = mz_strdup(content->valuestring);
        else if (strcmp(role->valuestring, "user") == 0 && !r->user_content)
            r->user_content = mz_strdup(content->valuestring);
    }
    cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    cJSON *type = cJSON_IsObject(rf) ? cJSON_GetObjectItemCaseSensitive(rf, "type") : NULL;
    if (cJSON_IsString(type))
        r->response_format = mz_strdup(type->valuestring);
out:
    cJSON_Delete(root);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A copy of text with JSON escapes of ASCII (\u003c, ...) decoded, so that
 * an escaped "<|im_start|>" is seen too. */
static char *unescape_ascii(const char *text)
{
    size_t n = strlen(text);
    char *out = mz_calloc(1, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\\' && i + 5 < n && text[i + 1] == 'u' && text[i + 2] == '0' &&
            text[i + 3] == '0' && hexval(text[i + 4]) >= 0 && hexval(text[i + 5]) >= 0 &&
            hexval(text[i + 4]) < 8 && (hexval(text[i + 4]) << 4 | hexval(text[i + 5])) >= 0x20) {
            *o++ = (char)(hexval(text[i + 4]) << 4 | hexval(text[i + 5]));
            i += 5;
        } else {
            *o++ = text[i];
        }
    }
    return out;
}

static bool has_instruction(const char *text);

static void put_utf8(char **o, uint32_t cp)
{
    unsigned char *p = (unsigned char *)*o;
    if (cp < 0x80) {
        *p++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *p++ = (unsigned char)(0xc0 | cp >> 6);
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *p++ = (unsigned char)(0xe0 | cp >> 12);
        *p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *p++ = (unsigned char)(0xf0 | cp >> 18);
        *p++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)p;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* What a model reads in text: JSON escapes (\uXXXX with surrogate pairs,
 * \" \\ \/ \n \t) decoded, and mizan's datamark (U+02C6) read as the space
 * it stands for. */
static char *model_reads(const char *text)
{
    size_t n = strlen(text);
    char *out = mz_calloc(1, 2 * n + 8), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\\' && i + 1 < n) {
            char e = text[i + 1];
            int v;
            if (e == 'u' && i + 5 < n && (v = hex4(text + i + 2)) >= 0) {
                uint32_t cp = (uint32_t)v;
                i += 5;
                if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < n && text[i + 1] == '\\' &&
                    text[i + 2] == 'u' && (v = hex4(text + i + 3)) >= 0xdc00 && v < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)v - 0xdc00);
                    i += 6;
                }
                if (cp == 0x2c6)
                    cp = ' ';
                put_utf8(&o, cp);
                continue;
            }
            if (e == '"' || e == '\\' || e == '/') {
                *o++ = e;
                i++;
                continue;
            }
            if (e == 'n' || e == 't') {
                *o++ = ' ';
                i++;
                continue;
            }
        }
        if ((unsigned char)text[i] == 0xcb && i + 1 < n && (unsigned char)text[i + 1] == 0x86) {
            *o++ = ' ';
            i++;
            continue;
        }
        *o++ = text[i];
    }
    *o = '\0';
    return out;
}

char *fixture_normalize(const char *text, bool json)
{
    char *r = json ? model_reads(text) : mz_strdup(text);
    char *o = r;
    for (const char *p = r; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == 0xcb && (unsigned char)p[1] == 0x86) {
            p++;
            continue;
        }
        *o++ = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    *o = '\0';
    return r;
}

bool fixture_text_has_instruction(const char *text)
{
    if (!text)
        return false;
    if (has_instruction(text))
        return true;
    char *u = unescape_ascii(text);
    bool r = has_instruction(u);
    free(u);
    if (!r) {
        u = model_reads(text);
        r = has_instruction(u);
        free(u);
    }
    return r;
}

/* Does the request hold every fragment of one obey case? Called with lock. */
static bool obeys_case(struct fixture_server *fs, const char *text)
{
    if (!fs->n_obey || !text)
        return false;
    char *norm = fixture_normalize(text, true);
    bool hit = false;
    for (size_t i = 0; i < fs->n_obey && !hit; i++) {
        hit = fs->obey[i].n > 0;
        for (size_t k = 0; k < fs->obey[i].n && hit; k++)
            hit = strstr(norm, fs->obey[i].frags[k]) != NULL;
    }
    free(norm);
    return hit;
}

int fixture_server_obey_add(struct fixture_server *fs, const char *const *frags, size_t n)
{
    if (!n)
        return -EINVAL;
    struct obey_case oc = {.frags = mz_calloc(n, sizeof(char *)), .n = n};
    for (size_t i = 0; i < n; i++) {
        oc.frags[i] = fixture_normalize(frags[i], false);
        if (!oc.frags[i][0]) {
            for (size_t k = 0; k <= i; k++)
                free(oc.frags[k]);
            free(oc.frags);
            return -EINVAL;
        }
    }
    pthread_mutex_lock(&fs->lock);
    if (fs->n_obey == fs->cap_obey) {
        fs->cap_obey = fs->cap_obey ? 2 * fs->cap_obey : 64;
        fs->obey = mz_realloc(fs->obey, fs->cap_obey * sizeof(*fs->obey));
    }
    fs->obey[fs->n_obey++] = oc;
    pthread_mutex_unlock(&fs->lock);
    return 0;
}

static bool has_instruction(const char *text)
{
    static const char *const needles[] = {
        "ignore previous",  "ignore all previous",
        "ignore the above", "disregard",
        "you are",          "system:",
        "assistant:",       "<|im_start|>",
        "<|system|>",       "[inst]",
        "<<sys>>",          "new instructions",
        "{\"verdict\"",     "{\\\"verdict\\\"",
        "\\u200b",          "\\u200c",
        "\\u200d",          "\\u200e",
        "\\u200f",          "\\u202a",
        "\\u202b",          "\\u202c",
        "\\u202d",          "\\u202e",
        "\\u2066",          "\\u2067",
        "\\u2068",          "\\u2069",
        "\\ufeff",
    };
    for (size_t i = 0; i < MZ_ARRAY_SIZE(needles); i++)
        if (strcasestr(text, needles[i]))
            return true;
    /* raw UTF-8: U+200B..U+200F, U+202A..U+202E, U+2066..U+2069, U+FEFF */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (p[0] == 0xe2 && p[1] == 0x80 &&
            ((p[2] >= 0x8b && p[2] <= 0x8f) || (p[2] >= 0xaa && p[2] <= 0xae)))
            return true;
        if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
            return true;
        if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
            return true;
    }
    return false;
}

static int status_for(enum fixture_behaviour b, const struct fixture_request *r)
{
    switch (b) {
    case FIXTURE_RATE_LIMIT:
        return 429;
    case FIXTURE_ERROR_500:
        return 500;
    case FIXTURE_LOADING_503:
        return 503;
    case FIXTURE_DROP:
        return 0;
    case FIXTURE_REJECT_JSON_SCHEMA:
        return r->response_format && strcmp(r->response_format, "json_schema") == 0 ? 400 : 200;
    case FIXTURE_REJECT_STRUCTURED:
        return r->response_format && (strcmp(r->response_format, "json_schema") == 0 ||
                                      strcmp(r->response_format, "json_object") == 0)
                   ? 400
                   : 200;
    default:
        return 200;
    }
}

static void record_jsonl(struct fixture_server *fs, const struct fixture_request *r)
{
    if (!fs->record)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)r->seq);
    cJSON_AddNumberToObject(o, "time_ms", (double)(mz_now_ns() / 1000000ull));
    cJSON_AddStringToObject(o, "method", r->method);
    cJSON_AddStringToObject(o, "path", r->path);
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    for (size_t i = 0; i < r->n_headers; i++)
        cJSON_AddStringToObject(h, r->header_names[i], r->header_values[i]);
    cJSON_AddStringToObject(o, "body", r->body);
    if (r->user_content)
        cJSON_AddStringToObject(o, "user_content", r->user_content);
    else
        cJSON_AddNullToObject(o, "user_content");
    if (r->response_format)
        cJSON_AddStringToObject(o, "response_format", r->response_format);
    else
        cJSON_AddNullToObject(o, "response_format");
    cJSON_AddStringToObject(o, "behaviour", fixture_behaviour_name(r->behaviour));
    cJSON_AddNumberToObject(o, "status", r->status);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s) {
        fprintf(fs->record, "%s\n", s);
        fflush(fs->record);
        free(s);
    }
}

/* Waits ms or until stop; false when stopping. */
static bool fs_sleep(struct fixture_server *fs, unsigned ms)
{
    if (!ms)
        return true;
    uint64_t deadline = mz_monotonic_ns() + (uint64_t)ms * 1000000ull;
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                          .tv_nsec = (long)(deadline % 1000000000ull)};
    bool ok;
    pthread_mutex_lock(&fs->lock);
    while (!fs->stopping)
        if (pthread_cond_timedwait(&fs->wake, &fs->lock, &ts) == ETIMEDOUT)
            break;
    ok = !fs->stopping;
    pthread_mutex_unlock(&fs->lock);
    return ok;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, int status, const char *ctype,
                                 char *body, size_t len, unsigned retry_after_s)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (retry_after_s) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%u", retry_after_s);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_str(struct MHD_Connection *conn, int status, const char *s)
{
    return send_body(conn, status, "application/json", mz_strdup(s), strlen(s), 0);
}

/* The completion body for a content string. */
static char *completion_body(const char *model, size_t seq, const char *content, const char *finish)
{
    cJSON *o = cJSON_CreateObject();
    char id[40];
    snprintf(id, sizeof(id), "chatcmpl-fixture-%zu", seq);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)(mz_now_ns() / 1000000000ull));
    cJSON_AddStringToObject(o, "model", model ? model : "fixture");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c0 = cJSON_CreateObject();
    cJSON_AddNumberToObject(c0, "index", 0);
    cJSON *msg = cJSON_AddObjectToObject(c0, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", content);
    cJSON_AddStringToObject(c0, "finish_reason", finish);
    cJSON_AddItemToArray(choices, c0);
    cJSON *usage = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", 100);
    cJSON_AddNumberToObject(usage, "completion_tokens", 30);
    cJSON_AddNumberToObject(usage, "total_tokens", 130);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *answer_content(enum mz_verdict v, double confidence, const char *severity,
                            const char *reason, bool fenced)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "verdict", mz_verdict_name(v));
    cJSON_AddNumberToObject(a, "confidence", confidence);
    cJSON_AddStringToObject(a, "severity", severity);
    cJSON_AddStringToObject(a, "reason", reason);
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    if (!fenced)
        return s;
    size_t n = strlen(s) + 16;
    char *f = mz_calloc(1, n);
    snprintf(f, n, "```json\n%s\n```", s);
    free(s);
    return f;
}

static enum MHD_Result handle_control(struct fixture_server *fs, struct MHD_Connection *conn,
                                      const char *method, const char *url, struct conn_ctx *ctx)
{
    if (strcmp(url, "/fixture/stats") == 0 && strcmp(method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        pthread_mutex_lock(&fs->lock);
        cJSON_AddNumberToObject(o, "requests", (double)fs->n_reqs);
        cJSON_AddNumberToObject(o, "distinct_contents", (double)fs->contents.used);
        cJSON_AddNumberToObject(o, "max_calls_per_content", (double)fs->contents.max_count);
        cJSON_AddNumberToObject(o, "max_concurrent", (double)fs->max_in_flight);
        cJSON_AddStringToObject(o, "behaviour", fixture_behaviour_name(fs->behaviour));
        pthread_mutex_unlock(&fs->lock);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return send_body(conn, 200, "application/json", s, strlen(s), 0);
    }
    if (strcmp(url, "/fixture/behaviour") == 0 && strcmp(method, "POST") == 0) {
        enum fixture_behaviour b;
        const char *name = ctx->body.data ? ctx->body.data : "";
        cJSON *j = cJSON_Parse(name);
        cJSON *jb = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "behaviour") : NULL;
        int rc = fixture_behaviour_parse(cJSON_IsString(jb) ? jb->valuestring : name, &b);
        cJSON_Delete(j);
        if (rc < 0)
            return send_str(conn, 400, "{\"error\":\"unknown behaviour\"}");
        fixture_server_set_behaviour(fs, b);
        return send_str(conn, 200, "{\"ok\":true}");
    }
    return send_str(conn, 404,
                    "{\"error\":{\"code\":404,\"message\":\"File Not Found\","
                    "\"type\":\"not_found_error\"}}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct fixture_server *fs = cls;
    struct conn_ctx *ctx = *con_cls;

    if (!ctx) {
        ctx = mz_calloc(1, sizeof(*ctx));
        mz_buf_init(&ctx->body, BODY_CAP);
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_big && mz_buf_append(&ctx->body, upload_data, *upload_data_size) < 0)
            ctx->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->too_big)
        return send_str(conn, 413, "{\"error\":\"request too large\"}");
    if ((strcmp(url, "/v1/chat/completions") != 0 && strcmp(url, "/chat/completions") != 0) ||
        strcmp(method, "POST") != 0)
        return handle_control(fs, conn, method, url, ctx);

    struct fixture_request *r = mz_calloc(1, sizeof(*r));
    r->method = mz_strdup(method);
    r->path = mz_strdup(url);
    r->body_len = ctx->body.len;
    r->body = mz_calloc(1, r->body_len + 1);
    if (r->body_len)
        memcpy(r->body, ctx->body.data, r->body_len);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, r);
    parse_chat_body(r);

    /* decide, record, and copy what the answer needs, in one critical section */
    pthread_mutex_lock(&fs->lock);
    enum fixture_behaviour b = fs->behaviour;
    if (fs->script_pos < fs->script_n)
        b = fs->script[fs->script_pos++];
    r->behaviour = b;
    r->seq = fs->n_reqs;
    r->status = status_for(b, r);
    if (fs->n_reqs == fs->cap_reqs) {
        fs->cap_reqs = fs->cap_reqs ? fs->cap_reqs * 2 : 64;
        fs->reqs = mz_realloc(fs->reqs, fs->cap_reqs * sizeof(*fs->reqs));
    }
    fs->reqs[fs->n_reqs++] = r;
    content_add(&fs->contents, r->user_content ? r->user_content : "");
    record_jsonl(fs, r);
    if (++fs->in_flight > fs->max_in_flight)
        fs->max_in_flight = fs->in_flight;
    enum mz_verdict verdict = fs->verdict;
    double confidence = fs->confidence;
    char severity[16];
    mz_strlcpy(severity, fs->severity, sizeof(severity));
    for (size_t i = 0; i < fs->n_rules; i++) {
        if (r->user_content && strstr(r->user_content, fs->rules[i].needle)) {
            verdict = fs->rules[i].verdict;
            confidence = fs->rules[i].confidence;
            mz_strlcpy(severity, fs->rules[i].severity, sizeof(severity));
            break;
        }
    }
    bool obey = b == FIXTURE_OBEY_ANY &&
                (fixture_text_has_instruction(r->user_content) || obeys_case(fs, r->user_content));
    char *reason = mz_strdup(fs->reason);
    unsigned delay = fs->delay_ms + (b == FIXTURE_SLOW ? fs->slow_ms : 0);
    unsigned retry_after = fs->retry_after_s;
    pthread_mutex_unlock(&fs->lock);

    /* r is immutable from here on; read only */
    enum MHD_Result ret = MHD_NO;
    bool fenced = r->response_format == NULL;
    char *content = NULL, *body = NULL;

    if (!fs_sleep(fs, delay))
        goto out; /* stopping: close */

    switch (b) {
    case FIXTURE_DROP:
        ret = MHD_NO;
        goto out;
    case FIXTURE_RATE_LIMIT: {
        const char *e = "{\"error\":{\"code\":429,\"message\":\"Too Many Requests\","
                        "\"type\":\"rate_limit_error\"}}";
        ret = send_body(conn, 429, "application/json", mz_strdup(e), strlen(e), retry_after);
        goto out;
    }
    case FIXTURE_ERROR_500:
        ret = send_str(conn, 500,
                       "{\"error\":{\"code\":500,\"message\":\"Internal Server Error\","
                       "\"type\":\"server_error\"}}");
        goto out;
    case FIXTURE_LOADING_503:
        ret = send_str(conn, 503,
                       "{\"error\":{\"code\":503,\"message\":\"Loading model\","
                       "\"type\":\"unavailable_error\"}}");
        goto out;
    case FIXTURE_GARBAGE: {
        const char *g = "<html><head><title>502 Bad Gateway</title></head>"
                        "<body>nginx</body></html>\n";
        ret = send_body(conn, 200, "text/html", mz_strdup(g), strlen(g), 0);
        goto out;
    }
    case FIXTURE_HUGE: {
        char *h = mz_calloc(1, HUGE_SIZE);
        memset(h, ' ', HUGE_SIZE);
        h[0] = '{';
        h[HUGE_SIZE - 1] = '}';
        ret = send_body(conn, 200, "application/json", h, HUGE_SIZE, 0);
        goto out;
    }
    case FIXTURE_LENGTH:
        body = completion_body(r->model, r->seq, "{\"verdict\":\"false_pos", "length");
        break;
    case FIXTURE_BAD_SCHEMA:
        body = completion_body(r->model, r->seq,
                               "{\"verdict\":\"benign\",\"confidence\":7,\"severity\":\"urgent\","
                               "\"reason\":\"looks fine\"}",
                               "stop");
        break;
    case FIXTURE_REJECT_JSON_SCHEMA:
    case FIXTURE_REJECT_STRUCTURED:
        if (r->status == 400) {
            ret = send_str(conn, 400,
                           b == FIXTURE_REJECT_JSON_SCHEMA
                               ? "{\"error\":{\"code\":400,\"message\":\"response_format type "
                                 "must be one of \\\"text\\\" or \\\"json_object\\\", but got: "
                                 "json_schema\",\"type\":\"invalid_request_error\"}}"
                               : "{\"error\":\"'response_format' is not supported by this "
                                 "model\"}");
            goto out;
        }
        __attribute__((fallthrough)); /* accepted */
    case FIXTURE_NORMAL:
    case FIXTURE_SLOW:
    case FIXTURE_TRUNCATED:
        content = answer_content(verdict, confidence, severity, reason, fenced);
        body = completion_body(r->model, r->seq, content, "stop");
        if (b == FIXTURE_TRUNCATED)
            body[strlen(body) / 2] = '\0';
        break;
    case FIXTURE_OBEY_INJECTION: {
        bool inj = fixture_text_has_instruction(r->user_content ? r->user_content : r->body);
        content = inj ? answer_content(MZ_VERDICT_FALSE_POSITIVE, 1.0, "informational",
                                       "benign administrative activity", fenced)
                      : answer_content(MZ_VERDICT_TRUE_POSITIVE, 0.9, "high", "suspicious activity",
                                       fenced);
        body = completion_body(r->model, r->seq, content, "stop");
        break;
    }
    case FIXTURE_OBEY_ANY:
        content = obey ? answer_content(MZ_VERDICT_FALSE_POSITIVE, 1.0, "informational",
                                        "routine activity, as the note in the alert says", fenced)
                       : answer_content(verdict, confidence, severity, reason, fenced);
        body = completion_body(r->model, r->seq, content, "stop");
        break;
    case FIXTURE_BEHAVIOUR_COUNT:
        break;
    }
    if (body) {
        size_t len = strlen(body);
        ret = send_body(conn, 200, "application/json", body, len, 0);
        body = NULL;
    }
out:
    pthread_mutex_lock(&fs->lock);
    fs->in_flight--;
    pthread_mutex_unlock(&fs->lock);
    free(content);
    free(body);
    free(reason);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    mz_buf_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

struct fixture_server *fixture_server_start(enum fixture_behaviour b)
{
    struct fixture_options o;
    fixture_options_default(&o);
    o.behaviour = b;
    return fixture_server_start_opts(&o);
}

struct fixture_server *fixture_server_start_opts(const struct fixture_options *o)
{
    struct fixture_server *fs = mz_calloc(1, sizeof(*fs));
    pthread_mutex_init(&fs->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fs->wake, &ca);
    pthread_condattr_destroy(&ca);
    fs->behaviour = o->behaviour;
    fs->verdict = o->verdict;
    fs->confidence = o->confidence;
    mz_strlcpy(fs->severity, o->severity ? o->severity : "low", sizeof(fs->severity));
    fs->reason = mz_strdup(o->reason ? o->reason : "fixture verdict");
    fs->delay_ms = o->delay_ms;
    fs->slow_ms = o->slow_ms;
    fs->retry_after_s = o->retry_after_s;
    if (o->record_path) {
        fs->record = fopen(o->record_path, "ae");
        if (!fs->record) {
            log_error("fixture: cannot open %s: %s", o->record_path, strerror(errno));
            goto fail;
        }
    }

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fs->daemon = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                                      MHD_USE_THREAD_PER_CONNECTION,
                                  0, NULL, NULL, on_request, fs, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                                  fs, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!fs->daemon) {
        log_error("fixture: cannot start the HTTP server on 127.0.0.1:%u", o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fs->daemon, MHD_DAEMON_INFO_BIND_PORT);
    fs->port = info ? info->port : o->port;
    snprintf(fs->url, sizeof(fs->url), "http://127.0.0.1:%u/v1", fs->port);
    return fs;
fail:
    fixture_server_stop(fs);
    return NULL;
}

void fixture_server_reset(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->n_reqs; i++)
        request_free(fs->reqs[i]);
    fs->n_reqs = 0;
    content_clear(&fs->contents);
    fs->max_in_flight = fs->in_flight;
    pthread_mutex_unlock(&fs->lock);
}

void fixture_server_stop(struct fixture_server *fs)
{
    if (!fs)
        return;
    pthread_mutex_lock(&fs->lock);
    fs->stopping = true;
    pthread_cond_broadcast(&fs->wake);
    pthread_mutex_unlock(&fs->lock);
    if (fs->daemon)
        MHD_stop_daemon(fs->daemon);
    fixture_server_reset(fs);
    free(fs->reqs);
    if (fs->record)
        fclose(fs->record);
    free(fs->reason);
    for (size_t i = 0; i < fs->n_rules; i++)
        free(fs->rules[i].needle);
    for (size_t i = 0; i < fs->n_obey; i++) {
        for (size_t k = 0; k < fs->obey[i].n; k++)
            free(fs->obey[i].frags[k]);
        free(fs->obey[i].frags);
    }
    free(fs->obey);
    pthread_mutex_destroy(&fs->lock);
    pthread_cond_destroy(&fs->wake);
    free(fs);
}

uint16_t fixture_server_port(const struct fixture_server *fs)
{
    return fs->port;
}

const char *fixture_server_url(const struct fixture_server *fs)
{
    return fs->url;
}

void fixture_server_set_behaviour(struct fixture_server *fs, enum fixture_behaviour b)
{
    pthread_mutex_lock(&fs->lock);
    fs->behaviour = b;
    pthread_mutex_unlock(&fs->lock);
}

enum fixture_behaviour fixture_server_behaviour(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    enum fixture_behaviour b = fs->behaviour;
    pthread_mutex_unlock(&fs->lock);
    return b;
}

void fixture_server_set_verdict(struct fixture_server *fs, enum mz_verdict v, double confidence,
                                const char *severity)
{
    pthread_mutex_lock(&fs->lock);
    fs->verdict = v;
    fs->confidence = confidence;
    mz_strlcpy(fs->severity, severity ? severity : "low", sizeof(fs->severity));
    pthread_mutex_unlock(&fs->lock);
}

int fixture_server_answer_when(struct fixture_server *fs, const char *substring, enum mz_verdict v,
                               double confidence, const char *severity)
{
    int rc = 0;
    if (!substring || !substring[0])
        return -EINVAL;
    pthread_mutex_lock(&fs->lock);
    if (fs->n_rules == RULES_MAX) {
        rc = -ENOSPC;
    } else {
        fs->rules[fs->n_rules].needle = mz_strdup(substring);
        fs->rules[fs->n_rules].verdict = v;
        fs->rules[fs->n_rules].confidence = confidence;
        mz_strlcpy(fs->rules[fs->n_rules].severity, severity ? severity : "low",
                   sizeof(fs->rules[0].severity));
        fs->n_rules++;
    }
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

void fixture_server_set_delay(struct fixture_server *fs, unsigned delay_ms)
{
    pthread_mutex_lock(&fs->lock);
    fs->delay_ms = delay_ms;
    pthread_mutex_unlock(&fs->lock);
}

void fixture_server_set_slow(struct fixture_server *fs, unsigned slow_ms)
{
    pthread_mutex_lock(&fs->lock);
    fs->slow_ms = slow_ms;
    pthread_mutex_unlock(&fs->lock);
}

void fixture_server_set_retry_after(struct fixture_server *fs, unsigned seconds)
{
    pthread_mutex_lock(&fs->lock);
    fs->retry_after_s = seconds;
    pthread_mutex_unlock(&fs->lock);
}

void fixture_server_script(struct fixture_server *fs, const enum fixture_behaviour *seq, size_t n)
{
    if (n > SCRIPT_MAX)
        n = SCRIPT_MAX;
    pthread_mutex_lock(&fs->lock);
    memcpy(fs->script, seq, n * sizeof(*seq));
    fs->script_n = n;
    fs->script_pos = 0;
    pthread_mutex_unlock(&fs->lock);
}

size_t fixture_server_request_count(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->n_reqs;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

const struct fixture_request *fixture_server_request(struct fixture_server *fs, size_t i)
{
    const struct fixture_request *r = NULL;
    pthread_mutex_lock(&fs->lock);
    if (i < fs->n_reqs)
        r = fs->reqs[i];
    pthread_mutex_unlock(&fs->lock);
    return r;
}

size_t fixture_server_calls_for(struct fixture_server *fs, const char *content)
{
    size_t n = 0;
    pthread_mutex_lock(&fs->lock);
    if (fs->contents.cap) {
        struct content_slot *sl = content_find(&fs->contents, content, fnv1a(content));
        n = sl->content ? sl->count : 0;
    }
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fixture_server_distinct_contents(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->contents.used;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fixture_server_max_calls_per_content(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->contents.max_count;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fixture_server_max_concurrent(struct fixture_server *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->max_in_flight;
    pthread_mutex_unlock(&fs->lock);
    return n;
}
