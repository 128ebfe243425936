// SPDX-License-Identifier: Apache-2.0
/* test_rx_help.c - the reaction helpers that need no root (reactions/
 * rx_help.c): the data store (per reaction, Jibril's results), the kill
 * refusals (PID 1, mizan, its parent, its workers), the emergency pair
 * refused without reactions.allow_emergency, Net* without a policy, log
 * lines cleaned of control characters, files under /tmp only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reactions/rx_help.h"

static struct rx_help_ctx ctx(struct rx_store *s, const char *name)
{
    return (struct rx_help_ctx){.reaction = name, .store = s};
}

/* op with args given as a JSON array text; returns the result as JSON text. */
static char *call(struct rx_help_ctx *c, enum rx_op op, const char *args, char *err)
{
    cJSON *a = cJSON_Parse(args);
    cJSON *v = rx_help_call(c, op, a, err);
    char *s = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    cJSON_Delete(a);
    return s;
}

#define EXPECT(c, op, args, want)                                                                  \
    do {                                                                                           \
        char *got_ = call((c), (op), (args), err);                                                 \
        assert_string_equal(got_, (want));                                                         \
        free(got_);                                                                                \
    } while (0)

static void test_data_store(void **state)
{
    (void)state;
    char err[RX_ERRNO_MAX];
    struct rx_store *s = rx_store_new();
    struct rx_help_ctx a = ctx(s, "a#0"), b = ctx(s, "b#0");
    EXPECT(&a, RX_OP_DATA_IS_EMPTY, "[]", "true");
    EXPECT(&a, RX_OP_DATA_PUSH, "[\"hello\"]", "0");
    EXPECT(&a, RX_OP_DATA_PUSH, "[\"world\"]", "0");
    EXPECT(&a, RX_OP_DATA_IS_EMPTY, "[]", "false");
    EXPECT(&a, RX_OP_DATA_POP, "[]", "\"world\"");
    EXPECT(&a, RX_OP_DATA_POP, "[]", "\"hello\"");
    EXPECT(&a, RX_OP_DATA_POP, "[]", "\"\"");
    assert_string_equal(err, "ENOENT: the list is empty");
    EXPECT(&a, RX_OP_DATA_PUSH, "[\"l\",\"one\"]", "0");
    EXPECT(&a, RX_OP_DATA_PUSH, "[\"l\",\"two\"]", "0");
    EXPECT(&a, RX_OP_DATA_HAS_VALUE, "[\"two\"]", "true");
    EXPECT(&a, RX_OP_DATA_POP, "[\"l\"]", "\"two\"");
    EXPECT(&a, RX_OP_DATA_SET, "[\"key1\",\"value1\"]", "0");
    EXPECT(&a, RX_OP_DATA_SET, "[\"key2\",\"value2\"]", "0");
    EXPECT(&a, RX_OP_DATA_SET, "[\"key1\",\"value1b\"]", "0");
    EXPECT(&a, RX_OP_DATA_GET, "[\"key1\"]", "\"value1b\"");
    EXPECT(&a, RX_OP_DATA_GET, "[\"nope\"]", "\"\"");
    EXPECT(&a, RX_OP_DATA_HAS_KEY, "[\"key2\"]", "true");
    EXPECT(&a, RX_OP_DATA_HAS_KEY, "[\"key3\"]", "false");
    EXPECT(&a, RX_OP_DATA_HAS_VALUE, "[\"value2\"]", "true");
    EXPECT(&a, RX_OP_DATA_HAS_VALUE, "[\"value1\"]", "false");
    EXPECT(&a, RX_OP_DATA_SIZE, "[]", "2");
    EXPECT(&a, RX_OP_DATA_KEYS, "[]", "\"[\\\"key1\\\",\\\"key2\\\"]\"");
    EXPECT(&a, RX_OP_DATA_VALUES, "[]", "\"[\\\"value1b\\\",\\\"value2\\\"]\"");
    /* another reaction sees none of it */
    EXPECT(&b, RX_OP_DATA_SIZE, "[]", "0");
    EXPECT(&b, RX_OP_DATA_GET, "[\"key1\"]", "\"\"");
    EXPECT(&a, RX_OP_DATA_DELETE, "[\"key1\"]", "0");
    EXPECT(&a, RX_OP_DATA_DELETE, "[\"key1\"]", "1");
    EXPECT(&a, RX_OP_DATA_CLEAR, "[]", "0");
    EXPECT(&a, RX_OP_DATA_SIZE, "[]", "0");
    EXPECT(&a, RX_OP_DATA_IS_EMPTY, "[]", "true");
    /* bounded: RX_STORE_MAX entries per reaction */
    char args[64];
    for (int i = 0; i < RX_STORE_MAX; i++) {
        snprintf(args, sizeof(args), "[\"k%d\",\"v\"]", i);
        EXPECT(&a, RX_OP_DATA_SET, args, "0");
    }
    EXPECT(&a, RX_OP_DATA_SET, "[\"one-more\",\"v\"]", "-1");
    assert_non_null(strstr(err, "ENOSPC"));
    EXPECT(&a, RX_OP_DATA_SET, "[\"k1\",\"replaced\"]", "0"); /* an update still works */
    rx_store_free(s);
    rx_store_free(NULL);
}

static void test_kill_refusals(void **state)
{
    (void)state;
    char why[RX_ERRNO_MAX];
    pid_t workers[] = {999999};
    assert_int_equal(rx_kill_allowed(1, NULL, 0, why, sizeof(why)), -EPERM);
    assert_string_equal(why, "EPERM: refused to kill pid 1 and below (pid 1)");
    assert_int_equal(rx_kill_allowed(0, NULL, 0, why, sizeof(why)), -EPERM);
    assert_int_equal(rx_kill_allowed(-5, NULL, 0, why, sizeof(why)), -EPERM);
    assert_int_equal(rx_kill_allowed(2, NULL, 0, why, sizeof(why)), -EPERM);
    assert_int_equal(rx_kill_allowed(getpid(), NULL, 0, why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "mizan itself"));
    assert_int_equal(rx_kill_allowed(getppid(), NULL, 0, why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "mizan's parent"));
    assert_int_equal(rx_kill_allowed(999999, workers, 1, why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "worker"));
    assert_int_equal(rx_kill_allowed(999998, workers, 1, why, sizeof(why)), 0);

    /* through the helper: -1 and the reason for Errno() */
    char err[RX_ERRNO_MAX];
    struct rx_store *s = rx_store_new();
    struct rx_help_ctx c = ctx(s, "k#0");
    EXPECT(&c, RX_OP_KILL_PROCESS, "[1]", "-1");
    assert_non_null(strstr(err, "EPERM"));
    char args[32];
    snprintf(args, sizeof(args), "[%d]", (int)getpid());
    EXPECT(&c, RX_OP_KILL_PROCESS, args, "-1");
    /* no process in the alert */
    EXPECT(&c, RX_OP_KILL_CURRENT, "[]", "-1");
    assert_non_null(strstr(err, "ESRCH"));
    EXPECT(&c, RX_OP_KILL_PARENT, "[]", "-1");
    /* a pid no process has: already gone */
    EXPECT(&c, RX_OP_KILL_PROCESS, "[4194303]", "1");
    rx_store_free(s);
}

static void test_emergency_and_net_refused(void **state)
{
    (void)state;
    char err[RX_ERRNO_MAX];
    struct rx_store *s = rx_store_new();
    struct rx_help_ctx c = ctx(s, "e#0");
    c.allow_emergency = false;
    EXPECT(&c, RX_OP_POWER_OFF, "[]", "-1");
    assert_string_equal(err, "EPERM: reactions.allow_emergency is false");
    EXPECT(&c, RX_OP_PANIC, "[]", "-1");
    assert_string_equal(err, "EPERM: reactions.allow_emergency is false");
    /* no network policy */
    EXPECT(&c, RX_OP_NET_BLOCK_IP, "[\"10.0.0.1\"]", "-1");
    assert_non_null(strstr(err, "ENOTSUP"));
    EXPECT(&c, RX_OP_NET_BLOCK_IP, "[]", "-1"); /* and no remote address */
    assert_non_null(strstr(err, "EINVAL"));
    EXPECT(&c, RX_OP_NET_BLOCK_IP_TIMER, "[\"10.0.0.1\",0]", "-1");
    EXPECT(&c, RX_OP_NET_BLOCK_DOMAIN, "[\"example.org\"]", "-1");
    rx_store_free(s);
}

static void test_files_and_log(void **state)
{
    (void)state;
    char err[RX_ERRNO_MAX];
    struct rx_store *s = rx_store_new();
    struct rx_help_ctx c = ctx(s, "f#0");
    EXPECT(&c, RX_OP_REMOVE_DIR, "[\"/etc\"]", "-1");
    EXPECT(&c, RX_OP_REMOVE_DIR, "[\"/tmp/..\"]", "-1");
    EXPECT(&c, RX_OP_REMOVE_DIR, "[\"/tmp/a/b\"]", "-1");
    EXPECT(&c, RX_OP_CREATE_TEMP_DIR, "[\"../x*\"]", "\"\"");
    assert_non_null(strstr(err, "EINVAL"));
    char *dir = call(&c, RX_OP_CREATE_TEMP_DIR, "[\"rxtest-*\"]", err);
    assert_non_null(strstr(dir, "\"/tmp/rxtest-"));
    char args[256];
    snprintf(args, sizeof(args), "[%s]", dir);
    EXPECT(&c, RX_OP_REMOVE_DIR, args, "0");
    EXPECT(&c, RX_OP_STAT, args, "null");
    free(dir);
    EXPECT(&c, RX_OP_READ_FILE, "[\"/nonexistent/x\"]", "\"\"");
    assert_non_null(strstr(err, "ENOENT"));
    char out[64];
    rx_log_clean("a\nforged line\x1b[31m", out, sizeof(out));
    assert_string_equal(out, "a?forged line?[31m");
    rx_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_store),
        cmocka_unit_test(test_kill_refusals),
        cmocka_unit_test(test_emergency_and_net_refused),
        cmocka_unit_test(test_files_and_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
