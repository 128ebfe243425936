// SPDX-License-Identifier: Apache-2.0
/*
 * det_regex.c - regular expressions, CIDRs and hashing for the recipe engine.
 *
 * Alchemy patterns are written for Go's RE2 (\s, \w, \b, (?i), non-greedy
 * operators); PCRE2 accepts that syntax, and its JIT keeps a test around
 * 100 ns. Matching is unanchored, as in Go's MatchString. Before running a
 * pattern we look for the longest literal that every match must contain and
 * test it with memmem: most paths fail there for the price of a scan.
 * Match data is kept per pattern: one thread matches a set at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "detect/det_int.h"

/* The longest run of literal characters at nesting depth 0 that is not
 * followed by a quantifier allowing zero repeats; NULL when the pattern has a
 * top-level alternation or no such run. Conservative: anything unusual stops
 * the run. */
static char *required_literal(const char *p, size_t *out_len)
{
    /* inline flags ((?i), (?x), ...) and lookarounds change what a literal
     * run means: no prefilter then (a case-sensitive memmem would miss
     * "STRATUM+TCP://" for "(?i)stratum\+") */
    for (const char *q = strstr(p, "(?"); q; q = strstr(q + 2, "(?")) {
        if (q[2] != ':') {
            *out_len = 0;
            return NULL;
        }
    }
    size_t n = strlen(p);
    char *best = NULL, *cur = mz_calloc(n + 1, 1);
    size_t best_len = 0, cur_len = 0;
    int depth = 0;
    bool in_class = false;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_class) {
            if (c == '\\' && i + 1 < n)
                i++;
            else if (c == ']')
                in_class = false;
            continue;
        }
        if (c == '|' && depth == 0) {
            free(cur);
            free(best);
            *out_len = 0;
            return NULL;
        }
        char lit = 0;
        bool is_lit = false;
        if (c == '\\' && i + 1 < n) {
            char e = p[i + 1];
            if (strchr(".\\/-+*?()[]{}|^$ \"'#@%&=:;,<>~`!", e)) {
                lit = e;
                is_lit = true;
            }
            i++;
        } else if (!strchr(".^$*+?()[]{}|", c)) {
            lit = c;
            is_lit = true;
        }
        if (c == '(')
            depth++;
        else if (c == ')' && depth > 0)
            depth--;
        else if (c == '[')
            in_class = true;
        if (is_lit && depth == 0) {
            /* A following ?, * or {0 makes this character optional. */
            char nx = i + 1 < n ? p[i + 1] : 0;
            if (nx == '?' || nx == '*' || nx == '{') {
                is_lit = false;
            } else {
                cur[cur_len++] = lit;
                continue;
            }
        }
        /* the run ends here */
        if (cur_len > best_len) {
            free(best);
            best = mz_calloc(cur_len + 1, 1);
            memcpy(best, cur, cur_len);
            best_len = cur_len;
        }
        cur_len = 0;
    }
    if (cur_len > best_len) {
        free(best);
        best = mz_calloc(cur_len + 1, 1);
        memcpy(best, cur, cur_len);
        best_len = cur_len;
    }
    free(cur);
    if (best_len < 2) {
        free(best);
        best = NULL;
        best_len = 0;
    }
    *out_len = best_len;
    return best;
}

static bool is_match_all(const char *s)
{
    static const char *const all[] = {".*", "^.*", ".*$", "^.*$", "", "(.*)", "^(.*)$"};
    for (size_t i = 0; i < MZ_ARRAY_SIZE(all); i++)
        if (strcmp(s, all[i]) == 0)
            return true;
    return false;
}

/* memmem for the short haystacks and needles of paths: glibc's memmem pays a
 * setup cost that dominates at these sizes. */
static bool contains(const char *h, size_t n, const char *needle, size_t m)
{
    if (m > n)
        return false;
    const char *end = h + n - m + 1;
    for (const char *p = h; p < end;) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p)
            return false;
        if (memcmp(p + 1, needle + 1, m - 1) == 0)
            return true;
        p++;
    }
    return false;
}

/* For "^/a/b/c..." the literal directory every match lies under ("/a/b"),
 * or NULL. Used to index a regex-only base like a dir base. */
char *det_regex_anchored_dir(const char *src)
{
    if (src[0] != '^' || src[1] != '/')
        return NULL;
    size_t i = 1, last_slash = 0;
    for (; src[i]; i++) {
        char c = src[i];
        if (strchr(".^$*+?()[]{}|\\", c))
            break;
        if (c == '/')
            last_slash = i;
    }
    /* a quantifier right after a literal makes that literal optional */
    if (src[i] == '?' || src[i] == '*' || src[i] == '{') {
        if (last_slash == i - 1)
            return NULL;
    }
    if (last_slash <= 1)
        return NULL;
    char *d = mz_calloc(last_slash, 1);
    memcpy(d, src + 1, last_slash - 1);
    return d;
}

int det_regex_compile(struct det_regex *re, const char *src, char *err, size_t errlen)
{
    int ec = 0;
    PCRE2_SIZE off = 0;

    memset(re, 0, sizeof(*re));
    re->code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "bad regex at offset %zu: %s", (size_t)off, (const char *)msg);
        return -EINVAL;
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* interpreted when JIT fails */
    re->md = pcre2_match_data_create(1, NULL);
    if (!re->md) {
        pcre2_code_free(re->code);
        re->code = NULL;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    re->src = mz_strdup(src);
    re->match_all = is_match_all(src);
    re->literal = required_literal(src, &re->literal_len);
    return 0;
}

bool det_regex_match(const struct det_regex *re, const char *s, size_t len)
{
    if (!re->code)
        return false;
    if (re->match_all)
        return true;
    if (re->literal && !contains(s, len, re->literal, re->literal_len))
        return false;
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, NULL);
    return rc >= 0;
}

bool det_regex_span(const struct det_regex *re, const char *s, size_t len, size_t *off,
                    size_t *mlen)
{
    *off = 0;
    *mlen = len;
    if (!re->code)
        return false;
    if (re->match_all)
        return true;
    if (re->literal && !contains(s, len, re->literal, re->literal_len))
        return false;
    if (pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, NULL) < 0)
        return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    if (ov[0] <= ov[1] && ov[1] <= len) {
        *off = ov[0];
        *mlen = ov[1] - ov[0];
    }
    return true;
}

void det_regex_free(struct det_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    pcre2_match_data_free(re->md);
    free(re->src);
    free(re->literal);
    memset(re, 0, sizeof(*re));
}

int det_addr_parse(const char *s, uint8_t *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (!s || !*s)
        return -EINVAL;
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        /* IPv4-mapped IPv6 addresses compare as IPv4. */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = AF_INET;
            return 0;
        }
        *family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

int det_cidr_parse(const char *s, struct det_cidr *out)
{
    char buf[64];
    int64_t bits = -1;

    memset(out, 0, sizeof(*out));
    if (mz_strlcpy(buf, s, sizeof(buf)) != 0)
        return -EINVAL;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        if (mz_parse_i64(slash + 1, 0, 128, &bits) != 0)
            return -EINVAL;
    }
    if (det_addr_parse(buf, &out->family, out->addr) != 0)
        return -EINVAL;
    int maxbits = out->family == AF_INET ? 32 : 128;
    if (bits < 0)
        bits = maxbits;
    if (bits > maxbits)
        return -EINVAL;
    out->bits = (uint8_t)bits;
    return 0;
}

bool det_cidr_contains(const struct det_cidr *c, uint8_t family, const uint8_t addr[16])
{
    if (c->family != family)
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, full) != 0)
        return false;
    if (rest) {
        uint8_t m = (uint8_t)(0xffu << (8 - rest));
        if ((c->addr[full] & m) != (addr[full] & m))
            return false;
    }
    return true;
}

/* FNV-1a then a 64-bit finalizer (splitmix): fast and well mixed; these
 * hashes key in-process tables, never anything an attacker can see. */
uint64_t det_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}
