// SPDX-License-Identifier: Apache-2.0
/*
 * col_mntns.c - paths of other mount namespaces as the initial namespace
 * names them (col_mntns.h). The workload: a handful of namespaces
 * (containers), each with tens of mounts; a lookup per observation of a
 * file or exe of theirs, so the tables are parsed once per namespace and
 * mount change and each lookup is two scans of a small array.
 *
 * mountinfo is outside input: any process can mount names with spaces,
 * newlines and escapes into its own namespace. Fields are cut at their
 * separators, unescaped (\ooo octal, as the kernel writes space, tab,
 * newline and backslash), capped at MZ_PATH_MAX - 1 bytes, and a line that
 * does not parse is skipped rather than guessed at.
 */
#include "collector/col_mntns.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/event.h"
#include "core/log.h"

#define NS_CACHE      16   /* namespaces whose mount table is kept */
#define PROC_SCAN_MAX 8192 /* /proc entries looked at to find a process of a namespace */
/* A namespace with no process found and no table is not searched for again
 * for this long (a flood of short-lived namespaces must not turn every
 * lookup into a scan of /proc). */
#define MISS_NS (1000ull * 1000 * 1000)

/* ---- parsing ------------------------------------------------------------------- */

void col_mounts_clear(struct col_mounts *ms)
{
    if (!ms)
        return;
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->m[i].root);
        free(ms->m[i].point);
    }
    free(ms->m);
    ms->m = NULL;
    ms->n = 0;
}

/* The field at [s, e) unescaped into a new string, or NULL when it is not
 * an absolute path of at most MZ_PATH_MAX - 1 bytes. */
static char *field_path(const char *s, const char *e)
{
    if (s >= e || *s != '/' || (size_t)(e - s) > 4 * (MZ_PATH_MAX - 1))
        return NULL;
    char *out = malloc((size_t)(e - s) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    while (s < e) {
        char ch = *s++;
        if (ch == '\\' && e - s >= 3 && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
            s[2] >= '0' && s[2] <= '7') {
            ch = (char)((s[0] - '0') << 6 | (s[1] - '0') << 3 | (s[2] - '0'));
            s += 3;
        }
        if (ch == 0 || n >= MZ_PATH_MAX - 1) {
            free(out);
            return NULL;
        }
        out[n++] = ch;
    }
    out[n] = 0;
    return out;
}

/* A decimal number at [s, e) of at most max. */
static bool field_num(const char *s, const char *e, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (s >= e)
        return false;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

/* One line [s, e): "ID PARENT MAJ:MIN ROOT POINT ..." into *m. */
static bool parse_line(const char *s, const char *e, struct col_mount *m)
{
    const char *f[6];
    const char *fe[6];
    int n = 0;
    const char *p = s;
    while (n < 6 && p < e) {
        while (p < e && *p == ' ')
            p++;
        if (p >= e)
            break;
        f[n] = p;
        while (p < e && *p != ' ')
            p++;
        fe[n++] = p;
    }
    if (n < 6) /* the options follow the mount point */
        return false;
    const char *colon = memchr(f[2], ':', (size_t)(fe[2] - f[2]));
    unsigned long maj, min;
    if (!colon || !field_num(f[2], colon, 4095, &maj) ||
        !field_num(colon + 1, fe[2], 1048575, &min))
        return false;
    m->root = field_path(f[3], fe[3]);
    m->point = field_path(f[4], fe[4]);
    if (!m->root || !m->point) {
        free(m->root);
        free(m->point);
        return false;
    }
    m->dev = makedev(maj, min);
    return true;
}

int col_mountinfo_parse(const char *text, size_t len, struct col_mounts *out)
{
    size_t cap = 0;
    col_mounts_clear(out);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct col_mount m;
        if (parse_line(p, le, &m)) {
            if (out->n >= COL_MOUNTS_MAX) {
                free(m.root);
                free(m.point);
                col_mounts_clear(out);
                return -E2BIG;
            }
            if (out->n == cap) {
                cap = cap ? cap * 2 : 32;
                out->m = mz_realloc(out->m, cap * sizeof(*out->m));
            }
            out->m[out->n++] = m;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- mapping ------------------------------------------------------------------- */

/* Length of prefix when it is a prefix of path at a component boundary
 * ("/" prefixes everything), else -1. */
static long prefix_len(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/')
        return 0; /* the rest keeps its leading '/' */
    if (strncmp(prefix, path, n) != 0 || (path[n] != 0 && path[n] != '/'))
        return -1;
    return (long)n;
}

/* a + b as one path ("/" + "/x" is "/x", "/a" + "" and "/a" + "/" are
 * "/a"), or NULL past MZ_PATH_MAX - 1 bytes. */
static char *join(const char *a, const char *b)
{
    size_t al = strlen(a), bl = strlen(b);
    if (al == 1 && a[0] == '/' && bl)
        al = 0;
    else if (bl == 1 && b[0] == '/')
        bl = 0;
    if (al + bl > MZ_PATH_MAX - 1)
        return NULL;
    char *s = mz_calloc(1, al + bl + 1);
    memcpy(s, a, al);
    memcpy(s + al, b, bl);
    return s;
}

int col_mntns_map(const struct col_mounts *ns, const struct col_mounts *host, const char *path,
                  char **out)
{
    *out = NULL;
    if (!path || path[0] != '/')
        return -EINVAL;
    const struct col_mount *top = NULL;
    long best = -1;
    for (size_t i = 0; i < ns->n; i++) {
        long l = prefix_len(ns->m[i].point, path);
        if (l >= best && l >= 0) {
            best = l;
            top = &ns->m[i];
        }
    }
    if (!top)
        return -ENOENT;
    /* the file's place in its filesystem */
    char *place = join(top->root, path + best);
    if (!place)
        return -ENAMETOOLONG;
    const struct col_mount *via = NULL;
    long vbest = -1;
    for (size_t i = 0; i < host->n; i++) {
        if (host->m[i].dev != top->dev)
            continue;
        long l = prefix_len(host->m[i].root, place);
        if (l > vbest) {
            vbest = l;
            via = &host->m[i];
        }
    }
    int r = -ENOENT;
    if (via) {
        *out = join(via->point, place + vbest);
        r = *out ? 0 : -ENAMETOOLONG;
    }
    free(place);
    return r;
}

/* ---- namespaces ---------------------------------------------------------------- */

struct ns_entry {
    uint32_t ns; /* 0: free */
    uint32_t epoch;
    uint32_t age;
    bool fresh; /* read in the current epoch */
    bool known; /* mounts were read once (else: a miss, at missed_ns) */
    uint64_t missed_ns;
    struct col_mounts mounts;
};

struct col_mntns {
    uint32_t initial;
    uint32_t epoch;
    uint32_t clock;
    struct col_mounts host;
    bool host_fresh;
    struct ns_entry e[NS_CACHE];
};

/* The inode of /proc/PID/ns/mnt (pid 0: self), or 0. */
static uint32_t ns_of(int pid)
{
    char p[64];
    struct stat st;
    if (pid > 0)
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", pid);
    else
        snprintf(p, sizeof(p), "/proc/self/ns/mnt");
    if (stat(p, &st) < 0)
        return 0;
    return (uint32_t)st.st_ino;
}

static int read_mounts(int pid, struct col_mounts *out)
{
    char p[64];
    char *text = NULL;
    size_t len = 0;
    if (pid > 0)
        snprintf(p, sizeof(p), "/proc/%d/mountinfo", pid);
    else
        snprintf(p, sizeof(p), "/proc/self/mountinfo");
    int r = mz_read_file(p, COL_MOUNTINFO_MAX, &text, &len);
    if (r < 0)
        return r;
    r = col_mountinfo_parse(text, len, out);
    free(text);
    return r;
}

struct col_mntns *col_mntns_new(void)
{
    struct col_mntns *m = mz_calloc(1, sizeof(*m));
    m->initial = ns_of(1);
    if (!m->initial) {
        /* PID 1 may refuse (it has capabilities this process lacks): its
         * namespace is ours when both list the same mounts. */
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        if (mz_read_file("/proc/1/mountinfo", COL_MOUNTINFO_MAX, &a, &al) == 0 &&
            mz_read_file("/proc/self/mountinfo", COL_MOUNTINFO_MAX, &b, &bl) == 0 && al == bl &&
            memcmp(a, b, al) == 0)
            m->initial = ns_of(0);
        free(a);
        free(b);
        if (!m->initial)
            log_warn("collector: the initial mount namespace is unknown (/proc/1/ns/mnt "
                     "unreadable, and this process is in another): paths are not mapped "
                     "across mount namespaces");
        else
            log_debug("collector: initial mount namespace %u (from /proc/self)", m->initial);
    }
    return m;
}

void col_mntns_free(struct col_mntns *m)
{
    if (!m)
        return;
    col_mounts_clear(&m->host);
    for (int i = 0; i < NS_CACHE; i++)
        col_mounts_clear(&m->e[i].mounts);
    free(m);
}

uint32_t col_mntns_initial(const struct col_mntns *m)
{
    return m ? m->initial : 0;
}

void col_mntns_epoch(struct col_mntns *m, uint32_t epoch)
{
    if (!m || epoch == m->epoch)
        return;
    m->epoch = epoch;
    m->host_fresh = false;
    for (int i = 0; i < NS_CACHE; i++)
        m->e[i].fresh = false;
}

/* A live process of namespace ns: pid when it is one, else the first found
 * in /proc (bounded), else 0. */
static int find_pid(int pid, uint32_t ns)
{
    if (pid > 0 && ns_of(pid) == ns)
        return pid;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int found = 0, seen = 0;
    struct dirent *de;
    while (!found && seen < PROC_SCAN_MAX && (de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v <= 0 || v > 0x7fffffff)
            continue;
        seen++;
        if (ns_of((int)v) == ns)
            found = (int)v;
    }
    closedir(d);
    return found;
}

/* The mount table of ns: read again when not fresh and a process of ns is
 * found, else the last one read; NULL when none. */
static const struct col_mounts *ns_mounts(struct col_mntns *m, uint32_t ns, int pid)
{
    struct ns_entry *e = NULL, *victim = &m->e[0];
    for (int i = 0; i < NS_CACHE; i++) {
        if (m->e[i].ns == ns) {
            e = &m->e[i];
            break;
        }
        if (!m->e[i].ns || (victim->ns && m->e[i].age < victim->age))
            victim = &m->e[i];
    }
    uint64_t now = mz_monotonic_ns();
    if (e && (e->fresh || (!e->known && now - e->missed_ns < MISS_NS))) {
        e->age = ++m->clock;
        return e->known ? &e->mounts : NULL;
    }
    if (!e) {
        e = victim;
        col_mounts_clear(&e->mounts);
        memset(e, 0, sizeof(*e));
        e->ns = ns;
    }
    e->age = ++m->clock;
    int p = find_pid(pid, ns);
    struct col_mounts fresh = {0};
    if (p && read_mounts(p, &fresh) == 0) {
        col_mounts_clear(&e->mounts);
        e->mounts = fresh;
        e->fresh = true;
        e->known = true;
    } else if (e->known) {
        /* no process left: its mounts cannot change without one, keep
         * the last table for this epoch */
        e->fresh = true;
    } else {
        e->missed_ns = now;
    }
    return e->known ? &e->mounts : NULL;
}

int col_mntns_host_path(struct col_mntns *m, uint32_t ns, int pid, const char *path, char **out)
{
    *out = NULL;
    if (!m || !ns || !m->initial)
        return -ESRCH;
    if (!m->host_fresh) {
        struct col_mounts fresh = {0};
        int r = read_mounts(1, &fresh);
        if (r == 0) {
            col_mounts_clear(&m->host);
            m->host = fresh;
            m->host_fresh = true;
        } else {
            log_debug("collector: /proc/1/mountinfo: %s", strerror(-r));
        }
    }
    const struct col_mounts *t = ns_mounts(m, ns, pid);
    if (!t)
        return -ESRCH;
    return col_mntns_map(t, &m->host, path, out);
}
