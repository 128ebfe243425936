// SPDX-License-Identifier: Apache-2.0
/*
 * det_ident.c - the (device, inode) of every file a recipe names exactly,
 * mapped back to the recipe's path (see det_ident.h).
 *
 * Workload: a few dozen named files; lookups at every file observation
 * that carries an identity, so entries are kept sorted by (ino, dev) and
 * found by binary search. A refresh is one stat(2) per named path, at most
 * once per interval (default 1 s), on root-owned paths the recipes chose.
 */
#include "detect/det_ident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "detect/det_int.h"

struct ident_entry {
    uint64_t ino;
    uint64_t dev;
    const char *path; /* one of t->paths */
};

struct det_ident {
    char **paths; /* the named files, each once */
    size_t n_paths;
    struct ident_entry *e; /* the ones that exist, sorted by (ino, dev) */
    size_t n;
    uint64_t refresh_ns, last_ns;
    bool stated;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct ident_entry *x = a, *y = b;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return 0;
}

static void add_path(struct det_ident *t, char *path)
{
    for (size_t i = 0; i < t->n_paths; i++)
        if (strcmp(t->paths[i], path) == 0) {
            free(path);
            return;
        }
    t->paths = mz_realloc(t->paths, (t->n_paths + 1) * sizeof(char *));
    t->paths[t->n_paths++] = path;
}

static void restat(struct det_ident *t)
{
    free(t->e);
    t->e = t->n_paths ? mz_calloc(t->n_paths, sizeof(*t->e)) : NULL;
    t->n = 0;
    for (size_t i = 0; i < t->n_paths; i++) {
        struct stat st;
        /* the file itself: a recipe naming a symlink means the link */
        if (lstat(t->paths[i], &st) < 0 || !st.st_ino)
            continue;
        t->e[t->n++] = (struct ident_entry){(uint64_t)st.st_ino, (uint64_t)st.st_dev, t->paths[i]};
    }
    if (t->n > 1)
        qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
    t->stated = true;
}

struct det_ident *det_ident_new(const struct det_set *set, uint64_t refresh_ns)
{
    struct det_ident *t = mz_calloc(1, sizeof(*t));
    t->refresh_ns = refresh_ns;
    size_t n = set ? det_set_count(set) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct det_recipe *r = det_set_recipe(set, i);
        if (!r->enabled || (r->mech != DET_MECH_FILE && r->mech != DET_MECH_EXEC))
            continue;
        for (size_t b = 0; b < r->n_bases; b++) {
            const struct det_base *bs = &r->bases[b];
            if (!bs->dir || !bs->base || bs->has_re || bs->dir[0] != '/')
                continue;
            size_t len = strlen(bs->dir) + 1 + strlen(bs->base) + 1;
            char *p = mz_calloc(1, len);
            snprintf(p, len, "%s/%s", strcmp(bs->dir, "/") == 0 ? "" : bs->dir, bs->base);
            add_path(t, p);
        }
    }
    restat(t);
    t->last_ns = mz_monotonic_ns();
    return t;
}

void det_ident_refresh(struct det_ident *t, uint64_t now_ns)
{
    if (!t || !t->n_paths || now_ns - t->last_ns < t->refresh_ns)
        return;
    t->last_ns = now_ns;
    restat(t);
}

const char *det_ident_lookup(const struct det_ident *t, uint64_t dev, uint64_t ino)
{
    if (!t || !t->n || !ino)
        return NULL;
    struct ident_entry key = {ino, dev, NULL};
    const struct ident_entry *e = bsearch(&key, t->e, t->n, sizeof(*t->e), cmp_entry);
    return e ? e->path : NULL;
}

size_t det_ident_count(const struct det_ident *t)
{
    return t ? t->n_paths : 0;
}

void det_ident_free(struct det_ident *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_paths; i++)
        free(t->paths[i]);
    free(t->paths);
    free(t->e);
    free(t);
}
