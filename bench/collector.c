// SPDX-License-Identifier: Apache-2.0
/*
 * collector.c (bench) - what the collector costs a workload, measured in one
 * run against baselines measured in the same run. Three workloads, each in a
 * child process pinned to one CPU:
 *
 *   open    an open/close loop on one file (mizan's hot path)
 *   read    a loop of 1-byte reads from /dev/zero (a syscall mizan does not
 *           record: what its hooks cost everything else)
 *   mixed   a real workload, bounded: tar of /usr/include/linux, find|grep and
 *           grep -r over /usr/include, two gcc compiles of a small file, 300
 *           execs of /bin/true from sh
 *
 * under each configuration:
 *
 *   bare       nothing attached
 *   floor      empty programs on the syscalls:sys_exit_NAME tracepoints of
 *              exactly the syscalls mizan records (bpf/mizan_floor.bpf.c,
 *              attached with col_attach_syscalls): what the kernel's
 *              tracepoint machinery costs before mizan does any work
 *   floor_raw  an empty program on tp_btf/sys_exit, the hook that runs at
 *              every syscall (what mizan used before)
 *   mizan      the collector attached, scanning at the configured cadence in
 *              a thread as the daemon does (on the other CPUs: its cost is
 *              its own CPU time, not the workload's); its lost count
 *   bpftrace   a streaming baseline printing every open through its perf
 *              buffer; its lost-event count
 *
 * Each configuration is set up once per round and runs the three workloads;
 * the order of the configurations rotates each round. Figures are medians:
 * CPU time of the looping thread per op (open, read), CPU time of the whole
 * workload and its children (mixed), so that other load on the machine does
 * not count; ratios to bare, and mizan - floor as the median of each round's
 * difference. Each measurement is the least of REPS runs.
 *
 * The targets are judged on a paired phase. On a VM the speed of a loop
 * drifts by more than the targets' margins at every time scale down to tens
 * of milliseconds, and detaching a program from dozens of tracepoints takes
 * seconds (the last detach from each waits for its unregistration), so the
 * loops do not alternate by attaching: the collector is loaded with the
 * bench gate (col_bench_gate: its syscall programs return at their first
 * instruction while a word of its .bss is set) and stays attached, and one
 * long-lived child runs pairs of chunks of a loop, flipping the gate itself
 * between the two (gated: the per-syscall floor on the same tracepoints;
 * working: mizan), a few milliseconds apart, a thousand pairs. The bare and
 * floor (the empty programs) chunks are measured in each block too; the
 * gated programs' run time is shown next to the empty program's (kernel
 * stats). Targets: open and read, the median of the pairs' differences <=
 * 0.08 and 0.03 of the median bare chunk; mixed (0.4 s a run, longer than
 * any attach: triples of bare, floor and mizan attached in turn),
 * mizan / bare <= 1.03.
 *
 * Then the programs' own run time per op from the kernel's BPF statistics; a
 * saturation run (one looping process per CPU at once) where every open must
 * be in mizan's delivered counts, next to bpftrace's printed and lost events;
 * a unique-record flood (one process per CPU, each opening UNIQUE distinct
 * files once, as fast as it can): records created per second, mizan's
 * delivered and lost counts (scanning as the daemon does: a poll every
 * collector.poll, early scans), and bpftrace streaming the same opens with
 * its lost count; kernel map memory (memlock of every map) and this
 * process's RSS with the default cache sizes. Needs root; prints
 * "SKIP: ..." otherwise.
 * Usage: collector [OPS_PER_RUN] [ROUNDS] [UNIQUE]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collector/collector.h"
#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "detect/det_interest.h"
#include "detect/detect.h"
#include "mizan_floor.skel.h"

enum { MODE_BARE, MODE_FLOOR, MODE_FLOOR_RAW, MODE_MIZAN, MODE_BPFTRACE, MODE_N };
#define MODE_TIMED 4 /* bare .. mizan: the modes of the timed rounds */
static const char *const mode_name[MODE_N] = {"bare", "floor", "floor_raw", "mizan", "bpftrace"};

enum { W_OPEN, W_READ, W_MIXED, W_N };
static const char *const work_name[W_N] = {"open", "read", "mixed"};
static char mixed_script[1024];

static char target[256];
static int bench_cpu; /* the CPU the timed loops run on: the last one */

/* CPU time of this thread: under a loaded machine, wall time mostly
 * measures the scheduler; the thread's CPU time includes the syscalls and
 * the BPF programs they run, and nothing else. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pins the calling process to one CPU. */
static void pin_cpu(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)sched_setaffinity(0, sizeof(one), &one);
}

/* Pins the calling thread to every CPU but the bench CPU (none left: it
 * stays where it is). */
static void pin_away(void)
{
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu < 2)
        return;
    cpu_set_t others;
    CPU_ZERO(&others);
    for (int i = 0; i < ncpu && i < CPU_SETSIZE; i++)
        if (i != bench_cpu)
            CPU_SET(i, &others);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(others), &others);
}

/* ops iterations of loop w (W_OPEN or W_READ; zero: an fd of /dev/zero) in
 * the calling thread: its CPU time per op, or a negative value when a call
 * failed. */
static double loop_run(int w, long ops, int zero)
{
    char b;
    uint64_t t0 = thread_cpu_ns();
    if (w == W_OPEN) {
        for (long i = 0; i < ops; i++) {
            int fd = open(target, O_RDONLY);
            if (fd < 0)
                return -1;
            close(fd);
        }
    } else {
        for (long i = 0; i < ops; i++)
            if (read(zero, &b, 1) != 1)
                return -1;
    }
    return (double)(thread_cpu_ns() - t0) / (double)ops;
}

/* The loop runs in a child process: mizan does not record its own process,
 * and the workload it watches is always another one. The child reports its
 * CPU time per op through a pipe. w: W_OPEN or W_READ. */
static double loop_ns_per_op(int w, long ops)
{
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(p[0]);
        /* On one CPU, the same in every run: a migration mid-run would
         * count its cache refill against whichever mode it hit. */
        pin_cpu(bench_cpu);
        int zero = open("/dev/zero", O_RDONLY);
        if (zero < 0)
            _exit(1);
        double v = loop_run(w, ops, zero);
        if (v < 0)
            _exit(1);
        _exit(write(p[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
    }
    close(p[1]);
    double v = 0;
    int st = 0;
    ssize_t n = read(p[0], &v, sizeof(v));
    close(p[0]);
    waitpid(pid, &st, 0);
    if (n != sizeof(v) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: the workload failed\n");
        exit(1);
    }
    return v;
}

/* The paired phase's loops: one child process, pinned to the bench CPU for
 * the whole phase, kept alive so that no measurement pays for a new
 * process's page faults and cold caches. Asked for n chunks of ops
 * iterations of a loop, it answers each chunk's CPU time per op; with a
 * gate (col_bench_gate, whose mmapped word it shares, forked after the
 * collector loaded), n pairs of chunks instead, one with mizan's syscall
 * programs gated (returning at their first instruction) and one working, in
 * alternating order, each after a tenth of a chunk untimed. The gate is
 * flipped by the child itself between two chunks: a store, no syscall, so
 * the two chunks of a pair are a few milliseconds apart. */
#define LOOPER_MAX 512 /* chunks or pairs per request */

struct looper {
    pid_t pid;
    int cmd, res; /* the parent's ends */
};

enum looper_mode {
    LOOP_PLAIN, /* n chunks, the gate as it is */
    LOOP_PAIRS, /* n pairs of chunks through the gate */
    LOOP_GATED, /* n chunks, all with the gate shut */
};

struct looper_cmd {
    int w;    /* W_OPEN or W_READ; -1: exit */
    int n;    /* chunks, or pairs */
    long ops; /* per chunk */
    enum looper_mode mode;
};

/* How many measurements a request answers. */
static int looper_results(const struct looper_cmd *q)
{
    return q->mode == LOOP_PAIRS ? 2 * q->n : q->n;
}

/* The untimed ops before each chunk of ops. */
static long looper_warm(long ops)
{
    return ops / 10 + 1;
}

static void looper_serve(int cmd, int res, volatile uint32_t *gate)
{
    int zero = open("/dev/zero", O_RDONLY);
    struct looper_cmd q;
    static double v[2 * LOOPER_MAX];
    while (zero >= 0 && read(cmd, &q, sizeof(q)) == sizeof(q) && q.w >= 0) {
        int nv = looper_results(&q);
        if (q.n < 1 || q.n > LOOPER_MAX || (q.mode != LOOP_PLAIN && !gate))
            _exit(1);
        for (int i = 0; i < nv; i++) {
            /* pair k: [2k] gated, [2k+1] working; pair k runs gated first
             * when k is even */
            int k = i / 2, second = i % 2;
            int slot = i;
            if (q.mode == LOOP_GATED) {
                *gate = 1;
            } else if (q.mode == LOOP_PAIRS) {
                bool gated_now = (k % 2 == 0) != (second == 1);
                *gate = gated_now;
                slot = 2 * k + (gated_now ? 0 : 1);
            }
            if (loop_run(q.w, looper_warm(q.ops), zero) < 0 ||
                (v[slot] = loop_run(q.w, q.ops, zero)) < 0)
                _exit(1);
        }
        if (gate)
            *gate = 0;
        if (write(res, v, sizeof(double) * (size_t)nv) != (ssize_t)(sizeof(double) * (size_t)nv))
            _exit(1);
    }
    _exit(0);
}

/* gate: col_bench_gate's word, or NULL. */
static void looper_start(struct looper *l, volatile uint32_t *gate)
{
    int c[2], r[2];
    if (pipe(c) < 0 || pipe(r) < 0) {
        perror("pipe");
        exit(1);
    }
    l->pid = fork();
    if (l->pid < 0) {
        perror("fork");
        exit(1);
    }
    if (l->pid == 0) {
        /* nothing of the parent's but the pipes (and the gate's mapping,
         * which outlives its fd): a link fd held here would keep its
         * program attached after the parent destroyed the link */
        int in = fcntl(c[0], F_DUPFD, 10), out = fcntl(r[1], F_DUPFD, 10);
        if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0 || close_range(5, ~0u, 0) < 0)
            _exit(1);
        pin_cpu(bench_cpu);
        looper_serve(3, 4, gate);
    }
    close(c[0]);
    close(r[1]);
    l->cmd = c[1];
    l->res = r[0];
}

/* n (<= LOOPER_MAX) chunks of ops iterations of loop w, or n pairs
 * (LOOP_PAIRS): CPU time per op into v (n, or 2n: gated then working, per
 * pair). */
static void looper_run(struct looper *l, int w, long ops, int n, enum looper_mode mode, double *v)
{
    struct looper_cmd q = {.w = w, .n = n, .ops = ops, .mode = mode};
    size_t want = sizeof(double) * (size_t)looper_results(&q), got = 0;
    if (write(l->cmd, &q, sizeof(q)) != sizeof(q))
        got = (size_t)-1;
    while (got < want) {
        ssize_t k = read(l->res, (char *)v + got, want - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got != want) {
        fprintf(stderr, "bench: the paired loop failed\n");
        exit(1);
    }
}

static void looper_stop(struct looper *l)
{
    struct looper_cmd q = {.w = -1};
    int st = 0;
    (void)!write(l->cmd, &q, sizeof(q));
    close(l->cmd);
    close(l->res);
    waitpid(l->pid, &st, 0);
}

static uint64_t children_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* The mixed workload once, in sh pinned to the bench CPU: the CPU time (ms)
 * of sh and everything it ran, all waited for. */
static double mixed_ms(void)
{
    uint64_t t0 = children_cpu_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        pin_cpu(bench_cpu);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl("/bin/sh", "sh", "-c", mixed_script, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: the mixed workload failed (%d)\n", st);
        exit(1);
    }
    return (double)(children_cpu_ns() - t0) / 1e6;
}

/* Each measurement is the least of REPS runs back to back: on a VM, what
 * else runs (neighbours, interrupts, the scanner's wakeups) only ever adds
 * time, so the minimum is the estimate that noise moves least. */
#define REPS         3

#define PAIRS_BLOCKS 5   /* the paired phase's blocks per loop */
#define PAIRS_BLOCK  200 /* pairs of chunks per block */
#define BARE_BLOCK   20  /* bare chunks per block */
#define PAIRS_MAX    (PAIRS_BLOCKS * PAIRS_BLOCK)

static double workload(int w, long ops)
{
    double best = 0;
    for (int i = 0; i < REPS; i++) {
        double v = w == W_MIXED ? mixed_ms() : loop_ns_per_op(w, ops);
        if (i == 0 || v < best)
            best = v;
    }
    return best;
}

/* nproc children open/close the target ops times each, all at once. */
static void loop_parallel(long ops, int nproc)
{
    pid_t pids[64];
    for (int i = 0; i < nproc; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            exit(1);
        }
        if (pids[i] == 0) {
            for (long k = 0; k < ops; k++) {
                int fd = open(target, O_RDONLY);
                if (fd < 0)
                    _exit(1);
                close(fd);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < nproc; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench: a parallel workload failed\n");
            exit(1);
        }
    }
}

/* ---- mizan: a scanning thread, as in the daemon ---------------------------- */

struct scanner {
    struct mz_collector *c;
    uint64_t cadence_ms, poll_ms;
    atomic_bool stop;
    pthread_t thread;
    uint64_t observations;
    /* opens of the target per process: the highest count delivered (a link
     * delivered again carries its running count) */
    struct {
        int pid;
        uint64_t count;
    } opens[64];
    int n_opens;
};

static int drop(struct mz_observation *o, void *ctx)
{
    struct scanner *s = ctx;
    s->observations++;
    if (o->kind == MZ_OBS_FILE && o->file.path && strcmp(o->file.path, target) == 0 &&
        (o->file.actions & MZ_FA_OPEN)) {
        int i = 0;
        while (i < s->n_opens && s->opens[i].pid != o->proc.pid)
            i++;
        if (i == s->n_opens && i < 64) {
            s->opens[i].pid = o->proc.pid;
            s->opens[i].count = 0;
            s->n_opens++;
        }
        if (i < 64 && o->count > s->opens[i].count)
            s->opens[i].count = o->count;
    }
    mz_observation_free(o);
    return 0;
}

static uint64_t target_opens(const struct scanner *s)
{
    uint64_t n = 0;
    for (int i = 0; i < s->n_opens; i++)
        n += s->opens[i].count;
    return n;
}

/* As the daemon's collector stage: a scan, then polls every poll_ms until
 * the cadence or until col_due asks for an early scan. The scanning thread
 * runs on the other CPUs: what it costs is its own CPU time, not the
 * workload's; on the workload's CPU its cache footprint (the map walks,
 * hashing executables) would be charged to whichever syscall the loop was
 * in. */
static void *scan_thread(void *arg)
{
    struct scanner *s = arg;
    pin_away();
    while (!atomic_load(&s->stop)) {
        if (col_scan(s->c, drop, s) < 0) /* drop never refuses: no -EAGAIN */
            break;
        uint64_t due = mz_monotonic_ns() + s->cadence_ms * 1000000ull;
        while (!atomic_load(&s->stop) && mz_monotonic_ns() < due) {
            usleep((useconds_t)s->poll_ms * 1000);
            if (col_due(s->c)) {
                col_note_early(s->c);
                break;
            }
        }
    }
    return NULL;
}

/* Loads a collector, scans once (target opens it delivers are not counted) and
 * starts its scanning thread. With interest, the built-in recipes' interest
 * set is loaded into the kernel first, as the daemon does. Exits on failure. */
static void scanner_start_with(struct scanner *sc, const struct mz_config *cfg, bool interest)
{
    memset(sc, 0, sizeof(*sc));
    sc->cadence_ms = cfg->collector.cadence_ms;
    sc->poll_ms = cfg->collector.poll_ms;
    sc->c = col_new(cfg);
    if (!sc->c || col_scan(sc->c, drop, sc) < 0) {
        fprintf(stderr, "collector failed to load\n");
        exit(1);
    }
    if (interest) {
        char err[512];
        struct mz_config dc = *cfg;
        dc.detect.reload = false;
        struct det_engine *e = det_engine_new(&dc, err, sizeof(err));
        uint64_t gen = 0;
        struct det_interest *ii = e ? det_engine_interest(e, &gen) : NULL;
        if (!ii || col_set_interest(sc->c, ii, gen) < 0) {
            fprintf(stderr, "bench: no interest set: %s\n", e ? "load failed" : err);
            exit(1);
        }
        det_interest_unref(ii);
        det_engine_free(e);
    }
    sc->n_opens = 0;
    pthread_create(&sc->thread, NULL, scan_thread, sc);
}

static void scanner_start(struct scanner *sc, const struct mz_config *cfg)
{
    scanner_start_with(sc, cfg, false);
}

/* Stops the scanning thread and scans twice more, so that everything the
 * workload did is delivered. The collector stays loaded. */
static void scanner_stop(struct scanner *sc)
{
    atomic_store(&sc->stop, true);
    pthread_join(sc->thread, NULL);
    if (col_scan(sc->c, drop, sc) < 0 || col_scan(sc->c, drop, sc) < 0)
        exit(1);
}

/* ---- the unique-record flood --------------------------------------------- */

static char uniq_dir[256];

static void uniq_path(char *buf, size_t len, int proc, long i)
{
    snprintf(buf, len, "%s/p%02d/f%06ld", uniq_dir, proc, i);
}

/* Creates nproc x n distinct files (outside the timed part). */
static void uniq_make(int nproc, long n)
{
    char path[512];
    for (int p = 0; p < nproc; p++) {
        snprintf(path, sizeof(path), "%s/p%02d", uniq_dir, p);
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            perror(path);
            exit(1);
        }
        for (long i = 0; i < n; i++) {
            uniq_path(path, sizeof(path), p, i);
            int fd = open(path, O_CREAT | O_WRONLY, 0600);
            if (fd < 0) {
                perror(path);
                exit(1);
            }
            close(fd);
        }
    }
}

/* nproc children at once, each opening its n distinct files once; returns
 * the wall time in seconds. */
static double uniq_flood(int nproc, long n)
{
    pid_t pids[64];
    uint64_t t0 = mz_monotonic_ns();
    for (int p = 0; p < nproc; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            perror("fork");
            exit(1);
        }
        if (pids[p] == 0) {
            char path[512];
            for (long i = 0; i < n; i++) {
                uniq_path(path, sizeof(path), p, i);
                int fd = open(path, O_RDONLY);
                if (fd < 0)
                    _exit(1);
                close(fd);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < nproc; p++) {
        int st = 0;
        waitpid(pids[p], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench: a flood process failed\n");
            exit(1);
        }
    }
    return (double)(mz_monotonic_ns() - t0) / 1e9;
}

/* ---- bpftrace: a streaming baseline -------------------------------------- */

struct streamer {
    pid_t pid;
    int out;
    pthread_t reader;
    uint64_t printed, lost;
};

static void *stream_reader(void *arg)
{
    struct streamer *b = arg;
    char buf[1 << 16], line[4096];
    size_t ll = 0;
    ssize_t n;
    while ((n = read(b->out, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof(line) - 1)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = 0;
            ll = 0;
            unsigned long long lost;
            if (sscanf(line, "Lost %llu events", &lost) == 1)
                b->lost += lost;
            else if (strstr(line, target) || (uniq_dir[0] && strstr(line, uniq_dir)))
                b->printed++;
        }
    }
    return NULL;
}

static int streamer_start(struct streamer *b)
{
    int p[2];
    memset(b, 0, sizeof(*b));
    if (pipe(p) < 0)
        return -errno;
    b->pid = fork();
    if (b->pid < 0)
        return -errno;
    if (b->pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(p[0]);
        close(p[1]);
        execlp("bpftrace", "bpftrace", "-e",
               "tracepoint:syscalls:sys_enter_openat "
               "{ printf(\"%d %s\\n\", pid, str(args->filename)); }",
               (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    b->out = p[0];
    /* Wait for "Attaching N probes..." before the workload starts. */
    char c, line[256];
    size_t ll = 0;
    while (read(b->out, &c, 1) == 1) {
        if (c == '\n') {
            line[ll] = 0;
            if (strncmp(line, "Attaching", 9) == 0)
                break;
            ll = 0;
        } else if (ll < sizeof(line) - 1) {
            line[ll++] = c;
        }
    }
    pthread_create(&b->reader, NULL, stream_reader, b);
    return 0;
}

static void streamer_stop(struct streamer *b)
{
    kill(b->pid, SIGINT);
    waitpid(b->pid, NULL, 0);
    pthread_join(b->reader, NULL);
    close(b->out);
}

/* ---- memory ------------------------------------------------------------------ */

static uint64_t fd_memlock(int fd)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    uint64_t v = 0;
    if (!f)
        return 0;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "memlock: %lu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Sums the memlock of every BPF map fd this process holds. */
static uint64_t maps_memlock(int *nmaps)
{
    uint64_t total = 0;
    *nmaps = 0;
    for (int fd = 3; fd < 4096; fd++) {
        struct bpf_map_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || !info.type)
            continue;
        char link[64], dst[128];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, dst, sizeof(dst) - 1);
        if (n <= 0)
            continue;
        dst[n] = 0;
        if (!strstr(dst, "bpf-map"))
            continue;
        total += fd_memlock(fd);
        (*nmaps)++;
    }
    return total;
}

static uint64_t status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char buf[256];
    uint64_t v = 0;
    size_t kl = strlen(key);
    if (!f)
        return 0;
    while (fgets(buf, sizeof(buf), f))
        if (strncmp(buf, key, kl) == 0 && sscanf(buf + kl, ": %lu", &v) == 1)
            break;
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct run_ctx {
    struct mz_config *cfg;
    long ops;
    uint64_t mizan_lost, mizan_obs;
    uint64_t memlock, rss_mizan;
    int nmaps;
    bool measured_memory;
};

/* A program's run time (ns) and run count so far (kernel stats). */
struct pstat {
    double ns, runs;
};

static struct pstat prog_stat(int fd)
{
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    struct pstat r = {0, 0};
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        r.ns = (double)info.run_time_ns;
        r.runs = (double)info.run_cnt;
    }
    return r;
}

/* Programs already loaded by others on hooks that syscalls may run (other
 * tools, other tests): they are in every mode's figures, bare included, so
 * that the ratios come out smaller than on a quiet machine. */
static void others_note(void)
{
    uint32_t id = 0;
    int n = 0;
    char names[256] = "";
    size_t used = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0)
            continue;
        struct bpf_prog_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
            (info.type == BPF_PROG_TYPE_TRACING || info.type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
             info.type == BPF_PROG_TYPE_TRACEPOINT || info.type == BPF_PROG_TYPE_KPROBE)) {
            n++;
            if (!strstr(names, info.name) && used + strlen(info.name) + 2 < sizeof(names)) {
                int k = snprintf(names + used, sizeof(names) - used, "%s%s", used ? " " : "",
                                 info.name);
                if (k > 0)
                    used += (size_t)k;
            }
        }
        close(fd);
    }
    if (n)
        printf("note: %d tracing programs of others were loaded at the start (%s): every mode\n"
               "      pays for those on its syscalls, bare included\n",
               n, names);
}

/* The floors: empty programs on mizan's syscall tracepoints (MODE_FLOOR)
 * or on tp_btf/sys_exit (MODE_FLOOR_RAW). */
struct floor {
    struct mizan_floor *skel;
    struct bpf_link *links[COL_SYSCALLS];
    int n;
    int fd; /* the program attached */
};

static void floor_start(struct floor *f, int m)
{
    memset(f, 0, sizeof(*f));
    f->skel = mizan_floor__open_and_load();
    if (!f->skel) {
        fprintf(stderr, "floor programs failed to load\n");
        exit(1);
    }
    struct bpf_program *p = f->skel->progs.floor_syscall;
    if (m == MODE_FLOOR) {
        f->n = col_attach_syscalls(p, p, f->links, NULL);
    } else {
        p = f->skel->progs.floor_sys_exit;
        f->links[0] = bpf_program__attach(p);
        f->n = f->links[0] ? 1 : 0;
    }
    if (!f->n) {
        fprintf(stderr, "floor programs failed to attach\n");
        exit(1);
    }
    f->fd = bpf_program__fd(p);
}

static void floor_detach(struct floor *f)
{
    col_links_destroy(f->links, f->n);
    f->n = 0;
}

/* The per-syscall floor again, after floor_detach. */
static void floor_attach(struct floor *f)
{
    struct bpf_program *p = f->skel->progs.floor_syscall;
    f->n = col_attach_syscalls(p, p, f->links, NULL);
    if (!f->n) {
        fprintf(stderr, "floor programs failed to attach\n");
        exit(1);
    }
}

static void floor_stop(struct floor *f)
{
    floor_detach(f);
    mizan_floor__destroy(f->skel);
}

/* One run of mode m (one of the MODE_TIMED) of every workload into v[w];
 * own[w]: what its BPF programs did per op of workload w, from the kernel's
 * run-time statistics (0 unless they are on). */
static void run_mode(struct run_ctx *x, int m, double v[W_N], struct pstat own[W_N])
{
    memset(own, 0, sizeof(struct pstat) * W_N);
    if (m == MODE_BARE) {
        for (int w = 0; w < W_N; w++)
            v[w] = workload(w, x->ops);
        return;
    }
    if (m == MODE_FLOOR || m == MODE_FLOOR_RAW) {
        struct floor f;
        floor_start(&f, m);
        for (int w = 0; w < W_N; w++) {
            struct pstat s0 = prog_stat(f.fd);
            v[w] = workload(w, x->ops);
            struct pstat s1 = prog_stat(f.fd);
            own[w].ns = (s1.ns - s0.ns) / (double)(x->ops * REPS);
            own[w].runs = (s1.runs - s0.runs) / (double)(x->ops * REPS);
        }
        floor_stop(&f);
        return;
    }
    struct scanner sc;
    scanner_start(&sc, x->cfg);
    /* the first scans (every process's exe hashed, /proc walked) on the
     * other CPUs: past them before measuring */
    usleep(1000 * 1000);
    for (int w = 0; w < W_N; w++) {
        uint64_t ns0, n0, ns1, n1;
        col_prog_stats(sc.c, &ns0, &n0);
        v[w] = workload(w, x->ops);
        col_prog_stats(sc.c, &ns1, &n1);
        own[w].ns = (double)(ns1 - ns0) / (double)(x->ops * REPS);
        own[w].runs = (double)(n1 - n0) / (double)(x->ops * REPS);
    }
    scanner_stop(&sc);
    x->mizan_lost += col_lost(sc.c);
    x->mizan_obs += sc.observations;
    if (!x->measured_memory) {
        x->memlock = maps_memlock(&x->nmaps);
        x->rss_mizan = status_kib("VmRSS");
        x->measured_memory = true;
    }
    col_free(sc.c);
}

/* The q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[(int)(q * (n - 1) + 0.5)];
}

static double median(double *v, int n)
{
    return quantile(v, n, 0.5); /* v[n / 2] */
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 11;
    long uniq = argc > 3 ? strtol(argv[3], NULL, 10) : 100000;
    if (ops <= 0 || rounds <= 0 || rounds > 50 || uniq <= 0) {
        fprintf(stderr, "usage: collector [OPS_PER_RUN] [ROUNDS<=50] [UNIQUE]\n");
        return 2;
    }
    if (geteuid() != 0) {
        printf("SKIP: bench/collector needs root\n");
        return 0;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        printf("SKIP: bench/collector needs a kernel with BTF\n");
        return 0;
    }
    bool have_bpftrace = system("command -v bpftrace >/dev/null 2>&1") == 0;
    bool have_gcc = system("command -v gcc >/dev/null 2>&1") == 0;
    bench_cpu = libbpf_num_possible_cpus() - 1;
    if (bench_cpu < 0)
        bench_cpu = 0;
    mz_log_set_level(MZ_LOG_WARN);
    others_note();

    char dir[] = "/tmp/mizan-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(target, sizeof(target), "%s/target", dir);
    int tfd = open(target, O_CREAT | O_WRONLY, 0600);
    if (tfd < 0)
        return 1;
    close(tfd);
    char small[300];
    snprintf(small, sizeof(small), "%s/small.c", dir);
    FILE *sf = fopen(small, "w");
    if (!sf)
        return 1;
    fputs("#include <stdio.h>\n#include <string.h>\n"
          "int main(int argc, char **argv) { return argc > 1 ? (int)strlen(argv[1]) : "
          "puts(\"hi\"); }\n",
          sf);
    fclose(sf);
    snprintf(mixed_script, sizeof(mixed_script),
             "tar -cf - -C /usr/include linux | cat >/dev/null && "
             "find /usr/include -type f | grep -c '\\.h$' && "
             "grep -rl EINVAL /usr/include/linux | wc -l && "
             "%s"
             "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done",
             have_gcc ? "gcc -O2 -c small.c -o small.o && gcc -O2 -c small.c -o small.o && " : "");
    if (chdir(dir) < 0)
        return 1;

    struct mz_config cfg;
    mz_config_defaults(&cfg);
    free(cfg.collector.pin_dir); /* measure without touching the default pins */
    cfg.collector.pin_dir = NULL;
    uint64_t rss_before = status_kib("VmRSS");
    struct run_ctx x = {.cfg = &cfg, .ops = ops};

    static double ns[W_N][MODE_N][50], diff[W_N][50];
    static double own_ns[MODE_N][W_N][50], own_runs[MODE_N][W_N][50];
    int n[MODE_N] = {0};
    uint64_t bt_printed = 0, bt_lost = 0, bt_ops = 0;

    for (int w = 0; w < W_N; w++) /* warm the caches */
        (void)workload(w, ops / 4);
    /* Timed rounds: bare, the floors and mizan back to back, the order
     * rotating each round, so that drift in the machine's speed (a VM's
     * neighbours) hits each alike; the targets are judged on the per-round
     * differences. */
    for (int r = 0; r < rounds; r++) {
        double v[MODE_TIMED][W_N];
        struct pstat o[W_N];
        for (int i = 0; i < MODE_TIMED; i++) {
            int m = (r + i) % MODE_TIMED;
            run_mode(&x, m, v[m], o);
            for (int w = 0; w < W_N; w++)
                ns[w][m][n[m]] = v[m][w];
            n[m]++;
        }
        for (int w = 0; w < W_N; w++)
            diff[w][r] = (v[MODE_MIZAN][w] - v[MODE_FLOOR][w]) / v[MODE_BARE][w];
    }
    /* Paired. The loops: mizan's syscall programs loaded with the bench
     * gate (col_bench_gate) and attached throughout, and pairs of chunks,
     * one gated (every program returns at its first instruction: the
     * per-syscall floor, on the same tracepoints) and one working, a few
     * milliseconds apart (struct looper), so that what drifts (a VM's
     * neighbours, the CPU's clock, at every time scale down to tens of
     * milliseconds here) hits both alike; PAIRS_BLOCKS blocks of
     * PAIRS_BLOCK pairs, each block after BARE_BLOCK bare chunks (every
     * program detached: seconds, as the last detach from a tracepoint waits
     * for its unregistration) and as many with the empty programs (the
     * floor, to show that the gate is one). Targets: the median of the pairs'
     * differences over the median bare chunk. The rest of mizan (the sched
     * and cgroup hooks, the scanner) stays on throughout, as it runs no
     * program in the loops. Mixed (0.4 s a run, far longer than any
     * attach): rounds triples of whole runs, bare, the per-syscall floor
     * and mizan attached in turn, in rotating order. */
    static double pair[W_N][PAIRS_MAX], pair_v[W_N][3][PAIRS_MAX];
    static double floor_v[W_N][PAIRS_BLOCKS * BARE_BLOCK];
    int npair[W_N], nbare[W_N];
    long chunk[W_N] = {ops / 50 > 100 ? ops / 50 : 100, ops / 10 > 100 ? ops / 10 : 100, 0};
    double gated_ns = -1, gated_floor_ns = -1, gated_runs = 0;
    {
        cpu_set_t was;
        CPU_ZERO(&was);
        (void)sched_getaffinity(0, sizeof(was), &was);
        /* the attaching and detaching (and the RCU callbacks they queue)
         * on the other CPUs, not on the loop's */
        pin_away();
        struct floor f;
        floor_start(&f, MODE_FLOOR);
        floor_detach(&f);
        struct mz_config gc = cfg; /* a shallow copy: only read */
        gc.collector.bench_gate = true;
        struct scanner sc;
        scanner_start(&sc, &gc);
        volatile uint32_t *gate = col_bench_gate(sc.c);
        if (!gate) {
            fprintf(stderr, "bench: the collector has no gate\n");
            exit(1);
        }
        struct looper lp;
        looper_start(&lp, gate);
        static double buf[2 * LOOPER_MAX];
        for (int w = 0; w < W_N; w++) {
            if (w == W_MIXED)
                continue;
            npair[w] = nbare[w] = 0;
            for (int blk = 0; blk < PAIRS_BLOCKS; blk++) {
                (void)col_syscalls_set(sc.c, false);
                usleep(20 * 1000);
                looper_run(&lp, w, chunk[w], BARE_BLOCK, LOOP_PLAIN, buf);
                for (int i = 0; i < BARE_BLOCK; i++)
                    pair_v[w][0][nbare[w] + i] = buf[i];
                floor_attach(&f);
                usleep(20 * 1000);
                looper_run(&lp, w, chunk[w], BARE_BLOCK, LOOP_PLAIN, buf);
                for (int i = 0; i < BARE_BLOCK; i++)
                    floor_v[w][nbare[w]++] = buf[i];
                /* mizan's attached before the floor's detach: the
                 * tracepoints stay registered, milliseconds */
                if (col_syscalls_set(sc.c, true) <= 0) {
                    fprintf(stderr, "bench: cannot attach mizan's syscall programs\n");
                    exit(1);
                }
                floor_detach(&f);
                usleep(20 * 1000);
                looper_run(&lp, w, chunk[w], PAIRS_BLOCK, LOOP_PAIRS, buf);
                for (int k = 0; k < PAIRS_BLOCK; k++) {
                    pair_v[w][1][npair[w]] = buf[2 * k];
                    pair_v[w][2][npair[w]] = buf[2 * k + 1];
                    pair[w][npair[w]++] = buf[2 * k + 1] - buf[2 * k];
                }
            }
        }
        /* The gate is the floor: the gated programs' own run time per
         * open, next to the empty program's on the same tracepoints in the
         * same loop (kernel stats, which slow both alike). */
        int sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (sfd >= 0) {
            floor_attach(&f);
            uint64_t ns0, n0, ns1, n1;
            struct pstat f0 = prog_stat(f.fd);
            col_prog_stats(sc.c, &ns0, &n0);
            looper_run(&lp, W_OPEN, ops, 1, LOOP_GATED, buf);
            col_prog_stats(sc.c, &ns1, &n1);
            struct pstat f1 = prog_stat(f.fd);
            floor_detach(&f);
            close(sfd);
            long all = ops + looper_warm(ops);
            gated_ns = (double)(ns1 - ns0) / (double)all;
            gated_runs = (double)(n1 - n0) / (double)all;
            gated_floor_ns = (f1.ns - f0.ns) / (double)all;
        }
        looper_stop(&lp);
        (void)col_syscalls_set(sc.c, false);
        npair[W_MIXED] = nbare[W_MIXED] = rounds;
        for (int k = 0; k < rounds; k++) {
            double v[3];
            for (int i = 0; i < 3; i++) {
                int m = (k + i) % 3; /* 0 bare, 1 floor, 2 mizan */
                if (m == 1)
                    floor_attach(&f);
                else if (m == 2 && col_syscalls_set(sc.c, true) <= 0) {
                    fprintf(stderr, "bench: cannot attach mizan's syscall programs\n");
                    exit(1);
                }
                usleep(100 * 1000);
                v[m] = workload(W_MIXED, ops);
                if (m == 1)
                    floor_detach(&f);
                else if (m == 2)
                    (void)col_syscalls_set(sc.c, false);
            }
            pair[W_MIXED][k] = v[2] / v[0];
            for (int m = 0; m < 3; m++)
                pair_v[W_MIXED][m][k] = v[m];
        }
        (void)col_syscalls_set(sc.c, true);
        scanner_stop(&sc);
        x.mizan_lost += col_lost(sc.c);
        col_free(sc.c);
        floor_stop(&f);
        (void)sched_setaffinity(0, sizeof(was), &was);
    }

    /* The programs' own cost, from the kernel's run-time statistics (which
     * slow every program down a little while on, so not in the timed
     * rounds). */
    int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    int stat_rounds = rounds < 5 ? rounds : 5;
    for (int r = 0; stats_fd >= 0 && r < stat_rounds; r++) {
        static const int stat_modes[] = {MODE_FLOOR, MODE_FLOOR_RAW, MODE_MIZAN};
        for (int i = 0; i < 3; i++) {
            int m = stat_modes[i];
            double v[W_N];
            struct pstat o[W_N];
            run_mode(&x, m, v, o);
            for (int w = 0; w < W_N; w++) {
                own_ns[m][w][r] = o[w].ns;
                own_runs[m][w][r] = o[w].runs;
            }
        }
    }
    if (stats_fd >= 0)
        close(stats_fd);
    /* The streaming baseline: slow, and not what the targets are about. */
    for (int r = 0; have_bpftrace && r < (rounds < 3 ? rounds : 3); r++) {
        struct streamer bt;
        if (streamer_start(&bt) == 0) {
            for (int w = 0; w < W_N; w++)
                ns[w][MODE_BPFTRACE][n[MODE_BPFTRACE]] = workload(w, ops);
            n[MODE_BPFTRACE]++;
            usleep(200 * 1000);
            streamer_stop(&bt);
            bt_printed += bt.printed;
            bt_lost += bt.lost;
            bt_ops += (uint64_t)ops * REPS;
        }
    }

    /* Saturation: one looping process per CPU, every CPU busy opening, so
     * that a streamer's reader competes with the workload for CPU time. For
     * mizan, every open must be in the counts delivered. */
    int nproc = libbpf_num_possible_cpus();
    if (nproc < 1)
        nproc = 1;
    if (nproc > 16)
        nproc = 16;
    uint64_t sat_ops = (uint64_t)ops * (uint64_t)nproc, sat_counted = 0, sat_lost = 0;
    {
        struct scanner sc;
        scanner_start(&sc, &cfg);
        loop_parallel(ops, nproc);
        scanner_stop(&sc);
        sat_counted = target_opens(&sc);
        sat_lost = col_lost(sc.c);
        col_free(sc.c);
    }
    /* The unique-record flood: every open a new record. */
    char udir[] = "/dev/shm/mizan-bench-uniq-XXXXXX";
    if (!mkdtemp(udir))
        return 1;
    (void)mz_strlcpy(uniq_dir, udir, sizeof(uniq_dir));
    uniq_make(nproc, uniq);
    struct col_map_counts u0, u1;
    double u_s;
    uint64_t u_lost;
    {
        /* as the daemon runs: with the recipes' interest set, the flood
         * (files no recipe looks at) is aggregated past the ring's half */
        struct scanner sc;
        scanner_start_with(&sc, &cfg, true);
        (void)col_map_counts(sc.c, "links", &u0);
        uint64_t lost0 = col_lost(sc.c);
        u_s = uniq_flood(nproc, uniq);
        scanner_stop(&sc);
        (void)col_map_counts(sc.c, "links", &u1);
        u_lost = col_lost(sc.c) - lost0;
        col_free(sc.c);
    }
    uint64_t u_bt_printed = 0, u_bt_lost = 0;
    double u_bt_s = 0;
    if (have_bpftrace) {
        struct streamer bt;
        if (streamer_start(&bt) == 0) {
            u_bt_s = uniq_flood(nproc, uniq);
            usleep(500 * 1000);
            streamer_stop(&bt);
            u_bt_printed = bt.printed;
            u_bt_lost = bt.lost;
        }
    }
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", udir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", udir);
        uniq_dir[0] = 0;
    }

    uint64_t sat_bt_printed = 0, sat_bt_lost = 0;
    if (have_bpftrace) {
        struct streamer bt;
        if (streamer_start(&bt) == 0) {
            loop_parallel(ops, nproc);
            usleep(500 * 1000);
            streamer_stop(&bt);
            sat_bt_printed = bt.printed;
            sat_bt_lost = bt.lost;
        }
    }

    printf("collector bench: %d rounds of bare, floor, floor_raw and mizan back to back (order\n"
           "rotating), each running the three workloads; medians of the CPU time of the\n"
           "workload, each measurement the least of %d runs (open, read: %ld ops per run,\n"
           "in a child process; mixed: sh and all it ran)\n",
           rounds, REPS, ops);
    static const double target_diff[W_N] = {0.08, 0.03, 0};
    for (int w = 0; w < W_N; w++) {
        double med[MODE_N] = {0};
        const char *unit = w == W_MIXED ? "ms/run" : "ns/op";
        printf(" %s%s:\n", work_name[w],
               w == W_MIXED ? (have_gcc ? "" : " (no gcc here: without the compiles)") : "");
        for (int m = 0; m < MODE_N; m++)
            if (n[m])
                med[m] = median(ns[w][m], n[m]);
        for (int m = 0; m < MODE_N; m++) {
            if (!n[m]) {
                printf("  %-9s (not run: bpftrace not installed)\n", mode_name[m]);
                continue;
            }
            printf("  %-9s %8.1f %-6s ratio %.3f  (min %.1f, max %.1f, %d runs)\n", mode_name[m],
                   med[m], unit, med[m] / med[MODE_BARE], ns[w][m][0], ns[w][m][n[m] - 1], n[m]);
        }
        if (w == W_MIXED) {
            int np = npair[w];
            printf("  rounds: mizan / bare = %.3f; mizan - floor = %.3f\n"
                   "  paired (%d triples): medians bare %.1f, floor %.1f, mizan %.1f ms/run; the "
                   "ratios' quartiles %.3f, %.3f\n",
                   med[MODE_MIZAN] / med[MODE_BARE], median(diff[w], rounds), np,
                   median(pair_v[w][0], np), median(pair_v[w][1], np), median(pair_v[w][2], np),
                   quantile(pair[w], np, 0.25), quantile(pair[w], np, 0.75));
            double pm = median(pair[w], np);
            printf("  paired: mizan / bare = %.3f (target <= 1.03): %s\n", pm,
                   pm <= 1.03 ? "met" : "NOT met");
        } else {
            int np = npair[w];
            double pb = median(pair_v[w][0], nbare[w]);
            printf("  rounds: mizan - floor = %.3f (median of the rounds' differences; from the\n"
                   "          medians above %.3f)\n"
                   "  paired (%d pairs of gated and working chunks of %ld ops; %d chunks each\n"
                   "          bare and with the empty programs): medians bare %.1f, floor %.1f,\n"
                   "          gated %.1f, working %.1f ns/op; the pairs' differences' quartiles\n"
                   "          %+.1f, %+.1f ns/op\n",
                   median(diff[w], rounds), (med[MODE_MIZAN] - med[MODE_FLOOR]) / med[MODE_BARE],
                   np, chunk[w], nbare[w], pb, median(floor_v[w], nbare[w]),
                   median(pair_v[w][1], np), median(pair_v[w][2], np), quantile(pair[w], np, 0.25),
                   quantile(pair[w], np, 0.75));
            double pm = median(pair[w], np) / pb;
            printf("  paired: mizan - floor = %.3f of bare (target <= %.2f): %s\n", pm,
                   target_diff[w], pm <= target_diff[w] ? "met" : "NOT met");
        }
    }
    if (gated_ns >= 0)
        printf(" the gate as the floor: gated, mizan's programs ran %.2f times per open, %.1f ns;\n"
               " the empty program on the same tracepoints in the same loop %.1f ns (kernel "
               "stats)\n",
               gated_runs, gated_ns, gated_floor_ns);
    if (stats_fd >= 0) {
        printf(" BPF programs' own runs and run time per op (kernel stats, %d runs; the time\n"
               " includes the stats' own clock reads; mixed: per run):\n",
               stat_rounds);
        static const int stat_modes[] = {MODE_FLOOR, MODE_FLOOR_RAW, MODE_MIZAN};
        for (int w = 0; w < W_N; w++) {
            printf("  %-6s", work_name[w]);
            for (int i = 0; i < 3; i++) {
                int m = stat_modes[i];
                double k = w == W_MIXED ? (double)ops : 1.0;
                printf("  %s %.3g runs %.1f ns%s", mode_name[m],
                       median(own_runs[m][w], stat_rounds) * k,
                       median(own_ns[m][w], stat_rounds) * k, i < 2 ? "," : "\n");
            }
        }
    } else {
        printf("  BPF programs' own run time: not measured (BPF_ENABLE_STATS: %s)\n",
               strerror(errno));
    }
    printf("  mizan: %llu records lost, %llu observations delivered\n",
           (unsigned long long)x.mizan_lost, (unsigned long long)x.mizan_obs);
    if (n[MODE_BPFTRACE])
        printf("  bpftrace (system-wide, like mizan): %llu of the open loop's %llu opens printed, "
               "%llu events lost\n",
               (unsigned long long)bt_printed, (unsigned long long)bt_ops,
               (unsigned long long)bt_lost);
    printf("  saturation, %d processes (one per CPU) x %ld opens at once:\n"
           "    mizan: %llu of %llu opens counted in the observations delivered, %llu records "
           "lost\n",
           nproc, ops, (unsigned long long)sat_counted, (unsigned long long)sat_ops,
           (unsigned long long)sat_lost);
    if (have_bpftrace)
        printf("    bpftrace: %llu of %llu opens printed, %llu events lost\n",
               (unsigned long long)sat_bt_printed, (unsigned long long)sat_ops,
               (unsigned long long)sat_bt_lost);
    uint64_t u_ops = (uint64_t)uniq * (uint64_t)nproc;
    uint64_t u_created = u1.created - u0.created, u_delivered = u1.delivered - u0.delivered;
    printf("  unique-record flood, %d processes x %ld distinct files opened once, at once:\n"
           "    mizan: %.1f s, %.0f link records created per second (%llu, the machine's "
           "others included),\n"
           "           %llu delivered, %llu lost (links: %llu), %llu through the overflow ring, "
           "%llu aggregated (no recipe could alert on them)\n",
           nproc, uniq, u_s, (double)u_created / u_s, (unsigned long long)u_created,
           (unsigned long long)u_delivered, (unsigned long long)u_lost,
           (unsigned long long)((u1.lost_full + u1.lost_read + u1.lost_join) -
                                (u0.lost_full + u0.lost_read + u0.lost_join)),
           (unsigned long long)(u1.overflowed - u0.overflowed),
           (unsigned long long)(u1.aggregated - u0.aggregated));
    if (have_bpftrace)
        printf("    bpftrace: %.1f s, %llu of %llu opens printed, %llu events lost\n", u_bt_s,
               (unsigned long long)u_bt_printed, (unsigned long long)u_ops,
               (unsigned long long)u_bt_lost);
    printf("  kernel map memory (memlock, %d maps, default caches): %.1f MiB\n", x.nmaps,
           (double)x.memlock / (1024.0 * 1024.0));
    printf(
        "  RSS: %.1f MiB before load, %.1f MiB with the collector (target <= 64), peak %.1f MiB\n",
        (double)rss_before / 1024.0, (double)x.rss_mizan / 1024.0,
        (double)status_kib("VmHWM") / 1024.0);
    mz_config_free(&cfg);
    unlink(target);
    unlink(small);
    unlink("small.o");
    if (chdir("/") == 0)
        rmdir(dir);
    return 0;
}
