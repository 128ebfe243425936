/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rx_proto.h - the two line protocols of reactions, and their parsers
 * (outside input: both are fuzzed, fuzz/fuzz_rx_proto.c):
 *
 *   the worker protocol, between the daemon and a node worker (pipes):
 *     daemon -> worker  {"t":"run","name":..,"kind":..,"uuid":..,"code":..,
 *                        "data":"<alert JSON as a string>","timeout":ms}
 *                       {"t":"ret","v":<value>,"errno":"..."}
 *     worker -> daemon  {"t":"call","op":"KillCurrent","args":[...]}
 *                       {"t":"done"} or {"t":"done","error":"why"}
 *
 *   the socket protocol of `mizan react` (one request per connection):
 *     client -> daemon  {"token":"<32 hex>","op":"DataSet","args":["k","v"]}
 *     daemon -> client  {"v":<value>,"errno":"..."}
 *
 * Every line is one JSON object ended by '\n', at most RX_LINE_MAX bytes.
 * An op's arguments are checked against its table entry (count, types)
 * here, so the helpers can trust them.
 *
 * Return convention: 0 or a negative errno (-EINVAL with a message in err).
 */
#ifndef MIZAN_REACTIONS_RX_PROTO_H
#define MIZAN_REACTIONS_RX_PROTO_H

#include <stddef.h>

struct cJSON;

#define RX_LINE_MAX  (1u << 20) /* bytes of one protocol line (WriteFile's data) */
#define RX_ARGS_MAX  4
#define RX_TOKEN_LEN 32 /* hex digits */

enum rx_op {
    RX_OP_NONE = 0,
    RX_OP_INFO,
    RX_OP_WARN,
    RX_OP_ERROR,
    RX_OP_NET_BLOCK_IP,
    RX_OP_NET_UNBLOCK_IP,
    RX_OP_NET_BLOCK_IP_TIMER,
    RX_OP_NET_BLOCK_DOMAIN,
    RX_OP_KILL_CURRENT,
    RX_OP_KILL_PARENT,
    RX_OP_KILL_PROCESS,
    RX_OP_READ_FILE,
    RX_OP_WRITE_FILE,
    RX_OP_STAT,
    RX_OP_CREATE_TEMP_DIR,
    RX_OP_REMOVE_DIR,
    RX_OP_DATA_SET,
    RX_OP_DATA_GET,
    RX_OP_DATA_DELETE,
    RX_OP_DATA_PUSH,
    RX_OP_DATA_POP,
    RX_OP_DATA_KEYS,
    RX_OP_DATA_VALUES,
    RX_OP_DATA_CLEAR,
    RX_OP_DATA_SIZE,
    RX_OP_DATA_IS_EMPTY,
    RX_OP_DATA_HAS_KEY,
    RX_OP_DATA_HAS_VALUE,
    RX_OP_POWER_OFF,
    RX_OP_PANIC,
    RX_OP_COUNT,
};

/* One op: its Jibril name, and its arguments: min..max of them, types[i]
 * 's' a string or 'n' an integer. */
struct rx_op_info {
    const char *name;
    unsigned min, max;
    const char *types;
};

/* NULL for RX_OP_NONE or out of range. */
const struct rx_op_info *rx_op_info(enum rx_op op);
/* The op named s: its Jibril name ("KillCurrent"), case-insensitive, with
 * or without '-' and '_' ("kill-current"). RX_OP_NONE when unknown. */
enum rx_op rx_op_parse(const char *s);

struct rx_request {
    char token[RX_TOKEN_LEN + 1];
    enum rx_op op;
    struct cJSON *args; /* an array, owned; checked against the op */
};

/* A request line of the socket protocol (len bytes, no NUL needed). On 0
 * the caller frees out->args (rx_request_clear). */
int rx_request_parse(const char *line, size_t len, struct rx_request *out, char *err,
                     size_t errlen);
void rx_request_clear(struct rx_request *r);

enum rx_wmsg_type {
    RX_WMSG_CALL = 1,
    RX_WMSG_DONE = 2,
};

struct rx_wmsg {
    enum rx_wmsg_type type;
    enum rx_op op;      /* CALL */
    struct cJSON *args; /* CALL: an array, owned, checked */
    char *error;        /* DONE: why it failed (owned, capped), or NULL */
};

/* A line from a worker. On 0 the caller calls rx_wmsg_clear. */
int rx_wmsg_parse(const char *line, size_t len, struct rx_wmsg *out, char *err, size_t errlen);
void rx_wmsg_clear(struct rx_wmsg *m);

#endif
