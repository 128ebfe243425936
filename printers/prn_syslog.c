// SPDX-License-Identifier: Apache-2.0
/*
 * prn_syslog.c - the syslog transport: RFC 5424 messages over UDP (one
 * datagram each) or TCP (octet-counted framing, RFC 6587 3.4.1: "LEN SP
 * MSG"). Syslog has no acknowledgement: a send the kernel accepted counts as
 * delivered, so a TCP receiver that dies can lose what was written just
 * before (prn_net.c still spools and retries whatever fails to send); use
 * the webhook or Kafka where at-least-once must hold end to end. Before each
 * TCP batch the connection is checked for a close by the peer, and rebuilt.
 */
#include "printers/prn_syslog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define UDP_MAX   65507
#define MSG_EXTRA 1024 /* header and structured data beyond the JSON */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An RFC 5424 header field: printable US-ASCII without spaces, at most max
 * bytes; "-" when empty. */
static int put_field(struct mz_buf *b, const char *s, size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return mz_buf_append(b, "- ", 2);
    for (; s[n] && n < max; n++) {
        char c = (unsigned char)s[n] > 32 && (unsigned char)s[n] < 127 ? s[n] : '_';
        if (mz_buf_append(b, &c, 1))
            return -E2BIG;
    }
    return mz_buf_append(b, " ", 1);
}

/* An SD-PARAM value: '"', '\' and ']' escaped with '\' (RFC 5424 6.3.3). */
static int put_param(struct mz_buf *b, const char *name, const char *v)
{
    int r = mz_buf_appendf(b, " %s=\"", name);
    for (const char *p = v ? v : ""; !r && *p; p++) {
        if (*p == '"' || *p == '\\' || *p == ']')
            r = mz_buf_append(b, "\\", 1);
        if (!r)
            r = mz_buf_append(b, p, 1);
    }
    return r ? r : mz_buf_append(b, "\"", 1);
}

static int severity_of(const char *importance)
{
    static const char *const names[] = {"critical", "high", "medium", "low"};
    for (int i = 0; i < 4; i++)
        if (importance && strcmp(importance, names[i]) == 0)
            return i + 2;
    return 6; /* informational */
}

int prn_syslog_format(const char *json, size_t len, uint32_t facility, const char *app_name,
                      long pid, struct mz_buf *out)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const cJSON *recipe;
    const char *time_s, *rid, *imp;
    char ts[40] = "-", procid[24];
    uint64_t ns;
    int r;

    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -EINVAL;
    }
    recipe = cJSON_GetObjectItemCaseSensitive(j, "recipe");
    rid = jstr(recipe, "id");
    imp = jstr(recipe, "importance");
    time_s = jstr(j, "time");
    if (time_s && mz_parse_rfc3339(time_s, &ns) == 0) {
        char full[MZ_RFC3339_LEN];
        mz_format_rfc3339(ns, full); /* 2026-11-21T16:50:24.123456789Z */
        snprintf(ts, sizeof(ts), "%.26sZ", full);
    }
    snprintf(procid, sizeof(procid), "%ld", pid);
    r = mz_buf_appendf(out, "<%u>1 %s ", facility * 8 + (uint32_t)severity_of(imp), ts);
    if (!r)
        r = put_field(out, jstr(j, "host"), 255);
    if (!r)
        r = put_field(out, app_name, 48);
    if (!r)
        r = put_field(out, procid, 128);
    if (!r)
        r = put_field(out, rid, 32);
    if (!r)
        r = mz_buf_append(out, "[" PRN_SYSLOG_SD_ID, strlen("[" PRN_SYSLOG_SD_ID));
    if (!r)
        r = put_param(out, "id", jstr(j, "id"));
    if (!r)
        r = put_param(out, "recipe", rid);
    if (!r)
        r = put_param(out, "importance", imp);
    if (!r)
        r = mz_buf_append(out, "] ", 2);
    if (!r)
        r = mz_buf_append(out, json, len);
    cJSON_Delete(j);
    return r;
}

struct syslog_out {
    enum mz_syslog_transport transport;
    char *address;
    char port[8];
    uint32_t facility;
    char *app_name;
    int fd;
};

static int connect_to(struct syslog_out *s, uint64_t timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    int r, fd = -1;

    hints.ai_socktype = s->transport == MZ_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
    r = getaddrinfo(s->address, s->port, &hints, &res);
    if (r) {
        snprintf(err, errlen, "%s: %s", s->address, gai_strerror(r));
        return PRN_SEND_RETRY;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        struct pollfd p;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            p.fd = fd;
            p.events = POLLOUT;
            if (poll(&p, 1, (int)timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            errno = soerr ? soerr : ETIMEDOUT;
        }
        snprintf(err, errlen, "connect %s:%s: %s", s->address, s->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return PRN_SEND_RETRY;
    /* back to blocking, bounded by a send timeout */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = (time_t)(timeout_ms / 1000),
                         .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    s->fd = fd;
    return 0;
}

/* Has the TCP peer closed (or reset) the connection? Syslog receivers send
 * nothing, so anything readable means the end. */
static bool peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

static int send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static int syslog_send(void *ctx, const struct prn_rec *recs, size_t n, uint64_t timeout_ms,
                       char *err, size_t errlen)
{
    struct syslog_out *s = ctx;
    struct mz_buf msg;
    int r = 0;

    if (s->fd >= 0 && s->transport == MZ_SYSLOG_TCP && peer_gone(s->fd)) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->fd < 0 && (r = connect_to(s, timeout_ms, err, errlen)))
        return r;
    mz_buf_init(&msg, PRN_SPOOL_REC_MAX + MSG_EXTRA);
    for (size_t i = 0; i < n && !r; i++) {
        mz_buf_reset(&msg);
        if (s->transport == MZ_SYSLOG_TCP && mz_buf_append(&msg, "0000000000 ", 11))
            abort();
        size_t start = msg.len;
        r = prn_syslog_format(recs[i].data, recs[i].len, s->facility, s->app_name, (long)getpid(),
                              &msg);
        if (r) {
            snprintf(err, errlen, "not an alert object");
            r = PRN_SEND_REJECT;
            break;
        }
        const char *data = msg.data;
        size_t len = msg.len;
        if (s->transport == MZ_SYSLOG_TCP) {
            /* octet counting: the length of MSG in decimal, a space, MSG */
            char pre[16];
            int m = snprintf(pre, sizeof(pre), "%zu ", len - start);
            data = msg.data + start - (size_t)m;
            memcpy((char *)data, pre, (size_t)m);
            len = len - start + (size_t)m;
        } else if (len > UDP_MAX) {
            snprintf(err, errlen, "%zu bytes do not fit in a UDP datagram", len);
            r = PRN_SEND_REJECT;
            break;
        }
        if ((r = send_all(s->fd, data, len))) {
            snprintf(err, errlen, "send to %s:%s: %s", s->address, s->port, strerror(-r));
            close(s->fd);
            s->fd = -1;
            r = PRN_SEND_RETRY;
        }
    }
    mz_buf_free(&msg);
    return r;
}

static void syslog_free(void *ctx)
{
    struct syslog_out *s = ctx;
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->address);
    free(s->app_name);
    free(s);
}

struct prn_printer *prn_syslog_new(const struct mz_config *cfg)
{
    const typeof(cfg->outputs.syslog) *sc = &cfg->outputs.syslog;
    struct syslog_out *s;
    struct prn_transport *t;

    if (!sc->address) {
        log_error("outputs.syslog.address is required");
        return NULL;
    }
    s = mz_calloc(1, sizeof(*s));
    s->transport = sc->transport;
    s->address = mz_strdup(sc->address);
    snprintf(s->port, sizeof(s->port), "%u", sc->port);
    s->facility = sc->facility;
    s->app_name = mz_strdup(sc->app_name ? sc->app_name : "mizan");
    s->fd = -1;
    t = mz_calloc(1, sizeof(*t));
    t->name = "syslog";
    t->ctx = s;
    t->send = syslog_send;
    t->free = syslog_free;
    return prn_net_new(&sc->c, t);
}
