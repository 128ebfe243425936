/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attenuator.h - the attenuation filter chain between detect and the
 * printers. Every detection passes, in order:
 *
 *   1. suppression  deterministic allow rules from config (suppress.h)
 *   2. cache        sqlite3 verdict cache keyed by SHA-256 (cache.h)
 *   3. model        OpenAI-compatible chat completion on a minimized,
 *                   redacted, spotlighted context (context.h, client.h), and
 *                   in block mode on the shape-only context (shape.h)
 *   4. policy guard free text beyond a field's shape, the shape-only verdict
 *                   and the block-mode conditions (guard.h)
 *   5. mode         amend | reason | block
 *
 * and comes out exactly once, as an alert, through the emit callback. Each
 * filter counts what it passed, changed and withheld (att_chain_stats_json).
 *
 * Threads: att_chain_submit runs suppression and cache inline on the caller's
 * thread and never waits for the model: a cache miss is pushed onto a bounded
 * lock-free queue served by cfg->attenuator.concurrency workers; when that
 * queue is full, or the model's circuit breaker is open, the alert is emitted
 * at once with status "bypassed" and why "overload" / "unavailable". emit is
 * called from the submitting thread or from any worker.
 *
 * The chain keeps a pointer to cfg: cfg must outlive the chain.
 * Constructors return NULL; _free accepts NULL.
 */
#ifndef MIZAN_ATTENUATOR_ATTENUATOR_H
#define MIZAN_ATTENUATOR_ATTENUATOR_H

#include "config/config.h"
#include "core/event.h"

struct cJSON;
struct att_chain;

/* Called exactly once per submitted detection, from any attenuator thread
 * (the callee must be thread-safe), with the alert: ownership passes. A
 * withheld alert is emitted too, with alert->att.withheld = true: the
 * printers route it to the audit log instead of stdout. */
typedef void (*att_emit_fn)(struct mz_alert *alert, void *ctx);

/* host: the host name alerts carry (copied). Returns NULL (logged) when the
 * configured prompt cannot be read or threads cannot start. A cache that
 * cannot be opened is logged and switched off; the chain still starts. When
 * cfg->attenuator.enabled is false every detection is emitted with status
 * "none" and nothing else runs. */
struct att_chain *att_chain_new(const struct mz_config *cfg, const char *host, att_emit_fn emit,
                                void *ctx);

/* Takes det. Never blocks on the model. Thread-safe: several threads may
 * submit at once. After att_chain_drain the alert is emitted inline,
 * bypassed with why "shutdown" on a cache miss. */
void att_chain_submit(struct att_chain *c, struct mz_detection *det);

/* Waits until every submitted detection has been emitted (SIGTERM drain),
 * then stops the workers. The model gets attenuator.drain_wait (0: half of
 * queues.drain_timeout) to answer what is queued; then the client is cut short and the rest is
 * emitted at once, bypassed with why "shutdown". Must not race with
 * att_chain_submit. */
void att_chain_drain(struct att_chain *c);

/* Per filter: passed / changed / withheld; cache hits / misses; bypass
 * reasons; the model client's own figures. New object owned by the caller. */
struct cJSON *att_chain_stats_json(const struct att_chain *c);

/* Drains first when that was not done. */
void att_chain_free(struct att_chain *c);

#endif
