/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard.h - the policy guard: injection detection on attacker-controlled
 * strings, and the one decision that may withhold an alert in block mode.
 *
 * The phrase scan is one signal of the free-text check (shape.h), not the
 * gate: a string that looks like an instruction to a language model
 * ("ignore previous ...", role markers, "you are", imitations of the answer
 * JSON, zero-width / bidi / tag characters, control characters) marks its
 * alert injection_suspected, and a marked alert is never withheld. What
 * decides a withhold is the verdict on the shape-only context
 * (att_guard_decide).
 */
#ifndef MIZAN_ATTENUATOR_GUARD_H
#define MIZAN_ATTENUATOR_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/event.h"

/* Scans one string. On a hit returns true and writes a short description of
 * what matched into why (e.g. "phrase \"ignore previous\""). */
bool att_guard_scan(const char *s, size_t len, char *why, size_t whylen);

/* Scans every attacker-controlled field of det. On a hit writes
 * "field: what" into why. */
bool att_guard_scan_detection(const struct mz_detection *det, char *why, size_t whylen);

/* Why the guard kept an alert that the verdict alone would have withheld. */
enum att_veto {
    ATT_WITHHOLD = 0,    /* every condition holds */
    ATT_VETO_NOT_BLOCK,  /* mode is not block */
    ATT_VETO_NO_VERDICT, /* bypassed, suppressed or no verdict */
    ATT_VETO_VERDICT,    /* verdict is not false_positive */
    ATT_VETO_CONFIDENCE, /* below block.min_confidence */
    ATT_VETO_IMPORTANCE, /* above block.max_importance */
    ATT_VETO_PROTECTED,  /* recipe in block.protected_recipes */
    ATT_VETO_INJECTION,  /* injection_suspected: free text beyond a shape, or a phrase */
    ATT_VETO_SHAPE,      /* no confident false_positive on the shape-only context */
    ATT_VETO__COUNT,
};
const char *att_veto_name(enum att_veto v);

/* Block mode withholds an alert only when the verdict on its shape-only
 * context (shape.h) is false_positive with confidence >= block.min_confidence,
 * the verdict on its full context (fresh or cached) agrees, importance <=
 * block.max_importance, the recipe is not protected (fnmatch globs) and no
 * field held free text beyond its shape. A suppressed alert (an operator's rule matched)
 * stands in for such a verdict: in block mode it is withheld under the same
 * importance, protected-recipe and injection conditions. */
enum att_veto att_guard_decide(const struct mz_config *cfg, const struct mz_alert *alert);

#endif
