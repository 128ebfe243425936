// SPDX-License-Identifier: Apache-2.0
/* test_prn_kafka.c - the Kafka output against librdkafka's mock cluster
 * (rdkafka_mock.h: three in-process brokers on loopback). Alerts are
 * produced, then every broker is taken down (rd_kafka_mock_broker_set_down)
 * while more arrive, and brought back; a consumer reads the topic back and
 * counts: every alert is there, first arrivals in order, keyed by host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define TOPIC "mizan-test"
#define TOTAL 300

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int _i = 0; _i < 6000 && !(cond); _i++)                                               \
            sleep_ms(10);                                                                          \
        if (!(cond))                                                                               \
            fail_msg("timed out waiting for " #cond);                                              \
    } while (0)

static struct prn_net_stats stats(struct prn_printer *p)
{
    struct prn_net_stats s;
    assert_int_equal(prn_net_stats(p, &s), 0);
    return s;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = mz_strdup(v);
}

static void write_alert(struct prn_printer *p, int i)
{
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "{\"id\":\"a%05d\",\"host\":\"node-7\",\"recipe\":{\"id\":\"r\"}}", i);
    assert_int_equal(p->write(p, line, (size_t)n), 0);
}

/* Reads the topic from the start until want distinct alerts were seen (or
 * 60 s passed); checks keys and order of first arrivals. Returns the
 * number of messages read (repeats included). */
static size_t consume_all(const char *bootstraps, int want)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "mizan-test", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);

    int next = 0;
    size_t read = 0;
    uint64_t end = mz_monotonic_ns() + 60ull * 1000000000;
    while (next < want && mz_monotonic_ns() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            char id[16] = "";
            const char *p = memmem(m->payload, m->len, "\"id\":\"a", 7);
            assert_non_null(p);
            memcpy(id, p + 7, 5);
            char *e;
            long v = strtol(id, &e, 10);
            assert_true(*e == '\0');
            assert_int_equal(m->key_len, strlen("node-7"));
            assert_memory_equal(m->key, "node-7", m->key_len);
            if (v == next)
                next++;
            else if (v > next)
                fail_msg("alert a%05ld arrived before a%05d", v, next);
            read++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    assert_int_equal(next, want);
    return read;
}

static void test_delivery_across_broker_outage(void **state)
{
    (void)state;
    char err[256], dir[64] = "/tmp/mizan-kafka-XXXXXX", spool[128], cmd[128];
    struct mz_config c;
    rd_kafka_conf_t *hconf = rd_kafka_conf_new();
    rd_kafka_t *holder = rd_kafka_new(RD_KAFKA_PRODUCER, hconf, err, sizeof(err));
    assert_non_null(holder);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(holder, 3);
    assert_non_null(mc);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, TOPIC, 1, 3), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(spool, sizeof(spool), "%s/spool", dir);

    mz_config_defaults(&c);
    c.outputs.kafka.c.enabled = true;
    set_str(&c.outputs.kafka.brokers, boot);
    set_str(&c.outputs.kafka.topic, TOPIC);
    set_str(&c.outputs.kafka.c.spool_dir, spool);
    set_str(&c.host, "node-7");
    c.outputs.kafka.c.batch = 20;
    c.outputs.kafka.c.batch_wait_ms = 5;
    c.outputs.kafka.c.timeout_ms = 1500;
    c.outputs.kafka.c.retry_min_ms = 50;
    c.outputs.kafka.c.retry_max_ms = 500;
    c.outputs.kafka.c.spool_fsync = MZ_FSYNC_NEVER;
    struct prn_printer *p = prn_kafka_new(&c);
    assert_non_null(p);

    for (int i = 0; i < 100; i++)
        write_alert(p, i);
    WAIT_FOR(stats(p).sent >= 100);
    assert_int_equal(stats(p).failed, 0);

    /* the whole cluster goes down while alerts keep coming */
    for (int b = 1; b <= 3; b++)
        assert_int_equal(rd_kafka_mock_broker_set_down(mc, b), 0);
    for (int i = 100; i < 200; i++)
        write_alert(p, i);
    WAIT_FOR(stats(p).failed >= 1 && stats(p).spool_records > 0);
    for (int i = 200; i < TOTAL; i++)
        write_alert(p, i);
    assert_true(stats(p).spooled > 0);
    for (int b = 1; b <= 3; b++)
        assert_int_equal(rd_kafka_mock_broker_set_up(mc, b), 0);
    WAIT_FOR(stats(p).spool_records == 0 && stats(p).queued == 0);
    struct prn_net_stats st = stats(p);
    assert_true(st.sent >= TOTAL);
    assert_true(st.retried > 0);
    assert_int_equal(st.refused, 0);

    size_t read = consume_all(boot, TOTAL);
    assert_true(read >= TOTAL);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(holder);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    /* librdkafka starts its threads with C11 thrd_create, which TSan does
     * not intercept: its allocator crashes in them. prn_net's own threads
     * are covered by concurrency/test_prn_net in the TSan build. */
    printf("SKIP: librdkafka's threads cannot run under TSan\n");
    return 77;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_across_broker_outage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
