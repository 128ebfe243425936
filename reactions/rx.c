// SPDX-License-Identifier: Apache-2.0
/*
 * rx.c - the reaction engine (rx.h): the job queue, the worker threads,
 * the js runner (a node worker process per thread, fed over pipes), the
 * shell runner, and the socket `mizan react` talks to.
 *
 * Workload: reactions are rare next to alerts (only recipes that declare
 * them), so rx_submit's cost for every other alert is one atomic load; a
 * recipe with reactions costs one JSON document per alert, built on the
 * calling thread, and everything slow (node, /proc, the shell) happens on
 * the reaction threads.
 */
#include "reactions/rx.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/embedded.h"
#include "core/log.h"
#include "core/util.h"
#include "pipeline/queue.h"
#include "reactions/rx_help.h"
#include "reactions/rx_proto.h"

#define RX_WORKERS_MAX 64
#define RX_LOG_LINES   200 /* lines of a reaction's output or log calls logged per run */
#define RX_ENV_DATA_MAX                                                                            \
    120000 /* bytes of $REACTION_DATA (the kernel caps one string at 128 KiB)                      \
            */
#define RX_NOBODY       65534
#define RX_SOCK_TIMEOUT 2000 /* ms a client has to send its request */

/* ---- the table of reactions ------------------------------------------------------ */

struct rx_entry {
    char *recipe, *kind, *format, *code;
    size_t index;
};

struct rx_table {
    struct rx_entry *v;
    size_t n;
};

struct rx_table *rx_table_new(void)
{
    return mz_calloc(1, sizeof(struct rx_table));
}

void rx_table_add(struct rx_table *t, const char *recipe_id, const char *kind, size_t index,
                  const char *format, const char *code)
{
    t->v = mz_realloc(t->v, (t->n + 1) * sizeof(*t->v));
    t->v[t->n++] = (struct rx_entry){mz_strdup(recipe_id), mz_strdup(kind), mz_strdup(format),
                                     mz_strdup(code), index};
}

static void table_free(struct rx_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].recipe);
        free(t->v[i].kind);
        free(t->v[i].format);
        free(t->v[i].code);
    }
    free(t->v);
    free(t);
}

/* ---- jobs --------------------------------------------------------------------------- */

struct rx_job {
    char reaction[300]; /* "recipe#index" */
    char *recipe, *kind, *format, *code;
    char uuid[37];
    cJSON *data; /* the alert, with Jibril's fields; background.ancestry is added on run */
    int32_t pid, ppid;
    uint64_t start_ns;
    char comm[16];
    char *exe, *parent_exe;
    char remote[46];
    char *domain;
};

static void job_free(struct rx_job *j)
{
    if (!j)
        return;
    free(j->recipe);
    free(j->kind);
    free(j->format);
    free(j->code);
    cJSON_Delete(j->data);
    free(j->exe);
    free(j->parent_exe);
    free(j->domain);
    free(j);
}

/* ---- the engine ------------------------------------------------------------------------ */

struct rx_node {
    pid_t pid; /* 0: not running */
    int in_fd, out_fd;
    char *buf; /* bytes read but not yet a line */
    size_t len;
};

struct rx_slot {
    pthread_mutex_t lock; /* token and ctx, against the socket thread */
    char token[RX_TOKEN_LEN + 1];
    struct rx_help_ctx ctx;
    bool active;
    unsigned log_lines;
};

struct rx {
    const struct mz_config *cfg;
    struct np *np;
    struct rx_store *store;
    pthread_mutex_t table_lock;
    struct rx_table *table;
    _Atomic size_t n_reactions;
    struct mz_mpmc *q;
    struct mz_waiter waiter;
    _Atomic bool stop;
    _Atomic uint64_t
        stop_deadline_ns; /* after rx_drain's stop: jobs not begun by then are dropped */
    unsigned n_threads;
    pthread_t threads[RX_WORKERS_MAX];
    bool started;
    struct rx_slot slots[RX_WORKERS_MAX];
    _Atomic pid_t worker_pids[RX_WORKERS_MAX];
    pthread_t sock_thread;
    int sock_fd, sock_stop_fd;
    bool sock_running;
    char self_dir[PATH_MAX]; /* where the mizan binary is, for PATH */
    _Atomic uint64_t queued, ran, failed, timed_out, queue_full, withheld, worker_starts;
    _Atomic uint64_t dropped_at_exit;
    _Atomic uint64_t last_full_log_ns;
};

struct rx *rx_new(const struct mz_config *cfg, char *err, size_t errlen)
{
    if (cfg->reactions.workers < 1 || cfg->reactions.workers > RX_WORKERS_MAX) {
        snprintf(err, errlen, "reactions.workers: 1 to %d", RX_WORKERS_MAX);
        return NULL;
    }
    struct rx *rx = mz_calloc(1, sizeof(*rx));
    rx->cfg = cfg;
    rx->store = rx_store_new();
    pthread_mutex_init(&rx->table_lock, NULL);
    rx->q = mz_mpmc_new(cfg->reactions.queue);
    mz_waiter_init(&rx->waiter);
    rx->n_threads = cfg->reactions.workers;
    rx->sock_fd = rx->sock_stop_fd = -1;
    for (unsigned i = 0; i < RX_WORKERS_MAX; i++)
        pthread_mutex_init(&rx->slots[i].lock, NULL);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        (void)mz_strlcpy(rx->self_dir, self, sizeof(rx->self_dir));
    }
    if (!rx->q) {
        snprintf(err, errlen, "reactions.queue: cannot allocate");
        rx_free(rx);
        return NULL;
    }
    return rx;
}

void rx_set_netpolicy(struct rx *rx, struct np *np)
{
    if (rx)
        rx->np = np;
}

void rx_set_reactions(struct rx *rx, struct rx_table *t)
{
    if (!rx) {
        table_free(t);
        return;
    }
    pthread_mutex_lock(&rx->table_lock);
    struct rx_table *old = rx->table;
    rx->table = t;
    atomic_store(&rx->n_reactions, t ? t->n : 0);
    pthread_mutex_unlock(&rx->table_lock);
    table_free(old);
}

/* ---- the data a reaction gets --------------------------------------------------------- */

static void uuid_of(const char *id, char out[37])
{
    /* the alert id (32 hex digits) in the 8-4-4-4-12 form Jibril's uuid has */
    size_t n = 0, k = 0;
    for (; id[k] && n < 36; k++) {
        if (n == 8 || n == 13 || n == 18 || n == 23)
            out[n++] = '-';
        out[n++] = id[k];
    }
    out[n] = '\0';
}

/* Adds what Jibril's reactions read (metadata, uuid, file.file,
 * background.flows) to mizan's alert object. */
static void add_jibril_fields(cJSON *d, const struct mz_alert *a, const char *kind,
                              const char *uuid)
{
    const struct mz_recipe_ref *r = &a->det.recipe;
    cJSON_DeleteItemFromObjectCaseSensitive(d, "uuid");
    cJSON_AddStringToObject(d, "uuid", uuid);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "kind", kind ? kind : "");
    cJSON_AddStringToObject(m, "name", r->id ? r->id : "");
    cJSON_AddStringToObject(m, "description", r->description ? r->description : "");
    cJSON_AddStringToObject(m, "importance", mz_importance_name(r->importance));
    cJSON_AddStringToObject(m, "tactic", r->tactic ? r->tactic : "");
    cJSON_AddStringToObject(m, "technique", r->technique ? r->technique : "");
    cJSON_DeleteItemFromObjectCaseSensitive(d, "metadata");
    cJSON_AddItemToObject(d, "metadata", m);
    const struct mz_observation *o = &a->det.obs;
    if (o->file.path) {
        cJSON *f = cJSON_GetObjectItemCaseSensitive(d, "file");
        if (!cJSON_IsObject(f)) {
            cJSON_DeleteItemFromObjectCaseSensitive(d, "file");
            f = cJSON_AddObjectToObject(d, "file");
        }
        const char *slash = strrchr(o->file.path, '/');
        char dir[MZ_PATH_MAX];
        size_t dl = slash ? (size_t)(slash - o->file.path) : 0;
        if (dl >= sizeof(dir))
            dl = sizeof(dir) - 1;
        memcpy(dir, o->file.path, dl);
        dir[dl] = '\0';
        cJSON_AddStringToObject(f, "file", o->file.path);
        cJSON_AddStringToObject(f, "dir", dl ? dir : "/");
        cJSON_AddStringToObject(f, "basename", slash ? slash + 1 : o->file.path);
    }
    cJSON *bg = cJSON_AddObjectToObject(d, "background");
    if (o->kind == MZ_OBS_FLOW && o->flow.remote_addr[0]) {
        cJSON *flows = cJSON_AddObjectToObject(bg, "flows");
        cJSON *protos = cJSON_AddArrayToObject(flows, "protocols");
        cJSON *pr = cJSON_CreateObject();
        cJSON_AddItemToArray(protos, pr);
        cJSON_AddStringToObject(pr, "proto", mz_proto_name(o->flow.proto));
        cJSON *pairs = cJSON_AddArrayToObject(pr, "pairs");
        cJSON *pair = cJSON_CreateObject();
        cJSON_AddItemToArray(pairs, pair);
        cJSON *nodes = cJSON_AddObjectToObject(pair, "nodes");
        cJSON *rem = cJSON_AddObjectToObject(nodes, "remote");
        cJSON_AddStringToObject(rem, "address", o->flow.remote_addr);
        cJSON_AddNumberToObject(rem, "port", o->flow.remote_port);
        cJSON *names = cJSON_AddArrayToObject(rem, "names");
        if (o->flow.domain)
            cJSON_AddItemToArray(names, cJSON_CreateString(o->flow.domain));
    }
}

/* /proc/PID/stat: comm and ppid; 0 or -errno. */
static int stat_comm(pid_t pid, char comm[16], pid_t *ppid, unsigned long long *start)
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
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    if (!l || !r || r < l)
        return -EINVAL;
    size_t cl = (size_t)(r - l - 1);
    if (cl > 15)
        cl = 15;
    memcpy(comm, l + 1, cl);
    comm[cl] = '\0';
    int field = 2;
    char *s = r + 1;
    while (*s && field < 22) {
        while (*s == ' ')
            s++;
        field++;
        if (field == 4)
            *ppid = (pid_t)strtol(s, NULL, 10);
        if (field == 22)
            *start = strtoull(s, NULL, 10);
        while (*s && *s != ' ')
            s++;
    }
    return field == 22 ? 0 : -EINVAL;
}

static cJSON *ancestor(pid_t pid, const char *comm, const char *exe)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", pid);
    cJSON_AddStringToObject(o, "comm", comm ? comm : "");
    cJSON_AddStringToObject(o, "exe", exe ? exe : "");
    return o;
}

/* Appends p (whose comm and parent are known) and its ancestors, read
 * from /proc, to chain; returns its new length. */
static size_t walk(pid_t p, char comm[16], pid_t ppid, cJSON **chain, size_t n, size_t cap)
{
    while (p > 0 && n < cap) {
        char path[64], exe[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)p);
        ssize_t el = readlink(path, exe, sizeof(exe) - 1);
        exe[el > 0 ? el : 0] = '\0';
        chain[n++] = ancestor(p, comm, exe);
        pid_t gp;
        unsigned long long start;
        if (ppid <= 0 || stat_comm(ppid, comm, &gp, &start))
            break;
        p = ppid;
        ppid = gp;
    }
    return n;
}

/* background.ancestry: oldest first, the alert's process last. Read from
 * /proc while the process is still the alert's (same start time); once it
 * is gone, the alert's own fields, then its parent and the parent's
 * ancestors from /proc when the parent is older than it (a reused pid
 * would be younger). */
static void add_ancestry(struct rx_job *j)
{
    cJSON *bg = cJSON_GetObjectItemCaseSensitive(j->data, "background");
    cJSON *anc = cJSON_CreateArray();
    cJSON *chain[MZ_ANCESTRY_MAX + 1];
    size_t n = 0, cap = MZ_ARRAY_SIZE(chain);
    long hz = sysconf(_SC_CLK_TCK);
    unsigned long long tick = 1000000000ull / (unsigned long long)(hz > 0 ? hz : 100);
    unsigned long long want = j->start_ns / tick, start = 0;
    char comm[16];
    pid_t ppid = 0;
    if (j->pid > 0 && j->start_ns && stat_comm(j->pid, comm, &ppid, &start) == 0 &&
        start + 1 >= want && start <= want + 1) {
        n = walk(j->pid, comm, ppid, chain, 0, cap);
    } else if (j->pid > 0) {
        chain[n++] = ancestor(j->pid, j->comm, j->exe);
        if (j->ppid > 0 && j->start_ns && stat_comm(j->ppid, comm, &ppid, &start) == 0 &&
            start <= want + 1)
            n = walk(j->ppid, comm, ppid, chain, n, cap);
        else if (j->ppid > 0)
            chain[n++] = ancestor(j->ppid, "", j->parent_exe);
    }
    while (n > 0)
        cJSON_AddItemToArray(anc, chain[--n]);
    cJSON_AddItemToObject(bg, "ancestry", anc);
}

void rx_submit(struct rx *rx, const struct mz_alert *alert)
{
    if (!rx || atomic_load_explicit(&rx->n_reactions, memory_order_relaxed) == 0)
        return;
    const char *id = alert->det.recipe.id;
    if (!id)
        return;
    struct rx_entry mine[32];
    size_t n = 0;
    pthread_mutex_lock(&rx->table_lock);
    for (size_t i = 0; rx->table && i < rx->table->n && n < MZ_ARRAY_SIZE(mine); i++) {
        const struct rx_entry *e = &rx->table->v[i];
        if (strcmp(e->recipe, id) == 0)
            mine[n++] = (struct rx_entry){mz_strdup(e->recipe), mz_strdup(e->kind),
                                          mz_strdup(e->format), mz_strdup(e->code), e->index};
    }
    pthread_mutex_unlock(&rx->table_lock);
    if (!n)
        return;
    if (alert->att.withheld) {
        atomic_fetch_add(&rx->withheld, n);
        log_info("reactions: %s: alert %s withheld by the attenuator: %zu reaction(s) not run", id,
                 alert->id, n);
        goto out;
    }
    char uuid[37];
    uuid_of(alert->id, uuid);
    cJSON *base = mz_alert_to_json(alert);
    if (!base) {
        atomic_fetch_add(&rx->failed, n);
        goto out;
    }
    add_jibril_fields(base, alert, mine[0].kind, uuid);
    const struct mz_process *p = &alert->det.obs.proc;
    for (size_t i = 0; i < n; i++) {
        struct rx_job *j = mz_calloc(1, sizeof(*j));
        snprintf(j->reaction, sizeof(j->reaction), "%.255s#%zu", mine[i].recipe, mine[i].index);
        j->recipe = mine[i].recipe;
        j->kind = mine[i].kind;
        j->format = mine[i].format;
        j->code = mine[i].code;
        memset(&mine[i], 0, sizeof(mine[i]));
        memcpy(j->uuid, uuid, sizeof(uuid));
        j->data = i + 1 < n ? cJSON_Duplicate(base, true) : base;
        j->pid = p->pid;
        j->ppid = p->ppid;
        j->start_ns = p->start_ns;
        memcpy(j->comm, p->comm, sizeof(j->comm));
        j->exe = mz_strdup(p->exe);
        j->parent_exe = mz_strdup(p->n_ancestry ? p->ancestry[0] : NULL);
        if (alert->det.obs.kind == MZ_OBS_FLOW) {
            (void)mz_strlcpy(j->remote, alert->det.obs.flow.remote_addr, sizeof(j->remote));
            j->domain = mz_strdup(alert->det.obs.flow.domain);
        }
        if (!mz_mpmc_push(rx->q, j)) {
            uint64_t full = atomic_fetch_add(&rx->queue_full, 1) + 1;
            uint64_t now = mz_monotonic_ns(), last = atomic_load(&rx->last_full_log_ns);
            if (now - last > 1000000000ull &&
                atomic_compare_exchange_strong(&rx->last_full_log_ns, &last, now))
                log_warn("reactions: queue full (reactions.queue %u): %s not run for alert %s "
                         "(%llu dropped so far); the alert is printed",
                         rx->cfg->reactions.queue, j->reaction, alert->id,
                         (unsigned long long)full);
            job_free(j);
            continue;
        }
        atomic_fetch_add(&rx->queued, 1);
        mz_waiter_wake(&rx->waiter);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(mine[i].recipe);
        free(mine[i].kind);
        free(mine[i].format);
        free(mine[i].code);
    }
}

/* ---- output of a run, to the log ------------------------------------------------------- */

static void log_output(struct rx_slot *s, const char *line)
{
    char clean[RX_MSG_MAX + 1];
    if (s->log_lines == RX_LOG_LINES)
        log_warn("reaction %s: more output, not logged", s->ctx.reaction);
    if (s->log_lines++ >= RX_LOG_LINES)
        return;
    rx_log_clean(line, clean, sizeof(clean));
    log_info("reaction %s: %s", s->ctx.reaction, clean);
}

/* ---- the node worker -------------------------------------------------------------------- */

static void node_stop(struct rx *rx, unsigned idx, struct rx_node *w)
{
    if (w->pid > 0) {
        kill(w->pid, SIGKILL);
        waitpid(w->pid, NULL, 0);
    }
    if (w->in_fd >= 0)
        close(w->in_fd);
    if (w->out_fd >= 0)
        close(w->out_fd);
    free(w->buf);
    *w = (struct rx_node){.in_fd = -1, .out_fd = -1};
    atomic_store(&rx->worker_pids[idx], 0);
}

/* The child side: the sandbox, then node. Only async-signal-safe calls. */
static void node_child(int in_fd, int out_fd, const char *node, char *const argv[],
                       char *const envp[], pid_t parent)
{
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0)
        _exit(126);
    closefrom(3);
    struct rlimit core = {0, 0}, nofile = {64, 64}, fsize = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    setrlimit(RLIMIT_NOFILE, &nofile);
    setrlimit(RLIMIT_FSIZE, &fsize);
    if (geteuid() == 0) {
        if (setgroups(0, NULL) || setgid(RX_NOBODY) || setuid(RX_NOBODY))
            _exit(126);
    }
    /* after setuid, which clears it; then the parent may be gone already */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (chdir("/"))
        _exit(126);
    execve(node, argv, envp);
    _exit(127);
}

static int node_start(struct rx *rx, unsigned idx, struct rx_node *w)
{
    const struct mz_embedded *script = mz_embedded_find("reactions/rx_worker.js");
    if (!script)
        return -ENOENT;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC))
        return -errno;
    if (pipe2(out, O_CLOEXEC)) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        return -e;
    }
    char *argv[] = {"node", "--max-old-space-size=128", "--stack-size=2048",
                    "-e",   (char *)script->data,       NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "NODE_NO_WARNINGS=1", "LANG=C.UTF-8", NULL};
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid == 0)
        node_child(in[0], out[1], rx->cfg->reactions.node, argv, envp, self);
    int e = errno;
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -e;
    }
    *w = (struct rx_node){.pid = pid, .in_fd = in[1], .out_fd = out[0]};
    atomic_store(&rx->worker_pids[idx], pid);
    atomic_fetch_add(&rx->worker_starts, 1);
    return 0;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line from the worker before deadline (monotonic ns) into
 * *line (owned by w until the next call). 0, -ETIMEDOUT, -EPIPE or -E2BIG. */
static int node_line(struct rx_node *w, uint64_t deadline, char **line, size_t *len)
{
    static const size_t cap = RX_LINE_MAX + 1;
    for (;;) {
        char *nl = w->len ? memchr(w->buf, '\n', w->len) : NULL;
        if (nl) {
            *line = w->buf;
            *len = (size_t)(nl - w->buf) + 1;
            return 0;
        }
        if (w->len >= cap)
            return -E2BIG;
        uint64_t now = mz_monotonic_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = w->out_fd, .events = POLLIN};
        int ms = (int)((deadline - now) / 1000000) + 1;
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -ETIMEDOUT;
        if (!w->buf)
            w->buf = mz_calloc(1, cap);
        ssize_t n = read(w->out_fd, w->buf + w->len, cap - w->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
        w->len += (size_t)n;
    }
}

static void node_consume(struct rx_node *w, size_t len)
{
    memmove(w->buf, w->buf + len, w->len - len);
    w->len -= len;
}

/* Answers a helper call: {"v":..., "errno":"..."} as a line on to. */
static char *answer_line(cJSON *v, const char *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "v", v);
    cJSON_AddStringToObject(o, "errno", err);
    cJSON_AddStringToObject(o, "t", "ret");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* A helper call of the job in slot s: log calls past RX_LOG_LINES are
 * dropped (counted in the log), the rest run. */
static cJSON *slot_call(struct rx_slot *s, enum rx_op op, const cJSON *args, char *err)
{
    if (op == RX_OP_INFO || op == RX_OP_WARN || op == RX_OP_ERROR) {
        if (s->log_lines == RX_LOG_LINES)
            log_warn("reaction %s: more log lines, not logged", s->ctx.reaction);
        if (s->log_lines++ >= RX_LOG_LINES) {
            err[0] = '\0';
            return cJSON_CreateNull();
        }
    }
    return rx_help_call(&s->ctx, op, args, err);
}

static int run_js(struct rx *rx, unsigned idx, struct rx_node *w, struct rx_job *j,
                  const char *data, uint64_t deadline)
{
    struct rx_slot *s = &rx->slots[idx];
    if (w->pid <= 0) {
        int r = node_start(rx, idx, w);
        if (r) {
            log_error("reaction %s: cannot start %s: %s", j->reaction, rx->cfg->reactions.node,
                      strerror(-r));
            return r;
        }
    }
    cJSON *run = cJSON_CreateObject();
    cJSON_AddStringToObject(run, "t", "run");
    cJSON_AddStringToObject(run, "name", j->recipe);
    cJSON_AddStringToObject(run, "kind", j->kind);
    cJSON_AddStringToObject(run, "uuid", j->uuid);
    cJSON_AddStringToObject(run, "code", j->code);
    cJSON_AddStringToObject(run, "data", data);
    cJSON_AddNumberToObject(run, "timeout", (double)rx->cfg->reactions.timeout_ms);
    char *line = cJSON_PrintUnformatted(run);
    cJSON_Delete(run);
    int r = -ENOMEM;
    if (line) {
        size_t ll = strlen(line);
        line[ll] = '\n'; /* cJSON's buffer has room for its NUL: replaced, then written */
        r = write_all(w->in_fd, line, ll + 1);
        free(line);
    }
    while (r == 0) {
        char *l;
        size_t len;
        if ((r = node_line(w, deadline, &l, &len)))
            break;
        struct rx_wmsg m;
        char perr[160];
        if (rx_wmsg_parse(l, len, &m, perr, sizeof(perr))) {
            log_error("reaction %s: the worker sent a bad line (%s): restarting it", j->reaction,
                      perr);
            r = -EPROTO;
            break;
        }
        node_consume(w, len);
        if (m.type == RX_WMSG_DONE) {
            if (m.error) {
                char clean[RX_MSG_MAX + 1];
                rx_log_clean(m.error, clean, sizeof(clean));
                if (strcmp(clean, "timed out") == 0) {
                    r = -ETIMEDOUT;
                } else {
                    log_error("reaction %s: %s", j->reaction, clean);
                    r = -ECANCELED;
                }
            }
            rx_wmsg_clear(&m);
            return r;
        }
        char err[RX_ERRNO_MAX];
        pthread_mutex_lock(&s->lock);
        cJSON *v = slot_call(s, m.op, m.args, err);
        pthread_mutex_unlock(&s->lock);
        rx_wmsg_clear(&m);
        char *ans = answer_line(v, err);
        if (!ans) {
            r = -ENOMEM;
            break;
        }
        size_t al = strlen(ans);
        ans[al] = '\n';
        r = write_all(w->in_fd, ans, al + 1);
        free(ans);
    }
    node_stop(rx, idx, w); /* timed out or broken: the next job gets a fresh one */
    return r;
}

/* ---- shell --------------------------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return (type == FTW_DP ? rmdir(p) : unlink(p)) ? -1 : 0;
}

static int run_shell(struct rx *rx, unsigned idx, struct rx_job *j, const char *data,
                     uint64_t deadline)
{
    struct rx_slot *s = &rx->slots[idx];
    char dir[] = "/tmp/mizan-reaction-XXXXXX";
    if (!mkdtemp(dir))
        return -errno;
    int r = 0;
    int mfd = memfd_create("reaction-data", MFD_CLOEXEC);
    int out[2] = {-1, -1};
    size_t dl = strlen(data);
    if (mfd < 0 || write_all(mfd, data, dl) || lseek(mfd, 0, SEEK_SET) || pipe2(out, O_CLOEXEC)) {
        r = -errno;
        goto cleanup;
    }
    /* the environment is made before fork: the child only calls execve */
    size_t env_len = (dl > RX_ENV_DATA_MAX ? 0 : dl) + 32;
    char *env_data = mz_calloc(1, env_len);
    if (dl > RX_ENV_DATA_MAX)
        log_warn("reaction %s: the alert is %zu bytes: $REACTION_DATA is empty, read stdin",
                 j->reaction, dl);
    snprintf(env_data, env_len, "REACTION_DATA=%s", dl > RX_ENV_DATA_MAX ? "" : data);
    char env_path[PATH_MAX + 128];
    snprintf(env_path, sizeof(env_path),
             "PATH=%s%s/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", rx->self_dir,
             rx->self_dir[0] ? ":" : "");
    char env_token[64], env_sock[PATH_MAX + 32], env_home[64], env_tmp[64], env_name[320];
    snprintf(env_token, sizeof(env_token), "MIZAN_REACTION_TOKEN=%s", s->token);
    snprintf(env_sock, sizeof(env_sock), "MIZAN_REACTION_SOCKET=%s", rx->cfg->reactions.socket);
    snprintf(env_home, sizeof(env_home), "HOME=%s", dir);
    snprintf(env_tmp, sizeof(env_tmp), "TMPDIR=%s", dir);
    snprintf(env_name, sizeof(env_name), "MIZAN_REACTION=%s", j->reaction);
    char *envp[] = {env_data, env_path, env_token,      env_sock, env_home,
                    env_tmp,  env_name, "LANG=C.UTF-8", NULL};
    char *argv[] = {"sh", "-c", j->code, "reaction", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        if (dup2(mfd, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 || chdir(dir))
            _exit(126);
        closefrom(3);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    int e = errno;
    free(env_data);
    close(out[1]);
    out[1] = -1;
    if (pid < 0) {
        r = -e;
        goto cleanup;
    }
    /* its output, line by line, until EOF (all of the group closed it) or the deadline */
    char buf[4096];
    size_t len = 0;
    bool timed_out = false;
    for (;;) {
        uint64_t now = mz_monotonic_ns();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        int pr = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t n = read(out[0], buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = '\0';
            pthread_mutex_lock(&s->lock);
            log_output(s, start);
            pthread_mutex_unlock(&s->lock);
            start = nl + 1;
        }
        len = strlen(start);
        memmove(buf, start, len + 1);
        if (len == sizeof(buf) - 1) { /* a line longer than the buffer: logged in pieces */
            pthread_mutex_lock(&s->lock);
            log_output(s, buf);
            pthread_mutex_unlock(&s->lock);
            len = 0;
        }
    }
    if (len && !timed_out) {
        buf[len] = '\0';
        pthread_mutex_lock(&s->lock);
        log_output(s, buf);
        pthread_mutex_unlock(&s->lock);
    }
    int status = 0;
    for (;;) {
        if (timed_out)
            kill(-pid, SIGKILL); /* before a blocking wait: the group may never end */
        pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (mz_monotonic_ns() >= deadline)
            timed_out = true;
        else
            usleep(10000);
    }
    kill(-pid, SIGKILL); /* whatever it left behind in its group */
    if (timed_out)
        r = -ETIMEDOUT;
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        log_warn("reaction %s: exited with status %d", j->reaction, WEXITSTATUS(status));
        r = -ECANCELED;
    } else if (WIFSIGNALED(status)) {
        log_warn("reaction %s: killed by signal %d", j->reaction, WTERMSIG(status));
        r = -ECANCELED;
    }
cleanup:
    if (mfd >= 0)
        close(mfd);
    if (out[0] >= 0)
        close(out[0]);
    if (out[1] >= 0)
        close(out[1]);
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    return r;
}

/* ---- the threads -------------------------------------------------------------------------- */

struct rx_thread_arg {
    struct rx *rx;
    unsigned idx;
};

static void run_job(struct rx *rx, unsigned idx, struct rx_node *w, struct rx_job *j)
{
    struct rx_slot *s = &rx->slots[idx];
    add_ancestry(j);
    char *data = cJSON_PrintUnformatted(j->data);
    if (!data) {
        atomic_fetch_add(&rx->failed, 1);
        return;
    }
    pid_t workers[RX_WORKERS_MAX];
    for (unsigned i = 0; i < rx->n_threads; i++)
        workers[i] = atomic_load(&rx->worker_pids[i]);
    pthread_mutex_lock(&s->lock);
    mz_random_id(s->token);
    s->ctx = (struct rx_help_ctx){
        .reaction = j->reaction,
        .pid = j->pid,
        .ppid = j->ppid,
        .start_ns = j->start_ns,
        .remote = j->remote[0] ? j->remote : NULL,
        .domain = j->domain,
        .np = rx->np,
        .store = rx->store,
        .allow_emergency = rx->cfg->reactions.allow_emergency,
        .workers = workers,
        .n_workers = rx->n_threads,
    };
    s->active = true;
    s->log_lines = 0;
    pthread_mutex_unlock(&s->lock);

    uint64_t t0 = mz_monotonic_ns();
    uint64_t deadline = t0 + rx->cfg->reactions.timeout_ms * 1000000ull;
    int r;
    if (j->format && strcmp(j->format, "js") == 0)
        r = run_js(rx, idx, w, j, data, deadline + 500000000ull); /* vm's own timeout first */
    else if (j->format && strcmp(j->format, "shell") == 0)
        r = run_shell(rx, idx, j, data, deadline);
    else
        r = -ENOTSUP;
    uint64_t ms = (mz_monotonic_ns() - t0) / 1000000;

    pthread_mutex_lock(&s->lock);
    s->active = false;
    memset(s->token, 0, sizeof(s->token));
    pthread_mutex_unlock(&s->lock);
    free(data);

    atomic_fetch_add(&rx->ran, 1);
    if (r == -ETIMEDOUT) {
        atomic_fetch_add(&rx->timed_out, 1);
        log_warn("reaction %s: timed out after %llums (reactions.timeout): killed", j->reaction,
                 (unsigned long long)ms);
    } else if (r == -ENOTSUP) {
        atomic_fetch_add(&rx->failed, 1);
        log_error("reaction %s: unknown format \"%s\"", j->reaction, j->format ? j->format : "");
    } else if (r) {
        atomic_fetch_add(&rx->failed, 1);
        if (r != -ECANCELED)
            log_error("reaction %s: failed: %s", j->reaction, strerror(-r));
    } else {
        log_debug("reaction %s: done in %llums", j->reaction, (unsigned long long)ms);
    }
}

/* Runs a job, unless the daemon is stopping and the drain's time for
 * reactions (one reactions.timeout) has passed: then it is counted. */
static void take_job(struct rx *rx, unsigned idx, struct rx_node *w, struct rx_job *j)
{
    if (atomic_load(&rx->stop) && mz_monotonic_ns() > atomic_load(&rx->stop_deadline_ns)) {
        atomic_fetch_add(&rx->dropped_at_exit, 1);
        log_warn("reactions: %s not run: mizan is stopping (its drain time passed)", j->reaction);
    } else {
        run_job(rx, idx, w, j);
    }
    job_free(j);
}

static void *rx_thread(void *argp)
{
    struct rx_thread_arg *a = argp;
    struct rx *rx = a->rx;
    unsigned idx = a->idx;
    free(a);
    struct rx_node w = {.in_fd = -1, .out_fd = -1};
    for (;;) {
        void *item;
        if (mz_mpmc_pop(rx->q, &item)) {
            take_job(rx, idx, &w, item);
            continue;
        }
        uint32_t seen = mz_waiter_prepare(&rx->waiter);
        if (mz_mpmc_pop(rx->q, &item)) {
            mz_waiter_cancel(&rx->waiter);
            take_job(rx, idx, &w, item);
            continue;
        }
        if (atomic_load(&rx->stop)) {
            mz_waiter_cancel(&rx->waiter);
            break;
        }
        mz_waiter_wait(&rx->waiter, seen, 500);
    }
    node_stop(rx, idx, &w);
    return NULL;
}

/* ---- the socket ------------------------------------------------------------------------------ */

static void sock_reply(int fd, cJSON *v, const char *err)
{
    char *s = answer_line(v, err);
    if (s) {
        size_t l = strlen(s);
        s[l] = '\n';
        (void)write_all(fd, s, l + 1);
        free(s);
    }
}

/* One client: its peer must be root (or mizan's own user), its request
 * one line naming a running reaction's token. */
static void sock_client(struct rx *rx, int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        log_warn("reactions: socket: refused a client of uid %d (root only)",
                 (int)(cl == sizeof(cred) ? (int)cred.uid : -1));
        return;
    }
    struct timeval tv = {RX_SOCK_TIMEOUT / 1000, (RX_SOCK_TIMEOUT % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    size_t cap = RX_LINE_MAX, len = 0;
    char *buf = mz_calloc(1, cap + 1);
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
            break;
    }
    char *nl = memchr(buf, '\n', len);
    struct rx_request req;
    char err[RX_ERRNO_MAX];
    if (!nl) {
        sock_reply(fd, cJSON_CreateNumber(-1), "EINVAL: expected one request line");
        goto out;
    }
    if (rx_request_parse(buf, (size_t)(nl - buf) + 1, &req, err, sizeof(err))) {
        char e2[RX_ERRNO_MAX + 8];
        snprintf(e2, sizeof(e2), "EINVAL: %s", err);
        sock_reply(fd, cJSON_CreateNumber(-1), e2);
        goto out;
    }
    bool found = false;
    for (unsigned i = 0; i < rx->n_threads && !found; i++) {
        struct rx_slot *s = &rx->slots[i];
        pthread_mutex_lock(&s->lock);
        if (s->active && strcmp(s->token, req.token) == 0) {
            found = true;
            cJSON *v = slot_call(s, req.op, req.args, err);
            sock_reply(fd, v, err);
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (!found)
        sock_reply(fd, cJSON_CreateNumber(-1), "ESRCH: no running reaction has this token");
    rx_request_clear(&req);
out:
    free(buf);
}

static void *sock_thread(void *arg)
{
    struct rx *rx = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = rx->sock_fd, .events = POLLIN},
                              {.fd = rx->sock_stop_fd, .events = POLLIN}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        int c = accept4(rx->sock_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        sock_client(rx, c);
        close(c);
    }
    return NULL;
}

static int sock_open(struct rx *rx)
{
    const char *path = rx->cfg->reactions.socket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !*path)
        return 0;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    char dir[PATH_MAX];
    (void)mz_strlcpy(dir, path, sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        (void)mkdir(dir, 0755);
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        unlink(path); /* a daemon before us left it */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* root only: mode 0600 at once, and every client's credentials checked */
    if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
        listen(fd, 16)) {
        int e = errno;
        close(fd);
        return -e;
    }
    rx->sock_fd = fd;
    rx->sock_stop_fd = eventfd(0, EFD_CLOEXEC);
    if (rx->sock_stop_fd < 0 || pthread_create(&rx->sock_thread, NULL, sock_thread, rx))
        return -errno;
    rx->sock_running = true;
    return 0;
}

int rx_start(struct rx *rx)
{
    if (!rx || rx->started)
        return 0;
    int r = sock_open(rx);
    if (r)
        log_warn("reactions: socket %s: %s: shell reactions cannot call `mizan react`",
                 rx->cfg->reactions.socket, strerror(-r));
    for (unsigned i = 0; i < rx->n_threads; i++) {
        struct rx_thread_arg *a = mz_calloc(1, sizeof(*a));
        a->rx = rx;
        a->idx = i;
        if (pthread_create(&rx->threads[i], NULL, rx_thread, a)) {
            free(a);
            rx->n_threads = i;
            break;
        }
    }
    rx->started = true;
    return rx->n_threads ? 0 : -EAGAIN;
}

void rx_drain(struct rx *rx)
{
    if (!rx || !rx->started)
        return;
    atomic_store(&rx->stop_deadline_ns,
                 mz_monotonic_ns() + rx->cfg->reactions.timeout_ms * 1000000ull);
    atomic_store(&rx->stop, true);
    mz_waiter_wake(&rx->waiter);
    for (unsigned i = 0; i < rx->n_threads; i++)
        pthread_join(rx->threads[i], NULL);
    if (rx->sock_running) {
        uint64_t one = 1;
        (void)!write(rx->sock_stop_fd, &one, sizeof(one));
        pthread_join(rx->sock_thread, NULL);
        rx->sock_running = false;
        unlink(rx->cfg->reactions.socket);
    }
    rx->started = false;
}

cJSON *rx_stats_json(struct rx *rx)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "reactions", (double)atomic_load(&rx->n_reactions));
    cJSON_AddNumberToObject(j, "queued", (double)atomic_load(&rx->queued));
    cJSON_AddNumberToObject(j, "ran", (double)atomic_load(&rx->ran));
    cJSON_AddNumberToObject(j, "failed", (double)atomic_load(&rx->failed));
    cJSON_AddNumberToObject(j, "timed_out", (double)atomic_load(&rx->timed_out));
    cJSON_AddNumberToObject(j, "queue_full", (double)atomic_load(&rx->queue_full));
    cJSON_AddNumberToObject(j, "withheld", (double)atomic_load(&rx->withheld));
    cJSON_AddNumberToObject(j, "worker_starts", (double)atomic_load(&rx->worker_starts));
    cJSON_AddNumberToObject(j, "dropped_at_exit", (double)atomic_load(&rx->dropped_at_exit));
    cJSON_AddNumberToObject(j, "queue_size", (double)(rx->q ? mz_mpmc_size(rx->q) : 0));
    return j;
}

void rx_free(struct rx *rx)
{
    if (!rx)
        return;
    rx_drain(rx);
    if (rx->q) {
        void *item;
        while (mz_mpmc_pop(rx->q, &item))
            job_free(item);
        mz_mpmc_free(rx->q);
    }
    if (rx->sock_fd >= 0)
        close(rx->sock_fd);
    if (rx->sock_stop_fd >= 0)
        close(rx->sock_stop_fd);
    for (unsigned i = 0; i < RX_WORKERS_MAX; i++)
        pthread_mutex_destroy(&rx->slots[i].lock);
    table_free(rx->table);
    pthread_mutex_destroy(&rx->table_lock);
    rx_store_free(rx->store);
    free(rx);
}
