// SPDX-License-Identifier: Apache-2.0
/* test_prn_syslog.c - RFC 5424 formatting of alerts for the syslog output:
 * PRI from facility and importance, six-digit timestamps, header fields
 * cut and cleaned, SD-PARAM escaping, the JSON whole as MSG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "printers/prn_syslog.h"

static struct mz_buf b;

static char *fmt(const char *json, uint32_t facility, const char *app, int *r)
{
    mz_buf_free(&b);
    mz_buf_init(&b, 1 << 20);
    *r = prn_syslog_format(json, strlen(json), facility, app, 4242, &b);
    return b.data ? b.data : (char *)"";
}

static void test_fields(void **state)
{
    (void)state;
    int r;
    const char *j =
        "{\"id\":\"abc\",\"time\":\"2026-11-21T16:50:24.123456789Z\",\"host\":\"web-1\","
        "\"recipe\":{\"id\":\"crypto_miner\",\"importance\":\"critical\"}}";
    char *m = fmt(j, 13, "mizan", &r);
    assert_int_equal(r, 0);
    /* 13 * 8 + 2 (critical) = 106 */
    char want[1024];
    snprintf(want, sizeof(want),
             "<106>1 2026-11-21T16:50:24.123456Z web-1 mizan 4242 crypto_miner "
             "[mizan@32473 id=\"abc\" recipe=\"crypto_miner\" importance=\"critical\"] %s",
             j);
    assert_string_equal(m, want);
}

static void test_severity_per_importance(void **state)
{
    (void)state;
    static const struct {
        const char *imp;
        int pri;
    } cases[] = {{"critical", 2}, {"high", 3}, {"medium", 4}, {"low", 5}, {"none", 6}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char j[256], want[16];
        int r;
        snprintf(j, sizeof(j), "{\"recipe\":{\"id\":\"x\",\"importance\":\"%s\"}}", cases[i].imp);
        snprintf(want, sizeof(want), "<%d>1 ", 4 * 8 + cases[i].pri);
        char *m = fmt(j, 4, "mizan", &r);
        assert_int_equal(r, 0);
        assert_true(strncmp(m, want, strlen(want)) == 0);
    }
}

static void test_hostile_fields(void **state)
{
    (void)state;
    int r;
    /* quotes, a bracket and a backslash in the id; a 40-byte recipe id
     * (MSGID takes 32) with a space; a host with a space and a newline; no
     * time; an app name with a space */
    const char *j = "{\"id\":\"a\\\"]b\\\\\",\"host\":\"h o\\nst\","
                    "\"recipe\":{\"id\":\"r r]\\\"0123456789012345678901234567890123\","
                    "\"importance\":\"low\"}}";
    char *m = fmt(j, 1, "my app", &r);
    assert_int_equal(r, 0);
    const char *head = "<13>1 - h_o_st my_app 4242 r_r]\"012345678901234567890123456 ";
    if (strncmp(m, head, strlen(head)) != 0)
        fail_msg("got: %s", m);
    assert_non_null(strstr(m, "[mizan@32473 id=\"a\\\"\\]b\\\\\" recipe=\"r r\\]\\\"0123"));
    /* one line: the newline in the host stays escaped in the JSON */
    assert_null(strchr(m, '\n'));
}

static void test_not_an_alert(void **state)
{
    (void)state;
    int r;
    (void)fmt("[1,2]", 1, "mizan", &r);
    assert_int_equal(r, -EINVAL);
    (void)fmt("{trunc", 1, "mizan", &r);
    assert_int_equal(r, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_severity_per_importance),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_not_an_alert),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    mz_buf_free(&b);
    return r;
}
