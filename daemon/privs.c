// SPDX-License-Identifier: Apache-2.0
/*
 * privs.c - the capability drop after load and attach (privs.h says what
 * stays and why).
 *
 * Capabilities, no_new_privs and the bounding set belong to each thread, and
 * by the time the programs are attached the collector's hashing worker, the
 * network policy's watcher and the attenuator's workers already run. So the
 * drop is one async-signal-safe function, run by the main thread itself and,
 * through a real-time signal, by every other thread listed in
 * /proc/self/task; each thread's sets are then read back from
 * /proc/self/task/TID/status, and a thread still holding more is signalled
 * again (three rounds at most). Threads made afterwards inherit the reduced
 * sets. The signal's handler stays installed: applying twice is harmless,
 * whereas a late signal with the default action would end the process.
 * libcap-ng names the capabilities in logs and in the status file.
 */
#include "daemon/privs.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define CAPBIT(c) (1ull << (c))
/* Reactions (reactions/) kill processes of any user, start their node
 * workers as nobody, and their file helpers read files of any mode (they
 * write as uid 0 without CAP_DAC_OVERRIDE: what root owns, or /tmp). */
#define REACTIONS_ON(cfg) ((cfg)->reactions.enabled)

/* What every thread applies, set before the first signal is sent. */
static struct {
    struct __user_cap_header_struct hdr;
    struct __user_cap_data_struct data[2];
    uint64_t keep;
    int last_cap;
    bool bounding; /* CAP_SETPCAP was held: the bounding set is reduced too */
} plan;
static _Atomic unsigned acks;
static _Atomic int last_failure; /* errno of a thread's failed apply, 0 if none */
static _Atomic bool dropped;     /* for the status file */
static _Atomic uint64_t kept;

static int privs_signal(void)
{
    return SIGRTMIN + 3;
}

/* Async-signal-safe: raw system calls on the calling thread only. */
static int apply_here(void)
{
    if (plan.bounding)
        for (int c = 0; c <= plan.last_cap; c++)
            if (!(plan.keep & CAPBIT(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
                prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
                return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    struct __user_cap_header_struct h = plan.hdr; /* capset may rewrite the version */
    struct __user_cap_data_struct d[2] = {plan.data[0], plan.data[1]};
    if (syscall(SYS_capset, &h, d) < 0)
        return -errno;
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    int r = apply_here();
    if (r)
        atomic_store(&last_failure, -r);
    atomic_fetch_add(&acks, 1);
    errno = saved;
}

/* A thread's sets from /proc/self/task/TID/status. 0, -ESRCH when it has
 * exited, or -EIO when the file does not say. */
static int read_sets(int tid, uint64_t *eff, uint64_t *prm, uint64_t *bnd, int *nnp)
{
    char path[64], line[256];
    int seen = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? -ESRCH : -errno;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long v;
        if (sscanf(line, "CapEff: %llx", &v) == 1)
            *eff = v, seen |= 1;
        else if (sscanf(line, "CapPrm: %llx", &v) == 1)
            *prm = v, seen |= 2;
        else if (sscanf(line, "CapBnd: %llx", &v) == 1)
            *bnd = v, seen |= 4;
        else if (sscanf(line, "NoNewPrivs: %llu", &v) == 1)
            *nnp = (int)v, seen |= 8;
    }
    fclose(f);
    return seen == 15 ? 0 : -EIO;
}

static bool thread_done(int tid)
{
    uint64_t eff = ~0ull, prm = ~0ull, bnd = ~0ull;
    int nnp = 0;
    int r = read_sets(tid, &eff, &prm, &bnd, &nnp);
    if (r == -ESRCH)
        return true; /* gone: nothing to reduce */
    return r == 0 && (eff & ~plan.keep) == 0 && (prm & ~plan.keep) == 0 && nnp == 1 &&
           (!plan.bounding || (bnd & ~plan.keep) == 0);
}

/* Signals every other thread not yet reduced; returns how many were left
 * to signal, or a negative errno. */
static int signal_others(int self, int *pending)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int sent = 0;
    *pending = 0;
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        uint64_t tid;
        if (e->d_name[0] == '.' || mz_parse_u64(e->d_name, INT32_MAX, &tid) < 0 ||
            (int)tid == self || thread_done((int)tid))
            continue;
        (*pending)++;
        if (syscall(SYS_tgkill, getpid(), (int)tid, privs_signal()) == 0)
            sent++;
    }
    closedir(d);
    return sent;
}

int mz_privs_drop(uint64_t keep, char *err, size_t errlen)
{
    int self = (int)syscall(SYS_gettid);
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_get_caps_process() < 0) {
        snprintf(err, errlen, "cannot read this process's capabilities");
        return -EIO;
    }
    plan.last_cap = 63;
    while (plan.last_cap > 0 && prctl(PR_CAPBSET_READ, plan.last_cap, 0, 0, 0) < 0)
        plan.last_cap--;
    plan.keep = 0;
    for (int c = 0; c <= plan.last_cap && c < 64; c++)
        if ((keep & CAPBIT(c)) && capng_have_capability(CAPNG_PERMITTED, (unsigned)c))
            plan.keep |= CAPBIT(c); /* what is not held cannot be kept */
    plan.bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
    memset(&plan.hdr, 0, sizeof(plan.hdr));
    memset(plan.data, 0, sizeof(plan.data));
    plan.hdr.version = _LINUX_CAPABILITY_VERSION_3;
    plan.hdr.pid = 0; /* the calling thread */
    plan.data[0].effective = plan.data[0].permitted = (uint32_t)plan.keep;
    plan.data[1].effective = plan.data[1].permitted = (uint32_t)(plan.keep >> 32);
    atomic_store(&last_failure, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(privs_signal(), &sa, NULL) < 0) {
        snprintf(err, errlen, "sigaction: %s", strerror(errno));
        return -errno;
    }
    int pending = 0;
    for (int round = 0; round < 3; round++) {
        unsigned before = atomic_load(&acks);
        int sent = signal_others(self, &pending);
        if (sent < 0) {
            snprintf(err, errlen, "/proc/self/task: %s", strerror(-sent));
            return sent;
        }
        if (pending == 0)
            break;
        /* each signalled thread acknowledges once it has applied the plan */
        for (int i = 0; i < 200 && atomic_load(&acks) - before < (unsigned)sent; i++) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    int r = apply_here();
    if (r) {
        snprintf(err, errlen, "capset in the main thread: %s", strerror(-r));
        return r;
    }
    (void)signal_others(self, &pending);
    if (!thread_done(self) || pending) {
        int why = atomic_load(&last_failure);
        snprintf(err, errlen, "%d thread(s) still hold capabilities after the drop%s%s",
                 pending + !thread_done(self), why ? ": " : "", why ? strerror(why) : "");
        return why ? -why : -EAGAIN;
    }
    atomic_store(&kept, plan.keep);
    atomic_store(&dropped, true);
    return 0;
}

uint64_t mz_privs_needed(const struct mz_config *cfg)
{
    uint64_t need = 0;
    if (cfg->collector.enabled) /* enrichment: /proc/PID/{exe,cwd,root}, exe hashing */
        need |= CAPBIT(CAP_SYS_PTRACE) | CAPBIT(CAP_DAC_READ_SEARCH);
    if (cfg->detect.reload || cfg->netpolicy.enabled) /* reloads read files wherever they are */
        need |= CAPBIT(CAP_DAC_READ_SEARCH);
    if (REACTIONS_ON(cfg)) {
        need |= CAPBIT(CAP_KILL) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETGID) |
                CAPBIT(CAP_DAC_READ_SEARCH);
        if (cfg->reactions.allow_emergency)
            need |= CAPBIT(CAP_SYS_BOOT);
    }
    return need;
}

const char *mz_privs_names(uint64_t caps, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (int c = 0; c < 64; c++) {
        if (!(caps & CAPBIT(c)))
            continue;
        const char *n = capng_capability_to_name((unsigned)c);
        char num[16];
        if (!n) {
            snprintf(num, sizeof(num), "%d", c);
            n = num;
        }
        int w = snprintf(buf + off, len > off ? len - off : 0, "%scap_%s", off ? "," : "", n);
        if (w < 0 || (size_t)w >= (len > off ? len - off : 0)) {
            if (len > off)
                buf[off] = '\0'; /* whole names only */
            break;
        }
        off += (size_t)w;
    }
    if (!off && len)
        (void)mz_strlcpy(buf, "none", len);
    return buf;
}

cJSON *mz_privs_stats_json(const struct mz_config *cfg)
{
    cJSON *j = cJSON_CreateObject();
    uint64_t eff = 0, prm = 0, bnd = 0;
    int nnp = 0;
    char hex[20], names[512];
    cJSON_AddBoolToObject(j, "drop_capabilities", cfg->security.drop_capabilities);
    cJSON_AddBoolToObject(j, "dropped", atomic_load(&dropped));
    if (read_sets((int)syscall(SYS_gettid), &eff, &prm, &bnd, &nnp) == 0) {
        snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)eff);
        cJSON_AddStringToObject(j, "effective", hex);
        cJSON_AddStringToObject(j, "kept", mz_privs_names(eff, names, sizeof(names)));
        cJSON_AddBoolToObject(j, "no_new_privs", nnp == 1);
    }
    return j;
}
