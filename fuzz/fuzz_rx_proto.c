// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_rx_proto.c - libFuzzer target for the reaction protocols
 * (reactions/rx_proto.c): each input is parsed as a `mizan react` socket
 * request and as a worker line. What a parser accepts must hold what it
 * promises: a known op, an args array within the op's count and types, a
 * 32-hex token, an error message within its cap. No crash, no leak, no UB.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reactions/rx_proto.h"

static void check_args(enum rx_op op, const cJSON *args)
{
    const struct rx_op_info *info = rx_op_info(op);
    if (!info || !cJSON_IsArray(args))
        abort();
    int n = cJSON_GetArraySize(args);
    if (n < (int)info->min || n > (int)info->max)
        abort();
    int i = 0;
    for (const cJSON *e = args->child; e; e = e->next, i++)
        if ((info->types[i] == 's' && !cJSON_IsString(e)) ||
            (info->types[i] == 'n' && !cJSON_IsNumber(e)))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct rx_request req;
    if (rx_request_parse((const char *)data, size, &req, err, sizeof(err)) == 0) {
        if (strlen(req.token) != RX_TOKEN_LEN)
            abort();
        check_args(req.op, req.args);
        rx_request_clear(&req);
    }
    struct rx_wmsg m;
    if (rx_wmsg_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
        if (m.type == RX_WMSG_CALL)
            check_args(m.op, m.args);
        else if (m.type != RX_WMSG_DONE || (m.error && strlen(m.error) > 1024))
            abort();
        rx_wmsg_clear(&m);
    }
    return 0;
}
