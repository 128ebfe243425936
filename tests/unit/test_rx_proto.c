// SPDX-License-Identifier: Apache-2.0
/* test_rx_proto.c - the reaction protocols (reactions/rx_proto.c): op
 * names in Jibril's and the CLI's spellings, the socket request (token,
 * op, args checked against the op), the worker's call and done lines, and
 * what a parser must refuse (not an object, an unknown op, wrong argument
 * counts or types, a bad token, a line past the cap). */
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

#include "reactions/rx_proto.h"

#define TOK "0123456789abcdef0123456789ABCDEF"

static int req(const char *line, struct rx_request *r, char *err)
{
    err[0] = '\0';
    return rx_request_parse(line, strlen(line), r, err, 256);
}

static int wmsg(const char *line, struct rx_wmsg *m, char *err)
{
    err[0] = '\0';
    return rx_wmsg_parse(line, strlen(line), m, err, 256);
}

static void test_op_names(void **state)
{
    (void)state;
    assert_int_equal(rx_op_parse("KillCurrent"), RX_OP_KILL_CURRENT);
    assert_int_equal(rx_op_parse("kill-current"), RX_OP_KILL_CURRENT);
    assert_int_equal(rx_op_parse("KILL_CURRENT"), RX_OP_KILL_CURRENT);
    assert_int_equal(rx_op_parse("data-has-value"), RX_OP_DATA_HAS_VALUE);
    assert_int_equal(rx_op_parse("NetBlockIpTimer"), RX_OP_NET_BLOCK_IP_TIMER);
    assert_int_equal(rx_op_parse("Kill"), RX_OP_NONE);
    assert_int_equal(rx_op_parse(""), RX_OP_NONE);
    assert_int_equal(rx_op_parse("---"), RX_OP_NONE);
    assert_int_equal(rx_op_parse(NULL), RX_OP_NONE);
    assert_int_equal(rx_op_parse("KillCurrentKillCurrentKillCurrentKillCurrent"), RX_OP_NONE);
    for (int i = RX_OP_NONE + 1; i < RX_OP_COUNT; i++) {
        const struct rx_op_info *info = rx_op_info((enum rx_op)i);
        assert_non_null(info);
        assert_int_equal(rx_op_parse(info->name), i);
        assert_true(strlen(info->types) >= info->max);
    }
    assert_null(rx_op_info(RX_OP_NONE));
    assert_null(rx_op_info(RX_OP_COUNT));
}

static void test_request(void **state)
{
    (void)state;
    struct rx_request r;
    char err[256];
    assert_int_equal(
        req("{\"token\":\"" TOK "\",\"op\":\"data-set\",\"args\":[\"k\",\"v\"]}\n", &r, err), 0);
    assert_string_equal(r.token, TOK);
    assert_int_equal(r.op, RX_OP_DATA_SET);
    assert_int_equal(cJSON_GetArraySize(r.args), 2);
    assert_string_equal(cJSON_GetArrayItem(r.args, 1)->valuestring, "v");
    rx_request_clear(&r);
    /* no args: an empty array */
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"KillCurrent\"}", &r, err), 0);
    assert_true(cJSON_IsArray(r.args));
    assert_int_equal(cJSON_GetArraySize(r.args), 0);
    rx_request_clear(&r);
    /* optional argument */
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"DataPush\",\"args\":[\"x\"]}", &r, err),
                     0);
    rx_request_clear(&r);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"KillProcess\",\"args\":[42]}", &r, err),
                     0);
    rx_request_clear(&r);
}

static void test_request_refused(void **state)
{
    (void)state;
    struct rx_request r;
    char err[256];
    assert_int_equal(req("", &r, err), -EINVAL);
    assert_int_equal(req("[1]", &r, err), -EINVAL);
    assert_string_equal(err, "not a JSON object");
    assert_int_equal(req("{\"op\":\"KillCurrent\"}", &r, err), -EINVAL);
    assert_non_null(strstr(err, "token"));
    assert_int_equal(req("{\"token\":\"0123\",\"op\":\"KillCurrent\"}", &r, err), -EINVAL);
    assert_int_equal(
        req("{\"token\":\"0123456789abcdef0123456789abcdeg\",\"op\":\"KillCurrent\"}", &r, err),
        -EINVAL);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"Reboot\"}", &r, err), -EINVAL);
    assert_non_null(strstr(err, "op"));
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":7}", &r, err), -EINVAL);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"KillCurrent\",\"args\":[1]}", &r, err),
                     -EINVAL);
    assert_string_equal(err, "KillCurrent: expected 0 to 0 arguments, got 1");
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"DataSet\",\"args\":[\"k\"]}", &r, err),
                     -EINVAL);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"DataSet\",\"args\":[\"k\",1]}", &r, err),
                     -EINVAL);
    assert_string_equal(err, "DataSet: argument 2: expected a string");
    assert_int_equal(
        req("{\"token\":\"" TOK "\",\"op\":\"KillProcess\",\"args\":[\"1\"]}", &r, err), -EINVAL);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"KillProcess\",\"args\":[1.5]}", &r, err),
                     -EINVAL);
    assert_string_equal(err, "KillProcess: argument 1: expected an integer");
    assert_int_equal(
        req("{\"token\":\"" TOK "\",\"op\":\"KillProcess\",\"args\":[1e300]}", &r, err), -EINVAL);
    assert_int_equal(req("{\"token\":\"" TOK "\",\"op\":\"DataGet\",\"args\":\"k\"}", &r, err),
                     -EINVAL);
    /* past the cap: refused before parsing */
    size_t n = RX_LINE_MAX + 16;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    assert_int_equal(rx_request_parse(big, n, &r, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "line too long");
    free(big);
}

static void test_worker_lines(void **state)
{
    (void)state;
    struct rx_wmsg m;
    char err[256];
    assert_int_equal(
        wmsg("{\"t\":\"call\",\"op\":\"NetBlockIpTimer\",\"args\":[\"10.0.0.1\",30]}\n", &m, err),
        0);
    assert_int_equal(m.type, RX_WMSG_CALL);
    assert_int_equal(m.op, RX_OP_NET_BLOCK_IP_TIMER);
    assert_int_equal((int)cJSON_GetArrayItem(m.args, 1)->valuedouble, 30);
    rx_wmsg_clear(&m);
    assert_int_equal(wmsg("{\"t\":\"done\"}", &m, err), 0);
    assert_int_equal(m.type, RX_WMSG_DONE);
    assert_null(m.error);
    rx_wmsg_clear(&m);
    assert_int_equal(wmsg("{\"t\":\"done\",\"error\":\"timed out\"}", &m, err), 0);
    assert_string_equal(m.error, "timed out");
    rx_wmsg_clear(&m);
    /* a long error is capped */
    char line[4096];
    char msg[3000];
    memset(msg, 'x', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    snprintf(line, sizeof(line), "{\"t\":\"done\",\"error\":\"%s\"}", msg);
    assert_int_equal(wmsg(line, &m, err), 0);
    assert_int_equal(strlen(m.error), 1024);
    rx_wmsg_clear(&m);

    assert_int_equal(wmsg("{\"t\":\"ret\"}", &m, err), -EINVAL);
    assert_int_equal(wmsg("{\"t\":\"done\",\"error\":5}", &m, err), -EINVAL);
    assert_int_equal(wmsg("{\"t\":\"call\",\"op\":\"Nope\"}", &m, err), -EINVAL);
    assert_int_equal(wmsg("{\"t\":\"call\",\"op\":\"WriteFile\",\"args\":[\"/x\"]}", &m, err),
                     -EINVAL);
    assert_int_equal(wmsg("not json", &m, err), -EINVAL);
    assert_int_equal(m.type, 0);
    assert_null(m.args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_worker_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
