// SPDX-License-Identifier: Apache-2.0
/* test_np_policy.c - the network policy file: Jibril's documented examples
 * load unchanged, longest prefix and longest domain suffix win, every error
 * names file:line:column and the key, and the name hash agrees with the
 * kernel's order (last byte first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/netpolicy_abi.h"
#include "netpolicy/np_policy.h"

static struct np_policy *parse(const char *yaml, char *err)
{
    err[0] = '\0';
    return np_policy_parse("p.yaml", yaml, strlen(yaml), err, 512);
}

/* Jibril's documented example (execution/network-policy.md), quoted as
 * users write it. */
static const char jibril_example[] = "#\n"
                                     "# Alert and deny all traffic by default.\n"
                                     "#\n"
                                     "network_policy:\n"
                                     "  cidr_mode: \"both\"\n"
                                     "  cidr_policy: \"allow\"\n"
                                     "  resolve_mode: \"bypass\"\n"
                                     "  resolve_policy: \"allow\"\n"
                                     "  #\n"
                                     "  rules:\n"
                                     "    # - cidr: \"0.0.0.0/0\"\n"
                                     "    #   policy: \"allow\"\n"
                                     "    - cidr: \"127.0.0.0/8\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - cidr: \"::1/128\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - cidr: \"10.0.0.0/8\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - cidr: \"10.0.0.1/32\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - cidr: \"8.8.8.8/32\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - domain: \"org\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - domain: \"google.com\"\n"
                                     "      policy: \"allow\"\n"
                                     "    - domain: \"example.com\"\n"
                                     "      policy: \"deny\"\n"
                                     "    - domain: \"uol.com.br\"\n"
                                     "      policy: \"deny\"\n";

static void addr4(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void test_jibril_example_loads(void **state)
{
    (void)state;
    char err[512];
    struct np_policy *p = parse(jibril_example, err);
    assert_non_null(p);
    assert_string_equal(err, "");
    assert_int_equal(p->cidr_mode, NP_BOTH);
    assert_int_equal(p->resolve_mode, NP_BYPASS);
    assert_int_equal(p->cidr_policy, NP_POLICY_ALLOW);
    assert_int_equal(p->n_rules, 9);
    assert_int_equal(p->n_domain_deny, 2);
    assert_string_equal(p->rules[1].text, "cidr ::1/128 allow");
    assert_int_equal(p->rules[1].family, AF_INET6);
    assert_int_equal(p->rules[0].line, 13);
    assert_int_equal(p->rules[0].col, 13);
    np_policy_free(p);
}

static void test_shipped_example_loads(void **state)
{
    (void)state;
    char path[4200], err[512] = "";
    const char *src = getenv("MIZAN_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/config/netpolicy.yaml", src ? src : "..");
    struct np_policy *p = np_policy_load(path, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    /* it only watches as shipped */
    assert_int_equal(p->cidr_mode, NP_BYPASS);
    assert_int_equal(p->resolve_mode, NP_BYPASS);
    np_policy_free(p);
}

static void test_longest_prefix_wins(void **state)
{
    (void)state;
    char err[512];
    struct np_policy *p = parse("network_policy:\n"
                                "  cidr_mode: enforce\n"
                                "  cidr_policy: deny\n"
                                "  rules:\n"
                                "    - {cidr: 10.0.0.0/8, policy: allow}\n"
                                "    - {cidr: 10.1.0.0/16, policy: deny}\n"
                                "    - {cidr: 10.1.2.3, policy: allow}\n"
                                "    - {cidr: 10.1.2.99/25, policy: deny}\n"
                                "    - {cidr: 'fd00::/8', policy: allow}\n",
                                err);
    assert_non_null(p);
    uint8_t a[16];
    const struct np_rule *r;
    addr4("10.9.9.9", a);
    assert_int_equal(np_policy_addr(p, AF_INET, a, &r), NP_POLICY_ALLOW);
    assert_string_equal(r->text, "cidr 10.0.0.0/8 allow");
    addr4("10.1.9.9", a);
    assert_int_equal(np_policy_addr(p, AF_INET, a, &r), NP_POLICY_DENY);
    assert_string_equal(r->text, "cidr 10.1.0.0/16 deny");
    addr4("10.1.2.3", a);
    assert_int_equal(np_policy_addr(p, AF_INET, a, &r), NP_POLICY_ALLOW);
    assert_string_equal(r->text, "cidr 10.1.2.3/32 allow");
    /* host bits past the prefix are cleared: .99/25 is .0/25 */
    addr4("10.1.2.4", a);
    assert_int_equal(np_policy_addr(p, AF_INET, a, &r), NP_POLICY_DENY);
    assert_string_equal(r->text, "cidr 10.1.2.0/25 deny");
    addr4("192.0.2.1", a);
    assert_int_equal(np_policy_addr(p, AF_INET, a, &r), NP_POLICY_DENY);
    assert_null(r); /* the default */
    memset(a, 0, 16);
    assert_int_equal(inet_pton(AF_INET6, "fd12::1", a), 1);
    assert_int_equal(np_policy_addr(p, AF_INET6, a, &r), NP_POLICY_ALLOW);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a), 1);
    assert_int_equal(np_policy_addr(p, AF_INET6, a, &r), NP_POLICY_DENY);
    np_policy_free(p);
}

static void test_domain_suffix_by_labels(void **state)
{
    (void)state;
    char err[512];
    struct np_policy *p = parse("network_policy:\n"
                                "  resolve_mode: enforce\n"
                                "  resolve_policy: allow\n"
                                "  rules:\n"
                                "    - {domain: Example.ORG., policy: deny}\n"
                                "    - {domain: ok.example.org, policy: allow}\n"
                                "    - {domain: org, policy: allow}\n",
                                err);
    assert_non_null(p);
    const struct np_rule *r;
    assert_int_equal(np_policy_resolve(p, "example.org", &r), NP_POLICY_DENY);
    assert_string_equal(r->text, "domain example.org deny");
    assert_int_equal(np_policy_resolve(p, "A.B.EXAMPLE.org.", &r), NP_POLICY_DENY);
    assert_int_equal(np_policy_resolve(p, "x.ok.example.org", &r), NP_POLICY_ALLOW);
    assert_string_equal(r->domain, "ok.example.org");
    /* whole labels only */
    assert_int_equal(np_policy_resolve(p, "badexample.org", &r), NP_POLICY_ALLOW);
    assert_string_equal(r->domain, "org");
    assert_int_equal(np_policy_resolve(p, "example.com", &r), NP_POLICY_ALLOW);
    assert_null(r);
    np_policy_free(p);
}

static void test_errors_name_line_column(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"network_policy:\n  cidr_mode: block\n",
         "p.yaml:2:14: network_policy.cidr_mode: expected bypass, alert, enforce or both"},
        {"network_policy:\n  resolve_policy: maybe\n",
         "p.yaml:2:19: network_policy.resolve_policy: expected allow or deny"},
        {"network_policy:\n  rules:\n    - cidr: 10.0.0.300/8\n      policy: deny\n",
         "p.yaml:3:13: network_policy.rules[0]: \"10.0.0.300/8\" is not an IPv4 or IPv6 CIDR"},
        {"network_policy:\n  rules:\n    - cidr: 10.0.0.0/33\n      policy: deny\n",
         "p.yaml:3:13: network_policy.rules[0]: \"10.0.0.0/33\": the prefix length is out of "
         "range"},
        {"network_policy:\n  rules:\n    - {domain: 'a..b', policy: deny}\n",
         "p.yaml:3:16: network_policy.rules[0]: \"a..b\" is not a domain name"},
        {"network_policy:\n  rules:\n    - {cidr: 1.2.3.4}\n",
         "p.yaml:3:7: network_policy.rules[0]: a rule needs a policy"},
        {"network_policy:\n  rules:\n    - {cidr: 1.2.3.4, domain: a.b, policy: deny}\n",
         "p.yaml:3:23: network_policy.rules[0]: a rule has one cidr or one domain"},
        {"network_policy:\n  rules:\n    - {cidr: 1.2.3.4, policy: deny, port: 80}\n",
         "p.yaml:3:37: network_policy.rules[0]: unknown key \"port\""},
        {"network_policy:\n  rules:\n    - {cidr: 1.2.3.0/24, policy: deny}\n"
         "    - {cidr: 1.2.3.9/24, policy: allow}\n",
         "p.yaml:4:14: network_policy.rules[1]: cidr 1.2.3.0/24 allow contradicts the rule at "
         "line 3"},
        {"network_policy:\n  cidr_mode: both\n  cidr_mode: alert\n",
         "p.yaml:3:3: network_policy.cidr_mode: given twice"},
        {"network_policy:\n  cidrmode: both\n", "p.yaml:2:3: network_policy: unknown key"},
        {"policy:\n  cidr_mode: both\n", "p.yaml:1:1: unknown key \"policy\""},
        {"network_policy:\n  rules: {a: b}\n",
         "p.yaml:2:10: network_policy.rules: expected a list"},
        {"network_policy:\n  rules: [\n", "p.yaml:3:1: YAML syntax"},
        {"", "p.yaml:1:1: empty file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512];
        struct np_policy *p = parse(cases[i].yaml, err);
        if (p || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].want);
    }
}

static void test_same_rule_twice_is_one(void **state)
{
    (void)state;
    char err[512];
    struct np_policy *p = parse("network_policy:\n  rules:\n"
                                "    - {cidr: 1.2.3.4, policy: deny}\n"
                                "    - {cidr: 1.2.3.4/32, policy: deny}\n"
                                "    - {domain: a.b, policy: deny}\n"
                                "    - {domain: A.B, policy: deny}\n",
                                err);
    assert_non_null(p);
    assert_int_equal(p->n_rules, 2);
    assert_int_equal(p->n_domain_deny, 1);
    np_policy_free(p);
}

static void test_wire_and_hash(void **state)
{
    (void)state;
    uint8_t w[256];
    int n = np_name_to_wire("A.Example.org.", w, sizeof(w));
    assert_int_equal(n, 15);
    assert_memory_equal(w, "\001a\007example\003org", 15);
    /* the hash of a suffix is what a backward pass over the whole name has
     * reached at the suffix's first byte (the kernel's one pass) */
    uint8_t s[256];
    int m = np_name_to_wire("example.org", s, sizeof(s));
    assert_int_equal(m, 13);
    assert_true(np_name_hash(s, (size_t)m) == np_name_hash(w + 2, 13));
    assert_true(np_name_hash(s, (size_t)m) != np_name_hash(w, (size_t)n));
    assert_int_equal(np_name_to_wire("a..b", w, sizeof(w)), -EINVAL);
    char longl[80];
    memset(longl, 'x', 64);
    longl[64] = '\0';
    assert_int_equal(np_name_to_wire(longl, w, sizeof(w)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jibril_example_loads),
        cmocka_unit_test(test_shipped_example_loads),
        cmocka_unit_test(test_longest_prefix_wins),
        cmocka_unit_test(test_domain_suffix_by_labels),
        cmocka_unit_test(test_errors_name_line_column),
        cmocka_unit_test(test_same_rule_twice_is_one),
        cmocka_unit_test(test_wire_and_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
