/* SPDX-License-Identifier: Apache-2.0 */
/*
 * col_interest.h - the kernel's interest set (bpf/helpers/interest.h): what
 * the loaded recipes could alert on, loaded into the "interest" LPM trie so
 * that, under pressure, the kernel keeps the overflow ring's last half for
 * those records and aggregates the others; and the per-task aggregates it
 * made, read back.
 *
 * Threads: one (the collector's).
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COL_INTEREST_H
#define MIZAN_COLLECTOR_COL_INTEREST_H

#include <stddef.h>
#include <stdint.h>

struct det_interest;
struct mz_aggr_val;

/* One key of the trie, as the kernel sees it (for tests and the loader). */
struct col_interest_key {
    uint32_t len; /* bytes in data, the tag included */
    uint32_t actions;
    uint32_t exact; /* the actions of its own entries that name one whole file path */
    uint8_t data[256];
};

/* The keys ii reduces to: tagged, cut at the trie's key size, deduplicated,
 * each with the union of its actions and those of every shorter key it
 * starts with (so that the longest match answers for all of them), and its
 * exact actions (struct mz_interest_val: never a cut key's). Stores
 * at most cap in out; returns how many there are (more than cap: the caller
 * grows out). */
size_t col_interest_keys(const struct det_interest *ii, struct col_interest_key *out, size_t cap);

struct col_interest;

/* Borrows the fds of the maps interest, interest_cfg and aggregates. */
struct col_interest *col_interest_new(int fd_trie, int fd_cfg, int fd_aggr);

/* Makes ii the kernel's set (NULL: no set, every record is interesting),
 * marked with the engine's generation. The new keys go in before the stale
 * ones leave, so that while it changes the kernel's set is a superset of
 * both. Returns 0, or -errno (the kernel then keeps what it had: still a
 * superset of the old set). */
int col_interest_load(struct col_interest *ci, const struct det_interest *ii, uint64_t generation);

/* The generation of the set loaded last (0: none). */
uint64_t col_interest_generation(const struct col_interest *ci);

/* Reads and removes every per-task aggregate, calling fn on each. Returns
 * how many. */
typedef void (*col_aggr_fn)(uint64_t task_key, const struct mz_aggr_val *v, void *arg);
int col_interest_drain(struct col_interest *ci, col_aggr_fn fn, void *arg);

void col_interest_free(struct col_interest *ci); /* accepts NULL */

#endif
