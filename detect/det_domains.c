// SPDX-License-Identifier: Apache-2.0
/*
 * det_domains.c - domain sets for remote_domains and the domain list files,
 * and mizan's algorithmic-domain (DGA-like) score.
 *
 * A set holds lowercased names without a trailing dot in an open-addressing
 * hash table (grown at half load, capped at DET_LIST_ITEMS_MAX entries).
 * exact: the name itself; suffix: the name or any parent domain of it
 * ("example.com" matches "a.example.com" but not "badexample.com"; an entry
 * written ".example.com" is a plain string suffix); prefix: a string prefix,
 * tested linearly (such lists are short).
 *
 * The score looks at the registrable label (left of the public suffix) and mixes
 * four signs of machine-made names: bigrams rare in English and in common
 * host names, character entropy near the maximum for the length, digits mixed
 * into letters, and long consonant runs. Dictionary words and brand names
 * score low; hex, base32 and consonant soup score high.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "detect/det_int.h"

struct det_domset {
    enum det_dom_type type;
    char **slots; /* power-of-two table, NULL = empty */
    size_t cap, n;
    char **prefixes; /* prefix type, and dot-led suffix entries */
    size_t n_prefixes;
};

struct det_domset *det_domset_new(enum det_dom_type type)
{
    struct det_domset *s = mz_calloc(1, sizeof(*s));
    s->type = type;
    s->cap = 64;
    s->slots = mz_calloc(s->cap, sizeof(char *));
    return s;
}

static int normalize(const char *in, char *out, size_t outsz)
{
    size_t n = strlen(in);
    while (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n >= outsz || n > DET_DOMAIN_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == '/' || c >= 0x7f)
            return -EINVAL;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

static bool set_has(const struct det_domset *s, const char *d, size_t len)
{
    uint64_t h = det_hash64(d, len, 0);
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        const char *e = s->slots[i];
        if (!e)
            return false;
        if (strlen(e) == len && memcmp(e, d, len) == 0)
            return true;
    }
}

static void set_put(struct det_domset *s, char *d)
{
    uint64_t h = det_hash64(d, strlen(d), 0);
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slots[i]) {
            s->slots[i] = d;
            s->n++;
            return;
        }
    }
}

int det_domset_add(struct det_domset *s, const char *domain)
{
    char d[DET_DOMAIN_MAX + 2];
    if (normalize(domain, d, sizeof(d)) != 0)
        return -EINVAL;
    if (s->n + s->n_prefixes >= DET_LIST_ITEMS_MAX)
        return -E2BIG;
    if (s->type == DET_DOM_PREFIX || (s->type == DET_DOM_SUFFIX && d[0] == '.')) {
        for (size_t i = 0; i < s->n_prefixes; i++)
            if (strcmp(s->prefixes[i], d) == 0)
                return 0;
        s->prefixes = mz_realloc(s->prefixes, (s->n_prefixes + 1) * sizeof(char *));
        s->prefixes[s->n_prefixes++] = mz_strdup(d);
        return 0;
    }
    if (set_has(s, d, strlen(d)))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        char **old = s->slots;
        size_t oldcap = s->cap;
        s->cap *= 2;
        s->slots = mz_calloc(s->cap, sizeof(char *));
        s->n = 0;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i])
                set_put(s, old[i]);
        free(old);
    }
    set_put(s, mz_strdup(d));
    return 0;
}

int det_domset_add_file(struct det_domset *s, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    /* a FIFO or a device would block or never end: regular files only */
    if (stat(path, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -EACCES;
    }
    int rc = mz_read_file(path, 64u << 20, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    size_t lineno = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        /* hosts-file form "0.0.0.0 name": the last word is the name */
        char *word = NULL;
        for (char *p = line; *p;) {
            while (*p == ' ' || *p == '\t' || *p == '\r')
                *p++ = '\0';
            if (!*p)
                break;
            word = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r')
                p++;
        }
        line = nl ? nl + 1 : NULL;
        if (!word)
            continue;
        rc = det_domset_add(s, word);
        if (rc == -E2BIG) {
            snprintf(err, errlen, "%s:%zu: more than %u entries", path, lineno, DET_LIST_ITEMS_MAX);
            break;
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s:%zu: not a domain name: %.64s", path, lineno, word);
            break;
        }
    }
    free(text);
    return rc;
}

static void entry_out(const char *e, size_t n, char *entry, size_t entry_len)
{
    if (!entry_len)
        return;
    if (n >= entry_len)
        n = entry_len - 1;
    memcpy(entry, e, n);
    entry[n] = '\0';
}

bool det_domset_match_entry(const struct det_domset *s, const char *domain, char *entry,
                            size_t entry_len, size_t *off, size_t *mlen)
{
    char d[DET_DOMAIN_MAX + 2];
    if (!s || !domain || normalize(domain, d, sizeof(d)) != 0)
        return false;
    size_t len = strlen(d);
    switch (s->type) {
    case DET_DOM_EXACT:
        if (!s->n || !set_has(s, d, len))
            return false;
        entry_out(d, len, entry, entry_len);
        *off = 0;
        *mlen = len;
        return true;
    case DET_DOM_SUFFIX:
        if (s->n) {
            for (size_t i = 0; i < len; i++) {
                if ((i == 0 || d[i - 1] == '.') && set_has(s, d + i, len - i)) {
                    entry_out(d + i, len - i, entry, entry_len);
                    *off = i;
                    *mlen = len - i;
                    return true;
                }
            }
        }
        for (size_t i = 0; i < s->n_prefixes; i++) {
            size_t pl = strlen(s->prefixes[i]);
            if (pl <= len && memcmp(d + len - pl, s->prefixes[i], pl) == 0) {
                entry_out(s->prefixes[i], pl, entry, entry_len);
                *off = len - pl;
                *mlen = pl;
                return true;
            }
        }
        return false;
    case DET_DOM_PREFIX:
        for (size_t i = 0; i < s->n_prefixes; i++) {
            size_t pl = strlen(s->prefixes[i]);
            if (strncmp(d, s->prefixes[i], pl) == 0) {
                entry_out(s->prefixes[i], pl, entry, entry_len);
                *off = 0;
                *mlen = pl;
                return true;
            }
        }
        return false;
    }
    return false;
}

bool det_domset_match(const struct det_domset *s, const char *domain)
{
    size_t off, len;
    return det_domset_match_entry(s, domain, NULL, 0, &off, &len);
}

size_t det_domset_size(const struct det_domset *s)
{
    return s ? s->n + s->n_prefixes : 0;
}

void det_domset_free(struct det_domset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    for (size_t i = 0; i < s->n_prefixes; i++)
        free(s->prefixes[i]);
    free(s->slots);
    free(s->prefixes);
    free(s);
}

/* --- algorithmic score ---------------------------------------------------- */

/* Bigrams common in English words and host names. */
static const char common_bigrams[] =
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le "
    "ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec "
    "pr no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na "
    "ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld ry mp fe bl ab "
    "gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa "
    "ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi "
    "rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip "
    "ub oi rl gu dr hr cc tw ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw sw "
    "ks nk ze za ja jo ju ka ko ku ya oa ae ao eb ek eu ix ox ze yp ym yt sk sl sn gs tc "
    "bs cs fs gs ps rp lp mn lm lf ld rb rf";

static bool bigram_table[26][26];
static bool bigram_init;

static void init_bigrams(void)
{
    for (const char *p = common_bigrams; p[0] && p[1]; p++) {
        if (p[0] >= 'a' && p[0] <= 'z' && p[1] >= 'a' && p[1] <= 'z')
            bigram_table[p[0] - 'a'][p[1] - 'a'] = true;
    }
    bigram_init = true;
}

static const char *const second_levels[] = {"co", "com", "net", "org", "gov",
                                            "ac", "edu", "ne",  "or"};

double det_domain_score(const char *domain)
{
    char d[DET_DOMAIN_MAX + 2];
    if (!domain || normalize(domain, d, sizeof(d)) != 0)
        return 0.0;
    if (!bigram_init)
        init_bigrams();

    /* labels, right to left: drop the TLD and a generic second level */
    const char *labels[128];
    size_t lens[128], n = 0;
    const char *start = d;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (n < MZ_ARRAY_SIZE(labels)) {
                labels[n] = start;
                lens[n] = (size_t)(p - start);
                n++;
            }
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    if (n < 2)
        return 0.0;
    size_t last = n - 1; /* the TLD */
    if (n >= 3) {
        for (size_t i = 0; i < MZ_ARRAY_SIZE(second_levels); i++) {
            if (lens[n - 2] == strlen(second_levels[i]) &&
                memcmp(labels[n - 2], second_levels[i], lens[n - 2]) == 0) {
                last = n - 2;
                break;
            }
        }
    }
    /* the registrable label: random subdomains of CDNs and clouds
     * (d3ahfk1x2r8fzr.cloudfront.net) are not generated domains */
    const char *l = labels[last - 1];
    size_t len = lens[last - 1];
    if (len < 8)
        return 0.0;

    unsigned counts[256] = {0};
    size_t digits = 0, pairs = 0, rare = 0, run = 0, max_run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)l[i];
        counts[c]++;
        if (isdigit(c))
            digits++;
        bool cons = isalpha(c) && !strchr("aeiouy", c);
        run = cons ? run + 1 : 0;
        if (run > max_run)
            max_run = run;
        if (i + 1 < len) {
            unsigned char c2 = (unsigned char)l[i + 1];
            if (c == '-' || c2 == '-')
                continue;
            pairs++;
            if (!(c >= 'a' && c <= 'z' && c2 >= 'a' && c2 <= 'z' &&
                  bigram_table[c - 'a'][c2 - 'a']))
                rare++;
        }
    }
    double h = 0.0;
    for (size_t i = 0; i < 256; i++) {
        if (counts[i]) {
            double p = (double)counts[i] / (double)len;
            h -= p * log2(p);
        }
    }
    double hmax = log2((double)(len < 36 ? len : 36));
    double e = hmax > 0 ? h / hmax : 0.0;
    double e_part = (e - 0.75) / 0.25;
    e_part = e_part < 0 ? 0 : (e_part > 1 ? 1 : e_part);
    double rare_part = pairs ? (double)rare / (double)pairs : 0.0;
    double dratio = (double)digits / (double)len;
    double digit_part = (digits && digits < len) ? (dratio * 3 > 1 ? 1 : dratio * 3) : 0.0;
    double cons_part = max_run >= 5 ? 1.0 : (max_run == 4 ? 0.5 : 0.0);
    double score = 0.5 * rare_part + 0.2 * e_part + 0.15 * digit_part + 0.15 * cons_part;
    return score > 1 ? 1 : score;
}
