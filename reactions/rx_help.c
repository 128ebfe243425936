// SPDX-License-Identifier: Apache-2.0
/*
 * rx_help.c - the reaction helpers (rx_help.h): kill, files, the data
 * store, the network policy's blocks, logging and the emergency pair.
 * Every one runs in the daemon, as root, on arguments the alert's process
 * may have chosen (paths, pids read from the alert): each checks before
 * it acts, and reports why it refused for Errno().
 */
#include "reactions/rx_help.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "netpolicy/np.h"

/* ---- results --------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void seterr(char err[RX_ERRNO_MAX], const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, RX_ERRNO_MAX, fmt, ap);
    va_end(ap);
}

static cJSON *num(double v)
{
    return cJSON_CreateNumber(v);
}

/* "ENAME: what" for Errno(). */
static void set_errno(char err[RX_ERRNO_MAX], int e, const char *what)
{
    seterr(err, "%s: %s", strerrorname_np(e) ? strerrorname_np(e) : "EIO", what);
}

/* -1, with the reason for Errno(). */
static cJSON *fail_errno(char err[RX_ERRNO_MAX], int e, const char *what)
{
    set_errno(err, e, what);
    return num(-1);
}

static const char *arg_s(const cJSON *args, int i)
{
    const cJSON *a = cJSON_GetArrayItem(args, i);
    return cJSON_IsString(a) ? a->valuestring : NULL;
}

static bool arg_n(const cJSON *args, int i, double *out)
{
    const cJSON *a = cJSON_GetArrayItem(args, i);
    if (!cJSON_IsNumber(a))
        return false;
    *out = a->valuedouble;
    return true;
}

void rx_log_clean(const char *msg, char *out, size_t outlen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(msg ? msg : "");
         *p && n + 1 < outlen && n < RX_MSG_MAX; p++)
        out[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
    out[n] = '\0';
}

/* ---- processes ------------------------------------------------------------- */

/* Reads /proc/PID/stat: ppid, start (clock ticks since boot) and flags. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start, unsigned long *flags)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -ESRCH;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    /* after ") ": state ppid pgrp session tty tpgid flags ... starttime (field 22) */
    int field = 2;
    unsigned long long v22 = 0;
    long v4 = 0;
    unsigned long v9 = 0;
    for (char *s = p + 1; *s && field < 22;) {
        while (*s == ' ')
            s++;
        field++;
        char *end;
        if (field == 4)
            v4 = strtol(s, &end, 10);
        else if (field == 9)
            v9 = strtoul(s, &end, 10);
        else if (field == 22)
            v22 = strtoull(s, &end, 10);
        while (*s && *s != ' ')
            s++;
    }
    if (field < 22)
        return -EINVAL;
    if (ppid)
        *ppid = (pid_t)v4;
    if (start)
        *start = v22;
    if (flags)
        *flags = v9;
    return 0;
}

static pid_t tgid_of(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    pid_t t = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "Tgid:", 5) == 0) {
            t = (pid_t)strtol(line + 5, NULL, 10);
            break;
        }
    fclose(f);
    return t;
}

#define PF_KTHREAD 0x00200000ul

int rx_kill_allowed(pid_t pid, const pid_t *workers, size_t n_workers, char *why, size_t whylen)
{
    const char *no = NULL;
    pid_t self = getpid();
    unsigned long flags = 0;
    if (pid <= 1)
        no = "pid 1 and below";
    else if (pid == 2)
        no = "kthreadd";
    else if (pid == self || tgid_of(pid) == self)
        no = "mizan itself";
    else if (pid == getppid())
        no = "mizan's parent";
    else if (proc_stat(pid, NULL, NULL, &flags) == 0 && (flags & PF_KTHREAD))
        no = "a kernel thread";
    for (size_t i = 0; !no && i < n_workers; i++)
        if (workers[i] == pid)
            no = "a reaction worker of mizan";
    if (!no)
        return 0;
    snprintf(why, whylen, "EPERM: refused to kill %s (pid %d)", no, (int)pid);
    return -EPERM;
}

/* Kills pid with SIGKILL through a pidfd, after checking (on the pidfd's
 * process) that it is the one started at start_ns (0: any) and, when
 * child > 0 and alive, that it is still child's parent. */
static cJSON *kill_checked(const struct rx_help_ctx *c, pid_t pid, uint64_t start_ns,
                           char err[RX_ERRNO_MAX])
{
    if (pid <= 0)
        return fail_errno(err, ESRCH, "the alert names no such process");
    if (rx_kill_allowed(pid, c->workers, c->n_workers, err, RX_ERRNO_MAX))
        return num(-1);
    int fd = (int)pidfd_open(pid, 0);
    if (fd < 0)
        return errno == ESRCH ? num(1) : fail_errno(err, errno, "pidfd_open");
    unsigned long long start;
    if (proc_stat(pid, NULL, &start, NULL)) {
        close(fd);
        return num(1); /* gone between the two */
    }
    if (start_ns) {
        long hz = sysconf(_SC_CLK_TCK);
        unsigned long long want =
            start_ns / (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
        if (start + 1 < want || start > want + 1) {
            close(fd);
            return num(1); /* the pid was reused: the alert's process exited */
        }
    }
    int r = pidfd_send_signal(fd, SIGKILL, NULL, 0);
    int e = errno;
    close(fd);
    if (r)
        return e == ESRCH ? num(1) : fail_errno(err, e, "pidfd_send_signal");
    log_warn("reaction %s: killed pid %d", c->reaction, (int)pid);
    return num(0);
}

static cJSON *kill_parent(const struct rx_help_ctx *c, char err[RX_ERRNO_MAX])
{
    if (c->ppid <= 0)
        return fail_errno(err, ESRCH, "the alert names no parent");
    pid_t now_ppid;
    if (c->pid > 0 && proc_stat(c->pid, &now_ppid, NULL, NULL) == 0 && now_ppid != c->ppid)
        return num(1); /* the parent exited: the child was reparented */
    /* the parent must be older than the child: a reused pid would be younger */
    unsigned long long pstart;
    if (proc_stat(c->ppid, NULL, &pstart, NULL))
        return num(1);
    long hz = sysconf(_SC_CLK_TCK);
    if (c->start_ns &&
        pstart > c->start_ns / (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100)) + 1)
        return num(1);
    return kill_checked(c, c->ppid, 0, err);
}

/* ---- files ------------------------------------------------------------------ */

static cJSON *read_file(const char *path, char err[RX_ERRNO_MAX])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        set_errno(err, errno, path);
        return cJSON_CreateString("");
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        set_errno(err, EINVAL, "not a regular file");
        return cJSON_CreateString("");
    }
    char *buf = mz_calloc(1, RX_FILE_MAX + 1);
    size_t len = 0;
    ssize_t n;
    while (len < RX_FILE_MAX && (n = read(fd, buf + len, RX_FILE_MAX - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    cJSON *v = cJSON_CreateString(buf);
    free(buf);
    return v;
}

static cJSON *write_file(const char *path, const char *data, char err[RX_ERRNO_MAX])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0)
        return fail_errno(err, errno, path);
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return fail_errno(err, EPERM, "not a regular file of mizan's user");
    }
    size_t len = strlen(data), off = 0;
    int r = fchmod(fd, 0600) || ftruncate(fd, 0) ? -errno : 0;
    while (!r && off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0)
            r = -errno;
        else
            off += (size_t)n;
    }
    if (close(fd) && !r)
        r = -errno;
    return r ? fail_errno(err, -r, path) : num(0);
}

static void mode_string(mode_t m, char out[11])
{
    out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'L' : S_ISREG(m) ? '-' : '?';
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (m & (1u << (8 - i))) ? rwx[i] : '-';
    out[10] = '\0';
}

static cJSON *stat_path(const char *path, char err[RX_ERRNO_MAX])
{
    struct stat st;
    if (lstat(path, &st)) {
        set_errno(err, errno, path);
        return cJSON_CreateNull();
    }
    char mode[11], t[MZ_RFC3339_LEN];
    mode_string(st.st_mode, mode);
    mz_format_rfc3339((uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec,
                      t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "size", (double)st.st_size);
    cJSON_AddStringToObject(o, "mode", mode);
    cJSON_AddStringToObject(o, "modTime", t);
    cJSON_AddBoolToObject(o, "isDir", S_ISDIR(st.st_mode));
    return o;
}

static cJSON *create_temp_dir(const char *pattern, char err[RX_ERRNO_MAX])
{
    char prefix[128], path[160];
    if (!pattern || !*pattern)
        pattern = "reaction-*";
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        n--;
    if (n >= sizeof(prefix) || memchr(pattern, '/', n) || (n == 2 && !memcmp(pattern, "..", 2))) {
        set_errno(err, EINVAL, "pattern: a name under /tmp, no '/'");
        return cJSON_CreateString("");
    }
    memcpy(prefix, pattern, n);
    prefix[n] = '\0';
    snprintf(path, sizeof(path), "/tmp/%sXXXXXX", prefix);
    if (!mkdtemp(path)) {
        set_errno(err, errno, "mkdtemp");
        return cJSON_CreateString("");
    }
    return cJSON_CreateString(path);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return (type == FTW_DP ? rmdir(p) : unlink(p)) ? -1 : 0;
}

/* Only "/tmp/NAME" (one component, not . or ..), a real directory that
 * mizan's user owns and no one else may write. */
static cJSON *remove_dir(const char *path, char err[RX_ERRNO_MAX])
{
    const char *name = strncmp(path, "/tmp/", 5) == 0 ? path + 5 : NULL;
    if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return fail_errno(err, EPERM, "only a directory directly under /tmp");
    struct stat st;
    if (lstat(path, &st))
        return fail_errno(err, errno, path);
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
        return fail_errno(err, EPERM, "not a directory of mizan's user, writable by it alone");
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT))
        return fail_errno(err, errno ? errno : EIO, path);
    return num(0);
}

/* ---- the data store ---------------------------------------------------------- */

struct rx_kv {
    char *key, *value;
};

/* One reaction's data: keys with values, and lists (list "" is the
 * default stack of DataPush(value) / DataPop()). */
struct rx_space {
    char *name;
    struct rx_kv *kv;
    size_t n_kv;
    struct rx_kv *items; /* key = the list, value = the item, in push order */
    size_t n_items;
};

struct rx_store {
    pthread_mutex_t lock;
    struct rx_space *spaces;
    size_t n;
};

struct rx_store *rx_store_new(void)
{
    struct rx_store *s = mz_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void kv_free(struct rx_kv *kv)
{
    free(kv->key);
    free(kv->value);
}

static void space_clear(struct rx_space *sp)
{
    for (size_t i = 0; i < sp->n_kv; i++)
        kv_free(&sp->kv[i]);
    for (size_t i = 0; i < sp->n_items; i++)
        kv_free(&sp->items[i]);
    free(sp->kv);
    free(sp->items);
    sp->kv = sp->items = NULL;
    sp->n_kv = sp->n_items = 0;
}

void rx_store_free(struct rx_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        space_clear(&s->spaces[i]);
        free(s->spaces[i].name);
    }
    free(s->spaces);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static struct rx_space *space_of(struct rx_store *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->spaces[i].name, name) == 0)
            return &s->spaces[i];
    s->spaces = mz_realloc(s->spaces, (s->n + 1) * sizeof(*s->spaces));
    struct rx_space *sp = &s->spaces[s->n++];
    memset(sp, 0, sizeof(*sp));
    sp->name = mz_strdup(name);
    return sp;
}

static struct rx_kv *kv_find(struct rx_space *sp, const char *key)
{
    for (size_t i = 0; i < sp->n_kv; i++)
        if (strcmp(sp->kv[i].key, key) == 0)
            return &sp->kv[i];
    return NULL;
}

static cJSON *string_array(struct rx_kv *kv, size_t n, bool keys)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(keys ? kv[i].key : kv[i].value));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    cJSON *v = cJSON_CreateString(s ? s : "[]");
    free(s);
    return v;
}

static cJSON *data_op(const struct rx_help_ctx *c, enum rx_op op, const cJSON *args,
                      char err[RX_ERRNO_MAX])
{
    const char *a0 = arg_s(args, 0), *a1 = arg_s(args, 1);
    if ((a0 && strlen(a0) > RX_VALUE_MAX) || (a1 && strlen(a1) > RX_VALUE_MAX))
        return fail_errno(err, E2BIG, "a key or value is larger than 64 KiB");
    struct rx_store *s = c->store;
    cJSON *v = NULL;
    pthread_mutex_lock(&s->lock);
    struct rx_space *sp = space_of(s, c->reaction);
    bool full = sp->n_kv + sp->n_items >= RX_STORE_MAX;
    struct rx_kv *kv;
    switch (op) {
    case RX_OP_DATA_SET:
        if ((kv = kv_find(sp, a0))) {
            free(kv->value);
            kv->value = mz_strdup(a1);
        } else if (full) {
            v = fail_errno(err, ENOSPC, "the reaction's store is full");
            break;
        } else {
            sp->kv = mz_realloc(sp->kv, (sp->n_kv + 1) * sizeof(*sp->kv));
            sp->kv[sp->n_kv++] = (struct rx_kv){mz_strdup(a0), mz_strdup(a1)};
        }
        v = num(0);
        break;
    case RX_OP_DATA_GET:
        kv = kv_find(sp, a0);
        v = cJSON_CreateString(kv ? kv->value : "");
        break;
    case RX_OP_DATA_DELETE:
        if ((kv = kv_find(sp, a0))) {
            kv_free(kv);
            *kv = sp->kv[--sp->n_kv];
            v = num(0);
        } else {
            v = num(1);
        }
        break;
    case RX_OP_DATA_PUSH: {
        const char *list = a1 ? a0 : "", *item = a1 ? a1 : a0;
        if (full) {
            v = fail_errno(err, ENOSPC, "the reaction's store is full");
            break;
        }
        sp->items = mz_realloc(sp->items, (sp->n_items + 1) * sizeof(*sp->items));
        sp->items[sp->n_items++] = (struct rx_kv){mz_strdup(list), mz_strdup(item)};
        v = num(0);
        break;
    }
    case RX_OP_DATA_POP: {
        const char *list = a0 ? a0 : "";
        for (size_t i = sp->n_items; i-- > 0;)
            if (strcmp(sp->items[i].key, list) == 0) {
                v = cJSON_CreateString(sp->items[i].value);
                kv_free(&sp->items[i]);
                memmove(&sp->items[i], &sp->items[i + 1],
                        (sp->n_items - i - 1) * sizeof(*sp->items));
                sp->n_items--;
                break;
            }
        if (!v) {
            seterr(err, "ENOENT: the list is empty");
            v = cJSON_CreateString("");
        }
        break;
    }
    case RX_OP_DATA_KEYS:
        v = string_array(sp->kv, sp->n_kv, true);
        break;
    case RX_OP_DATA_VALUES:
        v = string_array(sp->kv, sp->n_kv, false);
        break;
    case RX_OP_DATA_CLEAR:
        space_clear(sp);
        v = num(0);
        break;
    case RX_OP_DATA_SIZE:
        v = num((double)sp->n_kv);
        break;
    case RX_OP_DATA_IS_EMPTY:
        v = cJSON_CreateBool(sp->n_kv == 0 && sp->n_items == 0);
        break;
    case RX_OP_DATA_HAS_KEY:
        v = cJSON_CreateBool(kv_find(sp, a0) != NULL);
        break;
    case RX_OP_DATA_HAS_VALUE: {
        bool has = false;
        for (size_t i = 0; !has && i < sp->n_kv; i++)
            has = strcmp(sp->kv[i].value, a0) == 0;
        for (size_t i = 0; !has && i < sp->n_items; i++)
            has = strcmp(sp->items[i].value, a0) == 0;
        v = cJSON_CreateBool(has);
        break;
    }
    default:
        v = fail_errno(err, ENOSYS, "not a data store op");
    }
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* ---- network ------------------------------------------------------------------ */

static cJSON *net_result(int r, char err[RX_ERRNO_MAX], const char *what)
{
    if (r == -ENOTSUP) { /* ENOTSUP's name is EOPNOTSUPP on Linux: named here */
        seterr(err, "ENOTSUP: the network policy is not enabled (netpolicy.enabled)");
        return num(-1);
    }
    if (r < 0)
        return fail_errno(err, -r, what);
    return num(r);
}

static cJSON *net_op(const struct rx_help_ctx *c, enum rx_op op, const cJSON *args,
                     char err[RX_ERRNO_MAX])
{
    const char *a0 = arg_s(args, 0);
    double secs = 0;
    switch (op) {
    case RX_OP_NET_BLOCK_IP:
        if (!a0 && !(c->remote && *c->remote))
            return fail_errno(err, EINVAL, "the alert has no remote address");
        return net_result(np_block_ip(c->np, a0 ? a0 : c->remote, 0), err, a0 ? a0 : c->remote);
    case RX_OP_NET_UNBLOCK_IP:
        return net_result(np_unblock_ip(c->np, a0), err, a0);
    case RX_OP_NET_BLOCK_IP_TIMER:
        if (!arg_n(args, 1, &secs) || secs < 1 || secs > 366.0 * 86400)
            return fail_errno(err, EINVAL, "seconds: 1 to a year");
        return net_result(np_block_ip(c->np, a0, (uint32_t)secs), err, a0);
    case RX_OP_NET_BLOCK_DOMAIN:
        if (!a0 && !(c->domain && *c->domain))
            return fail_errno(err, EINVAL, "the alert has no remote domain");
        return net_result(np_block_domain(c->np, a0 ? a0 : c->domain), err, a0 ? a0 : c->domain);
    default:
        return fail_errno(err, ENOSYS, "not a network op");
    }
}

/* ---- the dispatcher ------------------------------------------------------------ */

static cJSON *emergency(const struct rx_help_ctx *c, enum rx_op op, char err[RX_ERRNO_MAX])
{
    const char *what = op == RX_OP_POWER_OFF ? "PowerOff" : "Panic";
    if (!c->allow_emergency) {
        log_warn("reaction %s: %s refused (reactions.allow_emergency is false)", c->reaction, what);
        return fail_errno(err, EPERM, "reactions.allow_emergency is false");
    }
    log_error("reaction %s: %s: acting now", c->reaction, what);
    sync();
    if (op == RX_OP_POWER_OFF) {
        if (reboot(RB_POWER_OFF))
            return fail_errno(err, errno, "reboot");
        return num(0);
    }
    int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "c", 1) != 1) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail_errno(err, e, "/proc/sysrq-trigger");
    }
    close(fd);
    return num(0);
}

cJSON *rx_help_call(const struct rx_help_ctx *c, enum rx_op op, const cJSON *args,
                    char err[RX_ERRNO_MAX])
{
    err[0] = '\0';
    double d;
    switch (op) {
    case RX_OP_INFO:
    case RX_OP_WARN:
    case RX_OP_ERROR: {
        char msg[RX_MSG_MAX + 1];
        rx_log_clean(arg_s(args, 0), msg, sizeof(msg));
        if (op == RX_OP_INFO)
            log_info("reaction %s: %s", c->reaction, msg);
        else if (op == RX_OP_WARN)
            log_warn("reaction %s: %s", c->reaction, msg);
        else
            log_error("reaction %s: %s", c->reaction, msg);
        return cJSON_CreateNull();
    }
    case RX_OP_NET_BLOCK_IP:
    case RX_OP_NET_UNBLOCK_IP:
    case RX_OP_NET_BLOCK_IP_TIMER:
    case RX_OP_NET_BLOCK_DOMAIN:
        return net_op(c, op, args, err);
    case RX_OP_KILL_CURRENT:
        if (c->pid > 0 && !c->start_ns)
            return fail_errno(err, EINVAL, "the alert's process has no start time to check");
        return kill_checked(c, c->pid, c->start_ns, err);
    case RX_OP_KILL_PARENT:
        return kill_parent(c, err);
    case RX_OP_KILL_PROCESS:
        if (!arg_n(args, 0, &d) || d < 0 || d > 4194304)
            return fail_errno(err, EINVAL, "pid");
        return kill_checked(c, (pid_t)d, 0, err);
    case RX_OP_READ_FILE:
        return read_file(arg_s(args, 0), err);
    case RX_OP_WRITE_FILE:
        return write_file(arg_s(args, 0), arg_s(args, 1), err);
    case RX_OP_STAT:
        return stat_path(arg_s(args, 0), err);
    case RX_OP_CREATE_TEMP_DIR:
        return create_temp_dir(arg_s(args, 0), err);
    case RX_OP_REMOVE_DIR:
        return remove_dir(arg_s(args, 0), err);
    case RX_OP_POWER_OFF:
    case RX_OP_PANIC:
        return emergency(c, op, err);
    case RX_OP_NONE:
    case RX_OP_COUNT:
        break;
    default:
        return data_op(c, op, args, err);
    }
    return fail_errno(err, ENOSYS, "unknown helper");
}
