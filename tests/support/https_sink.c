/* SPDX-License-Identifier: Apache-2.0 */
/*
 * https_sink.c - the tests' webhook receiver (https_sink.h): libmicrohttpd in
 * TLS mode, one internal polling thread, bodies capped at 64 MiB.
 */
#include "tests/support/https_sink.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define BODY_CAP (64u << 20)

struct https_sink {
    pthread_mutex_t mu;
    struct MHD_Daemon *d;
    char *cert, *key;
    uint16_t port;
    unsigned status;
    char **ids;
    size_t n, cap;
    size_t requests;
    char *auth;
};

struct req {
    struct mz_buf body;
    bool too_big;
};

static void record(struct https_sink *s, const char *body, size_t len, const char *auth)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    pthread_mutex_lock(&s->mu);
    s->requests++;
    free(s->auth);
    s->auth = mz_strdup(auth);
    if (cJSON_IsArray(j)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, j)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->ids = mz_realloc(s->ids, s->cap * sizeof(*s->ids));
            }
            s->ids[s->n++] = mz_strdup(cJSON_IsString(id) ? id->valuestring : "?");
        }
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(j);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct https_sink *s = cls;
    struct req *r = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    unsigned status;
    (void)url;
    (void)version;

    if (!r) {
        r = mz_calloc(1, sizeof(*r));
        mz_buf_init(&r->body, BODY_CAP);
        *con_cls = r;
        return MHD_YES;
    }
    if (*size) {
        if (mz_buf_append(&r->body, data, *size))
            r->too_big = true;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    status = s->status;
    pthread_mutex_unlock(&s->mu);
    if (strcmp(method, "POST") != 0 || r->too_big)
        status = r->too_big ? 413 : 405;
    else if (status >= 200 && status < 300)
        record(s, r->body.data ? r->body.data : "", r->body.len,
               MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
    resp = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (r) {
        mz_buf_free(&r->body);
        free(r);
    }
    *con_cls = NULL;
}

int https_sink_up(struct https_sink *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, s->port, NULL, NULL,
        on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_HTTPS_MEM_CERT,
        s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_END);
    if (!d)
        return -EADDRINUSE;
    if (!s->port) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : 0;
    }
    pthread_mutex_lock(&s->mu);
    s->d = d;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void https_sink_down(struct https_sink *s)
{
    pthread_mutex_lock(&s->mu);
    struct MHD_Daemon *d = s->d;
    s->d = NULL;
    pthread_mutex_unlock(&s->mu);
    if (d)
        MHD_stop_daemon(d);
}

struct https_sink *https_sink_start(const char *cert_file, const char *key_file, uint16_t port)
{
    struct https_sink *s = mz_calloc(1, sizeof(*s));
    size_t len;
    pthread_mutex_init(&s->mu, NULL);
    s->port = port;
    s->status = 200;
    if (mz_read_file(cert_file, 1 << 20, &s->cert, &len) ||
        mz_read_file(key_file, 1 << 20, &s->key, &len) || https_sink_up(s)) {
        log_error("https_sink: cannot start on port %u", port);
        https_sink_free(s);
        return NULL;
    }
    return s;
}

uint16_t https_sink_port(const struct https_sink *s)
{
    return s->port;
}

void https_sink_set_status(struct https_sink *s, unsigned status)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    pthread_mutex_unlock(&s->mu);
}

size_t https_sink_count(struct https_sink *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t https_sink_requests(struct https_sink *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *https_sink_id(struct https_sink *s, size_t i)
{
    pthread_mutex_lock(&s->mu);
    char *id = i < s->n ? mz_strdup(s->ids[i]) : NULL;
    pthread_mutex_unlock(&s->mu);
    return id;
}

char *https_sink_last_auth(struct https_sink *s)
{
    pthread_mutex_lock(&s->mu);
    char *a = mz_strdup(s->auth);
    pthread_mutex_unlock(&s->mu);
    return a;
}

void https_sink_free(struct https_sink *s)
{
    if (!s)
        return;
    https_sink_down(s);
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    free(s->auth);
    free(s->cert);
    free(s->key);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
