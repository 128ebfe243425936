// SPDX-License-Identifier: Apache-2.0
/*
 * col_enrich.c - process enrichment for the collector: /proc fallbacks
 * (checked against the process start time, so that a reused pid is never
 * mistaken for the original), user names, container ids from cgroup paths,
 * and the facts about the executable: its SHA-256 and whether it is a
 * trusted system binary (see struct mz_process).
 *
 * The executable is never touched on the scan thread. Any open, stat or read
 * of it can block without bound (a FIFO, a FUSE or NFS file whose server
 * does not answer), and the files are the attacker's choice. One exe worker
 * thread does that work; the scan thread hands it jobs through a bounded
 * SPSC queue and takes results from another:
 *
 *  - a job is one live (process, exe) pair, keyed by a tag of (pid, start
 *    time, exe path), or one exe path for the processes of a scan that have
 *    exited; its result lands in a direct-mapped facts table owned by the
 *    scan thread, so later observations of the process (of the path, in
 *    that scan) get it at once;
 *  - the scan thread waits for a result it needs at most WAIT_OBS_MS per
 *    observation and WAIT_SCAN_MS per scan in total; past that the
 *    observation leaves with exe_sha256 null and exe_sha256_why "pending"
 *    (the result serves the process's next observations). A full job queue
 *    gives "busy", a worker stuck on one file for STALL_NS gives "stalled":
 *    no observation ever waits longer than those bounds;
 *  - the worker opens /proc/PID/exe (through a /proc/PID directory fd whose
 *    start time was checked, so a reused pid cannot substitute its file)
 *    while the process lives; once it is gone, the recorded path with
 *    O_PATH|O_NOFOLLOW, and only when fstat says regular file does it reopen
 *    that very inode (/proc/self/fd/N) with O_RDONLY|O_NONBLOCK|O_CLOEXEC for
 *    reading: no FIFO, device or symlink target is ever opened for reading;
 *  - one exception: the trust check of a process that has exited runs on
 *    the scan thread (path_trust). It can only succeed for a path under a
 *    system directory, which only root can mount or write, so it lstat()s
 *    nothing a user controls and any other path fails without a syscall;
 *    that way a busy worker never leaves a system binary untrusted (and a
 *    built-in exclusion unapplied);
 *  - digests are cached by (dev, inode, size, mtime, ctime): a same-size
 *    rewrite with the mtime put back still changes ctime. A file over
 *    hash_max_bytes is not read ("too_large"), and a read over HASH_TIME_NS
 *    stops ("timeout").
 *
 * Workload: called once per observation from the collector thread; every
 * cache is a fixed-size table allocated at init.
 */
#include "collector/col_enrich.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "core/util.h"
#include "pipeline/queue.h"

#define SHA_WAYS     4
#define USER_SLOTS   256
#define CGROUP_SLOTS 1024

struct sha_entry {
    bool valid;
    uint64_t dev, ino, mtime_ns, ctime_ns, size;
    uint32_t age;
    char hex[65];
};

/* A uid -> user name or gid -> group name slot. */
struct user_entry {
    bool valid;
    uint32_t uid;
    char name[64];
};

struct cgroup_entry {
    bool valid;
    uint64_t cgroup_id;
    char id[65]; /* "" on the host */
};

/* What /proc said about one process during the current scan. */
struct proc_entry {
    int pid;
    uint32_t epoch;
    uint64_t start_ns;
    bool alive;
    bool have_parent;
    int ppid;
    char *exe;  /* /proc/PID/exe */
    char *args; /* /proc/PID/cmdline */
    char *cwd;
};
#define PROC_SLOTS   4096

#define JOB_QUEUE    256                    /* exe jobs in flight at most */
#define FACTS_SLOTS  4096                   /* results kept for the processes' later observations */
#define WAIT_OBS_MS  20                     /* longest wait for one observation's exe facts */
#define WAIT_SCAN_MS 50                     /* longest total wait per scan */
#define HASH_TIME_NS (2000ull * 1000000ull) /* longest digest of one file */
#define STALL_NS     (2 * HASH_TIME_NS)     /* a job this old: the worker is stuck */

/* One (process, exe) pair, handed to the worker and back. */
struct exe_job {
    uint64_t tag;
    int pid;              /* > 0: try /proc/PID/exe first */
    uint64_t start_ns;    /* the process's start, checked on /proc/PID; 0: do not check */
    bool hash;            /* compute the digest (the parent's check needs none) */
    bool path_ok;         /* the recorded path may be opened (not another mount namespace) */
    bool proc_must_match; /* /proc/PID/exe must be `path` (a parent, whose start is unknown) */
    char *path;           /* the recorded exe path, or NULL */
    uint64_t dev, ino;    /* the identity recorded at exec; ino 0: unknown */
    /* results */
    bool have_hex;
    char hex[65];
    const char *sha_why; /* static string */
    bool trusted;
    const char *trust_why; /* static string */
};

/* What the worker shares with the scan thread. Reference-counted: when the
 * worker is stuck in a read at shutdown, the scan side leaves it behind and
 * whichever side is last frees this. */
struct exe_worker {
    _Atomic int refs;
    _Atomic bool stop;
    _Atomic bool exited;
    _Atomic uint64_t busy_since; /* monotonic ns the current job started; 0: idle */
    struct mz_spsc *req, *res;   /* scan -> worker, worker -> scan */
    struct mz_waiter req_w, res_w;
    uint64_t hash_max_bytes;
    struct sha_entry *sha; /* nsets * SHA_WAYS; the worker's alone */
    size_t sha_sets;
    uint32_t sha_clock;
    _Atomic uint64_t hits, misses, errors;
    pthread_t thread;
};

struct facts_entry {
    uint64_t tag;
    uint8_t state; /* FACTS_EMPTY, _PENDING or _DONE */
    bool per_scan; /* an exited process's, by path: valid in scan `epoch` only */
    uint32_t epoch;
    bool have_hex, trusted;
    char hex[65];
    const char *sha_why, *trust_why;
};
enum { FACTS_EMPTY = 0, FACTS_PENDING = 1, FACTS_DONE = 2 };

struct col_enrich {
    bool hash_exes;
    uint32_t epoch;
    struct proc_entry *procs; /* PROC_SLOTS, direct-mapped by pid */
    struct exe_worker *worker;
    struct facts_entry *facts; /* FACTS_SLOTS, direct-mapped by tag */
    size_t in_flight;          /* jobs pushed whose result was not taken yet */
    uint64_t wait_left_ns;     /* this scan's waiting budget */
    struct user_entry users[USER_SLOTS];
    struct user_entry groups[USER_SLOTS];
    struct cgroup_entry cgroups[CGROUP_SLOTS];
    long clk_tck;
    struct col_enrich_stats stats;
};

static struct exe_worker *worker_start(const struct mz_config *cfg);
static void worker_stop(struct exe_worker *w);

struct col_enrich *col_enrich_new(const struct mz_config *cfg)
{
    struct col_enrich *e = mz_calloc(1, sizeof(*e));
    e->hash_exes =
        cfg->collector.hash_executables && cfg->collector.hash_max_bytes && cfg->cache.exe_hashes;
    e->clk_tck = sysconf(_SC_CLK_TCK);
    if (e->clk_tck <= 0)
        e->clk_tck = 100;
    e->procs = mz_calloc(PROC_SLOTS, sizeof(*e->procs));
    e->facts = mz_calloc(FACTS_SLOTS, sizeof(*e->facts));
    e->epoch = 1;
    e->wait_left_ns = WAIT_SCAN_MS * 1000000ull;
    e->worker = worker_start(cfg);
    if (!e->worker)
        log_warn("collector: no exe worker thread: executables are neither hashed nor checked");
    return e;
}

static void proc_entry_clear(struct proc_entry *pe)
{
    free(pe->exe);
    free(pe->args);
    free(pe->cwd);
    memset(pe, 0, sizeof(*pe));
}

void col_enrich_free(struct col_enrich *e)
{
    if (!e)
        return;
    worker_stop(e->worker);
    for (size_t i = 0; e->procs && i < PROC_SLOTS; i++)
        proc_entry_clear(&e->procs[i]);
    free(e->procs);
    free(e->facts);
    free(e);
}

void col_enrich_stats(const struct col_enrich *e, struct col_enrich_stats *out)
{
    *out = e->stats;
    if (e->worker) {
        out->sha_hits = atomic_load(&e->worker->hits);
        out->sha_misses = atomic_load(&e->worker->misses);
        out->sha_errors = atomic_load(&e->worker->errors);
    }
}

/* ---- /proc ------------------------------------------------------------------ */

/* Reads at most cap bytes of a /proc file, path relative to dfd (or
 * AT_FDCWD). Returns the byte count (and sets *more when the file had more)
 * or -errno. */
static ssize_t read_small_at(int dfd, const char *path, char *buf, size_t cap, bool *more)
{
    int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    *more = false;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int err = -errno;
            close(fd);
            return err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n == cap) {
        char c;
        *more = read(fd, &c, 1) == 1;
    }
    close(fd);
    return (ssize_t)n;
}

static ssize_t read_small(const char *path, char *buf, size_t cap, bool *more)
{
    return read_small_at(AT_FDCWD, path, buf, cap, more);
}

/* Fields of /proc/PID/stat after the comm (index 0 is the state, field 3);
 * dfd is a /proc/PID directory, or -1 to open /proc/pid/stat by path. */
static int stat_fields(int dfd, int pid, uint64_t *ppid, uint64_t *starttime)
{
    char path[64], buf[1024];
    bool more;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    ssize_t n = dfd >= 0 ? read_small_at(dfd, "stat", buf, sizeof(buf) - 1, &more)
                         : read_small(path, buf, sizeof(buf) - 1, &more);
    if (n <= 0)
        return n < 0 ? (int)n : -EIO;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    p++;
    for (int field = 0; p && *p; field++) {
        while (*p == ' ')
            p++;
        char *tok = p;
        p = strchr(p, ' ');
        if (p)
            *p++ = 0;
        if (field == 1 && ppid && mz_parse_u64(tok, UINT32_MAX, ppid) < 0)
            return -EIO;
        if (field == 19) {
            if (starttime && mz_parse_u64(tok, UINT64_MAX, starttime) < 0)
                return -EIO;
            return 0;
        }
    }
    return -EIO;
}

/* True when the start time in clock ticks (/proc/PID/stat) is start_ns. */
static bool ticks_match(uint64_t ticks, uint64_t start_ns)
{
    if (!start_ns)
        return true; /* nothing to compare with */
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t want = start_ns / (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
    return ticks + 1 >= want && ticks <= want + 1;
}

bool col_proc_is(int pid, uint64_t start_ns)
{
    uint64_t ticks;
    if (pid <= 0 || stat_fields(-1, pid, NULL, &ticks) < 0)
        return false;
    return ticks_match(ticks, start_ns);
}

static char *proc_link(int pid, const char *what)
{
    char path[64], buf[MZ_PATH_MAX];
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    return mz_strdup(buf);
}

int col_proc_parent(int pid, int *ppid, char **exe)
{
    uint64_t pp;
    *exe = NULL;
    int err = stat_fields(-1, pid, &pp, NULL);
    if (err < 0)
        return err;
    *ppid = (int)pp;
    *exe = proc_link(pid, "exe");
    return 0;
}

char *col_join_args(const char *argv, size_t len, bool truncated)
{
    /* Trailing NULs are argv's terminators, not separators. */
    while (len && argv[len - 1] == 0)
        len--;
    if (len > MZ_ARGS_MAX - 3 && (truncated || len > MZ_ARGS_MAX))
        len = MZ_ARGS_MAX - 3, truncated = true; /* room for "..." within the cap */
    size_t extra = truncated ? 3 : 0;
    char *out = mz_calloc(1, len + extra + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)argv[i];
        out[i] = ch == 0 ? ' ' : (char)ch;
    }
    if (truncated)
        memcpy(out + len, "...", 3);
    return out;
}

static char *proc_cmdline(int pid)
{
    char path[64];
    char *buf = mz_calloc(1, MZ_ARGS_MAX);
    bool more;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    ssize_t n = read_small(path, buf, MZ_ARGS_MAX, &more);
    char *out = n > 0 ? col_join_args(buf, (size_t)n, more) : NULL;
    free(buf);
    return out;
}

/* ---- DNS names --------------------------------------------------------------- */

int col_dns_name(const uint8_t *wire, size_t len, char *out, size_t outlen)
{
    size_t n = 0, p = 0;
    if (!outlen)
        return -E2BIG;
    out[0] = 0;
    for (;;) {
        if (p >= len)
            return -EINVAL; /* no final 0 label: cut */
        size_t l = wire[p++];
        if (l == 0)
            break;
        if (l > 63 || p + l > len)
            return -EINVAL; /* compression pointer or overrun */
        if (n + (n ? 1 : 0) + l + 1 > outlen)
            return -E2BIG;
        if (n)
            out[n++] = '.';
        for (size_t i = 0; i < l; i++) {
            unsigned char ch = wire[p + i];
            out[n++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        p += l;
    }
    if (!n)
        return -EINVAL; /* the root: no name */
    out[n] = 0;
    return 0;
}

/* ---- container ids ---------------------------------------------------------- */

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

int col_container_id(const char *cgroup_path, char out[65])
{
    static const char *const prefixes[] = {"docker-", "cri-containerd-", "crio-",
                                           "libpod-", "containerd-",     "crio-conmon-"};
    if (!cgroup_path)
        return -ENOENT;
    /* Scan components from the last one: the innermost scope names it. */
    const char *end = cgroup_path + strlen(cgroup_path);
    while (end > cgroup_path) {
        const char *start = end;
        while (start > cgroup_path && start[-1] != '/')
            start--;
        const char *s = start;
        size_t n = (size_t)(end - start);
        if (n > 6 && memcmp(s + n - 6, ".scope", 6) == 0)
            n -= 6;
        for (size_t i = 0; i < MZ_ARRAY_SIZE(prefixes); i++) {
            size_t pl = strlen(prefixes[i]);
            if (n > pl && memcmp(s, prefixes[i], pl) == 0) {
                s += pl;
                n -= pl;
                break;
            }
        }
        if (is_hex64(s, n)) {
            memcpy(out, s, 64);
            out[64] = 0;
            return 0;
        }
        end = start > cgroup_path ? start - 1 : cgroup_path;
    }
    return -ENOENT;
}

static void container_of_pid(struct col_enrich *e, struct mz_process *p)
{
    struct cgroup_entry *ce = NULL;
    if (p->cgroup_id) {
        ce = &e->cgroups[p->cgroup_id % CGROUP_SLOTS];
        if (ce->valid && ce->cgroup_id == p->cgroup_id) {
            p->container = ce->id[0] ? mz_strdup(ce->id) : NULL;
            return;
        }
    }
    char path[64], buf[4096];
    bool more;
    snprintf(path, sizeof(path), "/proc/%d/cgroup", p->pid);
    ssize_t n = read_small(path, buf, sizeof(buf) - 1, &more);
    if (n <= 0)
        return;
    buf[n] = 0;
    char id[65] = "";
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *cg = strchr(line, ':');
        cg = cg ? strchr(cg + 1, ':') : NULL;
        if (cg && col_container_id(cg + 1, id) == 0)
            break;
        id[0] = 0;
    }
    if (ce) {
        ce->valid = true;
        ce->cgroup_id = p->cgroup_id;
        memcpy(ce->id, id, sizeof(id));
    }
    if (id[0])
        p->container = mz_strdup(id);
}

/* ---- per-scan /proc cache --------------------------------------------------- */

void col_enrich_begin_scan(struct col_enrich *e)
{
    e->epoch++;
    e->wait_left_ns = WAIT_SCAN_MS * 1000000ull;
}

/* The entry for (pid, start_ns) in this scan, filled with "alive" on first
 * use. start_ns 0 matches whatever process has the pid now. */
static struct proc_entry *proc_get(struct col_enrich *e, int pid, uint64_t start_ns)
{
    struct proc_entry *pe = &e->procs[(unsigned)pid % PROC_SLOTS];
    if (pe->epoch == e->epoch && pe->pid == pid && (pe->start_ns == start_ns || !start_ns))
        return pe;
    proc_entry_clear(pe);
    pe->pid = pid;
    pe->epoch = e->epoch;
    pe->start_ns = start_ns;
    pe->alive = col_proc_is(pid, start_ns);
    return pe;
}

int col_enrich_parent(struct col_enrich *e, int pid, int *ppid, char **exe)
{
    *exe = NULL;
    if (pid <= 0)
        return -ESRCH;
    struct proc_entry *pe = proc_get(e, pid, 0);
    if (!pe->alive)
        return -ESRCH;
    if (!pe->have_parent) {
        char *x = NULL;
        int pp;
        int err = col_proc_parent(pid, &pp, &x);
        if (err < 0)
            return err;
        pe->have_parent = true;
        pe->ppid = pp;
        free(pe->exe);
        pe->exe = x;
    }
    *ppid = pe->ppid;
    *exe = mz_strdup(pe->exe);
    return 0;
}

/* ---- users ------------------------------------------------------------------ */

static void user_of(struct col_enrich *e, struct mz_process *p)
{
    struct user_entry *ue = &e->users[p->uid % USER_SLOTS];
    if (!ue->valid || ue->uid != p->uid) {
        struct passwd pw, *res = NULL;
        char buf[1024];
        ue->valid = true;
        ue->uid = p->uid;
        ue->name[0] = 0;
        if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
            (void)mz_strlcpy(ue->name, res->pw_name, sizeof(ue->name));
    }
    if (ue->name[0])
        p->user = mz_strdup(ue->name);
}

static void group_of(struct col_enrich *e, struct mz_process *p)
{
    struct user_entry *ge = &e->groups[p->gid % USER_SLOTS];
    if (!ge->valid || ge->uid != p->gid) {
        struct group gr, *res = NULL;
        char buf[4096];
        ge->valid = true;
        ge->uid = p->gid;
        ge->name[0] = 0;
        if (getgrgid_r(p->gid, &gr, buf, sizeof(buf), &res) == 0 && res)
            (void)mz_strlcpy(ge->name, res->gr_name, sizeof(ge->name));
    }
    if (ge->name[0])
        p->group = mz_strdup(ge->name);
}

/* ---- the exe worker: opening what is hashed and checked ------------------------- */

static uint64_t ts_ns(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

/* The running image of pid: /proc/PID/exe opened through a /proc/PID
 * directory fd, after checking that /proc/PID is still the process that
 * started at start_ns (0: no check). With match set, the link must also name
 * match (a parent, whose start time the caller does not know). Returns an
 * fd open for reading with *st filled, or -errno. */
static int open_proc_exe(int pid, uint64_t start_ns, const char *match, struct stat *st)
{
    char dir[32];
    int fd = -1, err = 0;
    snprintf(dir, sizeof(dir), "/proc/%d", pid);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    uint64_t ticks;
    if ((err = stat_fields(dfd, pid, NULL, &ticks)) < 0)
        goto out;
    if (!ticks_match(ticks, start_ns)) {
        err = -ESRCH; /* another process has the pid now */
        goto out;
    }
    if (match) {
        char buf[MZ_PATH_MAX];
        ssize_t n = readlinkat(dfd, "exe", buf, sizeof(buf) - 1);
        if (n <= 0 || (buf[n] = 0, strcmp(buf, match) != 0)) {
            err = -ESRCH;
            goto out;
        }
    }
    /* The directory fd pins the process: if it exits now, this fails
     * rather than open another process's file. */
    fd = openat(dfd, "exe", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        err = -EINVAL;
        goto out;
    }
out:
    if (err < 0 && fd >= 0)
        close(fd);
    close(dfd);
    return err < 0 ? err : fd;
}

/* The file at path, never followed if it is a symlink and never opened for
 * reading unless it is a regular file: O_PATH first (which opens nothing:
 * no FIFO wait, no device open), fstat, then a reopen of that same inode
 * through /proc/self/fd with O_RDONLY|O_NONBLOCK|O_CLOEXEC. Returns the fd
 * with *st filled, or -1 with *why set. */
static int open_exe_path(const char *path, struct stat *st, const char **why)
{
    int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0) {
        *why = errno == ENOENT || errno == ENOTDIR ? "gone" : "open_failed";
        return -1;
    }
    int fd = -1;
    struct stat pst;
    if (fstat(pfd, &pst) < 0) {
        *why = "open_failed";
    } else if (S_ISLNK(pst.st_mode)) {
        *why = "symlink";
    } else if (!S_ISREG(pst.st_mode)) {
        *why = "not_regular";
    } else {
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
        fd = open(self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            *why = "open_failed";
        } else if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_dev != pst.st_dev ||
                   st->st_ino != pst.st_ino) {
            *why = "open_failed";
            close(fd);
            fd = -1;
        }
    }
    close(pfd);
    return fd;
}

/* ---- trust -------------------------------------------------------------------- */

static const char *const system_dirs[] = {
    "/usr/bin/", "/usr/sbin/", "/usr/lib/",   "/usr/libexec/", "/bin/",  "/sbin/",
    "/lib/",     "/lib64/",    "/usr/lib64/", "/usr/lib32/",   "/lib32/"};

/* An absolute path with no empty, "." or ".." component. */
static bool path_clean(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *c = p; *c;) {
        c++; /* past '/' */
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n;
    }
    return true;
}

/* Every directory on the way to path's last component (/, /usr, /usr/bin)
 * is a real directory (not a symlink) owned by root and writable by no group
 * or other: only root can have put or renamed a file there. */
static bool dirs_root_only(const char *path)
{
    char buf[MZ_PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, path, len + 1);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '/')
            continue;
        char c = buf[i + 1];
        buf[i + 1] = 0; /* "/", "/usr/", "/usr/bin/" */
        struct stat st;
        bool ok = lstat(buf, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
                  !(st.st_mode & (S_IWGRP | S_IWOTH));
        buf[i + 1] = c;
        if (!ok)
            return false;
    }
    return true;
}

static bool in_system_dir(const char *path)
{
    for (size_t i = 0; i < MZ_ARRAY_SIZE(system_dirs); i++)
        if (strncmp(path, system_dirs[i], strlen(system_dirs[i])) == 0)
            return true;
    return false;
}

const char *col_exe_trust(const char *path, const struct stat *st, bool live, bool *trusted)
{
    *trusted = false;
    if (!path || !path[0])
        return "no_path";
    if (!path_clean(path))
        return "unclean_path";
    if (!in_system_dir(path))
        return "not_system_dir";
    if (!S_ISREG(st->st_mode))
        return "not_regular";
    if (st->st_uid != 0)
        return "not_root_owned";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "writable";
    /* The path must name, here, the very file that ran: a process in its
     * own mount namespace can bind-mount any file over /usr/sbin/cron, and a
     * chroot has its own /usr/bin. */
    struct stat here;
    if (lstat(path, &here) < 0 || !S_ISREG(here.st_mode) || here.st_dev != st->st_dev ||
        here.st_ino != st->st_ino)
        return "not_same_file";
    if (!dirs_root_only(path))
        return "unsafe_dir";
    *trusted = true;
    return live ? "system_binary" : "system_binary_by_path";
}

/* ---- digests -------------------------------------------------------------------- */

/* Hashes fd up to max bytes and HASH_TIME_NS. Returns NULL with hex set, or
 * why it could not. */
static const char *sha256_fd(int fd, uint64_t max, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    const char *why = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char *buf = malloc(1 << 16);
    if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        why = "no_memory";
        goto out;
    }
    uint64_t total = 0, t0 = mz_monotonic_ns();
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 16);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            why = "read_error";
            goto out;
        }
        if (r == 0)
            break;
        total += (uint64_t)r;
        if (total > max) {
            why = "too_large"; /* it grew past the cap while read */
            goto out;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
            why = "read_error";
            goto out;
        }
        if (mz_monotonic_ns() - t0 > HASH_TIME_NS) {
            why = "timeout";
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        why = "read_error";
        goto out;
    }
    mz_hex(md, 32, hex);
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    return why;
}

/* The digest of fd (its fstat in st), from the worker's cache or computed. */
static void digest(struct exe_worker *w, int fd, const struct stat *st, struct exe_job *j)
{
    uint64_t mtime = ts_ns(&st->st_mtim), ctime = ts_ns(&st->st_ctim);
    size_t set = (size_t)((st->st_ino * 0x9E3779B97F4A7C15ull) ^ st->st_dev) % w->sha_sets;
    struct sha_entry *ways = &w->sha[set * SHA_WAYS];
    struct sha_entry *victim = &ways[0];
    for (int i = 0; i < SHA_WAYS; i++) {
        struct sha_entry *x = &ways[i];
        if (x->valid && x->dev == st->st_dev && x->ino == st->st_ino && x->mtime_ns == mtime &&
            x->ctime_ns == ctime && x->size == (uint64_t)st->st_size) {
            atomic_fetch_add_explicit(&w->hits, 1, memory_order_relaxed);
            x->age = ++w->sha_clock;
            memcpy(j->hex, x->hex, sizeof(j->hex));
            j->have_hex = true;
            return;
        }
        if (!x->valid || x->age < victim->age)
            victim = x;
    }
    if ((uint64_t)st->st_size > w->hash_max_bytes) {
        j->sha_why = "too_large"; /* not read at all: a 10 GiB sparse file costs nothing */
        atomic_fetch_add_explicit(&w->errors, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&w->misses, 1, memory_order_relaxed);
    j->sha_why = sha256_fd(fd, w->hash_max_bytes, j->hex);
    if (j->sha_why) {
        atomic_fetch_add_explicit(&w->errors, 1, memory_order_relaxed);
        return;
    }
    j->have_hex = true;
    victim->valid = true;
    victim->dev = st->st_dev;
    victim->ino = st->st_ino;
    victim->mtime_ns = mtime;
    victim->ctime_ns = ctime;
    victim->size = (uint64_t)st->st_size;
    victim->age = ++w->sha_clock;
    memcpy(victim->hex, j->hex, sizeof(j->hex));
}

static void run_job(struct exe_worker *w, struct exe_job *j)
{
    struct stat st;
    const char *why = j->path_ok ? "gone" : "in_container";
    bool live = false;
    int fd = -1;
    if (j->pid > 0) {
        fd = open_proc_exe(j->pid, j->start_ns, j->proc_must_match ? j->path : NULL, &st);
        if (fd >= 0 && j->ino && (st.st_dev != j->dev || st.st_ino != j->ino)) {
            close(fd); /* it has exec'd another image since */
            fd = -1;
        }
        live = fd >= 0;
    }
    if (fd < 0 && j->path_ok && j->path && j->path[0] == '/') {
        fd = open_exe_path(j->path, &st, &why);
        if (fd >= 0 && j->ino && (st.st_dev != j->dev || st.st_ino != j->ino)) {
            close(fd); /* the file at the path now is not the one that ran */
            fd = -1;
            why = "identity_mismatch";
        }
    }
    if (fd < 0) {
        j->sha_why = j->trust_why = why;
        return;
    }
    j->trust_why = col_exe_trust(j->path, &st, live, &j->trusted);
    if (j->trusted && !live && j->ino)
        j->trust_why = "system_binary_by_inode"; /* the path's file is the one exec'd */
    if (j->hash)
        digest(w, fd, &st, j);
    close(fd);
}

static void job_free(struct exe_job *j)
{
    if (j) {
        free(j->path);
        free(j);
    }
}

static void worker_release(struct exe_worker *w)
{
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1)
        return;
    void *item;
    while (mz_spsc_pop(w->req, &item))
        job_free(item);
    while (mz_spsc_pop(w->res, &item))
        job_free(item);
    mz_spsc_free(w->req);
    mz_spsc_free(w->res);
    free(w->sha);
    free(w);
}

static void *worker_main(void *arg)
{
    struct exe_worker *w = arg;
    pthread_setname_np(pthread_self(), "exe-worker");
    while (!atomic_load(&w->stop)) {
        void *item;
        if (!mz_spsc_pop(w->req, &item)) {
            uint32_t seen = mz_waiter_prepare(&w->req_w);
            if (mz_spsc_pop(w->req, &item)) {
                mz_waiter_cancel(&w->req_w);
            } else {
                if (atomic_load(&w->stop)) {
                    mz_waiter_cancel(&w->req_w);
                    break;
                }
                mz_waiter_wait(&w->req_w, seen, 0);
                continue;
            }
        }
        atomic_store(&w->busy_since, mz_monotonic_ns());
        run_job(w, item);
        atomic_store(&w->busy_since, 0);
        /* Room is certain: the scan side keeps at most JOB_QUEUE in flight. */
        if (!mz_spsc_push(w->res, item))
            job_free(item);
        mz_waiter_wake(&w->res_w);
    }
    atomic_store(&w->exited, true);
    worker_release(w);
    return NULL;
}

static struct exe_worker *worker_start(const struct mz_config *cfg)
{
    struct exe_worker *w = mz_calloc(1, sizeof(*w));
    size_t n = cfg->cache.exe_hashes;
    w->sha_sets = n / SHA_WAYS ? n / SHA_WAYS : 1;
    w->sha = mz_calloc(w->sha_sets * SHA_WAYS, sizeof(*w->sha));
    w->hash_max_bytes = cfg->collector.hash_max_bytes;
    w->req = mz_spsc_new(JOB_QUEUE);
    w->res = mz_spsc_new(JOB_QUEUE);
    mz_waiter_init(&w->req_w);
    mz_waiter_init(&w->res_w);
    atomic_init(&w->refs, 2);
    if (!w->req || !w->res || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        mz_spsc_free(w->req);
        mz_spsc_free(w->res);
        free(w->sha);
        free(w);
        return NULL;
    }
    return w;
}

/* Stops the worker: joined when it finishes within a short grace, else left
 * behind (it is stuck in a read nobody answers) with its own reference. */
static void worker_stop(struct exe_worker *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    mz_waiter_wake(&w->req_w);
    for (int i = 0; i < 50 && !atomic_load(&w->exited); i++) {
        struct timespec ts = {0, 4000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&w->exited)) {
        pthread_join(w->thread, NULL);
    } else {
        log_warn(
            "collector: the exe worker is stuck on a file for %llu ms; left behind",
            (unsigned long long)((mz_monotonic_ns() - atomic_load(&w->busy_since)) / 1000000ull));
        pthread_detach(w->thread);
    }
    worker_release(w);
}

/* ---- the scan side ------------------------------------------------------------ */

static uint64_t job_tag(int pid, uint64_t start_ns, const char *path, int kind)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t words[3] = {(uint64_t)(uint32_t)pid, start_ns, (uint64_t)kind};
    const unsigned char *b = (const unsigned char *)words;
    for (size_t i = 0; i < sizeof(words); i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    for (const char *c = path ? path : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return h ? h : 1;
}

/* Takes every result the worker has posted into the facts table. */
static size_t take_results(struct col_enrich *e)
{
    size_t n = 0;
    void *item;
    while (mz_spsc_pop(e->worker->res, &item)) {
        struct exe_job *j = item;
        struct facts_entry *f = &e->facts[j->tag % FACTS_SLOTS];
        if (f->tag == j->tag) { /* else: its slot went to another process meanwhile */
            f->state = FACTS_DONE;
            f->epoch = e->epoch; /* a per-scan result serves the scan it arrives in */
            f->have_hex = j->have_hex;
            memcpy(f->hex, j->hex, sizeof(f->hex));
            f->sha_why = j->sha_why;
            f->trusted = j->trusted;
            f->trust_why = j->trust_why;
        }
        job_free(j);
        e->in_flight--;
        n++;
    }
    return n;
}

/* The facts entry of tag: done, pending, or a new job handed to the worker.
 * Returns NULL with *why set when no job could be handed over. */
static struct facts_entry *facts_request(struct col_enrich *e, uint64_t tag,
                                         const struct exe_job *proto, const char **why)
{
    struct facts_entry *f = &e->facts[tag % FACTS_SLOTS];
    if (f->tag == tag && f->state == FACTS_DONE && (!f->per_scan || f->epoch == e->epoch))
        return f;
    uint64_t busy = atomic_load(&e->worker->busy_since);
    if (busy && mz_monotonic_ns() - busy > STALL_NS) {
        *why = "stalled"; /* one file holds the worker: wait for nothing */
        e->stats.exe_stalled++;
        return NULL;
    }
    if (f->tag == tag && f->state == FACTS_PENDING)
        return f;
    if (e->in_flight >= JOB_QUEUE) {
        *why = "busy";
        e->stats.exe_busy++;
        return NULL;
    }
    struct exe_job *j = mz_calloc(1, sizeof(*j));
    *j = *proto;
    j->tag = tag;
    j->path = mz_strdup(proto->path);
    if (!mz_spsc_push(e->worker->req, j)) {
        job_free(j);
        *why = "busy";
        e->stats.exe_busy++;
        return NULL;
    }
    e->in_flight++;
    mz_waiter_wake(&e->worker->req_w);
    memset(f, 0, sizeof(*f));
    f->tag = tag;
    f->state = FACTS_PENDING;
    f->per_scan = proto->pid <= 0;
    f->epoch = e->epoch;
    return f;
}

static bool facts_done(const struct col_enrich *e, uint64_t tag)
{
    const struct facts_entry *f = &e->facts[tag % FACTS_SLOTS];
    return !tag || (f->tag == tag && f->state == FACTS_DONE);
}

/* Waits for the results of tags a and b (0: none) within this observation's
 * and this scan's budget. */
static void facts_wait(struct col_enrich *e, uint64_t a, uint64_t b)
{
    uint64_t t0 = mz_monotonic_ns();
    uint64_t budget = WAIT_OBS_MS * 1000000ull;
    if (budget > e->wait_left_ns)
        budget = e->wait_left_ns;
    for (;;) {
        take_results(e);
        if (facts_done(e, a) && facts_done(e, b))
            break;
        uint64_t spent = mz_monotonic_ns() - t0;
        if (spent >= budget)
            break;
        uint32_t seen = mz_waiter_prepare(&e->worker->res_w);
        if (take_results(e)) {
            mz_waiter_cancel(&e->worker->res_w);
            continue;
        }
        mz_waiter_wait(&e->worker->res_w, seen, (unsigned)((budget - spent) / 1000000ull) + 1);
    }
    uint64_t spent = mz_monotonic_ns() - t0;
    e->wait_left_ns = spent < e->wait_left_ns ? e->wait_left_ns - spent : 0;
}

/* The trust check of an exited process's exe, on the scan thread and with
 * no job: only a path under a system directory can be trusted, those
 * directories are root's (in the daemon's mount namespace: no user's file
 * system is met on the way), and any other path is "not_system_dir" with no
 * syscall at all. So it costs a few lstat calls, never a stall, and does
 * not depend on how busy the worker is. */
static const char *path_trust(const char *path, uint64_t dev, uint64_t ino, bool *trusted)
{
    struct stat st;
    *trusted = false;
    if (!path_clean(path) || !in_system_dir(path))
        return "not_system_dir";
    if (lstat(path, &st) < 0)
        return "gone";
    if (S_ISLNK(st.st_mode))
        return "symlink";
    if (!S_ISREG(st.st_mode))
        return "not_regular";
    if (ino && (st.st_dev != dev || st.st_ino != ino))
        return "identity_mismatch";
    const char *why = col_exe_trust(path, &st, false, trusted);
    return *trusted && ino ? "system_binary_by_inode" : why;
}

/* exe_sha256 (or why not), exe_trusted and parent_exe_trusted for p. */
static void exe_facts(struct col_enrich *e, struct mz_process *p, bool alive)
{
    if (!e->worker)
        return;
    bool hash = e->hash_exes && !p->exe_sha256;
    if (!alive && (!p->exe || p->exe[0] != '/' || p->container)) {
        /* nothing to open: no job */
        const char *why = p->container && p->exe ? "in_container" : "gone";
        if (hash)
            p->exe_sha256_why = mz_strdup(why);
        p->exe_trust_why = mz_strdup(why);
        return;
    }
    bool path_trusted = false;
    const char *path_why = alive ? NULL : path_trust(p->exe, p->exe_dev, p->exe_ino, &path_trusted);
    const char *why_self = NULL, *why_parent = NULL;
    struct exe_job self = {
        .pid = alive ? p->pid : 0,
        .start_ns = p->start_ns,
        .hash = hash,
        .path_ok = !p->container,
        .path = p->exe,
        .dev = p->exe_dev,
        .ino = p->exe_ino,
    };
    /* A live process: its own job (/proc/PID/exe). An exited one: the file
     * at its path, shared by every exited process of this scan that ran it
     * (most are short-lived runs of a few programs: one check, not one per
     * process; the next scan checks again, so a rewrite is seen). */
    uint64_t tself =
        alive ? job_tag(p->pid, p->start_ns ^ (p->exe_ino * 0x9E3779B97F4A7C15ull), p->exe, 0)
              : job_tag(0, p->exe_ino, p->exe, 2);
    struct facts_entry *fs = alive || hash ? facts_request(e, tself, &self, &why_self) : NULL;
    const char *pexe = p->n_ancestry ? p->ancestry[0] : NULL;
    struct facts_entry *fp = NULL;
    uint64_t tpar = 0;
    if (pexe && pexe[0] == '/') {
        struct exe_job par = {
            .pid = p->ppid,
            .proc_must_match = true,
            .path_ok = !p->container,
            .path = (char *)pexe,
        };
        tpar = job_tag(p->ppid, 0, pexe, 1);
        fp = facts_request(e, tpar, &par, &why_parent);
    }
    if ((fs && fs->state == FACTS_PENDING) || (fp && fp->state == FACTS_PENDING))
        facts_wait(e, fs ? tself : 0, fp ? tpar : 0);
    /* the waits may have handed these slots to nobody else: they are scan-thread only */
    if (fs && !(fs->tag == tself && fs->state == FACTS_DONE)) {
        why_self = "pending";
        fs = NULL;
    }
    if (fs) {
        if (self.hash && fs->have_hex)
            p->exe_sha256 = mz_strdup(fs->hex);
        else if (self.hash)
            p->exe_sha256_why = mz_strdup(fs->sha_why ? fs->sha_why : "unknown");
        p->exe_trusted = fs->trusted;
        p->exe_trust_why = mz_strdup(fs->trust_why);
    } else if (why_self) {
        if (self.hash) {
            p->exe_sha256_why = mz_strdup(why_self);
            e->stats.sha_deferred++;
        }
        p->exe_trust_why = mz_strdup(why_self);
    }
    if (fp && fp->tag == tpar && fp->state == FACTS_DONE)
        p->parent_exe_trusted = fp->trusted;
    if (path_why) { /* an exited process: the check made here */
        p->exe_trusted = path_trusted;
        free(p->exe_trust_why);
        p->exe_trust_why = mz_strdup(path_why);
    }
}

void col_enrich_process(struct col_enrich *e, struct mz_process *p)
{
    struct proc_entry *pe = p->pid > 0 ? proc_get(e, p->pid, p->start_ns) : NULL;
    bool alive = pe && pe->alive;
    if (alive) {
        if (!p->exe) {
            if (!pe->exe)
                pe->exe = proc_link(p->pid, "exe");
            p->exe = mz_strdup(pe->exe);
            e->stats.proc_fallbacks++;
        }
        if (!p->args) {
            if (!pe->args)
                pe->args = proc_cmdline(p->pid);
            p->args = mz_strdup(pe->args);
            e->stats.proc_fallbacks++;
        }
        if (!p->cwd) {
            if (!pe->cwd)
                pe->cwd = proc_link(p->pid, "cwd");
            p->cwd = mz_strdup(pe->cwd);
        }
    }
    if (!p->user)
        user_of(e, p);
    if (!p->group)
        group_of(e, p);
    if (!p->container && p->pid > 0)
        container_of_pid(e, p);
    exe_facts(e, p, alive);
}
