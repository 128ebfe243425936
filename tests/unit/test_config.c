// SPDX-License-Identifier: Apache-2.0
/* test_config.c - the YAML config: documented defaults, strict errors with
 * file:line:column and key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/embedded.h"
#include "core/event.h"

static int load(const char *yaml, struct mz_config *c, char *err)
{
    return mz_config_load_string("t.yaml", yaml, strlen(yaml), c, err, 512);
}

static void test_documented_file_matches_defaults(void **state)
{
    (void)state;
    const struct mz_embedded *e = mz_embedded_find("config/mizan.yaml");
    struct mz_config a, d;
    char err[512] = "";
    assert_non_null(e);
    assert_int_equal(mz_config_load_string("mizan.yaml", e->data, e->size, &a, err, sizeof(err)),
                     0);
    mz_config_defaults(&d);
    /* every scalar the file documents must equal the compiled default */
    assert_int_equal(a.log_level, d.log_level);
    assert_null(a.host);
    assert_int_equal(a.queues.observations, d.queues.observations);
    assert_int_equal(a.queues.drain_timeout_ms, d.queues.drain_timeout_ms);
    assert_int_equal(a.collector.cadence_ms, d.collector.cadence_ms);
    assert_int_equal(a.security.drop_capabilities, d.security.drop_capabilities);
    assert_int_equal(a.collector.hash_max_bytes, d.collector.hash_max_bytes);
    assert_int_equal(a.cache.file_links, d.cache.file_links);
    assert_int_equal(a.detect.global_max_per_minute, d.detect.global_max_per_minute);
    assert_int_equal(a.attenuator.enabled, d.attenuator.enabled);
    assert_int_equal(a.attenuator.mode, d.attenuator.mode);
    assert_string_equal(a.attenuator.url, d.attenuator.url);
    assert_string_equal(a.attenuator.model, d.attenuator.model);
    assert_int_equal(a.attenuator.timeout_ms, d.attenuator.timeout_ms);
    assert_int_equal(a.attenuator.cache.ttl_ms, d.attenuator.cache.ttl_ms);
    assert_true(a.attenuator.block.min_confidence == d.attenuator.block.min_confidence);
    assert_int_equal(a.attenuator.block.max_importance, d.attenuator.block.max_importance);
    assert_int_equal(a.printers.varlog.max_size, d.printers.varlog.max_size);
    assert_int_equal(a.printers.varlog.fsync, d.printers.varlog.fsync);
    assert_string_equal(a.printers.varlog.path, d.printers.varlog.path);
    const struct mz_output_common *oa[] = {&a.outputs.webhook.c, &a.outputs.kafka.c,
                                           &a.outputs.syslog.c};
    const struct mz_output_common *od[] = {&d.outputs.webhook.c, &d.outputs.kafka.c,
                                           &d.outputs.syslog.c};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(oa[i]->enabled, od[i]->enabled);
        assert_int_equal(oa[i]->queue, od[i]->queue);
        assert_int_equal(oa[i]->batch, od[i]->batch);
        assert_int_equal(oa[i]->batch_wait_ms, od[i]->batch_wait_ms);
        assert_int_equal(oa[i]->timeout_ms, od[i]->timeout_ms);
        assert_int_equal(oa[i]->retry_min_ms, od[i]->retry_min_ms);
        assert_int_equal(oa[i]->retry_max_ms, od[i]->retry_max_ms);
        assert_string_equal(oa[i]->spool_dir, od[i]->spool_dir);
        assert_int_equal(oa[i]->spool_max_size, od[i]->spool_max_size);
        assert_int_equal(oa[i]->spool_fsync, od[i]->spool_fsync);
        assert_int_equal(oa[i]->drain_wait_ms, od[i]->drain_wait_ms);
    }
    assert_string_equal(a.outputs.webhook.url, d.outputs.webhook.url);
    assert_null(a.outputs.webhook.token_file);
    assert_string_equal(a.outputs.webhook.token_env, d.outputs.webhook.token_env);
    assert_null(a.outputs.webhook.ca_file);
    assert_int_equal(a.outputs.webhook.tls_verify, d.outputs.webhook.tls_verify);
    assert_string_equal(a.outputs.kafka.brokers, d.outputs.kafka.brokers);
    assert_string_equal(a.outputs.kafka.topic, d.outputs.kafka.topic);
    assert_string_equal(a.outputs.kafka.security_protocol, d.outputs.kafka.security_protocol);
    assert_null(a.outputs.kafka.sasl_mechanism);
    assert_null(a.outputs.kafka.sasl_password_file);
    assert_int_equal(a.outputs.syslog.transport, d.outputs.syslog.transport);
    assert_string_equal(a.outputs.syslog.address, d.outputs.syslog.address);
    assert_int_equal(a.outputs.syslog.port, d.outputs.syslog.port);
    assert_int_equal(a.outputs.syslog.facility, d.outputs.syslog.facility);
    assert_string_equal(a.outputs.syslog.app_name, d.outputs.syslog.app_name);
    assert_int_equal(a.http.enabled, d.http.enabled);
    assert_string_equal(a.http.listen, d.http.listen);
    assert_int_equal(a.http.stuck_after_ms, d.http.stuck_after_ms);
    mz_config_free(&a);
    mz_config_free(&d);
}

static void test_values_parse(void **state)
{
    (void)state;
    struct mz_config c;
    char err[512] = "";
    const char *y = "log_level: debug\n"
                    "collector:\n  cadence: 2s\n"
                    "detect:\n  dirs: [/etc/mizan/recipes, /opt/r]\n"
                    "attenuator:\n  enabled: yes\n  mode: block\n  temperature: 0.5\n"
                    "  block:\n    max_importance: high\n"
                    "  suppress:\n    - recipe: os_*\n      exe: /usr/bin/ansible\n"
                    "printers:\n  varlog:\n    max_size: 64KiB\n    fsync: always\n"
                    "outputs:\n  syslog:\n    enabled: true\n    transport: udp\n"
                    "    spool_max_size: 1MiB\n  webhook:\n    ca_file: /etc/ca.pem\n";
    assert_int_equal(load(y, &c, err), 0);
    assert_int_equal(c.log_level, MZ_LOG_DEBUG);
    assert_int_equal(c.collector.cadence_ms, 2000);
    assert_int_equal(c.detect.dirs.n, 2);
    assert_string_equal(c.detect.dirs.items[1], "/opt/r");
    assert_true(c.attenuator.enabled);
    assert_int_equal(c.attenuator.mode, MZ_MODE_BLOCK);
    assert_true(c.attenuator.temperature == 0.5);
    assert_int_equal(c.attenuator.block.max_importance, MZ_IMP_HIGH);
    assert_int_equal(c.attenuator.n_suppress, 1);
    assert_string_equal(c.attenuator.suppress[0].recipe, "os_*");
    assert_string_equal(c.attenuator.suppress[0].exe, "/usr/bin/ansible");
    assert_null(c.attenuator.suppress[0].path);
    assert_true(c.outputs.syslog.c.enabled);
    assert_int_equal(c.outputs.syslog.transport, MZ_SYSLOG_UDP);
    assert_int_equal(c.outputs.syslog.c.spool_max_size, 1u << 20);
    assert_string_equal(c.outputs.webhook.ca_file, "/etc/ca.pem");
    {
        struct mz_config h;
        struct sockaddr_storage ss;
        unsigned sl;
        assert_int_equal(load("http:\n  enabled: false\n  listen: \"[::1]:0\"\n", &h, err), 0);
        assert_false(h.http.enabled);
        assert_string_equal(h.http.listen, "[::1]:0");
        assert_int_equal(mz_config_parse_listen(h.http.listen, &ss, &sl), 0);
        assert_int_equal(ss.ss_family, AF_INET6);
        assert_int_equal(mz_config_parse_listen("10.0.0.1:80", &ss, &sl), 0);
        assert_int_equal(ss.ss_family, AF_INET);
        assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 80);
        assert_int_equal(mz_config_parse_listen("10.0.0.1:", &ss, &sl), -EINVAL);
        assert_int_equal(mz_config_parse_listen("10.0.0.1:+80", &ss, &sl), -EINVAL);
        mz_config_free(&h);
    }
    assert_int_equal(c.printers.varlog.max_size, 65536);
    assert_int_equal(c.printers.varlog.fsync, MZ_FSYNC_ALWAYS);
    mz_config_free(&c);
}

struct bad {
    const char *yaml;
    const char *expect; /* substring of the error */
};

static void test_errors_name_line_column_and_key(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {"collector:\n  cadense: 1s\n", "t.yaml:2:3: collector.cadense: unknown key"},
        {"collector:\n  cadence: fast\n", "t.yaml:2:12: collector.cadence: expected a duration"},
        {"collector:\n  cadence: 0ms\n", "t.yaml:2:12: collector.cadence: 0ms is out of range"},
        {"attenuator:\n  mode: silence\n",
         "t.yaml:2:9: attenuator.mode: expected one of amend, reason, block"},
        {"attenuator:\n  block:\n    min_confidence: 1.5\n",
         "t.yaml:3:21: attenuator.block.min_confidence: 1.5 is out of range"},
        {"queues:\n  alerts: -3\n", "t.yaml:2:11: queues.alerts: expected a whole number"},
        {"printers:\n  stdout:\n    enabled: maybe\n",
         "t.yaml:3:14: printers.stdout.enabled: expected true or false"},
        {"log_level: loud\n", "t.yaml:1:12: log_level: expected error, warn"},
        {"detect:\n  dirs: /etc\n", "t.yaml:2:9: detect.dirs: expected a list"},
        {"host: a\nhost: b\n", "t.yaml:2:1: host: duplicate key"},
        {"collector: [1, 2]\n", "t.yaml:1:12: collector: expected a mapping"},
        {"collector:\n  cadence: 1s\n bad\n", "t.yaml:3:"},
        {"attenuator:\n  suppress:\n    - recipe: x\n      user: root\n",
         "t.yaml:4:7: attenuator.suppress[0].user: unknown key"},
        {"outputs:\n  syslog:\n    transport: sctp\n",
         "t.yaml:3:16: outputs.syslog.transport: expected one of udp, tcp"},
        {"outputs:\n  webhook:\n    spool_max_size: 1KiB\n",
         "t.yaml:3:21: outputs.webhook.spool_max_size: 1KiB is out of range"},
        {"outputs:\n  kafka:\n    batch: 0\n",
         "t.yaml:3:12: outputs.kafka.batch: 0 is out of range"},
        {"outputs:\n  syslog:\n    port: 70000\n",
         "t.yaml:3:11: outputs.syslog.port: 70000 is out of range"},
        {"outputs:\n  webhook:\n    url: http://collector.example:80/x\n",
         "t.yaml:3:10: outputs.webhook.url: expected an https:// URL"},
        {"outputs:\n  syslog:\n    retry_max: 1s\n    retry_min: 2s\n",
         "t.yaml:4:16: outputs.syslog.retry_min: longer than retry_max"},
        {"outputs:\n  webhook:\n    tls_verfy: false\n",
         "t.yaml:3:5: outputs.webhook.tls_verfy: unknown key"},
        {"http:\n  listen: localhost:9090\n", "t.yaml:2:11: http.listen: expected ADDR:PORT"},
        {"http:\n  listen: 127.0.0.1:65536\n", "t.yaml:2:11: http.listen: expected ADDR:PORT"},
        {"http:\n  listen: \"[::1]9090\"\n", "t.yaml:2:11: http.listen: expected ADDR:PORT"},
        {"http:\n  stuck_after: 10ms\n", "t.yaml:2:16: http.stuck_after: 10ms is out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mz_config c;
        char err[512] = "";
        int r = load(cases[i].yaml, &c, err);
        if (r != -EINVAL || !strstr(err, cases[i].expect))
            fail_msg("case %zu: r=%d err=\"%s\", expected \"%s\"", i, r, err, cases[i].expect);
        /* a failed load leaves the defaults in place */
        assert_int_equal(c.collector.cadence_ms, 500);
        mz_config_free(&c);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct mz_config c;
    char err[512] = "";
    assert_int_equal(mz_config_load("/nonexistent/mizan.yaml", &c, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/mizan.yaml"));
    mz_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_file_matches_defaults),
        cmocka_unit_test(test_values_parse),
        cmocka_unit_test(test_errors_name_line_column_and_key),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
