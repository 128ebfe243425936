/* SPDX-License-Identifier: Apache-2.0 */
/*
 * https_sink.h - a webhook receiver for the tests: libmicrohttpd over TLS on
 * 127.0.0.1 with a certificate the test made (tests/support/test_ca.sh), so
 * the webhook output is tested over real HTTPS with real verification. It
 * takes POSTs whose body is a JSON array of alerts and records each
 * element's "id" in arrival order, with the Authorization header of the
 * last request. It can be stopped and started again on the same port (the
 * endpoint going down and coming back), or answer a chosen status.
 *
 * All functions are thread-safe. Return convention: 0 or a negative errno;
 * constructors return NULL.
 */
#ifndef MIZAN_TESTS_HTTPS_SINK_H
#define MIZAN_TESTS_HTTPS_SINK_H

#include <stddef.h>
#include <stdint.h>

struct https_sink;

/* Starts on 127.0.0.1:port (0: ephemeral) with the PEM files given. */
struct https_sink *https_sink_start(const char *cert_file, const char *key_file, uint16_t port);
uint16_t https_sink_port(const struct https_sink *s);
/* Stops listening (connections are refused) but keeps the records. */
void https_sink_down(struct https_sink *s);
/* Listens again on the same port. 0 or -errno. */
int https_sink_up(struct https_sink *s);
/* Answers every POST with status (200 by default) without recording it
 * when status is not 2xx. */
void https_sink_set_status(struct https_sink *s, unsigned status);
/* Alerts received (array elements), requests received. */
size_t https_sink_count(struct https_sink *s);
size_t https_sink_requests(struct https_sink *s);
/* The id of alert i in arrival order, as a new string; NULL past the end. */
char *https_sink_id(struct https_sink *s, size_t i);
/* The Authorization header of the last request, as a new string or NULL. */
char *https_sink_last_auth(struct https_sink *s);
void https_sink_free(struct https_sink *s);

#endif
