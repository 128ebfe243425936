// SPDX-License-Identifier: Apache-2.0
/*
 * det_load.c - the alchemy loader: YAML text -> compiled det_recipe.
 *
 * The text is loaded as a libyaml document, whose nodes keep their marks, so
 * every diagnostic names file:line:column and the field. A file is a list of
 * recipes (a single mapping is accepted too). Errors reject the whole file;
 * fields mizan knows but cannot act on yet, and unknown fields, are
 * warnings. The accepted fields and their meaning are in docs/recipes.md.
 *
 * The walk follows the recipe structure (fixed depth); aliases are followed
 * but never expanded into copies, and list lengths are capped, so hostile
 * input costs time linear in its size.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/log.h"
#include "core/util.h"
#include "detect/det_int.h"

/* --- diagnostics ------------------------------------------------------------ */

void det_diag_add(struct det_diag *d, bool error, const char *file, int line, int col,
                  const char *field, const char *fmt, ...)
{
    char why[512], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "%s:%d:%d: %s%s%s", file, line, col, field ? field : "",
             field ? ": " : "", why);
    if (d->n >= 10000) /* a cap on what one load may report */
        return;
    d->msgs = mz_realloc(d->msgs, (d->n + 1) * sizeof(char *));
    d->is_error = mz_realloc(d->is_error, (d->n + 1) * sizeof(bool));
    d->msgs[d->n] = mz_strdup(msg);
    d->is_error[d->n] = error;
    d->n++;
    if (error)
        d->n_errors++;
    else
        d->n_warnings++;
}

void det_diag_free(struct det_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    free(d->is_error);
    memset(d, 0, sizeof(*d));
}

/* --- names ------------------------------------------------------------------ */

struct name_bits {
    const char *name;
    uint32_t bits;
};

#define FA_MODIFY                                                                                  \
    (MZ_FA_FSYNC | MZ_FA_WRITE | MZ_FA_RENAME | MZ_FA_TRUNCATE | MZ_FA_UNLINK | MZ_FA_CREATE |     \
     MZ_FA_LINK | MZ_FA_CHMOD | MZ_FA_CHOWN | MZ_FA_SYMLINK | MZ_FA_SETATTR)
#define FA_ACCESS_NO_MMAP (FA_MODIFY | MZ_FA_LLSEEK | MZ_FA_OPEN | MZ_FA_READ | MZ_FA_CLOSE)

static const struct name_bits file_actions[] = {
    {"open", MZ_FA_OPEN},
    {"read", MZ_FA_READ},
    {"write", MZ_FA_WRITE},
    {"create", MZ_FA_CREATE},
    {"truncate", MZ_FA_TRUNCATE},
    {"unlink", MZ_FA_UNLINK},
    {"rename", MZ_FA_RENAME},
    {"link", MZ_FA_LINK},
    {"execve", MZ_FA_EXECVE},
    {"mmap", MZ_FA_MMAP},
    {"close", MZ_FA_CLOSE},
    {"fsync", MZ_FA_FSYNC},
    {"flock", MZ_FA_FLOCK},
    {"llseek", MZ_FA_LLSEEK},
    {"fasync", MZ_FA_FASYNC},
    {"chmod", MZ_FA_CHMOD},
    {"chown", MZ_FA_CHOWN},
    {"symlink", MZ_FA_SYMLINK},
    {"memfd", MZ_FA_MEMFD},
    {"setattr", MZ_FA_SETATTR},
    /* macros */
    {"any", (1u << MZ_FA_COUNT) - 1},
    {"open_related", MZ_FA_OPEN | MZ_FA_CLOSE},
    {"read_related", MZ_FA_READ | MZ_FA_MMAP | MZ_FA_LLSEEK},
    {"modify_related", FA_MODIFY},
    /* used in the alchemy examples though absent from the reference table */
    {"write_related", MZ_FA_WRITE | MZ_FA_TRUNCATE | MZ_FA_FSYNC | MZ_FA_CREATE},
    {"access_related", FA_ACCESS_NO_MMAP | MZ_FA_MMAP},
    {"access_no_mmap_related", FA_ACCESS_NO_MMAP},
    {"tamper_related", MZ_FA_RENAME | MZ_FA_TRUNCATE | MZ_FA_UNLINK | MZ_FA_LINK},
};

/* Flow names: the alchemy ones and mizan's record actions. */
static const struct name_bits flow_actions[] = {
    {"created", MZ_FL_CONNECT | MZ_FL_ACCEPT | MZ_FL_BIND | MZ_FL_LISTEN},
    {"started", MZ_FL_CONNECT | MZ_FL_ACCEPT | MZ_FL_BIND | MZ_FL_LISTEN},
    {"ongoing", MZ_FL_ESTABLISHED | MZ_FL_SEND},
    {"ended", MZ_FL_CLOSE},
    {"terminated", MZ_FL_CLOSE},
    {"terminator", MZ_FL_CLOSE},
    {"egress", DET_FLV_EGRESS},
    {"outgoing", DET_FLV_EGRESS},
    {"ingress", DET_FLV_INGRESS},
    {"incoming", DET_FLV_INGRESS},
    {"connect", MZ_FL_CONNECT},
    {"accept", MZ_FL_ACCEPT},
    {"bind", MZ_FL_BIND},
    {"listen", MZ_FL_LISTEN},
    {"send", MZ_FL_SEND},
    {"established", MZ_FL_ESTABLISHED},
    {"close", MZ_FL_CLOSE},
    {"failed", MZ_FL_FAILED},
    {"dropip", MZ_FL_DROPIP},
    {"dropdomain", MZ_FL_DROPDOMAIN},
    {"blocked", MZ_FL_BLOCKED},
    {"any", 0xffffffffu},
};

static const struct name_bits tamper_kinds[] = {
    {"map_write", 1u << MZ_TAMPER_MAP_WRITE},       {"prog_load", 1u << MZ_TAMPER_PROG_LOAD},
    {"module_load", 1u << MZ_TAMPER_MODULE_LOAD},   {"map_open", 1u << MZ_TAMPER_MAP_OPEN},
    {"record_flood", 1u << MZ_TAMPER_RECORD_FLOOD}, {"any", 0xffffffffu},
};

static const struct name_bits priv_actions[] = {
    {"setuid", MZ_PA_SETUID}, {"setgid", MZ_PA_SETGID}, {"capset", MZ_PA_CAPSET},
    {"ptrace", MZ_PA_PTRACE}, {"any", 0xffffffffu},
};

static const char *const times_names[] = {
    [DET_TIMES_PROC] = "times_per_proc",
    [DET_TIMES_EXE] = "times_per_exe",
    [DET_TIMES_PARENT_PROC] = "times_per_parent_proc",
    [DET_TIMES_PARENT_EXE] = "times_per_parent_exe",
    [DET_TIMES_FULL_ANCESTRY] = "times_per_full_ancestry",
    [DET_TIMES_CMD] = "times_per_cmd",
    [DET_TIMES_TOTAL] = "times_in_total",
};

const char *det_times_name(enum det_times_kind k)
{
    return (unsigned)k < DET_TIMES_COUNT ? times_names[k] : "?";
}

const char *det_mech_name(enum det_mechanism m)
{
    switch (m) {
    case DET_MECH_FILE:
        return "file_access";
    case DET_MECH_EXEC:
        return "execution";
    case DET_MECH_NET:
        return "network_peers";
    case DET_MECH_TAMPER:
        return "tamper";
    case DET_MECH_PRIV:
        return "privilege";
    case DET_MECH_NONE:
        break;
    }
    return "none";
}

static const struct {
    const char *name;
    enum det_what what;
} whats[] = {
    {"exe", DET_WHAT_EXE},
    {"comm", DET_WHAT_COMM},
    {"cmd", DET_WHAT_ARGS},
    {"args", DET_WHAT_ARGS},
    {"cmdline", DET_WHAT_ARGS},
    {"uid", DET_WHAT_UID},
    {"gid", DET_WHAT_GID},
    {"euid", DET_WHAT_EUID},
    {"pid", DET_WHAT_PID},
    {"ppid", DET_WHAT_PPID},
    {"user", DET_WHAT_USER},
    {"cwd", DET_WHAT_CWD},
    {"container", DET_WHAT_CONTAINER},
    {"parent_exe", DET_WHAT_PARENT_EXE},
    {"task_or_parent_exe", DET_WHAT_TASK_OR_PARENT_EXE},
    {"ancestry", DET_WHAT_ANCESTRY},
    {"ancestor_exe", DET_WHAT_ANCESTRY},
    {"ancient_exe", DET_WHAT_ANCESTRY}, /* Jibril's name: any ancestor's exe */
    {"file", DET_WHAT_PATH},
    {"path", DET_WHAT_PATH},
    {"path2", DET_WHAT_PATH2},
    {"domain", DET_WHAT_DOMAIN},
    {"remote_domain", DET_WHAT_DOMAIN},
    {"remote_addr", DET_WHAT_REMOTE_ADDR},
    {"remote_ip", DET_WHAT_REMOTE_ADDR},
    {"local_addr", DET_WHAT_LOCAL_ADDR},
    {"local_ip", DET_WHAT_LOCAL_ADDR},
    {"remote_port", DET_WHAT_REMOTE_PORT},
    {"local_port", DET_WHAT_LOCAL_PORT},
    {"time", DET_WHAT_TIME},
    {"exe_sha256", DET_WHAT_EXE_SHA256},
    {"tamper_detail", DET_WHAT_TAMPER_DETAIL},
    {"priv_target", DET_WHAT_PRIV_TARGET},
    {"trusted_exe", DET_WHAT_TRUSTED_EXE},
    {"trusted_parent_exe", DET_WHAT_TRUSTED_PARENT_EXE},
    {"trusted_task_or_parent_exe", DET_WHAT_TRUSTED_TASK_OR_PARENT_EXE},
};

/* --- YAML helpers ------------------------------------------------------------ */

struct ld {
    const char *file;
    yaml_document_t *doc;
    struct det_diag *diag;
    const struct det_load_opts *o;
    size_t errors;
};

#define LN(n)  ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)

static void lerr(struct ld *l, const yaml_node_t *n, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void lwarn(struct ld *l, const yaml_node_t *n, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lerr(struct ld *l, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    det_diag_add(l->diag, true, l->file, n ? LN(n) : 1, n ? COL(n) : 1, field, "%s", why);
    l->errors++;
}

static void lwarn(struct ld *l, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    det_diag_add(l->diag, false, l->file, n ? LN(n) : 1, n ? COL(n) : 1, field, "%s", why);
}

static yaml_node_t *nd(struct ld *l, int idx)
{
    return yaml_document_get_node(l->doc, idx);
}

static bool is_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* The scalar's text, or NULL (with an error) when n is not a scalar or too long. */
static const char *scalar(struct ld *l, const yaml_node_t *n, const char *field)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        lerr(l, n, field, "expected a scalar");
        return NULL;
    }
    if (n->data.scalar.length > DET_STR_MAX) {
        lerr(l, n, field, "longer than %u bytes", DET_STR_MAX);
        return NULL;
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        lerr(l, n, field, "contains a NUL byte");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static char *dup_scalar(struct ld *l, const yaml_node_t *n, const char *field)
{
    if (is_null(n))
        return NULL;
    const char *s = scalar(l, n, field);
    return s ? mz_strdup(s) : NULL;
}

static int parse_bool_node(struct ld *l, const yaml_node_t *n, const char *field, bool *out)
{
    const char *s = scalar(l, n, field);
    if (!s)
        return -EINVAL;
    if (mz_parse_bool(s, out) != 0 && strcasecmp(s, "True") != 0 && strcasecmp(s, "False") != 0) {
        lerr(l, n, field, "expected true or false, got \"%.40s\"", s);
        return -EINVAL;
    }
    if (strcasecmp(s, "true") == 0)
        *out = true;
    else if (strcasecmp(s, "false") == 0)
        *out = false;
    return 0;
}

static int parse_i64_node(struct ld *l, const yaml_node_t *n, const char *field, int64_t min,
                          int64_t max, int64_t *out)
{
    const char *s = scalar(l, n, field);
    if (!s)
        return -EINVAL;
    if (mz_parse_i64(s, min, max, out) != 0) {
        lerr(l, n, field, "expected an integer in [%lld, %lld], got \"%.40s\"", (long long)min,
             (long long)max, s);
        return -EINVAL;
    }
    return 0;
}

/* Calls fn for each element of a sequence, or once for a scalar. */
typedef void (*each_fn)(struct ld *l, yaml_node_t *item, void *arg);
static void each(struct ld *l, yaml_node_t *n, const char *field, bool allow_scalar, each_fn fn,
                 void *arg)
{
    if (is_null(n))
        return;
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t count = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            if (++count > DET_LIST_ITEMS_MAX) {
                lerr(l, n, field, "more than %u items", DET_LIST_ITEMS_MAX);
                return;
            }
            fn(l, nd(l, *it), arg);
        }
        return;
    }
    if (allow_scalar && n->type == YAML_SCALAR_NODE) {
        fn(l, n, arg);
        return;
    }
    lerr(l, n, field, allow_scalar ? "expected a list or a scalar" : "expected a list");
}

/* --- recipe fields ------------------------------------------------------------ */

struct names_arg {
    const struct name_bits *table;
    size_t n_table;
    const char *field;
    uint32_t mask;
    uint32_t *per_name; /* optional: one mask per listed name */
    size_t n_per_name, cap_per_name;
};

static void name_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct names_arg *a = argp;
    const char *s = scalar(l, n, a->field);
    if (!s)
        return;
    /* "open|mmap|unlink" in one scalar, as the alchemy examples write it */
    char buf[512];
    if (mz_strlcpy(buf, s, sizeof(buf)) != 0) {
        lerr(l, n, a->field, "too long");
        return;
    }
    char *p = buf;
    while (p) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && p[len - 1] == ' ')
            p[--len] = '\0';
        bool found = false;
        for (size_t i = 0; i < a->n_table; i++) {
            if (strcasecmp(a->table[i].name, p) == 0) {
                a->mask |= a->table[i].bits;
                if (a->per_name) {
                    if (a->n_per_name < a->cap_per_name)
                        a->per_name[a->n_per_name++] = a->table[i].bits;
                    else
                        lerr(l, n, a->field, "more than %zu names", a->cap_per_name);
                }
                found = true;
                break;
            }
        }
        if (!found)
            lerr(l, n, a->field, "unknown action \"%.40s\"", p);
        p = bar ? bar + 1 : NULL;
    }
}

static int parse_how(struct ld *l, yaml_node_t *n, const char *field, bool *all)
{
    const char *s = scalar(l, n, field);
    if (!s)
        return -EINVAL;
    if (strcasecmp(s, "any") == 0 || strcasecmp(s, "or") == 0)
        *all = false;
    else if (strcasecmp(s, "all") == 0 || strcasecmp(s, "and") == 0)
        *all = true;
    else {
        lerr(l, n, field, "expected any or all, got \"%.40s\"", s);
        return -EINVAL;
    }
    return 0;
}

struct times_arg {
    struct det_recipe *r;
};

static void times_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct det_recipe *r = ((struct times_arg *)argp)->r;
    if (!n || n->type != YAML_MAPPING_NODE) {
        lerr(l, n, "times", "expected a mapping {kind, max}");
        return;
    }
    int kind = -1;
    int64_t max = -1;
    yaml_node_t *kind_node = n;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "times");
        if (!key)
            continue;
        if (strcmp(key, "kind") == 0) {
            const char *s = scalar(l, v, "times.kind");
            kind_node = v;
            if (!s)
                continue;
            for (int i = 0; i < DET_TIMES_COUNT; i++)
                if (strcmp(s, times_names[i]) == 0)
                    kind = i;
            if (strcmp(s, "times_per_host") == 0 || strcmp(s, "times_per_hostname") == 0 ||
                strcmp(s, "times_total") == 0)
                kind = DET_TIMES_TOTAL;
            if (kind < 0)
                lerr(l, v, "times.kind", "unknown kind \"%.40s\"", s);
        } else if (strcmp(key, "max") == 0) {
            (void)parse_i64_node(l, v, "times.max", 0, UINT32_MAX, &max);
        } else {
            lwarn(l, k, "times", "unsupported field \"%.40s\" ignored", key);
        }
    }
    if (kind < 0 || max < 0) {
        if (kind < 0 && kind_node == n)
            lerr(l, n, "times", "missing kind");
        if (max < 0)
            lerr(l, n, "times", "missing or invalid max");
        return;
    }
    if (max == 0) {
        lwarn(l, n, "times.max", "0 means no limit; entry ignored");
        return;
    }
    for (size_t i = 0; i < r->n_times; i++) {
        if ((int)r->times[i].kind == kind) { /* two limits of one kind: the tighter wins */
            if ((uint32_t)max < r->times[i].max)
                r->times[i].max = (uint32_t)max;
            lwarn(l, n, "times", "a second %s limit; the tighter one (max %u) applies",
                  times_names[kind], r->times[i].max);
            return;
        }
    }
    r->times[r->n_times].kind = (enum det_times_kind)kind;
    r->times[r->n_times].max = (uint32_t)max;
    r->n_times++;
}

enum what_kind { WHAT_TEXT, WHAT_NUMBER, WHAT_OTHER };

/* Text fields are matched by a pattern only (a number, numbers or time item
 * on them never matches); numbers also take a pattern on their decimal text. */
static enum what_kind what_kind(enum det_what w)
{
    switch (w) {
    case DET_WHAT_EXE:
    case DET_WHAT_COMM:
    case DET_WHAT_ARGS:
    case DET_WHAT_USER:
    case DET_WHAT_CWD:
    case DET_WHAT_CONTAINER:
    case DET_WHAT_EXE_SHA256:
    case DET_WHAT_PARENT_EXE:
    case DET_WHAT_TASK_OR_PARENT_EXE:
    case DET_WHAT_ANCESTRY:
    case DET_WHAT_PATH:
    case DET_WHAT_PATH2:
    case DET_WHAT_DOMAIN:
    case DET_WHAT_TAMPER_DETAIL:
        return WHAT_TEXT;
    case DET_WHAT_UID:
    case DET_WHAT_GID:
    case DET_WHAT_EUID:
    case DET_WHAT_PID:
    case DET_WHAT_PPID:
    case DET_WHAT_REMOTE_PORT:
    case DET_WHAT_LOCAL_PORT:
    case DET_WHAT_PRIV_TARGET:
        return WHAT_NUMBER;
    default:
        return WHAT_OTHER;
    }
}

static void item_parse(struct ld *l, yaml_node_t *n, struct det_group *g, bool group_pertinent)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        lerr(l, n, "arbitrary.items", "expected a mapping");
        return;
    }
    struct det_item it = {.pertinent = group_pertinent, .what = DET_WHAT_UNSUPPORTED};
    int n_values = 0;
    bool what_seen = false, ok = true;
    const char *what_name = "";
    yaml_node_t *what_node = n;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "arbitrary.items");
        if (!key) {
            ok = false;
            continue;
        }
        if (strcmp(key, "what") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.what");
            what_seen = true;
            what_node = v;
            if (!s) {
                ok = false;
                continue;
            }
            what_name = s;
            for (size_t i = 0; i < MZ_ARRAY_SIZE(whats); i++)
                if (strcmp(s, whats[i].name) == 0)
                    it.what = whats[i].what;
        } else if (strcmp(key, "which") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.which");
            if (!s)
                ok = false;
            else if (strcmp(s, "pertinent") == 0)
                it.pertinent = true;
            else if (strcmp(s, "irrelevant") == 0)
                it.pertinent = false;
            else {
                lerr(l, v, "arbitrary.items.which", "expected pertinent or irrelevant");
                ok = false;
            }
        } else if (strcmp(key, "pattern") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.pattern");
            char why[256];
            n_values++;
            it.type = DET_ITEM_PATTERN;
            det_regex_free(&it.re); /* a repeated key replaces (and is an error) */
            if (!s || det_regex_compile(&it.re, s, why, sizeof(why)) != 0) {
                if (s)
                    lerr(l, v, "arbitrary.items.pattern", "%s", why);
                ok = false;
            }
        } else if (strcmp(key, "number") == 0) {
            n_values++;
            it.type = DET_ITEM_NUMBER;
            if (parse_i64_node(l, v, "arbitrary.items.number", INT64_MIN, INT64_MAX, &it.number))
                ok = false;
        } else if (strcmp(key, "numbers") == 0) {
            n_values++;
            it.type = DET_ITEM_NUMBERS;
            free(it.numbers);
            it.numbers = NULL;
            it.n_numbers = 0;
            if (!v || v->type != YAML_SEQUENCE_NODE) {
                lerr(l, v, "arbitrary.items.numbers", "expected a list of integers");
                ok = false;
                continue;
            }
            for (yaml_node_item_t *x = v->data.sequence.items.start; x < v->data.sequence.items.top;
                 x++) {
                int64_t num;
                if (it.n_numbers >= 4096) {
                    lerr(l, v, "arbitrary.items.numbers", "more than 4096 numbers");
                    ok = false;
                    break;
                }
                if (parse_i64_node(l, nd(l, *x), "arbitrary.items.numbers", INT64_MIN, INT64_MAX,
                                   &num)) {
                    ok = false;
                    continue;
                }
                it.numbers = mz_realloc(it.numbers, (it.n_numbers + 1) * sizeof(int64_t));
                it.numbers[it.n_numbers++] = num;
            }
        } else if (strcmp(key, "cidr") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.cidr");
            n_values++;
            it.type = DET_ITEM_CIDR;
            if (!s || det_cidr_parse(s, &it.cidr) != 0) {
                if (s)
                    lerr(l, v, "arbitrary.items.cidr", "not a CIDR: \"%.60s\"", s);
                ok = false;
            }
        } else if (strcmp(key, "time") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.time");
            n_values++;
            it.type = DET_ITEM_TIME;
            if (!s || mz_parse_rfc3339(s, &it.time_ns) != 0) {
                if (s)
                    lerr(l, v, "arbitrary.items.time", "not an RFC 3339 time: \"%.60s\"", s);
                ok = false;
            }
        } else if (strcmp(key, "when") == 0) {
            const char *s = scalar(l, v, "arbitrary.items.when");
            if (!s)
                ok = false;
            else if (strcmp(s, "equal") == 0 || strcmp(s, "equals") == 0)
                it.when = DET_WHEN_EQUAL;
            else if (strcmp(s, "smaller") == 0 || strcmp(s, "before") == 0)
                it.when = DET_WHEN_SMALLER;
            else if (strcmp(s, "bigger") == 0 || strcmp(s, "after") == 0)
                it.when = DET_WHEN_BIGGER;
            else {
                lerr(l, v, "arbitrary.items.when", "expected smaller, bigger or equal");
                ok = false;
            }
        } else {
            lwarn(l, k, "arbitrary.items", "unsupported field \"%.40s\" ignored", key);
        }
    }
    if (!what_seen) {
        lerr(l, n, "arbitrary.items.what", "missing");
        ok = false;
    }
    if (n_values != 1) {
        lerr(l, n, "arbitrary.items", "needs exactly one of pattern, number, numbers, cidr, time");
        ok = false;
    }
    if (ok && it.what == DET_WHAT_UNSUPPORTED) {
        /* say how dropping it changes the recipe: never silently */
        lwarn(l, what_node, "arbitrary.items.what",
              "\"%.40s\" is not supported by mizan; item ignored, so the recipe matches "
              "differently: its %s group %s",
              what_name, g->all ? "AND" : "OR",
              g->all ? "no longer requires this item (matches more)"
                     : "can no longer pass through this item (matches less)");
        ok = false;
    }
    if (ok && what_kind(it.what) == WHAT_TEXT && it.type != DET_ITEM_PATTERN)
        lwarn(l, n, "arbitrary.items",
              "\"%.40s\" is text: only a pattern can match it; this item never matches", what_name);
    if (ok && it.when != DET_WHEN_EQUAL && it.type != DET_ITEM_NUMBER && it.type != DET_ITEM_TIME)
        lwarn(l, n, "arbitrary.items.when",
              "applies to number and time only; ignored (the item tests equality)");
    if (ok && it.type == DET_ITEM_CIDR && it.what != DET_WHAT_REMOTE_ADDR &&
        it.what != DET_WHAT_LOCAL_ADDR) {
        lerr(l, n, "arbitrary.items.cidr", "cidr needs what: remote_addr or local_addr");
        ok = false;
    }
    if (!ok) {
        det_regex_free(&it.re);
        free(it.numbers);
        return;
    }
    g->items = mz_realloc(g->items, (g->n_items + 1) * sizeof(*g->items));
    g->items[g->n_items++] = it;
}

/* An exclusion (an item that must not match) by a program's name: any copy
 * of any program, given that name, anywhere, is excluded. Warned about;
 * a full path (a pattern anchored at "^/") or trusted_exe is the fix. */
static void warn_name_exclusion(struct ld *l, const yaml_node_t *n, const struct det_recipe *r,
                                const struct det_item *it)
{
    if (it->pertinent || it->type != DET_ITEM_PATTERN || !it->re.src)
        return;
    const char *what = NULL;
    switch (it->what) {
    case DET_WHAT_EXE:
        what = "exe";
        break;
    case DET_WHAT_PARENT_EXE:
        what = "parent_exe";
        break;
    case DET_WHAT_TASK_OR_PARENT_EXE:
        what = "task_or_parent_exe";
        break;
    case DET_WHAT_ANCESTRY:
        what = "ancestry";
        break;
    case DET_WHAT_COMM:
        what = "comm";
        break;
    default:
        return;
    }
    if (it->what != DET_WHAT_COMM && strncmp(it->re.src, "^/", 2) == 0)
        return; /* a full path */
    lwarn(l, n, "arbitrary.items.pattern",
          "recipe %.60s: exclusion by %s name only (\"%.60s\"): a copy of any program with "
          "that name is excluded too; match the full path (\"^/usr/bin/...$\") or use "
          "trusted_%s",
          r->id ? r->id : "(unnamed)", what, it->re.src,
          it->what == DET_WHAT_COMM || it->what == DET_WHAT_ANCESTRY ? "exe" : what);
}

static void group_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct det_recipe *r = argp;
    if (!n || n->type != YAML_MAPPING_NODE) {
        lerr(l, n, "arbitrary", "expected a mapping {how, which, items}");
        return;
    }
    struct det_group g = {.all = true};
    bool pertinent = true;
    yaml_node_t *items = NULL;
    /* which: first, since it is the default of the items' own which */
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "arbitrary");
        if (!key)
            continue;
        if (strcmp(key, "how") == 0) {
            (void)parse_how(l, v, "arbitrary.how", &g.all);
        } else if (strcmp(key, "which") == 0) {
            const char *s = scalar(l, v, "arbitrary.which");
            if (s && strcmp(s, "irrelevant") == 0)
                pertinent = false;
            else if (s && strcmp(s, "pertinent") != 0)
                lerr(l, v, "arbitrary.which", "expected pertinent or irrelevant");
        } else if (strcmp(key, "items") == 0) {
            items = v;
        } else {
            lwarn(l, k, "arbitrary", "unsupported field \"%.40s\" ignored", key);
        }
    }
    if (!items || is_null(items)) {
        lwarn(l, n, "arbitrary.items", "group without items ignored");
        return;
    }
    if (items->type != YAML_SEQUENCE_NODE) {
        lerr(l, items, "arbitrary.items", "expected a list");
        return;
    }
    size_t count = 0;
    for (yaml_node_item_t *it = items->data.sequence.items.start;
         it < items->data.sequence.items.top; it++) {
        if (++count > 1024) {
            lerr(l, items, "arbitrary.items", "more than 1024 items");
            break;
        }
        size_t before = g.n_items;
        item_parse(l, nd(l, *it), &g, pertinent);
        if (g.n_items > before)
            warn_name_exclusion(l, nd(l, *it), r, &g.items[before]);
    }
    if (g.n_items == 0) {
        free(g.items);
        return;
    }
    r->groups = mz_realloc(r->groups, (r->n_groups + 1) * sizeof(*r->groups));
    r->groups[r->n_groups++] = g;
}

static void strip_slashes(char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* A base entry from a mapping {dir, base, regex}, or from the recipe itself
 * (the single-entry form: base/dir/regex at the recipe's top level). */
static void base_fields(struct ld *l, yaml_node_t *k, yaml_node_t *v, const char *key,
                        struct det_base *b, bool *ok)
{
    if (strcmp(key, "dir") == 0) {
        char *s = dup_scalar(l, v, "bases.dir");
        if (!s) {
            *ok = false;
            return;
        }
        strip_slashes(s);
        if (s[0] != '/') {
            lerr(l, v, "bases.dir", "must be an absolute path");
            *ok = false;
        }
        free(b->dir);
        b->dir = s;
    } else if (strcmp(key, "base") == 0) {
        char *s = dup_scalar(l, v, "bases.base");
        if (!s) {
            *ok = false;
            return;
        }
        if (strchr(s, '/')) {
            lerr(l, v, "bases.base", "a base name cannot contain '/'");
            *ok = false;
        }
        free(b->base);
        b->base = s;
    } else if (strcmp(key, "regex") == 0) {
        const char *s = scalar(l, v, "bases.regex");
        char why[256];
        if (!s) {
            *ok = false;
            return;
        }
        det_regex_free(&b->re);
        if (det_regex_compile(&b->re, s, why, sizeof(why)) != 0) {
            lerr(l, v, "bases.regex", "%s", why);
            *ok = false;
            return;
        }
        b->has_re = true;
    } else {
        lwarn(l, k, "bases", "unsupported field \"%.40s\" ignored", key);
    }
}

static void base_free(struct det_base *b)
{
    free(b->dir);
    free(b->base);
    det_regex_free(&b->re);
}

static void base_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct det_recipe *r = argp;
    struct det_base b = {0};
    bool ok = true;
    if (!n || n->type != YAML_MAPPING_NODE) {
        lerr(l, n, "bases", "expected a mapping {dir, base, regex}");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "bases");
        if (!key) {
            ok = false;
            continue;
        }
        base_fields(l, k, v, key, &b, &ok);
    }
    if (ok && !b.dir && !b.base && !b.has_re) {
        lerr(l, n, "bases", "needs at least one of dir, base, regex");
        ok = false;
    }
    if (!ok) {
        base_free(&b);
        return;
    }
    r->bases = mz_realloc(r->bases, (r->n_bases + 1) * sizeof(*r->bases));
    r->bases[r->n_bases++] = b;
}

struct cidrs_arg {
    struct det_cidr **v;
    size_t *n;
    const char *field;
};

static void cidr_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct cidrs_arg *a = argp;
    const char *s = scalar(l, n, a->field);
    struct det_cidr c;
    if (!s)
        return;
    if (det_cidr_parse(s, &c) != 0) {
        lerr(l, n, a->field, "not a CIDR: \"%.60s\"", s);
        return;
    }
    *a->v = mz_realloc(*a->v, (*a->n + 1) * sizeof(c));
    (*a->v)[(*a->n)++] = c;
}

struct ports_arg {
    struct det_ports *p;
    const char *field;
};

static void port_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct ports_arg *a = argp;
    int64_t v;
    if (parse_i64_node(l, n, a->field, 0, 65535, &v) != 0)
        return;
    if (v == 0) /* 0 means any port */
        return;
    a->p->v = mz_realloc(a->p->v, (a->p->n + 1) * sizeof(uint16_t));
    a->p->v[a->p->n++] = (uint16_t)v;
}

struct doms_arg {
    struct det_domset **set;
    enum det_dom_type type;
    const char *lists_dir;
    bool file;
    bool no_files;
};

static void dom_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct doms_arg *a = argp;
    const char *s = scalar(l, n, a->file ? "remote_domains_file" : "remote_domains");
    if (!s)
        return;
    if (!*a->set)
        *a->set = det_domset_new(a->type);
    if (!a->file) {
        int rc = det_domset_add(*a->set, s);
        if (rc != 0)
            lerr(l, n, "remote_domains",
                 rc == -E2BIG ? "too many domains" : "not a domain: \"%.60s\"", s);
        return;
    }
    char path[4096], why[512];
    if (a->no_files) {
        lwarn(l, n, "remote_domains_file", "not read here; this list matches nothing");
        return;
    }
    if (s[0] == '/')
        snprintf(path, sizeof(path), "%s", s);
    else
        snprintf(path, sizeof(path), "%s/%s", a->lists_dir ? a->lists_dir : ".", s);
    int rc = det_domset_add_file(*a->set, path, why, sizeof(why));
    if ((rc == -ENOENT || rc == -EACCES || rc == -EISDIR) && l->o && l->o->builtin)
        log_debug("recipes: %s:%d:%d: %s; this list matches nothing", l->file, LN(n), COL(n), why);
    else if (rc == -ENOENT || rc == -EACCES || rc == -EISDIR)
        lwarn(l, n, "remote_domains_file", "%s; this list matches nothing", why);
    else if (rc != 0)
        lerr(l, n, "remote_domains_file", "%s", why);
}

struct reactions_arg {
    struct det_recipe *r;
};

static void reaction_one(struct ld *l, yaml_node_t *n, void *argp)
{
    struct det_recipe *r = ((struct reactions_arg *)argp)->r;
    struct det_reaction re = {0};
    if (!n || n->type != YAML_MAPPING_NODE) {
        lerr(l, n, "reactions", "expected a mapping {format, code}");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "reactions");
        if (!key)
            continue;
        if (strcmp(key, "format") == 0) {
            free(re.format);
            re.format = dup_scalar(l, v, "reactions.format");
        } else if (strcmp(key, "code") == 0) {
            free(re.code);
            re.code = dup_scalar(l, v, "reactions.code");
        } else {
            lwarn(l, k, "reactions", "unsupported field \"%.40s\" ignored", key);
        }
    }
    if (re.format && strcmp(re.format, "js") != 0 && strcmp(re.format, "shell") != 0)
        lwarn(l, n, "reactions.format", "unknown format \"%.20s\"", re.format);
    r->reactions = mz_realloc(r->reactions, (r->n_reactions + 1) * sizeof(re));
    r->reactions[r->n_reactions++] = re;
}

void det_recipe_free(struct det_recipe *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->kind);
    free(r->description);
    free(r->documentation);
    free(r->version);
    free(r->breed);
    free(r->tactic);
    free(r->technique);
    free(r->subtechnique);
    free(r->origin);
    mz_recipe_ref_clear(&r->ref);
    for (size_t i = 0; i < r->n_groups; i++) {
        for (size_t j = 0; j < r->groups[i].n_items; j++) {
            det_regex_free(&r->groups[i].items[j].re);
            free(r->groups[i].items[j].numbers);
        }
        free(r->groups[i].items);
    }
    free(r->groups);
    for (size_t i = 0; i < r->n_bases; i++)
        base_free(&r->bases[i]);
    free(r->bases);
    free(r->local_cidrs);
    free(r->remote_cidrs);
    free(r->local_ports.v);
    free(r->remote_ports.v);
    det_domset_free(r->domains);
    for (size_t i = 0; i < r->n_reactions; i++) {
        free(r->reactions[i].format);
        free(r->reactions[i].code);
    }
    free(r->reactions);
    free(r);
}

static const char *const known_breeds[] = {
    "file_access", "execution",     "remote_domains", "remote_ips", "remote_cidrs", "local_domains",
    "local_ips",   "network_peers", "flows",          "tamper",     "privilege"};

/* Parses one recipe mapping. Returns the recipe, or NULL (errors reported, or
 * the recipe is of a kind mizan skips with a warning). */
static struct det_recipe *recipe_parse(struct ld *l, yaml_node_t *n)
{
    size_t errors_before = l->errors;
    struct det_recipe *r = mz_calloc(1, sizeof(*r));
    yaml_node_t *times = NULL, *arbitrary = NULL, *fa = NULL, *fa_how = NULL, *fa_excl = NULL;
    yaml_node_t *bases = NULL, *doms = NULL, *dom_type = NULL, *dom_files = NULL;
    yaml_node_t *fl = NULL, *fl_how = NULL, *fl_excl = NULL, *mech_node = NULL, *imp_node = NULL;
    yaml_node_t *reactions = NULL, *tk = NULL, *pa = NULL;
    struct det_base top_base = {0};
    bool top_base_seen = false, top_ok = true, skip = false;

    r->enabled = true;
    r->line = LN(n);
    r->col = COL(n);
    r->origin = mz_strdup(l->file);
    r->builtin = l->o && l->o->builtin;

    if (n->type != YAML_MAPPING_NODE) {
        lerr(l, n, NULL, "a recipe must be a mapping");
        goto fail;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nd(l, p->key), *v = nd(l, p->value);
        const char *key = scalar(l, k, "recipe");
        if (!key)
            continue;
#define STR_FIELD(name, dst)                                                                       \
    if (strcmp(key, name) == 0) {                                                                  \
        free(dst);                                                                                 \
        dst = dup_scalar(l, v, name);                                                              \
        continue;                                                                                  \
    }
        STR_FIELD("kind", r->kind)
        STR_FIELD("name", r->id)
        STR_FIELD("description", r->description)
        STR_FIELD("documentation", r->documentation)
        STR_FIELD("version", r->version)
        STR_FIELD("breed", r->breed)
        STR_FIELD("tactic", r->tactic)
        STR_FIELD("technique", r->technique)
        STR_FIELD("subtechnique", r->subtechnique)
#undef STR_FIELD
        if (strcmp(key, "enabled") == 0) {
            if (!is_null(v))
                (void)parse_bool_node(l, v, "enabled", &r->enabled);
        } else if (strcmp(key, "mechanism") == 0) {
            mech_node = v;
        } else if (strcmp(key, "importance") == 0) {
            imp_node = v;
        } else if (strcmp(key, "times") == 0) {
            times = v;
        } else if (strcmp(key, "arbitrary") == 0) {
            arbitrary = v;
        } else if (strcmp(key, "file_actions") == 0) {
            fa = v;
        } else if (strcmp(key, "file_actions_how") == 0) {
            fa_how = v;
        } else if (strcmp(key, "file_actions_excl") == 0) {
            fa_excl = v;
        } else if (strcmp(key, "bases") == 0) {
            bases = v;
        } else if (strcmp(key, "base") == 0 || strcmp(key, "dir") == 0 ||
                   strcmp(key, "regex") == 0) {
            top_base_seen = true;
            base_fields(l, k, v, key, &top_base, &top_ok);
        } else if (strcmp(key, "protocol") == 0) {
            const char *s = is_null(v) ? NULL : scalar(l, v, "protocol");
            if (!s || strcasecmp(s, "any") == 0)
                r->proto = 0;
            else if (strcasecmp(s, "tcp") == 0)
                r->proto = IPPROTO_TCP;
            else if (strcasecmp(s, "udp") == 0)
                r->proto = IPPROTO_UDP;
            else if (strcasecmp(s, "icmp") == 0)
                r->proto = IPPROTO_ICMP;
            else if (strcasecmp(s, "icmpv6") == 0)
                r->proto = IPPROTO_ICMPV6;
            else
                lerr(l, v, "protocol", "expected tcp, udp, icmp or icmpv6, got \"%.20s\"", s);
        } else if (strcmp(key, "local_cidrs") == 0 || strcmp(key, "remote_cidrs") == 0) {
            bool local = key[0] == 'l';
            struct cidrs_arg a = {local ? &r->local_cidrs : &r->remote_cidrs,
                                  local ? &r->n_local_cidrs : &r->n_remote_cidrs, key};
            each(l, v, key, true, cidr_one, &a);
        } else if (strcmp(key, "local_port") == 0 || strcmp(key, "local_ports") == 0 ||
                   strcmp(key, "remote_port") == 0 || strcmp(key, "remote_ports") == 0) {
            struct ports_arg a = {key[0] == 'l' ? &r->local_ports : &r->remote_ports, key};
            each(l, v, key, true, port_one, &a);
        } else if (strcmp(key, "remote_domains") == 0) {
            doms = v;
        } else if (strcmp(key, "remote_domains_type") == 0 ||
                   strcmp(key, "remote_domains_trie_type") == 0) {
            dom_type = v;
        } else if (strcmp(key, "remote_domains_file") == 0 ||
                   strcmp(key, "remote_domains_files") == 0) {
            dom_files = v;
        } else if (strcmp(key, "remote_domains_algorithmic") == 0) {
            const char *s = scalar(l, v, key);
            double d;
            if (s && (mz_parse_double(s, &d) != 0 || d <= 0 || d > 1))
                lerr(l, v, key, "expected a score in (0, 1]");
            else if (s)
                r->algorithmic_min = d;
        } else if (strcmp(key, "remote_domains_new") == 0) {
            if (!is_null(v))
                (void)parse_bool_node(l, v, key, &r->new_domains);
        } else if (strcmp(key, "flow_actions") == 0) {
            fl = v;
        } else if (strcmp(key, "flow_actions_how") == 0) {
            fl_how = v;
        } else if (strcmp(key, "flow_actions_excl") == 0) {
            fl_excl = v;
        } else if (strcmp(key, "reactions") == 0) {
            reactions = v;
        } else if (strcmp(key, "tamper_kinds") == 0) {
            tk = v;
        } else if (strcmp(key, "priv_actions") == 0) {
            pa = v;
        } else {
            lwarn(l, k, key, "unsupported field ignored");
        }
    }

    /* identity */
    if (!r->id && !r->kind) {
        lerr(l, n, "name", "a recipe needs a name (or a kind)");
    } else {
        if (!r->id)
            r->id = mz_strdup(r->kind);
        if (!r->kind)
            r->kind = mz_strdup(r->id);
        if (!*r->id)
            lerr(l, n, "name", "empty");
        for (const char *c = r->id; *c; c++) {
            if (!isalnum((unsigned char)*c) && !strchr("_-.:", *c)) {
                lerr(l, n, "name", "\"%.60s\": only letters, digits and _ - . : are allowed",
                     r->id);
                break;
            }
        }
        if (strlen(r->id) > 128)
            lerr(l, n, "name", "longer than 128 characters");
    }
    if (!mech_node) {
        lerr(l, n, "mechanism", "missing (file_access, execution or network_peers)");
    } else {
        const char *s = scalar(l, mech_node, "mechanism");
        if (s && strcmp(s, "file_access") == 0)
            r->mech = DET_MECH_FILE;
        else if (s && strcmp(s, "execution") == 0)
            r->mech = DET_MECH_EXEC;
        else if (s && strcmp(s, "network_peers") == 0)
            r->mech = DET_MECH_NET;
        else if (s && strcmp(s, "tamper") == 0)
            r->mech = DET_MECH_TAMPER;
        else if (s && strcmp(s, "privilege") == 0)
            r->mech = DET_MECH_PRIV;
        else if (s && strcmp(s, "baseline") == 0) {
            lwarn(l, mech_node, "mechanism", "baseline is not supported by mizan; recipe ignored");
            skip = true;
        } else if (s)
            lerr(l, mech_node, "mechanism",
                 "expected file_access, execution, network_peers, tamper or privilege, got "
                 "\"%.40s\"",
                 s);
    }
    if (!imp_node) {
        lerr(l, n, "importance", "missing (low, medium, high or critical)");
    } else {
        const char *s = scalar(l, imp_node, "importance");
        if (s && strcmp(s, "low") == 0)
            r->importance = MZ_IMP_LOW;
        else if (s && strcmp(s, "medium") == 0)
            r->importance = MZ_IMP_MEDIUM;
        else if (s && strcmp(s, "high") == 0)
            r->importance = MZ_IMP_HIGH;
        else if (s && strcmp(s, "critical") == 0)
            r->importance = MZ_IMP_CRITICAL;
        else if (s && strcmp(s, "none") == 0) {
            lwarn(l, imp_node, "importance", "none is read as low");
            r->importance = MZ_IMP_LOW;
        } else if (s)
            lerr(l, imp_node, "importance", "expected low, medium, high or critical, got \"%.40s\"",
                 s);
    }
    if (!r->description)
        lwarn(l, n, "description", "missing");
    if (!r->tactic)
        lwarn(l, n, "tactic", "missing");
    if (!r->technique)
        lwarn(l, n, "technique", "missing");
    if (r->breed) {
        bool known = false;
        for (size_t i = 0; i < MZ_ARRAY_SIZE(known_breeds); i++)
            known |= strcmp(r->breed, known_breeds[i]) == 0;
        if (!known)
            lwarn(l, n, "breed", "unknown breed \"%.40s\" (kept, not acted on)", r->breed);
    }

    /* rate limits and filters */
    struct times_arg ta = {r};
    each(l, times, "times", false, times_one, &ta);
    each(l, arbitrary, "arbitrary", false, group_one, r);

    /* file side */
    if (fa && !is_null(fa)) {
        struct names_arg a = {
            file_actions, MZ_ARRAY_SIZE(file_actions), "file_actions", 0, NULL, 0, 0};
        each(l, fa, "file_actions", true, name_one, &a);
        r->fa_mask = a.mask;
        if (r->mech == DET_MECH_NET)
            lwarn(l, fa, "file_actions", "ignored by network_peers recipes");
    }
    if (fa_how && !is_null(fa_how))
        (void)parse_how(l, fa_how, "file_actions_how", &r->fa_all);
    if (fa_excl && !is_null(fa_excl)) {
        struct names_arg a = {
            file_actions, MZ_ARRAY_SIZE(file_actions), "file_actions_excl", 0, NULL, 0, 0};
        each(l, fa_excl, "file_actions_excl", true, name_one, &a);
        r->fa_excl = a.mask;
    }
    each(l, bases, "bases", false, base_one, r);
    if (top_base_seen) {
        if (top_ok) {
            r->bases = mz_realloc(r->bases, (r->n_bases + 1) * sizeof(*r->bases));
            r->bases[r->n_bases++] = top_base;
        } else {
            base_free(&top_base);
        }
        memset(&top_base, 0, sizeof(top_base));
    }
    if (r->n_bases && r->mech == DET_MECH_NET)
        lwarn(l, bases ? bases : n, "bases", "ignored by network_peers recipes");

    /* network side */
    enum det_dom_type dt = DET_DOM_EXACT;
    if (dom_type && !is_null(dom_type)) {
        const char *s = scalar(l, dom_type, "remote_domains_type");
        if (s && strcmp(s, "exact") == 0)
            dt = DET_DOM_EXACT;
        else if (s && strcmp(s, "suffix") == 0)
            dt = DET_DOM_SUFFIX;
        else if (s && strcmp(s, "prefix") == 0)
            dt = DET_DOM_PREFIX;
        else if (s)
            lerr(l, dom_type, "remote_domains_type", "expected exact, suffix or prefix");
    }
    if (doms && !is_null(doms)) {
        struct doms_arg a = {&r->domains, dt, NULL, false, false};
        r->has_domains = true;
        each(l, doms, "remote_domains", true, dom_one, &a);
    }
    if (dom_files && !is_null(dom_files)) {
        struct doms_arg a = {&r->domains, dt, l->o ? l->o->lists_dir : NULL, true,
                             l->o && l->o->no_list_files};
        r->has_domains = true;
        each(l, dom_files, "remote_domains_file", true, dom_one, &a);
    }
    if (fl && !is_null(fl)) {
        struct names_arg a = {flow_actions,
                              MZ_ARRAY_SIZE(flow_actions),
                              "flow_actions",
                              0,
                              r->flow.masks,
                              0,
                              MZ_ARRAY_SIZE(r->flow.masks)};
        each(l, fl, "flow_actions", true, name_one, &a);
        r->flow.n = a.n_per_name;
    }
    if (fl_how && !is_null(fl_how))
        (void)parse_how(l, fl_how, "flow_actions_how", &r->flow.all);
    if (fl_excl && !is_null(fl_excl)) {
        struct names_arg a = {
            flow_actions, MZ_ARRAY_SIZE(flow_actions), "flow_actions_excl", 0, NULL, 0, 0};
        each(l, fl_excl, "flow_actions_excl", true, name_one, &a);
        r->flow.excl = a.mask;
    }
    if (r->mech != DET_MECH_NET && (r->has_domains || r->n_remote_cidrs || r->n_local_cidrs ||
                                    r->remote_ports.n || r->local_ports.n || r->flow.n))
        lwarn(l, n, "mechanism", "network fields are ignored by %s recipes",
              det_mech_name(r->mech));

    if (tk && !is_null(tk)) {
        struct names_arg a = {
            tamper_kinds, MZ_ARRAY_SIZE(tamper_kinds), "tamper_kinds", 0, NULL, 0, 0};
        each(l, tk, "tamper_kinds", true, name_one, &a);
        r->tamper_mask = a.mask;
        if (r->mech != DET_MECH_TAMPER)
            lwarn(l, tk, "tamper_kinds", "only tamper recipes use it; ignored");
    }
    if (pa && !is_null(pa)) {
        struct names_arg a = {
            priv_actions, MZ_ARRAY_SIZE(priv_actions), "priv_actions", 0, NULL, 0, 0};
        each(l, pa, "priv_actions", true, name_one, &a);
        r->priv_mask = a.mask;
        if (r->mech != DET_MECH_PRIV)
            lwarn(l, pa, "priv_actions", "only privilege recipes use it; ignored");
    }
    if ((r->mech == DET_MECH_TAMPER || r->mech == DET_MECH_PRIV) && (r->n_bases || r->fa_mask))
        lwarn(l, n, "mechanism", "bases and file_actions are ignored by %s recipes",
              det_mech_name(r->mech));

    struct reactions_arg ra = {r};
    each(l, reactions, "reactions", false, reaction_one, &ra);

    if (l->errors != errors_before || skip)
        goto fail;

    r->id_hash = det_hash64(r->id, strlen(r->id), 0x6d697a616eull);
    r->ref.id = mz_strdup(r->id);
    r->ref.name = mz_strdup(r->description ? r->description : r->id);
    r->ref.description = mz_strdup(r->documentation ? r->documentation : r->description);
    r->ref.tactic = mz_strdup(r->tactic);
    r->ref.technique = mz_strdup(r->technique);
    r->ref.mechanism = mz_strdup(det_mech_name(r->mech));
    r->ref.importance = r->importance;
    return r;

fail:
    base_free(&top_base);
    det_recipe_free(r);
    return NULL;
}

int det_load_text(const char *name, const char *text, size_t len, const struct det_load_opts *o,
                  struct det_recipe ***out, size_t *n_out, struct det_diag *diag)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct ld l = {.file = name, .doc = &doc, .diag = diag, .o = o};
    struct det_recipe **got = NULL;
    size_t n_got = 0;
    int rc = 0;

    if (len > DET_FILE_MAX) {
        det_diag_add(diag, true, name, 1, 1, NULL, "file larger than %u bytes", DET_FILE_MAX);
        return -EINVAL;
    }
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool first = true;
    for (;;) {
        if (!yaml_parser_load(&parser, &doc)) {
            det_diag_add(diag, true, name, (int)parser.problem_mark.line + 1,
                         (int)parser.problem_mark.column + 1, NULL, "YAML: %s%s%s",
                         parser.problem ? parser.problem : "syntax error",
                         parser.context ? " " : "", parser.context ? parser.context : "");
            rc = -EINVAL;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) { /* end of stream */
            yaml_document_delete(&doc);
            break;
        }
        if (!first)
            lwarn(&l, root, NULL, "more than one YAML document in the file; all are read");
        first = false;
        if (is_null(root)) {
            /* an empty document (comments only) holds no recipe */
        } else if (root->type == YAML_SEQUENCE_NODE) {
            size_t count = 0;
            for (yaml_node_item_t *it = root->data.sequence.items.start;
                 it < root->data.sequence.items.top; it++) {
                if (++count > DET_RECIPES_MAX) {
                    lerr(&l, root, NULL, "more than %u recipes", DET_RECIPES_MAX);
                    break;
                }
                struct det_recipe *r = recipe_parse(&l, nd(&l, *it));
                if (r) {
                    got = mz_realloc(got, (n_got + 1) * sizeof(*got));
                    got[n_got++] = r;
                }
            }
        } else if (root->type == YAML_MAPPING_NODE) {
            struct det_recipe *r = recipe_parse(&l, root);
            if (r) {
                got = mz_realloc(got, (n_got + 1) * sizeof(*got));
                got[n_got++] = r;
            }
        } else {
            lerr(&l, root, NULL, "expected a list of recipes");
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);

    if (rc == 0 && l.errors)
        rc = -EINVAL;
    if (rc == 0) {
        /* one name per file */
        for (size_t i = 0; i < n_got && rc == 0; i++) {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(got[i]->id, got[j]->id) == 0) {
                    det_diag_add(diag, true, name, got[i]->line, got[i]->col, "name",
                                 "\"%s\" already defined at line %d", got[i]->id, got[j]->line);
                    rc = -EINVAL;
                    break;
                }
            }
        }
    }
    if (rc != 0) {
        for (size_t i = 0; i < n_got; i++)
            det_recipe_free(got[i]);
        free(got);
        return rc;
    }
    if (n_got) {
        *out = mz_realloc(*out, (*n_out + n_got) * sizeof(**out));
        memcpy(*out + *n_out, got, n_got * sizeof(*got));
        *n_out += n_got;
    }
    free(got);
    return 0;
}
