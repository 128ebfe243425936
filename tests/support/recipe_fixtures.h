/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recipe_fixtures.h - the recipes' positive fixtures
 * (tests/fixtures/recipes/NAME.pos.jsonl) as observations, for the tests of
 * what the interest set must never leave out (test_det_interest,
 * test_col_interest).
 */
#ifndef MIZAN_TESTS_SUPPORT_RECIPE_FIXTURES_H
#define MIZAN_TESTS_SUPPORT_RECIPE_FIXTURES_H

struct mz_observation;

/* Calls fn on every observation of every positive fixture line under
 * MIZAN_SOURCE_DIR (or .); the observation is cleared after the call.
 * Returns how many observations fn saw, or -1 when the files cannot be
 * read. */
int recipe_fixtures_each(void (*fn)(const struct mz_observation *o, void *arg), void *arg);

#endif
