// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_prn_spool.c - the spool record parser (printers/prn_spool.c) on any
 * bytes: a spool file is read back from disk after a crash, so it is outside
 * input. Checks the parser's own contract on top of memory safety: every
 * record it hands out lies inside the buffer, in order, without overlap,
 * and good_end is the end of the last one.
 */
#include <stdint.h>
#include <stdlib.h>

#include "printers/prn_spool.h"

struct walk {
    const uint8_t *buf;
    size_t len, next, last_end;
};

static void on_rec(void *ctx, size_t off, const uint8_t *payload, size_t len)
{
    struct walk *w = ctx;
    if (off < w->next || payload != w->buf + off + PRN_SPOOL_HDR_BYTES ||
        off + PRN_SPOOL_HDR_BYTES + len > w->len)
        abort();
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum ^= payload[i];
    (void)sum;
    w->next = w->last_end = off + PRN_SPOOL_HDR_BYTES + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walk w = {data, size, 0, 0};
    size_t bad = 0, end = 0;
    size_t n = prn_spool_parse(data, size, on_rec, &w, &bad, &end);
    if (end != w.last_end || (n == 0 && end != 0) || (size && n == 0 && bad == 0))
        abort();
    return 0;
}
