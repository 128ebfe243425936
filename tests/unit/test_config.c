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
                    "printers:\n  varlog:\n    max_size: 64KiB\n    fsync: always\n";
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
