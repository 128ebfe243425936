// SPDX-License-Identifier: Apache-2.0
/*
 * det_engine.c - the engine the daemon drives: loads the built-in library
 * and the user directories into one indexed set, matches observations,
 * applies rate limits and the global cap (det_rate.c, which also keeps the
 * summaries of what they hold back), and reloads.
 *
 * Load order: built-ins (every embedded file under detect/recipes/), then
 * user directories in config order (recursively, *.yaml and *.yml, sorted
 * by name). A user recipe with the name of a built-in replaces it (that is
 * how a built-in is tuned or disabled); two user recipes with one name are
 * an error. Any error rejects the whole load: at start the engine is not
 * created, on reload the running set stays.
 *
 * Reload is synchronous on the detect thread (det_engine_reload), so
 * matching never sees a half-built set. The only lock guards the set pointer
 * (and the interest set compiled from it on every install) against
 * det_stats_json and det_engine_interest readers on other threads. Per-recipe counters carry
 * over a reload by recipe name; rate-limit counts are keyed by name too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/embedded.h"
#include "core/log.h"
#include "core/util.h"
#include "detect/det_ident.h"
#include "detect/det_int.h"
#include "detect/det_interest.h"
#include "detect/detect.h"

#define RATE_SLOTS    (1u << 16)
#define SEEN_SETS     (1u << 14) /* x4 ways: domains remembered for new_domains */
#define DIR_DEPTH_MAX 8

struct det_engine {
    bool builtin;
    char **dirs;
    size_t n_dirs;
    char *lists_dir;
    bool reload_enabled;

    pthread_mutex_t lock; /* guards set and interest against readers on other threads */
    struct det_set *set;
    struct det_interest *interest; /* compiled from set (det_interest.h) */
    uint64_t interest_gen;
    struct det_recipe **hits;
    size_t hits_cap;
    bool uses_new_domains;

    struct det_rate *rate;
    uint64_t (*clock)(void); /* monotonic ns; tests set their own */
    uint64_t *seen;          /* domain hashes, set-associative */

    _Atomic uint64_t global_suppressed;
    _Atomic uint64_t reloads, reload_failures;

    int ino_fd;
    struct det_ident *ident; /* files the recipes name, by identity */
};

/* --- loading --------------------------------------------------------------------- */

static bool has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the YAML files under path (a file or a directory) to *files. */
static void collect_files(const char *path, int depth, char ***files, size_t *n,
                          struct det_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        det_diag_add(diag, false, path, 1, 1, NULL, "cannot read: %s", strerror(errno));
        return;
    }
    if (S_ISREG(st.st_mode)) {
        *files = mz_realloc(*files, (*n + 1) * sizeof(char *));
        (*files)[(*n)++] = mz_strdup(path);
        return;
    }
    if (!S_ISDIR(st.st_mode) || depth > DIR_DEPTH_MAX)
        return;
    DIR *d = opendir(path);
    if (!d) {
        det_diag_add(diag, false, path, 1, 1, NULL, "cannot open directory: %s", strerror(errno));
        return;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') /* hidden files, editor swap files, . and .. */
            continue;
        names = mz_realloc(names, (nn + 1) * sizeof(char *));
        names[nn++] = mz_strdup(de->d_name);
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof(char *), cmp_str);
    for (size_t i = 0; i < nn; i++) {
        char full[PATH_MAX];
        if (snprintf(full, sizeof(full), "%s/%s", path, names[i]) < (int)sizeof(full)) {
            struct stat cst;
            if (stat(full, &cst) == 0 && S_ISDIR(cst.st_mode))
                collect_files(full, depth + 1, files, n, diag);
            else if (has_yaml_ext(names[i]))
                collect_files(full, depth + 1, files, n, diag);
        }
        free(names[i]);
    }
    free(names);
}

struct load_cfg {
    bool builtin;
    char *const *dirs;
    size_t n_dirs;
    const char *lists_dir;
};

/* Loads every source into a new set. Returns NULL when diag has errors. */
static struct det_set *load_all(const struct load_cfg *c, struct det_diag *diag)
{
    struct det_recipe **rs = NULL;
    size_t n = 0, n_builtin = 0;
    int rc = 0;

    if (c->builtin) {
        struct det_load_opts o = {.lists_dir = c->lists_dir, .builtin = true};
        for (const struct mz_embedded *e = mz_embedded_files; e->path; e++) {
            if (strncmp(e->path, "detect/recipes/", 15) != 0 || !has_yaml_ext(e->path))
                continue;
            if (det_load_text(e->path, e->data, e->size, &o, &rs, &n, diag) != 0)
                rc = -EINVAL;
        }
        n_builtin = n;
    }
    struct det_load_opts uo = {.lists_dir = c->lists_dir, .builtin = false};
    char **files = NULL;
    size_t nf = 0;
    for (size_t i = 0; i < c->n_dirs; i++)
        collect_files(c->dirs[i], 0, &files, &nf, diag);
    for (size_t i = 0; i < nf; i++) {
        char *text = NULL;
        size_t len = 0;
        int frc = mz_read_file(files[i], DET_FILE_MAX, &text, &len);
        if (frc != 0) {
            det_diag_add(diag, true, files[i], 1, 1, NULL, "cannot read: %s", strerror(-frc));
            rc = -EINVAL;
        } else {
            size_t before = n;
            if (det_load_text(files[i], text, len, &uo, &rs, &n, diag) != 0)
                rc = -EINVAL;
            /* duplicates against earlier user files, overrides of built-ins */
            for (size_t j = before; j < n; j++) {
                for (size_t k = 0; k < before; k++) {
                    if (!rs[k] || strcmp(rs[k]->id, rs[j]->id) != 0)
                        continue;
                    if (k < n_builtin) {
                        log_info("recipe %s from %s replaces the built-in one", rs[j]->id,
                                 files[i]);
                        det_recipe_free(rs[k]);
                        rs[k] = NULL;
                    } else {
                        det_diag_add(diag, true, files[i], rs[j]->line, rs[j]->col, "name",
                                     "\"%s\" already defined in %s:%d", rs[j]->id, rs[k]->origin,
                                     rs[k]->line);
                        rc = -EINVAL;
                    }
                }
            }
        }
        free(text);
        free(files[i]);
    }
    free(files);
    /* compact the replaced built-ins out */
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (rs[i])
            rs[w++] = rs[i];
    n = w;
    if (rc != 0 || diag->n_errors) {
        for (size_t i = 0; i < n; i++)
            det_recipe_free(rs[i]);
        free(rs);
        return NULL;
    }
    return det_set_new(rs, n);
}

static void log_diag(const struct det_diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->is_error[i])
            log_error("recipes: %s", d->msgs[i]);
        else if (strncmp(d->msgs[i], "detect/recipes/", 15) == 0)
            log_debug("recipes: %s", d->msgs[i]);
        else
            log_warn("recipes: %s", d->msgs[i]);
    }
}

/* --- inotify ---------------------------------------------------------------------- */

static void watch_tree(int fd, const char *path, int depth)
{
    struct stat st;
    if (depth > DIR_DEPTH_MAX || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    if (inotify_add_watch(fd, path,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                              IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        log_warn("recipes: cannot watch %s: %s", path, strerror(errno));
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char full[PATH_MAX];
        if (snprintf(full, sizeof(full), "%s/%s", path, de->d_name) < (int)sizeof(full))
            watch_tree(fd, full, depth + 1);
    }
    closedir(d);
}

/* (Re)creates the watches: a new inotify instance each time, so directories
 * created since are watched too. */
static void rewatch(struct det_engine *e)
{
    if (e->ino_fd >= 0)
        close(e->ino_fd);
    e->ino_fd = -1;
    if (!e->reload_enabled || e->n_dirs == 0)
        return;
    e->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (e->ino_fd < 0) {
        log_warn("recipes: inotify: %s; reload only on SIGHUP", strerror(errno));
        return;
    }
    for (size_t i = 0; i < e->n_dirs; i++) {
        struct stat st;
        if (stat(e->dirs[i], &st) == 0) {
            watch_tree(e->ino_fd, e->dirs[i], 0);
            continue;
        }
        /* not there yet: watch the nearest existing parent for directories
         * appearing, so that creating it later triggers a reload */
        char parent[PATH_MAX];
        if (mz_strlcpy(parent, e->dirs[i], sizeof(parent)) != 0)
            continue;
        for (char *sl = strrchr(parent, '/'); sl; sl = strrchr(parent, '/')) {
            if (sl == parent)
                sl[1] = '\0';
            else
                *sl = '\0';
            if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode)) {
                (void)inotify_add_watch(e->ino_fd, parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
                break;
            }
            if (sl == parent)
                break;
        }
    }
}

bool det_reload_pending(struct det_engine *e)
{
    if (!e || e->ino_fd < 0)
        return false;
    bool pending = false;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(e->ino_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
                pending = true;
            else if (ev->len && ev->name[0] != '.' && has_yaml_ext(ev->name) &&
                     !(ev->mask & IN_CREATE)) /* a create is followed by a close_write */
                pending = true;
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    return pending;
}

/* --- engine ----------------------------------------------------------------------- */

static void install_set(struct det_engine *e, struct det_set *s)
{
    size_t n = det_set_count(s);
    bool uses_new = false;
    for (size_t i = 0; i < n; i++) {
        struct det_recipe *r = det_set_recipe(s, i);
        uses_new |= r->enabled && r->new_domains;
    }
    struct det_set *old = e->set;
    if (old) { /* counters carry over by name */
        size_t on = det_set_count(old);
        for (size_t i = 0; i < n && (uint64_t)n * on < 4000000; i++) {
            struct det_recipe *r = det_set_recipe(s, i);
            for (size_t j = 0; j < on; j++) {
                struct det_recipe *q = det_set_recipe(old, j);
                if (strcmp(q->id, r->id) == 0) {
                    r->stats.matched = atomic_load(&q->stats.matched);
                    r->stats.emitted = atomic_load(&q->stats.emitted);
                    r->stats.rate_suppressed = atomic_load(&q->stats.rate_suppressed);
                    break;
                }
            }
        }
    }
    struct det_interest *ii = det_interest_build(s);
    pthread_mutex_lock(&e->lock);
    e->set = s;
    struct det_interest *old_ii = e->interest;
    e->interest = ii;
    e->interest_gen++;
    pthread_mutex_unlock(&e->lock);
    det_interest_unref(old_ii); /* a reader holding it keeps it */
    det_set_free(old);
    free(e->hits);
    e->hits_cap = n ? n : 1;
    e->hits = mz_calloc(e->hits_cap, sizeof(*e->hits));
    e->uses_new_domains = uses_new;
    det_ident_free(e->ident);
    e->ident = det_ident_new(s, 1000000000ull);
}

static struct load_cfg engine_load_cfg(const struct det_engine *e)
{
    return (struct load_cfg){e->builtin, e->dirs, e->n_dirs, e->lists_dir};
}

struct det_engine *det_engine_new(const struct mz_config *cfg, char *err, size_t errlen)
{
    struct det_engine *e = mz_calloc(1, sizeof(*e));
    struct det_diag diag = {0};

    e->builtin = cfg->detect.builtin;
    e->n_dirs = cfg->detect.dirs.n;
    e->dirs = mz_calloc(e->n_dirs ? e->n_dirs : 1, sizeof(char *));
    for (size_t i = 0; i < e->n_dirs; i++)
        e->dirs[i] = mz_strdup(cfg->detect.dirs.items[i]);
    e->lists_dir = mz_strdup(cfg->detect.lists_dir);
    e->reload_enabled = cfg->detect.reload;
    e->ino_fd = -1;
    pthread_mutex_init(&e->lock, NULL);
    e->rate = det_rate_new(RATE_SLOTS, cfg->detect.times_window_ms * 1000000ull,
                           cfg->detect.global_max_per_minute);
    e->clock = mz_monotonic_ns;
    e->seen = mz_calloc((size_t)SEEN_SETS * 4, sizeof(uint64_t));

    /* watch before loading: a change during the load is not lost */
    rewatch(e);
    struct load_cfg lc = engine_load_cfg(e);
    struct det_set *s = load_all(&lc, &diag);
    log_diag(&diag);
    if (!s) {
        const char *first = "invalid recipes";
        for (size_t i = 0; i < diag.n; i++) {
            if (diag.is_error[i]) {
                first = diag.msgs[i];
                break;
            }
        }
        if (err && errlen) {
            if (diag.n_errors > 1)
                snprintf(err, errlen, "%s (and %zu more errors)", first, diag.n_errors - 1);
            else
                snprintf(err, errlen, "%s", first);
        }
        det_diag_free(&diag);
        det_engine_free(e);
        return NULL;
    }
    det_diag_free(&diag);
    install_set(e, s);
    log_info("recipes: %zu loaded", det_set_count(s));
    return e;
}

int det_engine_reload(struct det_engine *e)
{
    struct det_diag diag = {0};
    rewatch(e);
    struct load_cfg lc = engine_load_cfg(e);
    struct det_set *s = load_all(&lc, &diag);
    log_diag(&diag);
    det_diag_free(&diag);
    if (!s) {
        atomic_fetch_add(&e->reload_failures, 1);
        log_error("recipes: reload rejected; the previous %zu recipes stay active",
                  det_set_count(e->set));
        return -EINVAL;
    }
    install_set(e, s);
    atomic_fetch_add(&e->reloads, 1);
    log_info("recipes: reloaded, %zu active", det_set_count(s));
    return 0;
}

/* True the first time a domain is seen (within the table's memory). */
static bool domain_is_new(struct det_engine *e, const char *domain)
{
    char low[DET_DOMAIN_MAX + 1];
    size_t n = 0;
    for (; domain[n] && n < DET_DOMAIN_MAX; n++)
        low[n] = (char)(domain[n] >= 'A' && domain[n] <= 'Z' ? domain[n] + 32 : domain[n]);
    while (n && low[n - 1] == '.')
        n--;
    uint64_t h = det_hash64(low, n, 0x5ee9) | 1;
    uint64_t *set = &e->seen[(h >> 7) % SEEN_SETS * 4];
    for (int i = 0; i < 4; i++)
        if (set[i] == h)
            return false;
    /* shift the ways: the oldest falls out */
    memmove(set + 1, set, 3 * sizeof(uint64_t));
    set[0] = h;
    return true;
}

static int match_obs(struct det_engine *e, const struct mz_observation *obs, uint64_t now,
                     det_emit_fn emit, void *ctx)
{
    int emitted = 0;
    bool new_domain = false;
    if (e->uses_new_domains && obs->kind == MZ_OBS_FLOW && obs->flow.domain && *obs->flow.domain)
        new_domain = domain_is_new(e, obs->flow.domain);
    size_t n = det_set_match(e->set, obs, false, new_domain, e->hits, e->hits_cap);
    for (size_t i = 0; i < n; i++) {
        struct det_recipe *r = e->hits[i];
        atomic_fetch_add_explicit(&r->stats.matched, 1, memory_order_relaxed);
        int limit = det_rate_check(e->rate, r, obs, now);
        if (limit != DET_RATE_PASS) {
            if (limit == DET_RATE_GLOBAL)
                atomic_fetch_add_explicit(&e->global_suppressed, 1, memory_order_relaxed);
            else
                atomic_fetch_add_explicit(&r->stats.rate_suppressed, 1, memory_order_relaxed);
            int rc = det_rate_hold(e->rate, r, limit, obs, now, emit, ctx);
            if (rc < 0)
                return rc;
            continue;
        }
        struct mz_observation copy;
        mz_observation_copy(&copy, obs);
        struct mz_detection *det = mz_detection_new(&copy, &r->ref);
        mz_observation_clear(&copy);
        if (!det)
            return -ENOMEM;
        /* which field matched what: for the attenuator's shape-only context */
        (void)det_recipe_explain(r, obs, new_domain, &det->matched);
        int rc = emit(det, ctx);
        if (rc < 0)
            return rc;
        /* only an alert that went out spends the budget */
        det_rate_spend(e->rate, r, obs, now);
        atomic_fetch_add_explicit(&r->stats.emitted, 1, memory_order_relaxed);
        emitted++;
    }
    return emitted;
}

int det_match(struct det_engine *e, const struct mz_observation *obs, det_emit_fn emit, void *ctx)
{
    if (!e || !obs || !emit)
        return -EINVAL;
    uint64_t now = e->clock();
    int emitted = 0;
    if (det_rate_due(e->rate, now)) { /* windows that ended: their summaries first */
        int rc = det_rate_flush(e->rate, now, false, emit, ctx);
        if (rc < 0)
            return rc;
        emitted += rc;
    }
    const char *named = NULL;
    if ((obs->kind == MZ_OBS_FILE || obs->kind == MZ_OBS_EXEC) && obs->file.ino) {
        det_ident_refresh(e->ident, mz_monotonic_ns());
        named = det_ident_lookup(e->ident, obs->file.dev, obs->file.ino);
    }
    int rc;
    if (!named || (obs->file.path && strcmp(named, obs->file.path) == 0)) {
        rc = match_obs(e, obs, now, emit, ctx);
    } else {
        /* A file a recipe names, reached by another path (hard link, bind
         * mount, chroot): matched, and reported, as the recipe's path. An
         * exec's file is the process's exe: named the same way, with the
         * name the process ran it by in exe_seen_as. */
        struct mz_observation copy;
        mz_observation_copy(&copy, obs);
        free(copy.file.seen_as);
        copy.file.seen_as = copy.file.path;
        copy.file.path = mz_strdup(named);
        struct mz_process *p = &copy.proc;
        if (obs->kind == MZ_OBS_EXEC && p->exe && p->exe_ino == obs->file.ino &&
            p->exe_dev == obs->file.dev) {
            if (!p->exe_seen_as)
                p->exe_seen_as = p->exe;
            else
                free(p->exe);
            p->exe = mz_strdup(named);
        }
        rc = match_obs(e, &copy, now, emit, ctx);
        mz_observation_clear(&copy);
    }
    return rc < 0 ? rc : emitted + rc;
}

int det_tick(struct det_engine *e, det_emit_fn emit, void *ctx)
{
    if (!e || !emit)
        return -EINVAL;
    return det_rate_flush(e->rate, e->clock(), false, emit, ctx);
}

int det_flush(struct det_engine *e, det_emit_fn emit, void *ctx)
{
    if (!e || !emit)
        return -EINVAL;
    return det_rate_flush(e->rate, e->clock(), true, emit, ctx);
}

struct det_interest *det_engine_interest(struct det_engine *e, uint64_t *generation)
{
    if (!e)
        return NULL;
    pthread_mutex_lock(&e->lock);
    struct det_interest *ii = det_interest_ref(e->interest);
    if (generation)
        *generation = e->interest_gen;
    pthread_mutex_unlock(&e->lock);
    return ii;
}

void det_engine_set_clock(struct det_engine *e, uint64_t (*clock)(void))
{
    e->clock = clock ? clock : mz_monotonic_ns;
}

struct cJSON *det_stats_json(const struct det_engine *e)
{
    cJSON *j = cJSON_CreateObject();
    if (!e)
        return j;
    struct det_engine *me = (struct det_engine *)e; /* the lock is not part of the value */
    pthread_mutex_lock(&me->lock);
    size_t n = det_set_count(e->set);
    cJSON_AddNumberToObject(j, "recipes", (double)n);
    cJSON_AddNumberToObject(j, "reloads", (double)atomic_load(&e->reloads));
    cJSON_AddNumberToObject(j, "reload_failures", (double)atomic_load(&e->reload_failures));
    cJSON_AddNumberToObject(j, "global_suppressed", (double)atomic_load(&e->global_suppressed));
    cJSON_AddNumberToObject(j, "interest_entries", (double)det_interest_count(e->interest));
    struct det_rate_stats rs;
    det_rate_stats(e->rate, &rs);
    cJSON *sum = cJSON_AddObjectToObject(j, "summaries");
    cJSON_AddNumberToObject(sum, "emitted", (double)rs.summaries);
    cJSON_AddNumberToObject(sum, "early", (double)rs.early);
    cJSON_AddNumberToObject(sum, "pending", (double)rs.pending);
    cJSON_AddNumberToObject(sum, "held", (double)rs.held);
    cJSON *per = cJSON_AddObjectToObject(j, "per_recipe");
    uint64_t tm = 0, te = 0, ts = 0;
    for (size_t i = 0; i < n; i++) {
        const struct det_recipe *r = det_set_recipe(e->set, i);
        uint64_t m = atomic_load_explicit(&r->stats.matched, memory_order_relaxed);
        uint64_t em = atomic_load_explicit(&r->stats.emitted, memory_order_relaxed);
        uint64_t s = atomic_load_explicit(&r->stats.rate_suppressed, memory_order_relaxed);
        tm += m;
        te += em;
        ts += s;
        if (!m)
            continue; /* keep status short: only recipes that matched */
        cJSON *o = cJSON_AddObjectToObject(per, r->id);
        cJSON_AddNumberToObject(o, "matched", (double)m);
        cJSON_AddNumberToObject(o, "emitted", (double)em);
        cJSON_AddNumberToObject(o, "rate_suppressed", (double)s);
    }
    pthread_mutex_unlock(&me->lock);
    cJSON_AddNumberToObject(j, "matched", (double)tm);
    cJSON_AddNumberToObject(j, "emitted", (double)te);
    cJSON_AddNumberToObject(j, "rate_suppressed", (double)ts);
    return j;
}

void det_engine_free(struct det_engine *e)
{
    if (!e)
        return;
    if (e->ino_fd >= 0)
        close(e->ino_fd);
    det_set_free(e->set);
    det_ident_free(e->ident);
    det_interest_unref(e->interest);
    free(e->hits);
    det_rate_free(e->rate);
    free(e->seen);
    for (size_t i = 0; i < e->n_dirs; i++)
        free(e->dirs[i]);
    free(e->dirs);
    free(e->lists_dir);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* For `mizan recipes list` (same thread as the engine's owner). */
struct det_set *det_engine_set(struct det_engine *e)
{
    return e ? e->set : NULL;
}

size_t det_each_reaction(struct det_engine *e, det_reaction_fn fn, void *ctx)
{
    size_t n = 0;
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; e->set && i < det_set_count(e->set); i++) {
        const struct det_recipe *r = det_set_recipe(e->set, i);
        if (!r->enabled)
            continue;
        for (size_t k = 0; k < r->n_reactions; k++, n++)
            fn(r->id, r->kind ? r->kind : r->id, k, r->reactions[k].format,
               r->reactions[k].code ? r->reactions[k].code : "", ctx);
    }
    pthread_mutex_unlock(&e->lock);
    return n;
}
