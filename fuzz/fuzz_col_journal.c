// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_col_journal.c - libFuzzer target for the overflow ring journal's
 * framing (collector/col_journal.c, col_journal_parse): what a restarted
 * daemon reads back from disk after a crash. Every record handed on must
 * lie inside the input and be at most the framing's record bound. No
 * crash, no leak, no UB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "collector/col_journal.h"
#include "core/log.h"

struct span {
    const uint8_t *lo, *hi;
};

static int check(void *ctx, void *rec, size_t len)
{
    const struct span *s = ctx;
    const uint8_t *r = rec;
    if (r < s->lo || r + len > s->hi || len > 64 * 1024)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        mz_log_set_level(MZ_LOG_ERROR);
        quiet = 1;
    }
    struct span s = {data, data + size};
    uint64_t torn = 0;
    (void)col_journal_parse(data, size, 0, check, &s, &torn, "fuzz");
    (void)col_journal_parse(data, size, 7, check, &s, &torn, "fuzz");
    return 0;
}
