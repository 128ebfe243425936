// SPDX-License-Identifier: Apache-2.0
/*
 * det_interest.c - compiles a recipe set into the interest set (see
 * det_interest.h): the tests a file record must pass to be one a loaded
 * recipe could alert on.
 *
 * A recipe's bases are reduced one by one: dir + base is an exact path, a
 * dir alone a directory, a base alone a basename (a regex beside them only
 * narrows further, so it is dropped). A regex alone is expanded: starting
 * from the empty string, literal characters are appended, alternations and
 * optional atoms split the expansion, `$` closes it and anything else (a
 * class, `.`, a repeat, an escape class) leaves it open there. A closed
 * expansion anchored with `^` is an exact path; an open anchored one is a
 * prefix (a directory when it ends with '/'); an unanchored one names the
 * basename after its last '/' (exactly when closed; as a prefix when open,
 * and only if nothing after that point can match a '/'). Any expansion that
 * fits none of these, too many expansions, or flags such as `(?i)`, make the
 * regex unreducible. When a recipe's bases cannot all be reduced (or it has
 * none), its `arbitrary` groups are tried: every group must pass, so one
 * group whose every way to pass needs a reducible `exe` or `path` pattern
 * is a sound superset. When nothing works, the recipe's entry is "every
 * path" (for its actions).
 *
 * The workload is a few hundred recipes at load and reload; nothing here is
 * on the hot path. det_interest_match is the reference the kernel's
 * hash-based test must agree with, and the tests' oracle.
 */
#include "detect/det_interest.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "detect/det_int.h"

#define PART_MAX 64  /* expansions of one regex */
#define PART_LEN 512 /* literal prefix kept; longer is cut (a shorter prefix is a superset) */

/* --- regex expansion --------------------------------------------------------------- */

struct part {
    char s[PART_LEN];
    size_t n;
    bool anch;        /* began with ^ */
    bool open;        /* stopped at a construct that is not literal */
    bool closed;      /* reached $ */
    bool slash_after; /* open, and what follows in the regex may match '/' */
};

struct pset {
    struct part *v;
    size_t n;
};

struct rx {
    const char *src;
    const char *p;
    bool fail;
};

static void ps_free(struct pset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void ps_push(struct rx *x, struct pset *s, const struct part *p)
{
    if (s->n >= PART_MAX) {
        x->fail = true;
        return;
    }
    s->v = mz_realloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n++] = *p;
}

static void ps_add_all(struct rx *x, struct pset *dst, const struct pset *src)
{
    for (size_t i = 0; i < src->n && !x->fail; i++)
        ps_push(x, dst, &src->v[i]);
}

static bool active(const struct part *p)
{
    return !p->open && !p->closed;
}

/* Whether the regex text from q on may match a '/' somewhere (over-
 * approximated: the whole rest, whatever the alternation). */
static bool rest_may_slash(const char *q)
{
    for (; *q; q++) {
        if (*q == '/' || *q == '.')
            return true;
        if (*q == '\\') {
            q++;
            if (!*q)
                return true;
            if (strchr("/SWDHVNXCpPQ", *q))
                return true;
            continue;
        }
        if (*q == '[') {
            bool neg = q[1] == '^';
            const char *c = q + 1 + neg;
            bool slash = false;
            if (*c == ']')
                c++;
            for (; *c && *c != ']'; c++) {
                if (*c == '\\' && c[1])
                    c++;
                if (*c == '/')
                    slash = true;
                if (*c == '[' && c[1] == ':') /* [:punct:] and friends: not worth it */
                    return true;
            }
            if (neg ? !slash : slash)
                return true;
            if (!*c)
                return true;
            q = c;
        }
    }
    return false;
}

static void mark_open(struct part *p, const char *at)
{
    p->open = true;
    p->slash_after = rest_may_slash(at);
}

static void append(struct part *p, char c, const char *at)
{
    if (p->n + 1 >= PART_LEN) {
        mark_open(p, at);
        return;
    }
    p->s[p->n++] = c;
    p->s[p->n] = '\0';
}

/* Skips a character class at x->p ('['); false when it does not end. */
static bool skip_class(struct rx *x)
{
    const char *c = x->p + 1;
    if (*c == '^')
        c++;
    if (*c == ']')
        c++;
    for (; *c && *c != ']'; c++) {
        if (*c == '\\' && c[1])
            c++;
        else if (*c == '[' && c[1] == ':') {
            const char *e = strstr(c, ":]");
            if (!e)
                return false;
            c = e + 1;
        }
    }
    if (!*c)
        return false;
    x->p = c + 1;
    return true;
}

static struct pset expand_alt(struct rx *x, const struct pset *in);

/* One sequence (up to '|', ')' or the end) applied to the parts of in. */
static struct pset expand_seq(struct rx *x, const struct pset *in)
{
    struct pset cur = {0};
    ps_add_all(x, &cur, in);
    while (!x->fail && *x->p && *x->p != '|' && *x->p != ')') {
        const char *at = x->p;
        char c = *x->p;
        if (c == '^') {
            x->p++;
            for (size_t i = 0; i < cur.n; i++) {
                if (!active(&cur.v[i]))
                    continue;
                if (cur.v[i].n)
                    x->fail = true; /* ^ after text (multiline, or never matches) */
                cur.v[i].anch = true;
            }
            continue;
        }
        if (c == '$') {
            x->p++;
            for (size_t i = 0; i < cur.n; i++)
                if (active(&cur.v[i]))
                    cur.v[i].closed = true;
            continue;
        }
        /* an atom: a literal, a group, or something that is not literal */
        enum { A_LIT, A_GROUP, A_OPEN } kind = A_OPEN;
        char lit = 0;
        struct pset group = {0};
        if (c == '(') {
            x->p++;
            if (*x->p == '?') {
                if (x->p[1] != ':') {
                    x->fail = true; /* flags, lookaround, named groups */
                    break;
                }
                x->p += 2;
            }
            struct pset act = {0};
            for (size_t i = 0; i < cur.n; i++)
                if (active(&cur.v[i]))
                    ps_push(x, &act, &cur.v[i]);
            group = expand_alt(x, &act);
            ps_free(&act);
            if (*x->p != ')') {
                x->fail = true;
                ps_free(&group);
                break;
            }
            x->p++;
            kind = A_GROUP;
        } else if (c == '[') {
            if (!skip_class(x)) {
                x->fail = true;
                break;
            }
        } else if (c == '.') {
            x->p++;
        } else if (c == '\\') {
            char e = x->p[1];
            if (!e) {
                x->fail = true;
                break;
            }
            x->p += 2;
            if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
                kind = A_OPEN; /* \s \d \w \b \1 \x.. \Q ... */
                if (e == 'Q' || e == 'E' || e == 'x' || e == 'c' || e == 'p' || e == 'P' ||
                    e == 'k' || e == 'g' || e == 'o' || e == 'N')
                    x->fail = true; /* forms with arguments: not worth parsing */
            } else {
                kind = A_LIT;
                lit = e;
            }
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            x->fail = true; /* a quantifier with nothing before it */
            break;
        } else {
            x->p++;
            kind = A_LIT;
            lit = c;
        }
        /* its quantifier */
        char q = *x->p;
        if (q == '?' || q == '*' || q == '+') {
            x->p++;
            if (*x->p == '?' || *x->p == '+') /* lazy, possessive */
                x->p++;
        } else if (q == '{') {
            const char *e = strchr(x->p, '}');
            if (!e) {
                x->fail = true;
                ps_free(&group);
                break;
            }
            x->p = e + 1;
            if (*x->p == '?' || *x->p == '+')
                x->p++;
        } else {
            q = 0;
        }
        struct pset next = {0};
        for (size_t i = 0; i < cur.n && !x->fail; i++) {
            struct part pp = cur.v[i];
            if (!active(&pp)) {
                ps_push(x, &next, &pp);
                continue;
            }
            if (kind == A_GROUP)
                continue; /* the group's result stands for the active parts */
            if (kind == A_OPEN || q == '*' || q == '{') {
                mark_open(&pp, at);
                ps_push(x, &next, &pp);
            } else if (q == '?') {
                ps_push(x, &next, &pp);
                append(&pp, lit, at);
                ps_push(x, &next, &pp);
            } else {
                append(&pp, lit, at);
                if (q == '+')
                    mark_open(&pp, x->p);
                ps_push(x, &next, &pp);
            }
        }
        if (kind == A_GROUP && !x->fail) {
            if (q == '*' || q == '{') {
                for (size_t i = 0; i < cur.n && !x->fail; i++) {
                    if (active(&cur.v[i])) {
                        struct part pp = cur.v[i];
                        mark_open(&pp, at);
                        ps_push(x, &next, &pp);
                    }
                }
            } else {
                if (q == '?')
                    for (size_t i = 0; i < cur.n && !x->fail; i++)
                        if (active(&cur.v[i]))
                            ps_push(x, &next, &cur.v[i]);
                for (size_t i = 0; i < group.n && !x->fail; i++) {
                    struct part pp = group.v[i];
                    if (q == '+' && active(&pp))
                        mark_open(&pp, x->p);
                    ps_push(x, &next, &pp);
                }
            }
        }
        ps_free(&group);
        ps_free(&cur);
        cur = next;
    }
    return cur;
}

static struct pset expand_alt(struct rx *x, const struct pset *in)
{
    struct pset out = {0};
    for (;;) {
        struct pset r = expand_seq(x, in);
        ps_add_all(x, &out, &r);
        ps_free(&r);
        if (x->fail || *x->p != '|')
            break;
        x->p++;
    }
    return out;
}

/* --- the set ------------------------------------------------------------------------ */

struct ientry {
    enum det_interest_kind kind;
    enum det_interest_on on;
    uint32_t actions;
    char *s;
};

struct elist {
    struct ientry *v;
    size_t n;
};

struct irecipe {
    char *id;
    const char *reduced; /* static */
    char *why;
    struct elist entries;
};

struct det_interest {
    _Atomic long refs;
    struct elist all; /* deduplicated, sorted */
    struct det_interest_entry *pub;
    struct irecipe *recipes;
    size_t n_recipes;
};

static void el_add(struct elist *l, enum det_interest_kind kind, enum det_interest_on on,
                   uint32_t actions, const char *s, size_t n)
{
    l->v = mz_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    struct ientry *e = &l->v[l->n++];
    e->kind = kind;
    e->on = on;
    e->actions = actions;
    e->s = mz_calloc(n + 1, 1);
    memcpy(e->s, s, n);
}

static void el_free(struct elist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Reduces a regex into out; false (out unchanged) when it cannot. */
static bool reduce_regex(const struct det_regex *re, enum det_interest_on on, uint32_t actions,
                         struct elist *out)
{
    if (!re->src || re->match_all)
        return false;
    struct rx x = {.src = re->src, .p = re->src};
    struct part start = {0};
    struct pset in = {0};
    ps_push(&x, &in, &start);
    struct pset got = expand_alt(&x, &in);
    ps_free(&in);
    if (*x.p) /* a ')' without '(' */
        x.fail = true;
    struct elist tmp = {0};
    for (size_t i = 0; i < got.n && !x.fail; i++) {
        const struct part *p = &got.v[i];
        if (p->anch) {
            if (p->closed) {
                el_add(&tmp, DET_INTEREST_PATH, on, actions, p->s, p->n);
            } else if (p->n >= 2 && p->s[p->n - 1] == '/') {
                el_add(&tmp, DET_INTEREST_DIR, on, actions, p->s, p->n - 1);
            } else if (p->n >= 2) {
                el_add(&tmp, DET_INTEREST_PREFIX, on, actions, p->s, p->n);
            } else {
                x.fail = true; /* "^" or "^/" then anything */
            }
            continue;
        }
        const char *sl = strrchr(p->s, '/');
        if (!sl || !sl[1]) {
            x.fail = true;
            continue;
        }
        if (p->closed)
            el_add(&tmp, DET_INTEREST_BASE, on, actions, sl + 1, strlen(sl + 1));
        else if (p->open && !p->slash_after)
            el_add(&tmp, DET_INTEREST_BASE_PREFIX, on, actions, sl + 1, strlen(sl + 1));
        else
            x.fail = true; /* the match goes on past the end of the literal: any basename */
    }
    ps_free(&got);
    if (x.fail) {
        el_free(&tmp);
        return false;
    }
    for (size_t i = 0; i < tmp.n; i++)
        el_add(out, tmp.v[i].kind, tmp.v[i].on, tmp.v[i].actions, tmp.v[i].s, strlen(tmp.v[i].s));
    el_free(&tmp);
    return true;
}

/* Reduces one base; false when it cannot be narrowed. *widened is set when
 * a regex was involved. */
static bool reduce_base(const struct det_base *b, uint32_t actions, struct elist *out,
                        bool *widened)
{
    if (b->has_re && (b->dir || b->base))
        *widened = true;
    if (b->dir && b->base) {
        char path[PART_LEN * 2];
        int n = strcmp(b->dir, "/") == 0 ? snprintf(path, sizeof(path), "/%s", b->base)
                                         : snprintf(path, sizeof(path), "%s/%s", b->dir, b->base);
        if (n < 0 || (size_t)n >= sizeof(path)) /* too long for an entry: the directory */
            el_add(out, DET_INTEREST_DIR, DET_INTEREST_ON_FILE, actions, b->dir, strlen(b->dir));
        else
            el_add(out, DET_INTEREST_PATH, DET_INTEREST_ON_FILE, actions, path, (size_t)n);
        return true;
    }
    if (b->dir && b->has_re) {
        /* both narrow: the regex when it names whole paths or basenames */
        struct elist tmp = {0};
        bool names = reduce_regex(&b->re, DET_INTEREST_ON_FILE, actions, &tmp);
        for (size_t i = 0; i < tmp.n && names; i++)
            names = tmp.v[i].kind == DET_INTEREST_PATH || tmp.v[i].kind == DET_INTEREST_BASE;
        for (size_t i = 0; i < tmp.n && names; i++)
            el_add(out, tmp.v[i].kind, tmp.v[i].on, tmp.v[i].actions, tmp.v[i].s,
                   strlen(tmp.v[i].s));
        el_free(&tmp);
        if (names)
            return true;
    }
    if (b->dir) {
        if (strcmp(b->dir, "/") == 0)
            return false;
        el_add(out, DET_INTEREST_DIR, DET_INTEREST_ON_FILE, actions, b->dir, strlen(b->dir));
        return true;
    }
    if (b->base) {
        el_add(out, DET_INTEREST_BASE, DET_INTEREST_ON_FILE, actions, b->base, strlen(b->base));
        return true;
    }
    if (b->has_re) {
        *widened = true;
        return reduce_regex(&b->re, DET_INTEREST_ON_FILE, actions, out);
    }
    return false;
}

static bool item_reducible(const struct det_item *it)
{
    return it->pertinent && it->type == DET_ITEM_PATTERN &&
           (it->what == DET_WHAT_EXE || it->what == DET_WHAT_PATH);
}

static bool reduce_item(const struct det_item *it, uint32_t actions, struct elist *out)
{
    return reduce_regex(&it->re,
                        it->what == DET_WHAT_EXE ? DET_INTEREST_ON_EXE : DET_INTEREST_ON_FILE,
                        actions, out);
}

/* One group every match must pass: an AND group needs each of its items, so
 * one reducible item is enough; an OR group needs one of them, so all of
 * them must be reducible. */
static bool reduce_group(const struct det_group *g, uint32_t actions, struct elist *out)
{
    if (g->all) {
        for (size_t i = 0; i < g->n_items; i++)
            if (item_reducible(&g->items[i]) && reduce_item(&g->items[i], actions, out))
                return true;
        return false;
    }
    struct elist tmp = {0};
    for (size_t i = 0; i < g->n_items; i++) {
        if (!item_reducible(&g->items[i]) || !reduce_item(&g->items[i], actions, &tmp)) {
            el_free(&tmp);
            return false;
        }
    }
    for (size_t i = 0; i < tmp.n; i++)
        el_add(out, tmp.v[i].kind, tmp.v[i].on, tmp.v[i].actions, tmp.v[i].s, strlen(tmp.v[i].s));
    bool any = g->n_items > 0;
    el_free(&tmp);
    return any;
}

static void reduce_recipe(const struct det_recipe *r, struct irecipe *ir)
{
    ir->id = mz_strdup(r->id);
    if (!r->enabled || (r->mech != DET_MECH_FILE && r->mech != DET_MECH_EXEC)) {
        ir->reduced = "none";
        ir->why = mz_strdup(r->enabled ? "does not match file records" : "disabled");
        return;
    }
    uint32_t actions = r->fa_mask;
    if (!actions && r->mech == DET_MECH_EXEC)
        actions = MZ_FA_EXECVE;
    bool widened = false, ok = r->n_bases > 0;
    for (size_t i = 0; i < r->n_bases && ok; i++)
        ok = reduce_base(&r->bases[i], actions, &ir->entries, &widened);
    if (ok) {
        ir->reduced = widened ? "superset" : "exact";
        ir->why =
            mz_strdup(widened ? "bases, regexes widened to their literal parts" : "literal bases");
        return;
    }
    el_free(&ir->entries);
    for (size_t g = 0; g < r->n_groups; g++) {
        if (reduce_group(&r->groups[g], actions, &ir->entries)) {
            ir->reduced = "superset";
            ir->why = mz_strdup(r->n_bases ? "a base cannot be narrowed; a required exe or path "
                                             "pattern of arbitrary can"
                                           : "no bases; a required exe or path pattern of "
                                             "arbitrary");
            return;
        }
        el_free(&ir->entries);
    }
    el_add(&ir->entries, DET_INTEREST_ALL, DET_INTEREST_ON_FILE, actions, "", 0);
    ir->reduced = "all";
    ir->why = mz_strdup(r->n_bases ? "a base cannot be narrowed, nor a filter"
                                   : "no bases, and no filter to narrow by");
}

/* Whether every record e passes also passes d (so e adds nothing). */
static bool covers(const struct ientry *d, const struct ientry *e)
{
    if (d == e || d->on != e->on)
        return false;
    if (d->actions && (!e->actions || (e->actions & ~d->actions)))
        return false;
    size_t dn = strlen(d->s), en = strlen(e->s);
    switch (d->kind) {
    case DET_INTEREST_ALL:
        return true;
    case DET_INTEREST_DIR: /* e's paths all start with d->s + "/" */
        if (e->kind != DET_INTEREST_PATH && e->kind != DET_INTEREST_DIR &&
            e->kind != DET_INTEREST_PREFIX)
            return false;
        return en > dn && memcmp(e->s, d->s, dn) == 0 && e->s[dn] == '/' &&
               (e->kind != DET_INTEREST_PREFIX || en > dn); /* "/d/x..." */
    case DET_INTEREST_PREFIX:
        if (e->kind != DET_INTEREST_PATH && e->kind != DET_INTEREST_DIR &&
            e->kind != DET_INTEREST_PREFIX)
            return false;
        return en >= dn && memcmp(e->s, d->s, dn) == 0;
    case DET_INTEREST_BASE_PREFIX:
        if (e->kind == DET_INTEREST_BASE || e->kind == DET_INTEREST_BASE_PREFIX)
            return en >= dn && memcmp(e->s, d->s, dn) == 0;
        if (e->kind == DET_INTEREST_PATH) {
            const char *b = strrchr(e->s, '/');
            b = b ? b + 1 : e->s;
            return strncmp(b, d->s, dn) == 0;
        }
        return false;
    case DET_INTEREST_BASE:
        if (e->kind == DET_INTEREST_PATH) {
            const char *b = strrchr(e->s, '/');
            return strcmp(b ? b + 1 : e->s, d->s) == 0;
        }
        return false;
    case DET_INTEREST_PATH:
        return false; /* equal ones are merged before */
    }
    return false;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct ientry *x = a, *y = b;
    if (x->on != y->on)
        return (int)x->on - (int)y->on;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->s, y->s);
}

struct det_interest *det_interest_build(const struct det_set *s)
{
    struct det_interest *ii = mz_calloc(1, sizeof(*ii));
    atomic_init(&ii->refs, 1);
    size_t n = det_set_count(s);
    ii->recipes = mz_calloc(n ? n : 1, sizeof(*ii->recipes));
    ii->n_recipes = n;
    for (size_t i = 0; i < n; i++) {
        struct irecipe *ir = &ii->recipes[i];
        reduce_recipe(det_set_recipe(s, i), ir);
        for (size_t j = 0; j < ir->entries.n; j++) {
            const struct ientry *e = &ir->entries.v[j];
            el_add(&ii->all, e->kind, e->on, e->actions, e->s, strlen(e->s));
        }
    }
    if (ii->all.n)
        qsort(ii->all.v, ii->all.n, sizeof(*ii->all.v), cmp_entry);
    size_t w = 0;
    for (size_t i = 0; i < ii->all.n; i++) {
        if (w && cmp_entry(&ii->all.v[w - 1], &ii->all.v[i]) == 0) {
            struct ientry *k = &ii->all.v[w - 1];
            /* 0 is "any action": it absorbs the others */
            k->actions = k->actions && ii->all.v[i].actions ? k->actions | ii->all.v[i].actions : 0;
            free(ii->all.v[i].s);
            continue;
        }
        ii->all.v[w++] = ii->all.v[i];
    }
    ii->all.n = w;
    /* drop what another entry covers (a path under a listed directory, ...) */
    bool *drop = mz_calloc(w ? w : 1, sizeof(bool));
    for (size_t i = 0; i < w; i++)
        for (size_t k = 0; k < w && !drop[i]; k++)
            if (!drop[k] && covers(&ii->all.v[k], &ii->all.v[i]))
                drop[i] = true;
    size_t kept = 0;
    for (size_t i = 0; i < w; i++) {
        if (drop[i])
            free(ii->all.v[i].s);
        else
            ii->all.v[kept++] = ii->all.v[i];
    }
    free(drop);
    w = ii->all.n = kept;
    ii->pub = mz_calloc(w ? w : 1, sizeof(*ii->pub));
    for (size_t i = 0; i < w; i++)
        ii->pub[i] = (struct det_interest_entry){ii->all.v[i].kind, ii->all.v[i].on,
                                                 ii->all.v[i].actions, ii->all.v[i].s};
    return ii;
}

size_t det_interest_count(const struct det_interest *ii)
{
    return ii ? ii->all.n : 0;
}

const struct det_interest_entry *det_interest_entry(const struct det_interest *ii, size_t i)
{
    return ii && i < ii->all.n ? &ii->pub[i] : NULL;
}

static bool entry_match(const struct det_interest_entry *e, const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(e->s), sl = strlen(s);
    const char *base = strrchr(s, '/');
    base = base ? base + 1 : s;
    switch (e->kind) {
    case DET_INTEREST_PATH:
        return strcmp(s, e->s) == 0;
    case DET_INTEREST_DIR:
        return sl > n && memcmp(s, e->s, n) == 0 && s[n] == '/';
    case DET_INTEREST_PREFIX:
        return strncmp(s, e->s, n) == 0;
    case DET_INTEREST_BASE:
        return strcmp(base, e->s) == 0;
    case DET_INTEREST_BASE_PREFIX:
        return strncmp(base, e->s, n) == 0;
    case DET_INTEREST_ALL:
        return true;
    }
    return false;
}

bool det_interest_match(const struct det_interest *ii, const char *path, uint32_t actions,
                        const char *exe)
{
    if (!ii)
        return true; /* no set: everything is interesting */
    for (size_t i = 0; i < ii->all.n; i++) {
        const struct det_interest_entry *e = &ii->pub[i];
        if (e->actions && actions && !(e->actions & actions))
            continue;
        if (entry_match(e, e->on == DET_INTEREST_ON_EXE ? exe : path))
            return true;
    }
    return false;
}

const char *det_interest_kind_name(enum det_interest_kind k)
{
    switch (k) {
    case DET_INTEREST_PATH:
        return "path";
    case DET_INTEREST_DIR:
        return "dir";
    case DET_INTEREST_PREFIX:
        return "prefix";
    case DET_INTEREST_BASE:
        return "base";
    case DET_INTEREST_BASE_PREFIX:
        return "base_prefix";
    case DET_INTEREST_ALL:
        return "all";
    }
    return "?";
}

static cJSON *entry_json(enum det_interest_kind kind, enum det_interest_on on, uint32_t actions,
                         const char *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", det_interest_kind_name(kind));
    cJSON_AddStringToObject(o, "on", on == DET_INTEREST_ON_EXE ? "exe" : "file");
    cJSON_AddStringToObject(o, "value", s);
    cJSON *a = cJSON_AddArrayToObject(o, "actions");
    for (uint32_t b = 0; b < 32; b++) {
        const char *name = (actions & (1u << b)) ? mz_file_action_name(1u << b) : NULL;
        if (name)
            cJSON_AddItemToArray(a, cJSON_CreateString(name));
    }
    return o;
}

struct cJSON *det_interest_json(const struct det_interest *ii)
{
    cJSON *j = cJSON_CreateObject();
    if (!ii)
        return j;
    cJSON_AddNumberToObject(j, "entries", (double)ii->all.n);
    cJSON *rs = cJSON_AddObjectToObject(j, "recipes");
    for (size_t i = 0; i < ii->n_recipes; i++) {
        const struct irecipe *ir = &ii->recipes[i];
        cJSON *o = cJSON_AddObjectToObject(rs, ir->id);
        cJSON_AddStringToObject(o, "reduced", ir->reduced);
        cJSON_AddStringToObject(o, "why", ir->why);
        cJSON *es = cJSON_AddArrayToObject(o, "entries");
        for (size_t k = 0; k < ir->entries.n; k++) {
            const struct ientry *e = &ir->entries.v[k];
            cJSON_AddItemToArray(es, entry_json(e->kind, e->on, e->actions, e->s));
        }
    }
    return j;
}

const char *det_interest_reduced(const struct det_interest *ii, const char *id)
{
    for (size_t i = 0; ii && i < ii->n_recipes; i++)
        if (strcmp(ii->recipes[i].id, id) == 0)
            return ii->recipes[i].reduced;
    return NULL;
}

struct det_interest *det_interest_ref(struct det_interest *ii)
{
    if (ii)
        atomic_fetch_add_explicit(&ii->refs, 1, memory_order_relaxed);
    return ii;
}

void det_interest_unref(struct det_interest *ii)
{
    if (!ii || atomic_fetch_sub_explicit(&ii->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < ii->n_recipes; i++) {
        free(ii->recipes[i].id);
        free(ii->recipes[i].why);
        el_free(&ii->recipes[i].entries);
    }
    free(ii->recipes);
    el_free(&ii->all);
    free(ii->pub);
    free(ii);
}
