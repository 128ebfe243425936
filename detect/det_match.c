// SPDX-License-Identifier: Apache-2.0
/*
 * det_match.c - a recipe set, its index, and the matcher.
 *
 * Recipes are grouped by mechanism: file_access recipes see FILE
 * observations, execution recipes see EXEC observations (the path is the
 * executable), network_peers recipes see FLOW observations.
 *
 * For paths, each `bases` entry goes to one index:
 *   dir + base        -> a hash map keyed by the full path
 *   base (+ regex)    -> a hash map keyed by the basename
 *   dir (+ regex)     -> a hash map keyed by the directory; a path looks up
 *                        each of its ancestor directories
 *   regex only        -> a scan list, tested on every path (behind the
 *                        regex's literal prefilter)
 * and recipes without bases are always candidates. A candidate recipe is
 * then tested on everything else (actions, arbitrary filters) once per
 * observation. Network recipes are few and cheap to test: they are looped.
 * det_recipe_matches() is the same test without the index; the naive loop
 * (for the benchmark and the equivalence tests) uses it on every recipe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"
#include "detect/det_int.h"

struct cand {
    struct det_recipe *r;
    uint32_t ri; /* recipe index in the set */
    const struct det_base *b;
};

struct smap_slot {
    char *key; /* NULL: empty */
    size_t len;
    uint64_t h;
    struct cand *v;
    size_t n;
};

struct smap {
    struct smap_slot *slots;
    size_t cap, n;
};

struct pindex {
    struct smap exact, by_base, by_dir;
    struct cand *scan;
    size_t n_scan;
    struct cand *always;
    size_t n_always;
};

struct det_set {
    struct det_recipe **r;
    size_t n;
    struct pindex file, exec;
    uint32_t *net; /* indexes of enabled network recipes */
    size_t n_net;
    uint32_t *other; /* tamper and privilege recipes */
    size_t n_other;
    uint32_t *stamp; /* per recipe: the observation it was last tested on */
    uint32_t cur;
};

/* --- string map ---------------------------------------------------------------- */

static struct smap_slot *smap_find(const struct smap *m, const char *k, size_t len, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct smap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->h == h && s->len == len && memcmp(s->key, k, len) == 0)
            return s;
    }
}

static void smap_grow(struct smap *m)
{
    size_t oldcap = m->cap;
    struct smap_slot *old = m->slots;
    m->cap = oldcap ? oldcap * 2 : 64;
    m->slots = mz_calloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key)
            continue;
        size_t j = old[i].h & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

static void smap_add(struct smap *m, const char *k, struct cand c)
{
    size_t len = strlen(k);
    uint64_t h = det_hash64(k, len, 0);
    struct smap_slot *s = smap_find(m, k, len, h);
    if (!s) {
        if ((m->n + 1) * 2 > m->cap)
            smap_grow(m);
        size_t j = h & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        s = &m->slots[j];
        s->key = mz_strdup(k);
        s->len = len;
        s->h = h;
        m->n++;
    }
    s->v = mz_realloc(s->v, (s->n + 1) * sizeof(c));
    s->v[s->n++] = c;
}

static void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].v);
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static void cands_add(struct cand **v, size_t *n, struct cand c)
{
    *v = mz_realloc(*v, (*n + 1) * sizeof(c));
    (*v)[(*n)++] = c;
}

/* --- the tests ------------------------------------------------------------------- */

/* What one observation needs more than once, computed on first use. */
struct mctx {
    const struct mz_observation *o;
    const char *path;
    size_t path_len;
    const char *basename;
    uint32_t actions;
    bool new_domain;
    int addr_state; /* 0 unknown, 1 parsed */
    uint8_t rfam, lfam;
    bool rok, lok;
    uint8_t raddr[16], laddr[16];
    bool score_done;
    double score;
    /* det_recipe_explain: where the parts that matched are recorded (NULL
     * while matching); path_field is the field c->path came from */
    struct mz_matched *rec;
    uint8_t path_field;
};

/* --- what matched (det_recipe_explain) --------------------------------------------- */

static void rec_add(const struct mctx *c, uint8_t field, uint8_t index, uint8_t how, size_t off,
                    size_t len, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void rec_add(const struct mctx *c, uint8_t field, uint8_t index, uint8_t how, size_t off,
                    size_t len, const char *fmt, ...)
{
    struct mz_matched *m = c->rec;
    va_list ap;
    if (!m)
        return;
    if (m->n >= MZ_MATCHED_MAX) {
        m->more = true;
        return;
    }
    struct mz_match_part *p = &m->part[m->n++];
    memset(p, 0, sizeof(*p));
    p->field = field;
    p->index = index;
    p->how = how;
    p->off = (uint16_t)(off > UINT16_MAX ? UINT16_MAX : off);
    p->len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
    char pat[4 * MZ_MATCHED_PAT];
    va_start(ap, fmt);
    vsnprintf(pat, sizeof(pat), fmt, ap);
    va_end(ap);
    mz_match_part_set_pattern(p, pat); /* cut at a character boundary */
}

static void rec_regex(const struct mctx *c, uint8_t field, uint8_t index,
                      const struct det_regex *re, const char *s, size_t len)
{
    size_t off = 0, ml = len;
    if (!c->rec)
        return;
    (void)det_regex_span(re, s, len, &off, &ml);
    rec_add(c, field, index, MZ_MH_REGEX, off, ml, "%s", re->src ? re->src : "");
}

/* exe as the kernel reports it may end in " (deleted)" once unlinked. */
static bool same_file(const char *exe, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(exe, path, n) != 0)
        return false;
    return exe[n] == '\0' || strcmp(exe + n, " (deleted)") == 0;
}

static void mctx_use_path(struct mctx *c, const char *path)
{
    c->path = path;
    c->path_field =
        path && c->o->kind == MZ_OBS_FILE && path == c->o->file.path2 ? MZ_MF_PATH2
        : path && c->o->kind == MZ_OBS_EXEC && path == c->o->proc.exe && path != c->o->file.path
            ? MZ_MF_EXE
            : MZ_MF_PATH;
    c->path_len = 0;
    c->basename = NULL;
    if (path) {
        c->path_len = strlen(path);
        const char *sl = strrchr(path, '/');
        c->basename = sl ? sl + 1 : path;
    }
}

static void mctx_init(struct mctx *c, const struct mz_observation *o, bool new_domain)
{
    memset(c, 0, sizeof(*c));
    c->o = o;
    c->new_domain = new_domain;
    if (o->kind == MZ_OBS_FILE) {
        c->path = o->file.path;
        c->actions = o->file.actions;
        /* the process runs this very file: it was executed (the exec record
         * and the access record are separate in the kernel maps) */
        if (c->path && o->proc.exe && same_file(o->proc.exe, c->path))
            c->actions |= MZ_FA_EXECVE;
    } else if (o->kind == MZ_OBS_EXEC) {
        c->path = o->file.path ? o->file.path : o->proc.exe;
        c->actions = o->file.actions | MZ_FA_EXECVE;
    }
    mctx_use_path(c, c->path);
}

/* A rename, link or symlink touches two names: bases are tested on the
 * path, then on path2 (the target of a rename or a link, the name a symlink
 * creates), so that "sed -i" (a new file renamed over the original) or
 * "ln -sf /dev/null ~/.bash_history" match the file they replace. */
static const char *mctx_path2(const struct mctx *c)
{
    if (c->o->kind != MZ_OBS_FILE || !c->o->file.path2 || !c->o->file.path2[0])
        return NULL;
    if (!(c->o->file.actions & (MZ_FA_RENAME | MZ_FA_LINK | MZ_FA_SYMLINK)))
        return NULL;
    return c->o->file.path2;
}

static void mctx_addrs(struct mctx *c)
{
    if (c->addr_state)
        return;
    c->addr_state = 1;
    c->rok = det_addr_parse(c->o->flow.remote_addr, &c->rfam, c->raddr) == 0;
    c->lok = det_addr_parse(c->o->flow.local_addr, &c->lfam, c->laddr) == 0;
}

static bool base_ok(const struct det_base *b, const struct mctx *c)
{
    if (!c->path)
        return false;
    if (b->base && strcmp(c->basename, b->base) != 0)
        return false;
    if (b->dir) {
        size_t dl = strlen(b->dir);
        bool root = dl == 1 && b->dir[0] == '/';
        if (b->base) {
            /* dir + base: that file, directly in dir */
            size_t parent = (size_t)(c->basename - c->path); /* with the slash */
            if (root ? parent != 1 : (parent != dl + 1 || memcmp(c->path, b->dir, dl) != 0))
                return false;
        } else if (!root) {
            /* dir alone: anywhere under it */
            if (c->path_len <= dl || memcmp(c->path, b->dir, dl) != 0 || c->path[dl] != '/')
                return false;
        }
    }
    if (b->has_re && !det_regex_match(&b->re, c->path, c->path_len))
        return false;
    if (c->rec) {
        size_t boff = (size_t)(c->basename - c->path);
        if (b->dir && b->base)
            rec_add(c, c->path_field, 0, MZ_MH_EXACT, 0, c->path_len, "%s%s%s", b->dir,
                    strcmp(b->dir, "/") ? "/" : "", b->base);
        else if (b->base)
            rec_add(c, c->path_field, 0, MZ_MH_BASE, boff, c->path_len - boff, "%s", b->base);
        else if (b->dir)
            rec_add(c, c->path_field, 0, MZ_MH_DIR, 0, strlen(b->dir), "%s/", b->dir);
        if (b->has_re)
            rec_regex(c, c->path_field, 0, &b->re, c->path, c->path_len);
    }
    return true;
}

static bool str_item_at(struct mctx *c, const struct det_item *it, uint8_t field, uint8_t index,
                        const char *s)
{
    if (!s)
        return false;
    if (it->type != DET_ITEM_PATTERN)
        return false;
    size_t n = strlen(s);
    if (!det_regex_match(&it->re, s, n))
        return false;
    rec_regex(c, field, index, &it->re, s, n);
    return true;
}

static bool num_item_test(const struct det_item *it, int64_t v)
{
    switch (it->type) {
    case DET_ITEM_NUMBER:
        if (it->when == DET_WHEN_SMALLER)
            return v < it->number;
        if (it->when == DET_WHEN_BIGGER)
            return v > it->number;
        return v == it->number;
    case DET_ITEM_NUMBERS:
        for (size_t i = 0; i < it->n_numbers; i++)
            if (it->numbers[i] == v)
                return true;
        return false;
    case DET_ITEM_PATTERN: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)v);
        return det_regex_match(&it->re, buf, strlen(buf));
    }
    case DET_ITEM_CIDR:
    case DET_ITEM_TIME:
        break;
    }
    return false;
}

static void rec_cidr(const struct mctx *c, uint8_t field, const struct det_cidr *cidr)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (!c->rec)
        return;
    inet_ntop(cidr->family, cidr->addr, a, sizeof(a));
    rec_add(c, field, 0, MZ_MH_CIDR, 0, 0, "%s/%u", a, cidr->bits);
}

static bool num_item_at(struct mctx *c, const struct det_item *it, uint8_t field, int64_t v)
{
    if (!num_item_test(it, v))
        return false;
    if (!c->rec)
        return true;
    switch (it->type) {
    case DET_ITEM_NUMBER:
        rec_add(c, field, 0, MZ_MH_NUMBER, 0, 0, "%s%lld",
                it->when == DET_WHEN_SMALLER  ? "<"
                : it->when == DET_WHEN_BIGGER ? ">"
                                              : "=",
                (long long)it->number);
        break;
    case DET_ITEM_NUMBERS:
        rec_add(c, field, 0, MZ_MH_NUMBER, 0, 0, "=%lld (one of %zu)", (long long)v, it->n_numbers);
        break;
    default:
        rec_add(c, field, 0, MZ_MH_REGEX, 0, 0, "%s", it->re.src ? it->re.src : "");
        break;
    }
    return true;
}

static bool item_matched(const struct det_item *it, struct mctx *c)
{
    const struct mz_observation *o = c->o;
    const struct mz_process *p = &o->proc;
    switch (it->what) {
    case DET_WHAT_EXE:
        return str_item_at(c, it, MZ_MF_EXE, 0, p->exe);
    case DET_WHAT_COMM:
        return str_item_at(c, it, MZ_MF_COMM, 0, p->comm);
    case DET_WHAT_ARGS:
        return str_item_at(c, it, MZ_MF_ARGS, 0, p->args);
    case DET_WHAT_USER:
        return str_item_at(c, it, MZ_MF_USER, 0, p->user);
    case DET_WHAT_CWD:
        return str_item_at(c, it, MZ_MF_CWD, 0, p->cwd);
    case DET_WHAT_CONTAINER:
        return str_item_at(c, it, MZ_MF_CONTAINER, 0, p->container);
    case DET_WHAT_EXE_SHA256:
        return str_item_at(c, it, MZ_MF_SHA256, 0, p->exe_sha256);
    case DET_WHAT_UID:
        return num_item_at(c, it, MZ_MF_ID, p->uid);
    case DET_WHAT_GID:
        return num_item_at(c, it, MZ_MF_ID, p->gid);
    case DET_WHAT_EUID:
        return num_item_at(c, it, MZ_MF_ID, p->euid);
    case DET_WHAT_PID:
        return num_item_at(c, it, MZ_MF_ID, p->pid);
    case DET_WHAT_PPID:
        return num_item_at(c, it, MZ_MF_ID, p->ppid);
    case DET_WHAT_PARENT_EXE:
        return p->n_ancestry && str_item_at(c, it, MZ_MF_ANCESTRY, 0, p->ancestry[0]);
    case DET_WHAT_TASK_OR_PARENT_EXE:
        return str_item_at(c, it, MZ_MF_EXE, 0, p->exe) ||
               (p->n_ancestry && str_item_at(c, it, MZ_MF_ANCESTRY, 0, p->ancestry[0]));
    case DET_WHAT_TRUSTED_EXE:
        return p->exe_trusted && str_item_at(c, it, MZ_MF_EXE, 0, p->exe);
    case DET_WHAT_TRUSTED_PARENT_EXE:
        return p->parent_exe_trusted && p->n_ancestry &&
               str_item_at(c, it, MZ_MF_ANCESTRY, 0, p->ancestry[0]);
    case DET_WHAT_TRUSTED_TASK_OR_PARENT_EXE:
        return (p->exe_trusted && str_item_at(c, it, MZ_MF_EXE, 0, p->exe)) ||
               (p->parent_exe_trusted && p->n_ancestry &&
                str_item_at(c, it, MZ_MF_ANCESTRY, 0, p->ancestry[0]));
    case DET_WHAT_ANCESTRY:
        for (size_t i = 0; i < p->n_ancestry; i++)
            if (str_item_at(c, it, MZ_MF_ANCESTRY, (uint8_t)i, p->ancestry[i]))
                return true;
        return false;
    case DET_WHAT_PATH:
        return (o->kind == MZ_OBS_FILE || o->kind == MZ_OBS_EXEC) &&
               str_item_at(c, it, MZ_MF_PATH, 0, o->file.path);
    case DET_WHAT_PATH2:
        return (o->kind == MZ_OBS_FILE) && str_item_at(c, it, MZ_MF_PATH2, 0, o->file.path2);
    case DET_WHAT_DOMAIN:
        return o->kind == MZ_OBS_FLOW && str_item_at(c, it, MZ_MF_DOMAIN, 0, o->flow.domain);
    case DET_WHAT_REMOTE_ADDR:
    case DET_WHAT_LOCAL_ADDR: {
        if (o->kind != MZ_OBS_FLOW)
            return false;
        bool remote = it->what == DET_WHAT_REMOTE_ADDR;
        if (it->type == DET_ITEM_PATTERN)
            return str_item_at(c, it, remote ? MZ_MF_REMOTE_ADDR : MZ_MF_LOCAL_ADDR, 0,
                               remote ? o->flow.remote_addr : o->flow.local_addr);
        mctx_addrs(c);
        bool in = remote ? c->rok && det_cidr_contains(&it->cidr, c->rfam, c->raddr)
                         : c->lok && det_cidr_contains(&it->cidr, c->lfam, c->laddr);
        if (in)
            rec_cidr(c, remote ? MZ_MF_REMOTE_ADDR : MZ_MF_LOCAL_ADDR, &it->cidr);
        return in;
    }
    case DET_WHAT_REMOTE_PORT:
        return o->kind == MZ_OBS_FLOW && num_item_at(c, it, MZ_MF_REMOTE_PORT, o->flow.remote_port);
    case DET_WHAT_LOCAL_PORT:
        return o->kind == MZ_OBS_FLOW && num_item_at(c, it, MZ_MF_LOCAL_PORT, o->flow.local_port);
    case DET_WHAT_TIME: {
        uint64_t t = o->last_ns ? o->last_ns : o->first_ns;
        if (it->type != DET_ITEM_TIME)
            return num_item_at(c, it, MZ_MF_ID, (int64_t)(t / 1000000000ull));
        if (it->when == DET_WHEN_SMALLER)
            return t < it->time_ns;
        if (it->when == DET_WHEN_BIGGER)
            return t > it->time_ns;
        return t / 1000000000ull == it->time_ns / 1000000000ull;
    }
    case DET_WHAT_TAMPER_DETAIL:
        return o->kind == MZ_OBS_TAMPER && str_item_at(c, it, MZ_MF_DETAIL, 0, o->tamper.detail);
    case DET_WHAT_PRIV_TARGET:
        return o->kind == MZ_OBS_PRIV && num_item_at(c, it, MZ_MF_ID, o->priv.target);
    case DET_WHAT_UNSUPPORTED:
        break;
    }
    return false;
}

static bool groups_ok(const struct det_recipe *r, struct mctx *c)
{
    for (size_t g = 0; g < r->n_groups; g++) {
        const struct det_group *gr = &r->groups[g];
        bool any = false, all = true;
        for (size_t i = 0; i < gr->n_items; i++) {
            uint8_t before = c->rec ? c->rec->n : 0;
            bool pass = item_matched(&gr->items[i], c) == gr->items[i].pertinent;
            /* a must-not item, or one that did not pass, is not a part */
            if (c->rec && (!pass || !gr->items[i].pertinent))
                c->rec->n = before;
            any |= pass;
            all &= pass;
            if (gr->all && !all)
                break;
            if (!gr->all && any)
                break;
        }
        if (gr->all ? !all : !any)
            return false;
    }
    return true;
}

static bool actions_ok(const struct det_recipe *r, uint32_t actions)
{
    if (r->fa_excl & actions)
        return false;
    if (!r->fa_mask)
        return true;
    if (r->fa_all)
        return (actions & r->fa_mask) == r->fa_mask;
    return (actions & r->fa_mask) != 0;
}

static bool ports_has(const struct det_ports *p, uint16_t v)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == v)
            return true;
    return false;
}

/* remote_domains: the flow's domain, else any other name its address had
 * in the same answers (flow.domain_names: a CNAME chain's target on a list
 * matches). The part recorded names the field and, for the list, which
 * entry matched. */
static bool domains_ok(const struct det_recipe *r, const struct mz_flow *f, struct mctx *c)
{
    char entry[MZ_MATCHED_PAT];
    size_t off, len;
    if (!c->rec) {
        if (det_domset_match(r->domains, f->domain))
            return true;
        for (size_t i = 0; i < f->n_domain_names && i < MZ_DOMAIN_NAMES_MAX; i++)
            if (det_domset_match(r->domains, f->domain_names[i]))
                return true;
        return false;
    }
    if (det_domset_match_entry(r->domains, f->domain, entry, sizeof(entry), &off, &len)) {
        rec_add(c, MZ_MF_DOMAIN, 0, MZ_MH_LIST, off, len, "%s", entry);
        return true;
    }
    for (size_t i = 0; i < f->n_domain_names && i < MZ_DOMAIN_NAMES_MAX; i++) {
        if (det_domset_match_entry(r->domains, f->domain_names[i], entry, sizeof(entry), &off,
                                   &len)) {
            rec_add(c, MZ_MF_DOMAIN_NAMES, (uint8_t)i, MZ_MH_LIST, off, len, "%s", entry);
            return true;
        }
    }
    return false;
}

static bool net_ok(const struct det_recipe *r, struct mctx *c)
{
    const struct mz_flow *f = &c->o->flow;
    if (r->proto && f->proto != r->proto)
        return false;
    if (r->remote_ports.n && !ports_has(&r->remote_ports, f->remote_port))
        return false;
    if (r->local_ports.n && !ports_has(&r->local_ports, f->local_port))
        return false;
    if (r->remote_ports.n)
        rec_add(c, MZ_MF_REMOTE_PORT, 0, MZ_MH_PORT, 0, 0, "%u", f->remote_port);
    if (r->local_ports.n)
        rec_add(c, MZ_MF_LOCAL_PORT, 0, MZ_MH_PORT, 0, 0, "%u", f->local_port);
    if (r->flow.n || r->flow.excl) {
        uint32_t v = f->actions;
        if (f->direction == MZ_DIR_EGRESS)
            v |= DET_FLV_EGRESS;
        else if (f->direction == MZ_DIR_INGRESS)
            v |= DET_FLV_INGRESS;
        if (v & r->flow.excl)
            return false;
        if (r->flow.n) {
            bool any = false, all = true;
            for (size_t i = 0; i < r->flow.n; i++) {
                bool hit = (r->flow.masks[i] & v) != 0;
                any |= hit;
                all &= hit;
            }
            if (r->flow.all ? !all : !any)
                return false;
        }
    }
    if (r->n_remote_cidrs || r->n_local_cidrs) {
        mctx_addrs(c);
        if (r->n_remote_cidrs) {
            bool in = false;
            size_t i = 0;
            for (; c->rok && i < r->n_remote_cidrs && !in; i++)
                in = det_cidr_contains(&r->remote_cidrs[i], c->rfam, c->raddr);
            if (!in)
                return false;
            rec_cidr(c, MZ_MF_REMOTE_ADDR, &r->remote_cidrs[i - 1]);
        }
        if (r->n_local_cidrs) {
            bool in = false;
            size_t i = 0;
            for (; c->lok && i < r->n_local_cidrs && !in; i++)
                in = det_cidr_contains(&r->local_cidrs[i], c->lfam, c->laddr);
            if (!in)
                return false;
            rec_cidr(c, MZ_MF_LOCAL_ADDR, &r->local_cidrs[i - 1]);
        }
    }
    if (r->has_domains || r->algorithmic_min > 0 || r->new_domains) {
        if (!f->domain || !*f->domain)
            return false;
        if (r->has_domains && !domains_ok(r, f, c))
            return false;
        if (r->new_domains && !c->new_domain)
            return false;
        if (r->algorithmic_min > 0) {
            if (!c->score_done) {
                c->score = det_domain_score(f->domain);
                c->score_done = true;
            }
            if (c->score < r->algorithmic_min)
                return false;
            rec_add(c, MZ_MF_DOMAIN, 0, MZ_MH_SCORE, 0, 0, "score %.2f >= %.2f", c->score,
                    r->algorithmic_min);
        }
    }
    return true;
}

static bool kind_fits(const struct det_recipe *r, const struct mz_observation *o)
{
    switch (r->mech) {
    case DET_MECH_FILE:
        return o->kind == MZ_OBS_FILE;
    case DET_MECH_EXEC:
        return o->kind == MZ_OBS_EXEC;
    case DET_MECH_NET:
        return o->kind == MZ_OBS_FLOW;
    case DET_MECH_TAMPER:
        return o->kind == MZ_OBS_TAMPER;
    case DET_MECH_PRIV:
        return o->kind == MZ_OBS_PRIV;
    case DET_MECH_NONE:
        break;
    }
    return false;
}

/* Everything but the bases. */
static bool rest_ok(const struct det_recipe *r, struct mctx *c)
{
    switch (r->mech) {
    case DET_MECH_NET:
        if (!net_ok(r, c))
            return false;
        break;
    case DET_MECH_TAMPER:
        if (c->o->kind != MZ_OBS_TAMPER ||
            (r->tamper_mask && !(r->tamper_mask & (1u << (c->o->tamper.kind & 31)))))
            return false;
        break;
    case DET_MECH_PRIV:
        if (c->o->kind != MZ_OBS_PRIV || (r->priv_mask && !(r->priv_mask & c->o->priv.actions)))
            return false;
        break;
    default:
        if (!actions_ok(r, c->actions))
            return false;
        break;
    }
    return groups_ok(r, c);
}

static bool full_test(const struct det_recipe *r, struct mctx *c)
{
    if (!r->enabled || !kind_fits(r, c->o))
        return false;
    if (r->mech == DET_MECH_FILE || r->mech == DET_MECH_EXEC) {
        if (!c->path)
            return false;
        if (r->n_bases) {
            bool any = false;
            for (size_t i = 0; i < r->n_bases && !any; i++)
                any = base_ok(&r->bases[i], c);
            if (!any)
                return false;
        }
    }
    return rest_ok(r, c);
}

bool det_recipe_matches(const struct det_recipe *r, const struct mz_observation *o, bool new_domain)
{
    struct mctx c;
    mctx_init(&c, o, new_domain);
    if (full_test(r, &c))
        return true;
    const char *p2 = mctx_path2(&c);
    if (!p2)
        return false;
    mctx_use_path(&c, p2);
    return full_test(r, &c);
}

bool det_recipe_explain(const struct det_recipe *r, const struct mz_observation *o, bool new_domain,
                        struct mz_matched *out)
{
    struct mctx c;
    memset(out, 0, sizeof(*out));
    mctx_init(&c, o, new_domain);
    c.rec = out;
    /* rest_ok runs after the bases: the first base that matches is the one
     * recorded, the way full_test tries them */
    if (full_test(r, &c))
        return true;
    memset(out, 0, sizeof(*out));
    const char *p2 = mctx_path2(&c);
    if (p2) {
        mctx_use_path(&c, p2);
        if (full_test(r, &c))
            return true;
    }
    memset(out, 0, sizeof(*out));
    return false;
}

/* --- the set --------------------------------------------------------------------- */

static void index_recipe(struct pindex *ix, struct det_recipe *r, uint32_t ri)
{
    if (r->n_bases == 0) {
        cands_add(&ix->always, &ix->n_always, (struct cand){r, ri, NULL});
        return;
    }
    for (size_t i = 0; i < r->n_bases; i++) {
        const struct det_base *b = &r->bases[i];
        struct cand c = {r, ri, b};
        if (b->dir && b->base) {
            char key[8192];
            if (strcmp(b->dir, "/") == 0)
                snprintf(key, sizeof(key), "/%s", b->base);
            else
                snprintf(key, sizeof(key), "%s/%s", b->dir, b->base);
            smap_add(&ix->exact, key, c);
        } else if (b->base) {
            smap_add(&ix->by_base, b->base, c);
        } else if (b->dir) {
            smap_add(&ix->by_dir, b->dir, c);
        } else {
            char *d = b->has_re ? det_regex_anchored_dir(b->re.src) : NULL;
            if (d)
                smap_add(&ix->by_dir, d, c);
            else
                cands_add(&ix->scan, &ix->n_scan, c);
            free(d);
        }
    }
}

struct det_set *det_set_new(struct det_recipe **recipes, size_t n)
{
    struct det_set *s = mz_calloc(1, sizeof(*s));
    s->r = recipes;
    s->n = n;
    s->stamp = mz_calloc(n ? n : 1, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        struct det_recipe *r = recipes[i];
        r->set_index = (uint32_t)i;
        if (!r->enabled)
            continue;
        if (r->mech == DET_MECH_FILE)
            index_recipe(&s->file, r, (uint32_t)i);
        else if (r->mech == DET_MECH_EXEC)
            index_recipe(&s->exec, r, (uint32_t)i);
        else if (r->mech == DET_MECH_NET) {
            s->net = mz_realloc(s->net, (s->n_net + 1) * sizeof(uint32_t));
            s->net[s->n_net++] = (uint32_t)i;
        } else if (r->mech == DET_MECH_TAMPER || r->mech == DET_MECH_PRIV) {
            s->other = mz_realloc(s->other, (s->n_other + 1) * sizeof(uint32_t));
            s->other[s->n_other++] = (uint32_t)i;
        }
    }
    return s;
}

static void pindex_free(struct pindex *ix)
{
    smap_free(&ix->exact);
    smap_free(&ix->by_base);
    smap_free(&ix->by_dir);
    free(ix->scan);
    free(ix->always);
}

void det_set_free(struct det_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        det_recipe_free(s->r[i]);
    free(s->r);
    pindex_free(&s->file);
    pindex_free(&s->exec);
    free(s->net);
    free(s->other);
    free(s->stamp);
    free(s);
}

size_t det_set_count(const struct det_set *s)
{
    return s ? s->n : 0;
}

struct det_recipe *det_set_recipe(const struct det_set *s, size_t i)
{
    return i < s->n ? s->r[i] : NULL;
}

struct collect {
    struct det_set *s;
    struct mctx *c;
    struct det_recipe **out;
    size_t cap, n;
};

/* Tests a candidate whose base is already known to match (b == NULL: the
 * recipe has no bases), once per observation. */
static void try_cand(struct collect *k, const struct cand *cd)
{
    if (k->s->stamp[cd->ri] == k->s->cur)
        return;
    if (cd->b && !base_ok(cd->b, k->c))
        return;
    k->s->stamp[cd->ri] = k->s->cur;
    if (!rest_ok(cd->r, k->c))
        return;
    if (k->n < k->cap)
        k->out[k->n++] = cd->r;
}

static void try_slot(struct collect *k, const struct smap_slot *sl)
{
    if (!sl)
        return;
    for (size_t i = 0; i < sl->n; i++)
        try_cand(k, &sl->v[i]);
}

static void match_path(struct collect *k, const struct pindex *ix)
{
    const struct mctx *c = k->c;
    const char *p = c->path;
    size_t len = c->path_len;

    for (size_t i = 0; i < ix->n_always; i++)
        try_cand(k, &ix->always[i]);
    if (ix->exact.n)
        try_slot(k, smap_find(&ix->exact, p, len, det_hash64(p, len, 0)));
    if (ix->by_base.n) {
        size_t bl = len - (size_t)(c->basename - p);
        try_slot(k, smap_find(&ix->by_base, c->basename, bl, det_hash64(c->basename, bl, 0)));
    }
    if (ix->by_dir.n && p[0] == '/') {
        /* every ancestor directory: "/", "/a", "/a/b", ... */
        try_slot(k, smap_find(&ix->by_dir, "/", 1, det_hash64("/", 1, 0)));
        for (size_t i = 1; i < len; i++) {
            if (p[i] == '/')
                try_slot(k, smap_find(&ix->by_dir, p, i, det_hash64(p, i, 0)));
        }
    }
    for (size_t i = 0; i < ix->n_scan; i++)
        try_cand(k, &ix->scan[i]);
}

size_t det_set_match(struct det_set *s, const struct mz_observation *o, bool naive, bool new_domain,
                     struct det_recipe **out, size_t cap)
{
    struct mctx c;
    mctx_init(&c, o, new_domain);
    size_t n = 0;

    const char *p1 = c.path, *p2 = mctx_path2(&c);
    if (naive) {
        for (size_t i = 0; i < s->n; i++) {
            bool hit = full_test(s->r[i], &c);
            if (!hit && p2) {
                mctx_use_path(&c, p2);
                hit = full_test(s->r[i], &c);
                mctx_use_path(&c, p1);
            }
            if (hit && n < cap)
                out[n++] = s->r[i];
        }
        return n;
    }
    if (++s->cur == 0) { /* wrapped: forget every stamp */
        memset(s->stamp, 0, s->n * sizeof(uint32_t));
        s->cur = 1;
    }
    struct collect k = {s, &c, out, cap, 0};
    switch (o->kind) {
    case MZ_OBS_FILE:
        if (c.path)
            match_path(&k, &s->file);
        if (p2) {
            /* the stamps keep a recipe found on the path from coming twice */
            mctx_use_path(&c, p2);
            match_path(&k, &s->file);
        }
        break;
    case MZ_OBS_EXEC:
        if (c.path)
            match_path(&k, &s->exec);
        break;
    case MZ_OBS_FLOW:
        for (size_t i = 0; i < s->n_net; i++) {
            struct det_recipe *r = s->r[s->net[i]];
            if (rest_ok(r, &c) && k.n < cap)
                out[k.n++] = r;
        }
        break;
    case MZ_OBS_TAMPER:
    case MZ_OBS_PRIV:
        for (size_t i = 0; i < s->n_other; i++) {
            struct det_recipe *r = s->r[s->other[i]];
            if (kind_fits(r, o) && rest_ok(r, &c) && k.n < cap)
                out[k.n++] = r;
        }
        break;
    default:
        break;
    }
    /* the order of the set, as the naive loop gives it */
    for (size_t i = 1; i < k.n; i++) {
        struct det_recipe *x = out[i];
        size_t j = i;
        for (; j > 0 && out[j - 1]->set_index > x->set_index; j--)
            out[j] = out[j - 1];
        out[j] = x;
    }
    return k.n;
}
