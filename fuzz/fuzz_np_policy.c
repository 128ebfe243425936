// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_np_policy.c - libFuzzer target for the network policy parser
 * (netpolicy/np_policy.c) and, when the input loads, the verdicts built
 * from it: a few canned addresses and names are looked up, and every
 * domain rule is turned into the kernel's wire form and key, which must
 * succeed for a rule the parser accepted. No crash, no leak, no UB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netpolicy/np_policy.h"

static const char *const names[] = {"example.org", "a.b.example.org", "org",
                                    "x",           "A.B.C.D.",        "badexample.org"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct np_policy *p = np_policy_parse("fuzz.yaml", (const char *)data, size, err, sizeof(err));
    if (!p)
        return 0;
    uint8_t a[16] = {10, 1, 2, 3};
    const struct np_rule *r;
    (void)np_policy_addr(p, 2, a, &r);
    memset(a, 0xfd, sizeof(a));
    (void)np_policy_addr(p, 10, a, &r);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        (void)np_policy_resolve(p, names[i], &r);
    for (size_t i = 0; i < p->n_rules; i++) {
        uint8_t w[256];
        if (p->rules[i].type != NP_RULE_DOMAIN)
            continue;
        int n = np_name_to_wire(p->rules[i].domain, w, sizeof(w));
        if (n <= 0)
            abort(); /* the parser accepted a name the kernel form cannot hold */
        (void)np_name_hash(w, (size_t)n);
        (void)np_policy_resolve(p, p->rules[i].domain, &r);
    }
    np_policy_free(p);
    return 0;
}
