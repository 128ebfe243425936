/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shape.h - the shape-only context: every attacker-controlled field of an
 * alert (args, exe, comm, cwd, paths, ancestry, domain, tamper detail)
 * reduced to its token classes and lengths, so that a verdict made on it
 * cannot have been dictated by text the attacker wrote; and the free-text
 * check that marks a field holding more text than its shape allows.
 *
 * Token classes (docs/attenuator.md): short flags (at most 3 characters)
 * kept, longer flags as flag(N); paths as the named system directory they
 * are under (/usr/bin/..., /etc/...), tmp/... or ~/... with their depth and
 * length, and a base name kept only when it is one a detection looks for
 * (shadow, authorized_keys, ...); executables and ancestry entries under the
 * system binary directories kept whole; numbers, hex ids, IP addresses, URL
 * hosts, quoted strings of N chars, runs of N words, base64 blobs, shell
 * operators. The recipe, importance, user, container, actions, ports and
 * counts are not attacker text and stay as they are.
 *
 * Free text beyond a field's shape: non-ASCII or control characters,
 * percent-encoding, escape sequences, base64 or hex blobs over a length, chat
 * template and role markers, prose-like runs of words, more than a field's
 * share of words, a secret-like key holding code or a redaction that removed
 * more than a plain token. The phrase guard (guard.h) is one more signal.
 *
 * Per-field results are a function of the field's text alone and are
 * memoized per thread (like redaction), so a cache hit costs a hash and a
 * compare per field. Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_ATTENUATOR_SHAPE_H
#define MIZAN_ATTENUATOR_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/event.h"
#include "core/util.h"

struct cJSON;

/* What the scan of one detection found. */
struct att_shape_scan {
    bool untrusted; /* some field holds text beyond its shape (or the guard hit) */
    bool guard;     /* the phrase guard matched (a subset of untrusted) */
    char why[192];  /* "field: what" of the first finding, or "" */
    bool have_digest;
    unsigned char digest[32]; /* SHA-256 of the shape-only context (want_digest) */
};

/* Scans every attacker-controlled field of det; with want_digest also
 * computes the digest of its shape-only context (recipe id, importance,
 * kind, actions, ports, user, container, count-free). 0 or -E2BIG. */
int att_shape_scan(const struct mz_detection *det, bool want_digest,
                   struct att_shape_scan *out) MZ_MUST_CHECK;

/* The shape-only JSON document sent to the model (new object, caller owns
 * it): the same layout as att_context_to_json with "context":"shape" and
 * every attacker-controlled string replaced by its shape. */
struct cJSON *att_shape_to_json(const struct mz_detection *det);

/* The shape of one string as a field of the given kind ("args", "path",
 * "exe", "comm", "domain", "detail"), appended to out; when the string holds
 * free text beyond its shape writes what into why (else why[0] = '\0').
 * For tests and the fuzz target. 0 or -E2BIG. */
int att_shape_string(const char *kind, const char *s, struct mz_buf *out, char *why,
                     size_t whylen) MZ_MUST_CHECK;

#endif
