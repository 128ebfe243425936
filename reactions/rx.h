/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rx.h - reactions: the code recipes declare under `reactions:` (Jibril's
 * alchemy format), run on each of their alerts.
 *
 * Where: the pipeline hands every alert to rx_submit after attenuation,
 * beside the printers (daemon/pipeline.c): the reaction sees the verdict,
 * and the alert is printed whatever happens to its reactions. An alert
 * withheld in block mode does not react (a model-judged false positive
 * must not kill or block; the audit log keeps it).
 *
 * How: rx_submit copies what a reaction needs into one job per reaction
 * and pushes them onto a bounded queue (reactions.queue); a full queue
 * drops the job, counted and logged, and never holds the alert back.
 * reactions.workers threads each run one job at a time:
 *   js     in a node worker process of the thread's own (rx_worker.js),
 *          unprivileged, one vm context per reaction run, fed over a pipe
 *          (rx_proto.h); a run past reactions.timeout is killed with its
 *          worker (SIGKILL), which is started again for the next job
 *   shell  /bin/sh -c CODE in a fresh temporary directory, the alert JSON
 *          in $REACTION_DATA and on stdin, its own process group (killed
 *          whole at the timeout); its output goes to the log
 * Helpers (rx_help.h) run in the daemon: js calls them over the worker's
 * pipe, shell through `mizan react` on a root-only unix socket
 * (reactions.socket) with the job's token ($MIZAN_REACTION_TOKEN).
 *
 * Threads: rx_set_reactions from the thread that reloads recipes;
 * rx_submit from any thread; the rest from the controlling thread.
 * Return convention: 0 or a negative errno; rx_new returns NULL.
 */
#ifndef MIZAN_REACTIONS_RX_H
#define MIZAN_REACTIONS_RX_H

#include <stddef.h>

#include "config/config.h"
#include "core/event.h"

struct cJSON;
struct np;
struct rx;
struct rx_table;

/* NULL when out of memory or bad config (err filled). */
struct rx *rx_new(const struct mz_config *cfg, char *err, size_t errlen);
/* The network policy the Net* helpers act on (before rx_start); NULL: none. */
void rx_set_netpolicy(struct rx *rx, struct np *np);

/* A new table of reactions: add them, then rx_set_reactions takes it. */
struct rx_table *rx_table_new(void);
void rx_table_add(struct rx_table *t, const char *recipe_id, const char *kind, size_t index,
                  const char *format, const char *code);
void rx_set_reactions(struct rx *rx, struct rx_table *t); /* takes t */

/* Starts the worker threads and the socket (a socket that cannot be made
 * is logged: shell reactions then cannot call helpers). */
int rx_start(struct rx *rx);

/* Queues the reactions of alert's recipe (nothing when it has none or
 * the alert is withheld). Never blocks; alert stays the caller's. */
void rx_submit(struct rx *rx, const struct mz_alert *alert);

/* Runs what is queued, then stops: jobs not begun within one
 * reactions.timeout of the call are dropped and counted (dropped_at_exit),
 * so the drain takes at most two timeouts. */
void rx_drain(struct rx *rx);

/* {"reactions","queued","ran","failed","timed_out","queue_full","withheld",
 *  "worker_starts","dropped_at_exit","queue_size"} */
struct cJSON *rx_stats_json(struct rx *rx);

void rx_free(struct rx *rx); /* drains first; accepts NULL */

/* `mizan react OP [ARG...]` (argv[0] is "react"): sends one request to the
 * socket ($MIZAN_REACTION_SOCKET, else reactions.socket) with the token of
 * the reaction it runs in ($MIZAN_REACTION_TOKEN), prints the result on
 * stdout (a string as it is, a number, true/false, an object as JSON) and
 * the reason for Errno() on stderr. Exit status: 0, 1 when the helper
 * reported an error (Errno() non-empty), 2 bad usage, 3 no daemon. */
int rx_cli_main(int argc, char **argv, const struct mz_config *cfg);

#endif
