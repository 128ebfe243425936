// SPDX-License-Identifier: Apache-2.0
/*
 * prn_kafka.c - the Kafka transport (librdkafka). The producer is idempotent
 * with acks=all, so the brokers keep each partition's order and drop
 * librdkafka's own retries' duplicates; the key is the host, so one host's
 * alerts land in one partition, in order. A batch is produced and then
 * flushed: it is delivered when every message's delivery report is a
 * success. message.timeout.ms is the output's timeout, so a broker outage
 * fails the batch in bounded time and prn_net.c spools and retries it (the
 * retry may duplicate what a broker took just before the failure:
 * at-least-once). Delivery reports carry the batch number, so a late report
 * from an earlier batch is ignored. A fatal producer error (the idempotence
 * guarantee lost) makes the next send build a new producer.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define SECRET_MAX 4096

struct kafka {
    rd_kafka_conf_t *conf; /* template; each producer gets a dup */
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    char *topic_name;
    char host[256];
    uintptr_t batch_no;
    size_t ok, bad;
    char first_err[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka *k = opaque;
    (void)rk;
    if ((uintptr_t)m->_private != k->batch_no)
        return; /* a report from an earlier, already failed batch */
    if (m->err) {
        if (!k->bad++)
            snprintf(k->first_err, sizeof(k->first_err), "%s", rd_kafka_err2str(m->err));
    } else {
        k->ok++;
    }
}

/* librdkafka's own log lines go through mizan's log (stderr by default):
 * errors as warnings (the delivery failure is reported by prn_net.c),
 * the rest at debug. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 4)
        log_warn("kafka: %s: %s", fac, buf);
    else
        log_debug("kafka: %s: %s", fac, buf);
}

static void drop_producer(struct kafka *k)
{
    if (k->topic)
        rd_kafka_topic_destroy(k->topic);
    k->topic = NULL;
    if (k->rk) {
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(k->rk, 1000);
        rd_kafka_destroy(k->rk);
    }
    k->rk = NULL;
}

static int make_producer(struct kafka *k, char *err, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_dup(k->conf);
    rd_kafka_conf_set_opaque(c, k);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, errlen);
    if (!k->rk) {
        rd_kafka_conf_destroy(c);
        return -EINVAL;
    }
    k->topic = rd_kafka_topic_new(k->rk, k->topic_name, NULL);
    if (!k->topic) {
        snprintf(err, errlen, "topic %s: %s", k->topic_name,
                 rd_kafka_err2str(rd_kafka_last_error()));
        drop_producer(k);
        return -EINVAL;
    }
    return 0;
}

static int kafka_send(void *ctx, const struct prn_rec *recs, size_t n, uint64_t timeout_ms,
                      char *err, size_t errlen)
{
    struct kafka *k = ctx;
    uint64_t end = mz_monotonic_ns() / 1000000 + timeout_ms + 2000;
    char fatal[256];

    if (!k->rk && make_producer(k, err, errlen))
        return PRN_SEND_RETRY;
    k->batch_no++;
    k->ok = k->bad = 0;
    k->first_err[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        for (;;) {
            if (rd_kafka_produce(k->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, recs[i].data,
                                 recs[i].len, k->host, strlen(k->host), (void *)k->batch_no) == 0)
                break;
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
                mz_monotonic_ns() / 1000000 > end) {
                snprintf(err, errlen, "produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
                rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(k->rk, 500);
                return PRN_SEND_RETRY;
            }
            rd_kafka_poll(k->rk, 100);
        }
    }
    while (k->ok + k->bad < n && mz_monotonic_ns() / 1000000 < end)
        rd_kafka_flush(k->rk, 200);
    if (rd_kafka_fatal_error(k->rk, fatal, sizeof(fatal))) {
        snprintf(err, errlen, "fatal producer error: %s (a new producer next time)", fatal);
        drop_producer(k);
        return PRN_SEND_RETRY;
    }
    if (k->ok == n)
        return 0;
    /* what is still queued would go out after the retry's copies: purge it
     * (in-flight ones may still land: duplicates of earlier alerts, never
     * reordered first copies) */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(k->rk, 500);
    snprintf(err, errlen, "%zu of %zu message(s) not delivered: %s", n - k->ok, n,
             k->first_err[0] ? k->first_err : "timed out");
    return PRN_SEND_RETRY;
}

static void kafka_free(void *ctx)
{
    struct kafka *k = ctx;
    if (!k)
        return;
    drop_producer(k);
    if (k->conf)
        rd_kafka_conf_destroy(k->conf);
    free(k->topic_name);
    free(k);
}

static int set(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[256];
    if (!value)
        return 0;
    if (rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        log_error("outputs.kafka: %s: %s", key, err);
        return -EINVAL;
    }
    return 0;
}

struct prn_printer *prn_kafka_new(const struct mz_config *cfg)
{
    const typeof(cfg->outputs.kafka) *kc = &cfg->outputs.kafka;
    struct kafka *k = mz_calloc(1, sizeof(*k));
    struct prn_transport *t;
    char timeout[32], *password = NULL;
    int r = 0;

    if (cfg->host)
        (void)mz_strlcpy(k->host, cfg->host, sizeof(k->host));
    else if (gethostname(k->host, sizeof(k->host) - 1))
        (void)mz_strlcpy(k->host, "unknown", sizeof(k->host));
    if (!kc->brokers || !kc->topic) {
        log_error("outputs.kafka: brokers and topic are required");
        goto fail;
    }
    if (kc->sasl_password_file) {
        size_t len = 0;
        if ((r = mz_read_file(kc->sasl_password_file, SECRET_MAX, &password, &len))) {
            log_error("outputs.kafka.sasl_password_file %s: %s", kc->sasl_password_file,
                      strerror(-r));
            goto fail;
        }
        password[strcspn(password, "\r\n")] = '\0';
    }
    k->topic_name = mz_strdup(kc->topic);
    k->conf = rd_kafka_conf_new();
    snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)kc->c.timeout_ms);
    rd_kafka_conf_set_dr_msg_cb(k->conf, on_delivery);
    rd_kafka_conf_set_log_cb(k->conf, on_log);
    if (set(k->conf, "bootstrap.servers", kc->brokers) || set(k->conf, "acks", "all") ||
        set(k->conf, "enable.idempotence", "true") || set(k->conf, "message.timeout.ms", timeout) ||
        set(k->conf, "security.protocol", kc->security_protocol) ||
        set(k->conf, "sasl.mechanism", kc->sasl_mechanism) ||
        set(k->conf, "sasl.username", kc->sasl_username) ||
        set(k->conf, "sasl.password", password) || set(k->conf, "ssl.ca.location", kc->ca_file) ||
        set(k->conf, "client.id", "mizan") || set(k->conf, "linger.ms", "5"))
        goto fail;
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
        password = NULL;
    }
    t = mz_calloc(1, sizeof(*t));
    t->name = "kafka";
    t->ctx = k;
    t->send = kafka_send;
    t->free = kafka_free;
    return prn_net_new(&kc->c, t);
fail:
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    kafka_free(k);
    return NULL;
}
