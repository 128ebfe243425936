/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context.h - the minimized, redacted context the model sees, and the
 * artifact digest the verdict cache keys on.
 *
 * Only what a verdict needs leaves the host: the recipe (id, description,
 * importance, tactic), the process (exe, args capped at args_max, comm, user,
 * ancestry exes, in-container flag), the artifact (path and actions, or peer,
 * domain and port) and the count. PIDs, times, the host name, the container
 * id and raw hashes are added only with send_pids. Secrets in args and paths
 * are redacted (att_redact, patterns in docs/attenuator.md) before anything
 * is sent or cached.
 *
 * Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_ATTENUATOR_CONTEXT_H
#define MIZAN_ATTENUATOR_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/util.h"

struct cJSON;

/* A secret is replaced by a marker of its shape: "[REDACTED:secret 40 chars]". */
#define ATT_REDACTED_PREFIX "[REDACTED"
#define ATT_REDACTED        "[REDACTED]" /* only when redaction itself failed */

/* The datamark that replaces whitespace runs in attacker-controlled strings
 * of the full context (U+02C6 MODIFIER LETTER CIRCUMFLEX ACCENT, UTF-8). */
#define ATT_DATAMARK "\xcb\x86"

/* What a redaction did besides replacing plain tokens (att_redact_ex). */
#define ATT_RED_NONTOKEN                                                                           \
    1u                  /* removed something other than one plain token (a PEM                     \
                         * block, a quoted value with spaces) */
#define ATT_RED_CODE 2u /* a secret-like key held code ($(...), a pipe, ...): kept */

/* Appends s[0..len) to out with every secret replaced by a shape marker.
 * Only what looks like a secret is replaced: a value after a secret-like key
 * that is a plain token (never code, a path or a URL), credentials in URLs
 * and -u user:pass, known token prefixes, and high-entropy words of a
 * credential's shape (not base64 that decodes to text). Returns the number
 * of redactions, or -E2BIG when out's cap is passed; *flags gets ATT_RED_*. */
int att_redact_ex(const char *s, size_t len, struct mz_buf *out, unsigned *flags) MZ_MUST_CHECK;
int att_redact(const char *s, size_t len, struct mz_buf *out) MZ_MUST_CHECK;

/* Convenience: a new redacted copy of s (NULL for NULL), memoized per
 * thread; *flags as for att_redact_ex. */
char *att_redact_dup_ex(const char *s, unsigned *flags);
char *att_redact_dup(const char *s);

/* SHA-256 of data (the digest is fetched once). 0 or -EIO. */
int att_sha256(const void *data, size_t len, unsigned char out[32]);

struct att_context_opts {
    size_t args_max; /* args are cut to this many bytes after redaction */
    bool send_pids;  /* add pids, times, host, container id and exe hash */
};

/* The redacted, normalized strings the cache key needs (the rest of the
 * document is redacted when att_context_to_json builds it, on a miss). */
struct att_context {
    char *exe;
    char *args; /* redacted, whitespace collapsed, cut at args_max */
    bool args_truncated;
    char *path;
    char *path2;
    char peer[64];                     /* "ip" for the context; CIDR for the digest */
    char peer_cidr[64];                /* a.b.c.0/24 or the /64 of an IPv6 address */
    unsigned char artifact_digest[32]; /* SHA-256 over the stable fields */
};

/* Builds ctx from det (nothing in det changes). */
int att_context_build(const struct mz_detection *det, const struct att_context_opts *opts,
                      struct att_context *ctx) MZ_MUST_CHECK;
void att_context_clear(struct att_context *ctx);

/* The JSON document sent to the model (new object, caller owns it). host is
 * only used with send_pids. */
struct cJSON *att_context_to_json(const struct att_context *ctx, const struct mz_detection *det,
                                  const struct att_context_opts *opts, const char *host);

/* The user message: a fixed preamble marking the document as untrusted data,
 * then the document between delimiters, escaped so that nothing inside can
 * close them ('<', '>', '&', DEL and every non-ASCII character become \uXXXX).
 * Returns a new string or NULL (doc too large). */
char *att_context_user_message(const struct cJSON *doc);

/* Escapes printed JSON text as described above into out. */
int att_json_escape_ascii(const char *json, struct mz_buf *out) MZ_MUST_CHECK;

#endif
