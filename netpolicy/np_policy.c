// SPDX-License-Identifier: Apache-2.0
/*
 * np_policy.c - parses the network policy file into an immutable rule
 * table, and answers the verdicts the kernel programs answer (for tests,
 * for learning from the collector's DNS captures, and for messages).
 *
 * The file is loaded as a libyaml document, which keeps each node's line
 * and column, as config/config.c does. Policies are small (thousands of
 * rules at most) and checked on load and reload only, so lookups here are
 * linear scans: the per-packet lookups are the kernel's tries.
 */
#include "netpolicy/np_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config/cfg_yaml.h"

#include "bpf/netpolicy_abi.h"

struct walk {
    const char *file;
    yaml_document_t *doc;
    struct np_policy *p;
    size_t cap;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 4, 5))) static int fail(struct walk *w, const yaml_node_t *n,
                                                      const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = cfg_yaml_fail(w->err, w->errlen, w->file, n, path, fmt, ap);
    va_end(ap);
    return r;
}

static const char *scalar(const yaml_node_t *n)
{
    return cfg_yaml_scalar(n);
}

static const char *const mode_names[] = {"bypass", "alert", "enforce", "both"};
static const char *const policy_names[] = {"allow", "deny"};

const char *np_mode_name(enum np_mode m)
{
    return (unsigned)m < MZ_ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

const char *np_policy_name(enum np_policy_value v)
{
    return (unsigned)v < MZ_ARRAY_SIZE(policy_names) ? policy_names[v] : "?";
}

static int pick(struct walk *w, const yaml_node_t *n, const char *path, const char *const *names,
                size_t count, int *out)
{
    const char *s = scalar(n);
    for (size_t i = 0; s && i < count; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    if (count == 2)
        return fail(w, n, path, "expected allow or deny, got \"%.64s\"", s ? s : "(not a string)");
    return fail(w, n, path, "expected bypass, alert, enforce or both, got \"%.64s\"",
                s ? s : "(not a string)");
}

/* "a.b.c.d[/len]" or "x::y[/len]"; host bits past the prefix are cleared. */
static int parse_cidr(const char *s, struct np_rule *r)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    memset(r->addr, 0, sizeof(r->addr));
    unsigned max;
    if (inet_pton(AF_INET, buf, r->addr) == 1) {
        r->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        r->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    uint64_t len = max;
    if (slash && (mz_parse_u64(slash + 1, max, &len) || !slash[1]))
        return -ERANGE;
    r->prefix = (uint8_t)len;
    for (unsigned bit = (unsigned)len; bit < max; bit++)
        r->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    return 0;
}

/* Lower case, final dot dropped, labels of 1..63 letters, digits, '-' or
 * '_', at most NP_DOMAIN_MAX bytes. */
static char *norm_domain(const char *s)
{
    size_t len = strlen(s);
    if (len && s[len - 1] == '.')
        len--;
    if (len == 0 || len > NP_DOMAIN_MAX)
        return NULL;
    char *d = mz_calloc(1, len + 1);
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c == '.') {
            if (label == 0)
                goto bad;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                goto bad;
        } else {
            goto bad;
        }
        d[i] = c;
    }
    return d;
bad:
    free(d);
    return NULL;
}

static bool same_target(const struct np_rule *a, const struct np_rule *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == NP_RULE_DOMAIN)
        return strcmp(a->domain, b->domain) == 0;
    return a->family == b->family && a->prefix == b->prefix &&
           memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void rule_clear(struct np_rule *r)
{
    free(r->domain);
    free(r->text);
    memset(r, 0, sizeof(*r));
}

static int parse_rule(struct walk *w, const yaml_node_t *rn, size_t idx)
{
    char path[64];
    const yaml_node_t *target = NULL, *pol = NULL;
    struct np_rule r = {0};
    snprintf(path, sizeof(path), "network_policy.rules[%zu]", idx);
    if (rn->type != YAML_MAPPING_NODE)
        return fail(w, rn, path, "expected a mapping {cidr|domain, policy}");
    for (yaml_node_pair_t *pr = rn->data.mapping.pairs.start; pr < rn->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn = yaml_document_get_node(w->doc, pr->key);
        const yaml_node_t *vn = yaml_document_get_node(w->doc, pr->value);
        const char *k = scalar(kn);
        if (k && (strcmp(k, "cidr") == 0 || strcmp(k, "domain") == 0)) {
            if (target)
                return fail(w, kn, path, "a rule has one cidr or one domain, not both");
            target = vn;
            r.type = k[0] == 'c' ? NP_RULE_CIDR : NP_RULE_DOMAIN;
        } else if (k && strcmp(k, "policy") == 0) {
            if (pol)
                return fail(w, kn, path, "policy given twice");
            pol = vn;
        } else {
            return fail(w, kn, path, "unknown key \"%.64s\" (expected cidr, domain, policy)",
                        k ? k : "?");
        }
    }
    if (!target)
        return fail(w, rn, path, "a rule needs a cidr or a domain");
    if (!pol)
        return fail(w, rn, path, "a rule needs a policy (allow or deny)");
    int v, rc;
    if ((rc = pick(w, pol, path, policy_names, 2, &v)))
        return rc;
    r.policy = (enum np_policy_value)v;
    const char *s = scalar(target);
    if (!s)
        return fail(w, target, path, "expected a string");
    char text[300];
    if (r.type == NP_RULE_CIDR) {
        rc = parse_cidr(s, &r);
        if (rc == -ERANGE)
            return fail(w, target, path, "\"%.64s\": the prefix length is out of range", s);
        if (rc)
            return fail(w, target, path, "\"%.64s\" is not an IPv4 or IPv6 CIDR", s);
        char a[INET6_ADDRSTRLEN];
        inet_ntop(r.family, r.addr, a, sizeof(a));
        snprintf(text, sizeof(text), "cidr %s/%u %s", a, r.prefix, policy_names[r.policy]);
    } else {
        r.domain = norm_domain(s);
        if (!r.domain)
            return fail(w, target, path,
                        "\"%.64s\" is not a domain name (labels of letters, digits, '-', '_')", s);
        snprintf(text, sizeof(text), "domain %s %s", r.domain, policy_names[r.policy]);
    }
    r.text = mz_strdup(text);
    r.line = (uint32_t)target->start_mark.line + 1;
    r.col = (uint32_t)target->start_mark.column + 1;

    size_t same_kind = 0;
    for (size_t i = 0; i < w->p->n_rules; i++) {
        const struct np_rule *o = &w->p->rules[i];
        same_kind += o->type == r.type && (r.type == NP_RULE_DOMAIN || o->family == r.family);
        if (!same_target(o, &r))
            continue;
        if (o->policy != r.policy) {
            rc = fail(w, target, path, "%s contradicts the rule at line %u", r.text, o->line);
            rule_clear(&r);
            return rc;
        }
        rule_clear(&r); /* the same rule twice: once is enough */
        return 0;
    }
    if (same_kind >= NP_RULES_MAX) {
        rule_clear(&r);
        return fail(w, rn, path, "more than %d rules of this kind", NP_RULES_MAX);
    }
    if (w->p->n_rules == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->p->rules = mz_realloc(w->p->rules, w->cap * sizeof(*w->p->rules));
    }
    w->p->rules[w->p->n_rules++] = r;
    if (r.type == NP_RULE_DOMAIN && r.policy == NP_POLICY_DENY)
        w->p->n_domain_deny++;
    return 0;
}

static int walk_policy(struct walk *w, const yaml_node_t *n)
{
    static const char *const keys[] = {"cidr_mode", "cidr_policy", "resolve_mode", "resolve_policy",
                                       "rules"};
    bool seen[MZ_ARRAY_SIZE(keys)] = {false};
    if (n->type != YAML_MAPPING_NODE)
        return fail(w, n, "network_policy", "expected a mapping");
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *kn = yaml_document_get_node(w->doc, pr->key);
        const yaml_node_t *vn = yaml_document_get_node(w->doc, pr->value);
        const char *k = scalar(kn);
        size_t i;
        char path[64];
        int v, rc = 0;
        for (i = 0; k && i < MZ_ARRAY_SIZE(keys); i++)
            if (strcmp(k, keys[i]) == 0)
                break;
        if (!k || i == MZ_ARRAY_SIZE(keys))
            return fail(w, kn, "network_policy",
                        "unknown key \"%.64s\" (expected cidr_mode, cidr_policy, resolve_mode, "
                        "resolve_policy, rules)",
                        k ? k : "?");
        snprintf(path, sizeof(path), "network_policy.%s", keys[i]);
        if (seen[i])
            return fail(w, kn, path, "given twice");
        seen[i] = true;
        switch (i) {
        case 0:
        case 2:
            if ((rc = pick(w, vn, path, mode_names, 4, &v)))
                return rc;
            *(i == 0 ? &w->p->cidr_mode : &w->p->resolve_mode) = (enum np_mode)v;
            break;
        case 1:
        case 3:
            if ((rc = pick(w, vn, path, policy_names, 2, &v)))
                return rc;
            *(i == 1 ? &w->p->cidr_policy : &w->p->resolve_policy) = (enum np_policy_value)v;
            break;
        default:
            if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0)
                break; /* "rules:" with nothing: no rules */
            if (vn->type != YAML_SEQUENCE_NODE)
                return fail(w, vn, path, "expected a list of {cidr|domain, policy}");
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++)
                if ((rc = parse_rule(w, yaml_document_get_node(w->doc, *it),
                                     (size_t)(it - vn->data.sequence.items.start))))
                    return rc;
        }
    }
    return 0;
}

struct np_policy *np_policy_parse(const char *name, const char *yaml, size_t len, char *err,
                                  size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct np_policy *p = mz_calloc(1, sizeof(*p));
    struct walk w = {name, &doc, p, 0, err, errlen};
    int r = -EINVAL;

    /* defaults: Jibril's documented ones (watch only, allow everything) */
    p->source = mz_strdup(name);
    p->cidr_mode = NP_BYPASS;
    p->resolve_mode = NP_BYPASS;
    if (len > NP_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %u MiB", name, NP_FILE_MAX >> 20);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot initialize the YAML parser", name);
        goto out;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: YAML syntax: %s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "error");
        yaml_parser_delete(&parser);
        goto out;
    }
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        snprintf(err, errlen, "%s:1:1: empty file: expected network_policy", name);
    } else if (root->type != YAML_MAPPING_NODE) {
        r = fail(&w, root, "", "expected a mapping with network_policy");
    } else {
        const yaml_node_t *pol = NULL;
        r = 0;
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             !r && pr < root->data.mapping.pairs.top; pr++) {
            const yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
            const char *k = scalar(kn);
            if (!k || strcmp(k, "network_policy") != 0)
                r = fail(&w, kn, "", "unknown key \"%.64s\" (expected network_policy)",
                         k ? k : "?");
            else if (pol)
                r = fail(&w, kn, "network_policy", "given twice");
            else
                pol = yaml_document_get_node(&doc, pr->value);
        }
        if (!r && !pol)
            r = fail(&w, root, "", "expected network_policy");
        if (!r)
            r = walk_policy(&w, pol);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
out:
    if (r) {
        np_policy_free(p);
        return NULL;
    }
    return p;
}

struct np_policy *np_policy_load(const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int r = mz_read_file(path, NP_FILE_MAX, &data, &len);
    if (r) {
        snprintf(err, errlen, "%s: %s", path,
                 r == -E2BIG ? "larger than the 8 MiB a policy may have" : strerror(-r));
        return NULL;
    }
    struct np_policy *p = np_policy_parse(path, data, len, err, errlen);
    free(data);
    return p;
}

void np_policy_free(struct np_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        rule_clear(&p->rules[i]);
    free(p->rules);
    free(p->source);
    free(p);
}

static bool prefix_covers(const struct np_rule *r, const uint8_t *addr)
{
    unsigned full = r->prefix / 8, rest = r->prefix % 8;
    if (memcmp(r->addr, addr, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (r->addr[full] & mask) == (addr[full] & mask);
}

enum np_policy_value np_policy_addr(const struct np_policy *p, int family, const uint8_t *addr,
                                    const struct np_rule **rule)
{
    const struct np_rule *best = NULL;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct np_rule *r = &p->rules[i];
        if (r->type != NP_RULE_CIDR || r->family != family || !prefix_covers(r, addr))
            continue;
        if (!best || r->prefix > best->prefix)
            best = r;
    }
    if (rule)
        *rule = best;
    return best ? best->policy : p->cidr_policy;
}

const struct np_rule *np_policy_domain_rule(const struct np_policy *p, const char *name)
{
    size_t len = strlen(name);
    const struct np_rule *best = NULL;
    size_t best_len = 0;
    if (len && name[len - 1] == '.')
        len--;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct np_rule *r = &p->rules[i];
        if (r->type != NP_RULE_DOMAIN)
            continue;
        size_t rl = strlen(r->domain);
        if (rl > len || rl <= best_len)
            continue;
        /* the whole name, or a suffix starting right after a dot */
        if (strncasecmp(name + len - rl, r->domain, rl) != 0)
            continue;
        if (rl < len && name[len - rl - 1] != '.')
            continue;
        best = r;
        best_len = rl;
    }
    return best;
}

enum np_policy_value np_policy_resolve(const struct np_policy *p, const char *name,
                                       const struct np_rule **rule)
{
    const struct np_rule *r = np_policy_domain_rule(p, name);
    if (rule)
        *rule = r;
    return r ? r->policy : p->resolve_policy;
}

int np_name_to_wire(const char *name, uint8_t *out, size_t outlen)
{
    size_t len = strlen(name), o = 0, start = 0;
    if (len && name[len - 1] == '.')
        len--;
    if (len == 0 || len + 2 > outlen || len + 2 > NP_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            size_t l = i - start;
            if (l == 0 || l > 63)
                return -EINVAL;
            out[o++] = (uint8_t)l;
            for (size_t k = start; k < i; k++)
                out[o++] = np_lower((uint8_t)name[k]);
            start = i + 1;
        }
    }
    out[o++] = 0;
    return (int)o;
}

uint64_t np_name_hash(const uint8_t *wire, size_t len)
{
    uint64_t h = NP_FNV_OFFSET;
    for (size_t j = 0; j < len; j++)
        h = (h ^ np_lower(wire[len - 1 - j])) * NP_FNV_PRIME;
    return h;
}
