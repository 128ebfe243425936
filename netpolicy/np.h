/* SPDX-License-Identifier: Apache-2.0 */
/*
 * np.h - the network policy in the daemon: loads the policy file, loads
 * bpf/netpolicy.bpf.c and attaches it at the cgroup v2 root (bpf_links,
 * never pinned: the policy ends with the daemon), fills its maps, reloads
 * the file when it changes (inotify) or on SIGHUP, and turns what the
 * kernel refused or alerted on into FLOW observations with the actions
 * `dropip` / `dropdomain` (and `blocked` when the kernel refused it),
 * which the built-in recipes dropip and dropdomain (detect/recipes/
 * netpolicy.yaml) turn into alerts. Each observation names the rule that
 * matched in flow.rule.
 *
 * Threads: np_tick runs on one thread (the collector's: observations go
 * onto q1, whose only producer it is); a watch thread of np's own applies
 * a changed file at once; np_set_domains_map, np_request_reload and
 * np_stats_json may be called from any thread.
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_NETPOLICY_NP_H
#define MIZAN_NETPOLICY_NP_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/event.h"
#include "netpolicy/np_policy.h"

struct cJSON;
struct np;

/* Learned addresses of denied domains stay denied for the answer's TTL,
 * but at least NP_LEARN_TTL_MIN (an attacker's server may answer TTL 0 and
 * connect a moment later) and at most NP_LEARN_TTL_MAX seconds. */
#define NP_LEARN_TTL_MIN 60
#define NP_LEARN_TTL_MAX 86400

/* Loads cfg->netpolicy.file and applies it in the kernel. NULL on error,
 * with err filled: "file:line:col: key: why" for a bad policy (a
 * configuration error), or why the programs could not be loaded or
 * attached. cfg must outlive the result. */
struct np *np_new(const struct mz_config *cfg, char *err, size_t errlen);

/* Also learn from the collector's ip -> domain captures (its map
 * "domains", struct mz_ip_key -> struct mz_dns_val): the addresses
 * already resolved for a denied domain are denied from now on, and again
 * at each reload. Takes fd (closed by np_free); a negative fd is ignored. */
void np_set_domains_map(struct np *np, int fd);

typedef int (*np_emit_fn)(struct mz_observation *obs, void *ctx);

/* One pass: reads the kernel's event records and hands each as an
 * observation to emit (which takes it on 0; -EAGAIN: full, the
 * observation is kept and offered again at the next pass first), and
 * forgets expired learned addresses. Returns the observations emitted, or
 * -EAGAIN. (A changed file is applied by np's watch thread: an invalid one
 * is logged with file:line:col and the running policy stays.) */
int np_tick(struct np *np, np_emit_fn emit, void *ctx);

/* Reactions' blocks (reactions/, NetBlockIp and friends), from any
 * thread. They are refused or alerted on as the policy's cidr_mode and
 * resolve_mode say (enforce: refused), with the rule "reaction block".
 *
 * np_block_ip: denies the address ip (IPv4 or IPv6 text) for ttl_s
 * seconds (0: until np_unblock_ip or the daemon's exit). 0 blocked, 1 it
 * already was (a timer is then extended, never shortened), -EINVAL bad
 * address, -errno from the kernel map. */
int np_block_ip(struct np *np, const char *ip, uint32_t ttl_s);
/* 0 unblocked, 1 it was not blocked by a reaction, -EINVAL bad address. */
int np_unblock_ip(struct np *np, const char *ip);
/* Denies domain and its subdomains as a deny rule of the policy would
 * (kept through reloads). 0 blocked, 1 it already was, -EINVAL bad name,
 * -ENOSPC past NP_RX_DOMAINS_MAX. */
#define NP_RX_DOMAINS_MAX 1024
int np_block_domain(struct np *np, const char *domain);

/* Reloads the file now, on the watch thread (SIGHUP). */
void np_request_reload(struct np *np);

/* Counters for `mizan status`: the kernel's, reloads, the active policy. */
struct cJSON *np_stats_json(struct np *np);

/* Detaches every program (bpf_link) and frees. Accepts NULL. */
void np_free(struct np *np);

#endif
