/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the operations endpoint (libmicrohttpd): /metrics in the
 * Prometheus text format, /healthz and /readyz. The daemon's main thread
 * publishes a snapshot once a second (the same status tree it writes to
 * status.json: nothing is counted twice); the server thread only copies the
 * last rendered text out, so a scrape never touches a pipeline stage.
 *
 *   /metrics  200, text/plain; version=0.0.4
 *   /healthz  200 "ok" while every stage thread runs and no queue is stuck,
 *             else 503 with the reason (http_health_check)
 *   /readyz   200 "ready" once the programs are attached and the first scan
 *             is done, else 503 with what is missing
 *
 * Anything else is 404, a method other than GET or HEAD is 405. The URL is
 * compared whole (libmicrohttpd has cut off the query string); no request
 * body is read. Connections are capped (HTTP_MAX_CONNECTIONS, a few per
 * client address) and time out, so a local user holding sockets open cannot
 * keep the probes from answering for long.
 *
 * Threads: http_start and http_stop from one thread; http_publish from any
 * thread (a mutex guards the published text). Return convention: 0 or a
 * negative errno; constructors return NULL; http_stop accepts NULL.
 */
#ifndef MIZAN_HTTP_HTTP_H
#define MIZAN_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct http_server;

#define HTTP_MAX_CONNECTIONS    32
#define HTTP_PER_IP_CONNECTIONS 8
#define HTTP_TIMEOUT_S          5

/* Listens on listen ("A.B.C.D:PORT" or "[IPV6]:PORT", config/config.h
 * mz_config_parse_listen). Until the first http_publish, /readyz says
 * "starting" and /healthz ok. NULL (err filled) when the address is invalid
 * or cannot be bound. */
struct http_server *http_start(const char *listen, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http_server *s);

/* What the endpoint serves, as of now. */
struct http_state {
    bool ready;                /* programs attached and the first scan done */
    const char *not_ready_why; /* when !ready: what is missing */
    bool healthy;              /* http_health_check said so */
    const char *unhealthy_why; /* when !healthy */
};

/* Renders status (the status.json tree: collector, pipeline, ...; NULL
 * renders only the readiness and health gauges) and st into the text the
 * next requests get. Returns 0, or -ENOMEM (the previous text stays). */
int http_publish(struct http_server *s, const struct cJSON *status, const struct http_state *st);

/* Stops the server thread and frees. */
void http_stop(struct http_server *s);

#endif
