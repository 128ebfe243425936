// SPDX-License-Identifier: Apache-2.0
/*
 * http.c - the operations endpoint declared in http.h, on libmicrohttpd
 * with its own polling thread. The published state is three strings under a
 * mutex (the metrics text, the /healthz and /readyz bodies) and their
 * status codes; a request copies one of them into its response, so a
 * request costs a copy and never reads the pipeline.
 */
#include "http/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/log.h"
#include "http/http_int.h"

#define HTTP_METRICS_MAX (8u << 20) /* a scrape larger than 8 MiB is an error */

struct http_server {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    char *metrics; /* guarded by mu */
    size_t metrics_len;
    char health[256], ready[256];
    unsigned health_code, ready_code;
};

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("http: %s", line);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct http_server *s = cls;
    static const char text[] = "text/plain; charset=utf-8";
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET or HEAD only\n", 17);
    enum MHD_Result ret;
    pthread_mutex_lock(&s->mu);
    if (strcmp(url, "/metrics") == 0) {
        ret = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                    s->metrics ? s->metrics : "", s->metrics_len);
    } else if (strcmp(url, "/healthz") == 0) {
        ret = reply(conn, s->health_code, text, s->health, strlen(s->health));
    } else if (strcmp(url, "/readyz") == 0) {
        ret = reply(conn, s->ready_code, text, s->ready, strlen(s->ready));
    } else {
        pthread_mutex_unlock(&s->mu);
        return reply(conn, MHD_HTTP_NOT_FOUND, text, "not found: /metrics /healthz /readyz\n", 37);
    }
    pthread_mutex_unlock(&s->mu);
    return ret;
}

struct http_server *http_start(const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    unsigned sl;
    if (mz_config_parse_listen(listen, &ss, &sl)) {
        snprintf(err, errlen, "http.listen: bad address \"%s\"", listen ? listen : "");
        return NULL;
    }
    struct http_server *s = mz_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->health, sizeof(s->health), "ok: starting\n");
    snprintf(s->ready, sizeof(s->ready), "not ready: starting\n");
    s->health_code = MHD_HTTP_OK;
    s->ready_code = MHD_HTTP_SERVICE_UNAVAILABLE;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)16384, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "http: cannot listen on %s (in use, or not an address of this host)",
                 listen);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    return s;
}

uint16_t http_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

int http_publish(struct http_server *s, const struct cJSON *status, const struct http_state *st)
{
    struct mz_buf b;
    if (!s)
        return 0;
    mz_buf_init(&b, HTTP_METRICS_MAX);
    int r = http_render_metrics(status, st, &b);
    if (r) {
        mz_buf_free(&b);
        log_warn("http: metrics not rendered (%s); serving the previous scrape", strerror(-r));
        return r;
    }
    size_t len = b.len;
    char *text = mz_buf_take(&b);
    pthread_mutex_lock(&s->mu);
    free(s->metrics);
    s->metrics = text;
    s->metrics_len = text ? len : 0;
    if (st) {
        s->health_code = st->healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        if (st->healthy)
            snprintf(s->health, sizeof(s->health), "ok\n");
        else
            snprintf(s->health, sizeof(s->health), "unhealthy: %s\n",
                     st->unhealthy_why ? st->unhealthy_why : "?");
        s->ready_code = st->ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        if (st->ready)
            snprintf(s->ready, sizeof(s->ready), "ready\n");
        else
            snprintf(s->ready, sizeof(s->ready), "not ready: %s\n",
                     st->not_ready_why ? st->not_ready_why : "?");
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s->metrics);
    free(s);
}
