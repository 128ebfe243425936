/* SPDX-License-Identifier: Apache-2.0 */
/*
 * np_policy.h - the network policy file (Jibril's documented
 * `network_policy` format, README "Network policy"): parsing, and the
 * userland form of the verdicts the kernel programs make.
 *
 *   network_policy:
 *     cidr_mode: bypass|alert|enforce|both      cidr_policy: allow|deny
 *     resolve_mode: bypass|alert|enforce|both   resolve_policy: allow|deny
 *     rules:
 *       - {cidr: 10.0.0.0/8, policy: allow}
 *       - {domain: example.org, policy: deny}
 *
 * Parsing is strict: an unknown key, a bad value, a malformed CIDR or
 * domain, or two rules for the same prefix or domain with different
 * policies are errors "file:line:col: key: why", and no policy is made.
 *
 * A policy is immutable once parsed and owns its strings.
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_NETPOLICY_NP_POLICY_H
#define MIZAN_NETPOLICY_NP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define NP_FILE_MAX   (8u << 20) /* a policy file larger than 8 MiB is an error */
#define NP_RULES_MAX  16384      /* CIDR rules per family, and domain rules */
#define NP_DOMAIN_MAX 253        /* a dotted name, as DNS allows */

enum np_mode {
    NP_BYPASS = 0,
    NP_ALERT_ONLY = 1,
    NP_ENFORCE_ONLY = 2,
    NP_BOTH = 3, /* the bits: 1 alert, 2 enforce (netpolicy_abi.h) */
};

enum np_policy_value {
    NP_POLICY_ALLOW = 0,
    NP_POLICY_DENY = 1,
};

enum np_rule_type {
    NP_RULE_CIDR = 1,
    NP_RULE_DOMAIN = 2,
};

struct np_rule {
    enum np_rule_type type;
    enum np_policy_value policy;
    uint8_t family;     /* CIDR: AF_INET or AF_INET6 */
    uint8_t prefix;     /* CIDR: prefix length */
    uint8_t addr[16];   /* CIDR: network byte order, host bits cleared */
    char *domain;       /* domain: lower case, no final dot */
    char *text;         /* the rule as written, e.g. "cidr 10.0.0.0/8 deny" */
    uint32_t line, col; /* where it is in the file (1-based) */
};

struct np_policy {
    char *source; /* file name the policy came from */
    enum np_mode cidr_mode, resolve_mode;
    enum np_policy_value cidr_policy, resolve_policy;
    struct np_rule *rules;
    size_t n_rules;
    size_t n_domain_deny; /* domain rules that deny */
};

/* Parses a policy from yaml (len bytes; name is used in messages). On
 * error returns NULL and writes "name:line:col: key: why" into err. */
struct np_policy *np_policy_parse(const char *name, const char *yaml, size_t len, char *err,
                                  size_t errlen);
/* The same from a file (at most NP_FILE_MAX bytes). */
struct np_policy *np_policy_load(const char *path, char *err, size_t errlen);
void np_policy_free(struct np_policy *p);

const char *np_mode_name(enum np_mode m);
const char *np_policy_name(enum np_policy_value v);

/* The verdict on an address (family AF_INET or AF_INET6, addr in network
 * order): the longest CIDR prefix that covers it, else cidr_policy. *rule
 * is the rule, or NULL for the default. Learned addresses of denied
 * domains are the kernel's; this is the rule table alone. */
enum np_policy_value np_policy_addr(const struct np_policy *p, int family, const uint8_t *addr,
                                    const struct np_rule **rule);

/* The domain rule of the longest suffix of name (dotted, any case, a
 * final dot allowed) that has one, by whole labels ("example.org" covers
 * "a.example.org", not "badexample.org"); NULL when none does. */
const struct np_rule *np_policy_domain_rule(const struct np_policy *p, const char *name);

/* The verdict on a query for name: its rule's policy, else resolve_policy. */
enum np_policy_value np_policy_resolve(const struct np_policy *p, const char *name,
                                       const struct np_rule **rule);

/* A dotted name in DNS wire format (lower case, labels, final 0) into
 * out (at least 256 bytes). Returns its length, or -EINVAL. */
int np_name_to_wire(const char *name, uint8_t *out, size_t outlen) MZ_MUST_CHECK;

/* The kernel's key hash of a wire name of len bytes (netpolicy_abi.h). */
uint64_t np_name_hash(const uint8_t *wire, size_t len);

#endif
