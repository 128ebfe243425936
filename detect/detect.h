/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detect.h - the recipe engine: turns observations into detections.
 *
 * Recipes are YAML files in the alchemy format (docs/recipes.md): the
 * built-in library embedded at build time (detect/recipes/) and the user
 * directories named in the config's detect.dirs. Both go through the same
 * loader and the same indexed matcher. Every matching recipe whose rate
 * limits (`times`) and the global cap allow it yields one mz_detection.
 * What the limits hold back is folded into summary detections (their
 * `summary` set: "N more like this") that come out through the same emit
 * function when the limit's window ends (det_match and det_tick) or at
 * shutdown (det_flush): nothing is dropped in silence.
 *
 * Threads: det_match, det_tick, det_flush, det_engine_reload and
 * det_reload_pending are called by the detect stage thread only (or, once it
 * has stopped, by the thread that joined it). det_stats_json may be called
 * from any thread.
 *
 * Return convention: 0 (or a count) or a negative errno; constructors NULL.
 */
#ifndef MIZAN_DETECT_DETECT_H
#define MIZAN_DETECT_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/event.h"

struct cJSON;
struct det_engine;

/* Loads the built-ins (cfg->detect.builtin) and the user dirs. Returns NULL
 * with "file:line:col: field: why" in err when a file is invalid. */
struct det_engine *det_engine_new(const struct mz_config *cfg, char *err, size_t errlen);

/* Receives one detection; takes ownership of det (frees it even on error).
 * A negative return stops det_match, which returns it. */
typedef int (*det_emit_fn)(struct mz_detection *det, void *ctx);

/* Emits one detection per matching recipe that passes its rate limits, after
 * the summaries that are due. obs is not modified (detections get deep
 * copies). Returns the number emitted (summaries included) or a negative
 * errno. */
int det_match(struct det_engine *e, const struct mz_observation *obs, det_emit_fn emit, void *ctx);

/* Emits the summaries whose window has ended (call it when idle, e.g. every
 * 200 ms). Returns how many or a negative errno. */
int det_tick(struct det_engine *e, det_emit_fn emit, void *ctx);

/* Emits every pending summary now, due or not (shutdown, drain). Returns how
 * many or a negative errno. */
int det_flush(struct det_engine *e, det_emit_fn emit, void *ctx);

/* Re-reads every recipe source. On any error the current set stays, the error
 * is logged with file:line:col, and -EINVAL is returned. */
int det_engine_reload(struct det_engine *e);

/* True when inotify saw a change in a user recipe directory since the last
 * reload (polled without blocking). */
bool det_reload_pending(struct det_engine *e);

/* {"recipes": N, "reloads": N, "global_suppressed": N, "summaries":
 * {"emitted","early","pending","held"}, "interest_entries": N, "per_recipe": {id:
 * {"matched","emitted","rate_suppressed"}}}; owned by the caller. */
struct cJSON *det_stats_json(const struct det_engine *e);

/* Calls fn once per reaction of each enabled recipe of the current set, in
 * order (index: its place in the recipe's list). Detect thread only, like
 * det_engine_reload. Returns how many reactions there were. */
typedef void (*det_reaction_fn)(const char *recipe_id, const char *kind, size_t index,
                                const char *format, const char *code, void *ctx);
size_t det_each_reaction(struct det_engine *e, det_reaction_fn fn, void *ctx);

void det_engine_free(struct det_engine *e);

/* `mizan recipes check FILE|DIR...` and `mizan recipes list`. argv[0] is
 * "recipes". Returns the exit status: check 0 ok, 1 warnings, 2 errors. */
int det_cli_recipes(int argc, char **argv, const struct mz_config *cfg);

#endif
