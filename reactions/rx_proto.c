// SPDX-License-Identifier: Apache-2.0
/*
 * rx_proto.c - parsers of the worker and socket protocols (rx_proto.h).
 * Both read outside input: a line is capped, must be one JSON object, and
 * each op's arguments are checked for count and type before any helper
 * sees them. Integers must be whole numbers within int64 range.
 */
#include "reactions/rx_proto.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define RX_ERROR_MAX 1024 /* bytes kept of a worker's error message */

static const struct rx_op_info ops[RX_OP_COUNT] = {
    [RX_OP_INFO] = {"Info", 0, 1, "s"},
    [RX_OP_WARN] = {"Warn", 0, 1, "s"},
    [RX_OP_ERROR] = {"Error", 0, 1, "s"},
    [RX_OP_NET_BLOCK_IP] = {"NetBlockIp", 0, 1, "s"},
    [RX_OP_NET_UNBLOCK_IP] = {"NetUnblockIp", 1, 1, "s"},
    [RX_OP_NET_BLOCK_IP_TIMER] = {"NetBlockIpTimer", 2, 2, "sn"},
    [RX_OP_NET_BLOCK_DOMAIN] = {"NetBlockDomain", 0, 1, "s"},
    [RX_OP_KILL_CURRENT] = {"KillCurrent", 0, 0, ""},
    [RX_OP_KILL_PARENT] = {"KillParent", 0, 0, ""},
    [RX_OP_KILL_PROCESS] = {"KillProcess", 1, 1, "n"},
    [RX_OP_READ_FILE] = {"ReadFile", 1, 1, "s"},
    [RX_OP_WRITE_FILE] = {"WriteFile", 2, 2, "ss"},
    [RX_OP_STAT] = {"Stat", 1, 1, "s"},
    [RX_OP_CREATE_TEMP_DIR] = {"CreateTempDir", 0, 1, "s"},
    [RX_OP_REMOVE_DIR] = {"RemoveDir", 1, 1, "s"},
    [RX_OP_DATA_SET] = {"DataSet", 2, 2, "ss"},
    [RX_OP_DATA_GET] = {"DataGet", 1, 1, "s"},
    [RX_OP_DATA_DELETE] = {"DataDelete", 1, 1, "s"},
    [RX_OP_DATA_PUSH] = {"DataPush", 1, 2, "ss"},
    [RX_OP_DATA_POP] = {"DataPop", 0, 1, "s"},
    [RX_OP_DATA_KEYS] = {"DataKeys", 0, 0, ""},
    [RX_OP_DATA_VALUES] = {"DataValues", 0, 0, ""},
    [RX_OP_DATA_CLEAR] = {"DataClear", 0, 0, ""},
    [RX_OP_DATA_SIZE] = {"DataSize", 0, 0, ""},
    [RX_OP_DATA_IS_EMPTY] = {"DataIsEmpty", 0, 0, ""},
    [RX_OP_DATA_HAS_KEY] = {"DataHasKey", 1, 1, "s"},
    [RX_OP_DATA_HAS_VALUE] = {"DataHasValue", 1, 1, "s"},
    [RX_OP_POWER_OFF] = {"PowerOff", 0, 0, ""},
    [RX_OP_PANIC] = {"Panic", 0, 0, ""},
};

const struct rx_op_info *rx_op_info(enum rx_op op)
{
    if (op <= RX_OP_NONE || op >= RX_OP_COUNT)
        return NULL;
    return &ops[op];
}

/* Lower case without '-' and '_', at most cap-1 bytes; false when longer. */
static bool fold(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '-' || *s == '_')
            continue;
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
    return n > 0;
}

enum rx_op rx_op_parse(const char *s)
{
    char a[32], b[32];
    if (!s || !fold(s, a, sizeof(a)))
        return RX_OP_NONE;
    for (int i = RX_OP_NONE + 1; i < RX_OP_COUNT; i++)
        if (fold(ops[i].name, b, sizeof(b)) && strcmp(a, b) == 0)
            return (enum rx_op)i;
    return RX_OP_NONE;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

/* Parses one line into an object; NULL with err set when it is not one. */
static cJSON *object_of(const char *line, size_t len, char *err, size_t errlen)
{
    if (len > RX_LINE_MAX) {
        fail(err, errlen, "line too long");
        return NULL;
    }
    if (len && line[len - 1] == '\n')
        len--;
    cJSON *j = cJSON_ParseWithLength(line, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fail(err, errlen, "not a JSON object");
        return NULL;
    }
    return j;
}

/* Checks args (may be NULL: none) against op and detaches it from its
 * parent into *out (an empty array when absent). */
static int take_args(cJSON *obj, enum rx_op op, cJSON **out, char *err, size_t errlen)
{
    const struct rx_op_info *info = rx_op_info(op);
    cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "args");
    if (a && !cJSON_IsArray(a) && !cJSON_IsNull(a))
        return fail(err, errlen, "args: expected an array");
    int n = a && cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (n < (int)info->min || n > (int)info->max) {
        if (err && errlen)
            snprintf(err, errlen, "%s: expected %u to %u arguments, got %d", info->name, info->min,
                     info->max, n);
        return -EINVAL;
    }
    int i = 0;
    for (cJSON *e = a && n ? a->child : NULL; e; e = e->next, i++) {
        char t = info->types[i];
        bool ok = t == 's' ? cJSON_IsString(e) && e->valuestring
                           : cJSON_IsNumber(e) && isfinite(e->valuedouble) &&
                                 e->valuedouble == floor(e->valuedouble) &&
                                 fabs(e->valuedouble) < 9.0e15;
        if (!ok) {
            if (err && errlen)
                snprintf(err, errlen, "%s: argument %d: expected %s", info->name, i + 1,
                         t == 's' ? "a string" : "an integer");
            return -EINVAL;
        }
    }
    *out = a && cJSON_IsArray(a) ? cJSON_DetachItemViaPointer(obj, a) : cJSON_CreateArray();
    return 0;
}

static enum rx_op op_of(cJSON *obj, char *err, size_t errlen)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, "op");
    enum rx_op op = cJSON_IsString(o) ? rx_op_parse(o->valuestring) : RX_OP_NONE;
    if (op == RX_OP_NONE)
        fail(err, errlen, "op: unknown or missing");
    return op;
}

int rx_request_parse(const char *line, size_t len, struct rx_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = object_of(line, len, err, errlen);
    if (!j)
        return -EINVAL;
    int r = -EINVAL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
    if (!cJSON_IsString(t) || strlen(t->valuestring) != RX_TOKEN_LEN) {
        fail(err, errlen, "token: expected 32 hex digits (run inside a reaction)");
        goto out;
    }
    for (size_t i = 0; i < RX_TOKEN_LEN; i++)
        if (!isxdigit((unsigned char)t->valuestring[i])) {
            fail(err, errlen, "token: expected 32 hex digits");
            goto out;
        }
    memcpy(out->token, t->valuestring, RX_TOKEN_LEN + 1);
    out->op = op_of(j, err, errlen);
    if (out->op == RX_OP_NONE)
        goto out;
    r = take_args(j, out->op, &out->args, err, errlen);
out:
    cJSON_Delete(j);
    if (r)
        rx_request_clear(out);
    return r;
}

void rx_request_clear(struct rx_request *r)
{
    if (!r)
        return;
    cJSON_Delete(r->args);
    memset(r, 0, sizeof(*r));
}

int rx_wmsg_parse(const char *line, size_t len, struct rx_wmsg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = object_of(line, len, err, errlen);
    if (!j)
        return -EINVAL;
    int r = -EINVAL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
    if (cJSON_IsString(t) && strcmp(t->valuestring, "call") == 0) {
        out->type = RX_WMSG_CALL;
        out->op = op_of(j, err, errlen);
        if (out->op != RX_OP_NONE)
            r = take_args(j, out->op, &out->args, err, errlen);
    } else if (cJSON_IsString(t) && strcmp(t->valuestring, "done") == 0) {
        out->type = RX_WMSG_DONE;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        r = 0;
        if (cJSON_IsString(e)) {
            size_t n = strlen(e->valuestring);
            if (n > RX_ERROR_MAX)
                n = RX_ERROR_MAX;
            out->error = mz_calloc(1, n + 1);
            memcpy(out->error, e->valuestring, n);
        } else if (e && !cJSON_IsNull(e)) {
            r = fail(err, errlen, "error: expected a string");
        }
    } else {
        fail(err, errlen, "t: expected \"call\" or \"done\"");
    }
    cJSON_Delete(j);
    if (r)
        rx_wmsg_clear(out);
    return r;
}

void rx_wmsg_clear(struct rx_wmsg *m)
{
    if (!m)
        return;
    cJSON_Delete(m->args);
    free(m->error);
    memset(m, 0, sizeof(*m));
}
