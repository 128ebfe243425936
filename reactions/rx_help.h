/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rx_help.h - Jibril's reaction helpers, one implementation for both
 * formats: a js reaction's node worker calls them over its pipe, a shell
 * reaction through `mizan react` and the daemon's socket (rx.c). They run
 * in the daemon, with its privileges, and check what they are asked:
 *
 *   kill    never PID 1, kthreadd or kernel threads, mizan (any of its
 *           threads), its parent or its own workers; KillCurrent and
 *           KillParent check the process is still the one of the alert
 *           (pid and start time) through a pidfd, so a reused pid is safe
 *   files   WriteFile creates with mode 0600 and never follows a symlink
 *           nor writes a file root does not own; ReadFile follows no
 *           symlink and reads at most RX_FILE_MAX; CreateTempDir and
 *           RemoveDir act only on root-owned directories directly under
 *           /tmp
 *   data    a store per reaction (recipe id and index), in memory, with
 *           at most RX_STORE_MAX entries of RX_VALUE_MAX bytes
 *   net     through netpolicy (np.h); -1 with ENOTSUP without it
 *   emergency  PowerOff and Panic refused unless reactions.allow_emergency,
 *           logged either way
 *
 * Results follow Jibril's conventions: 0 done, 1 already so, -1 error with
 * the reason for Errno(); readers return the value or "" / null.
 */
#ifndef MIZAN_REACTIONS_RX_HELP_H
#define MIZAN_REACTIONS_RX_HELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reactions/rx_proto.h"

struct cJSON;
struct np;
struct rx_store;

#define RX_FILE_MAX  (1u << 20) /* bytes ReadFile returns */
#define RX_STORE_MAX 4096       /* entries (keys + list items) per reaction */
#define RX_VALUE_MAX 65536      /* bytes of one key or value */
#define RX_ERRNO_MAX 160
#define RX_MSG_MAX   1024 /* bytes of one log line of a reaction */
#define RX_PIDS_MAX  64   /* worker pids that may not be killed */

/* What the helpers of one running reaction may act on. */
struct rx_help_ctx {
    const char *reaction; /* "recipe#index": names the log lines and the store */
    int32_t pid, ppid;    /* the alert's process; 0: none */
    uint64_t start_ns;    /* its boot-relative start, 0: unknown */
    const char *remote;   /* the alert's remote address, or NULL */
    const char *domain;   /* the alert's remote domain, or NULL */
    struct np *np;        /* NULL: no network policy */
    struct rx_store *store;
    bool allow_emergency;
    const pid_t *workers; /* pids of the node workers (not to be killed) */
    size_t n_workers;
};

struct rx_store *rx_store_new(void);
void rx_store_free(struct rx_store *s);

/* Runs op with args (checked by rx_proto). Returns the result (caller
 * owns it; never NULL) and fills err with the reason for Errno() ("" when
 * none). Thread-safe. */
struct cJSON *rx_help_call(const struct rx_help_ctx *c, enum rx_op op, const struct cJSON *args,
                           char err[RX_ERRNO_MAX]);

/* 0 when pid may be killed, else -EPERM with why filled. */
int rx_kill_allowed(pid_t pid, const pid_t *workers, size_t n_workers, char *why, size_t whylen);

/* Copies msg for a log line: control characters become '?', at most
 * RX_MSG_MAX bytes. */
void rx_log_clean(const char *msg, char *out, size_t outlen);

#endif
