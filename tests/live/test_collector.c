// SPDX-License-Identifier: Apache-2.0
/*
 * test_collector.c - the collector against the running kernel (root + BTF):
 * each action a process performs shows up as the expected observation with
 * the acting process's exe, args and parent; 1,000,000 opens by 4 processes
 * are all accounted for with 0 records evicted unseen; 10,000 execs are each
 * seen with their parent; a foreign write into mizan's maps is a tamper
 * observation; start to first scan takes under 2 s.
 *
 * One collector is loaded for the whole file (loading costs the verifier's
 * time). Workloads are tests/tools/col_work.c, run as child processes.
 * With MIZAN_TEST_DIRECT_READS=off the collector loads the open path's
 * probe-read version (ctest runs the file both ways).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"
#include "config/config.h"
#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "detect/det_interest.h"
#include "detect/detect.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <dirent.h>

#include "bpf/definitions/syscall_list.h"

struct harness {
    struct mz_config cfg;
    struct mz_collector *c;
    struct mz_observation **obs;
    size_t n, cap;
    double start_s;
    char tool[4096];
    char tmp[256];
    uint64_t flood_evicted; /* events lost (map and ring full) to test_tamper's flood */
};
static struct harness H;

static int emit_cb(struct mz_observation *o, void *ctx)
{
    struct harness *h = ctx;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->obs = mz_realloc(h->obs, h->cap * sizeof(*h->obs));
    }
    h->obs[h->n++] = o;
    return 0;
}

static void clear_obs(void)
{
    for (size_t i = 0; i < H.n; i++)
        mz_observation_free(H.obs[i]);
    H.n = 0;
}

static void scan_once(void)
{
    int n = col_scan(H.c, emit_cb, &H);
    assert_true(n >= 0);
}

static double now_s(void)
{
    return (double)mz_monotonic_ns() / 1e9;
}

/* Runs the tool with args; returns its pid. With out, its stdout is piped. */
static pid_t spawn(const char *const *args, int *out)
{
    int p[2] = {-1, -1};
    if (out)
        assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[16];
        size_t n = 0;
        argv[n++] = H.tool;
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        if (out) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
        }
        execv(H.tool, (char *const *)argv);
        _exit(127);
    }
    if (out) {
        close(p[1]);
        *out = p[0];
    }
    return pid;
}

static void wait_ok(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static long read_num(int fd)
{
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = 0;
    return strtol(buf, NULL, 10);
}

typedef bool (*pred_fn)(const struct mz_observation *o, const void *arg);

/* Scans until pred matches an observation or timeout_ms passes. */
static const struct mz_observation *wait_for(pred_fn pred, const void *arg, int timeout_ms)
{
    double end = now_s() + timeout_ms / 1000.0;
    size_t checked = 0;
    for (;;) {
        scan_once();
        for (; checked < H.n; checked++)
            if (pred(H.obs[checked], arg))
                return H.obs[checked];
        if (now_s() > end)
            return NULL;
        usleep(50 * 1000);
    }
}

/* wait_for, then: the acting process is the workload tool run by this test,
 * with its exe, command line and parent. */
static const struct mz_observation *wait_tool(pred_fn pred, const void *arg, int timeout_ms)
{
    const struct mz_observation *o = wait_for(pred, arg, timeout_ms);
    if (!o)
        return NULL;
    assert_non_null(o->proc.exe);
    assert_string_equal(o->proc.exe, H.tool);
    assert_int_equal(o->proc.ppid, getpid());
    assert_non_null(o->proc.args);
    assert_memory_equal(o->proc.args, H.tool, strlen(H.tool));
    assert_string_equal(o->proc.comm, "col_work");
    return o;
}

/* Union of the file actions seen for (pid, path). */
static uint32_t file_actions(int pid, const char *path, const char **path2)
{
    uint32_t a = 0;
    for (size_t i = 0; i < H.n; i++) {
        const struct mz_observation *o = H.obs[i];
        if (o->kind == MZ_OBS_FILE && o->proc.pid == pid && o->file.path &&
            strcmp(o->file.path, path) == 0) {
            a |= o->file.actions;
            if (path2 && o->file.path2)
                *path2 = o->file.path2;
        }
    }
    return a;
}

/* ---- setup ------------------------------------------------------------------ */

/* MIZAN_TEST_LOSS=1: the run with undersized maps (test_loss_counters only). */
static bool loss_run(void)
{
    const char *v = getenv("MIZAN_TEST_LOSS");
    return v && strcmp(v, "1") == 0;
}

/* MIZAN_TEST_INTEREST=1: the run with small maps and ring for
 * test_interest_protected. */
static bool interest_run(void)
{
    const char *v = getenv("MIZAN_TEST_INTEREST");
    return v && strcmp(v, "1") == 0;
}

static int group_setup(void **state)
{
    (void)state;
    const char *bd = getenv("MIZAN_BUILD_DIR");
    snprintf(H.tool, sizeof(H.tool), "%s/tests/col_work", bd ? bd : "build");
    if (access(H.tool, X_OK) != 0) {
        fprintf(stderr, "no workload tool at %s\n", H.tool);
        return -1;
    }
    char *t = realpath(H.tool, NULL);
    if (t) {
        (void)mz_strlcpy(H.tool, t, sizeof(H.tool));
        free(t);
    }
    snprintf(H.tmp, sizeof(H.tmp), "/tmp/mizan-col-XXXXXX");
    if (!mkdtemp(H.tmp))
        return -1;
    mz_log_set_level(MZ_LOG_INFO);
    mz_config_defaults(&H.cfg);
    free(H.cfg.collector.pin_dir); /* never the default pins (tests/cli/test_pin_*.sh pin) */
    H.cfg.collector.pin_dir = NULL;
    const char *dr = getenv("MIZAN_TEST_DIRECT_READS");
    if (dr && strcmp(dr, "off") == 0)
        H.cfg.collector.direct_reads = MZ_DIRECT_OFF;
    if (loss_run()) {
        /* undersized on purpose: the loss counters must move */
        H.cfg.cache.file_links = 64;
        H.cfg.cache.files = 64;
        H.cfg.cache.overflow = 4096;
    }
    if (interest_run()) {
        /* small, so that a flood fills the maps and the ring's free half */
        H.cfg.cache.file_links = 512;
        H.cfg.cache.files = 512;
        H.cfg.cache.overflow = 4 * 1024 * 1024;
    }
    double t0 = now_s();
    H.c = col_new(&H.cfg);
    if (!H.c)
        return -1;
    int n = col_scan(H.c, emit_cb, &H);
    H.start_s = now_s() - t0;
    fprintf(stderr, "collector: start to first scan %.3f s (%d observations)\n", H.start_s, n);
    clear_obs();
    return n < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    clear_obs();
    free(H.obs);
    col_free(H.c);
    mz_config_free(&H.cfg);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", H.tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", H.tmp);
    return 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_start_to_first_scan(void **state)
{
    (void)state;
    assert_true(H.start_s < 2.0);
}

struct want_file {
    int pid;
    const char *path;
    uint32_t actions;
};

static bool is_file(const struct mz_observation *o, const void *arg)
{
    const struct want_file *w = arg;
    return o->kind == MZ_OBS_FILE && o->proc.pid == w->pid && o->file.path &&
           strcmp(o->file.path, w->path) == 0 && (o->file.actions & w->actions) == w->actions;
}

static void test_shadow_read(void **state)
{
    (void)state;
    clear_obs();
    const char *args[] = {"open", "/etc/shadow", NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_file w = {pid, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ};
    const struct mz_observation *o = wait_tool(is_file, &w, 3000);
    assert_non_null(o);
    assert_false(o->file.actions & MZ_FA_WRITE);
    assert_int_equal(o->proc.ppid, getpid());
    assert_int_equal(o->count, 1);
    assert_non_null(o->proc.exe);
    assert_string_equal(o->proc.exe, H.tool);
    char want_args[4200];
    snprintf(want_args, sizeof(want_args), "%s open /etc/shadow", H.tool);
    assert_non_null(o->proc.args);
    assert_string_equal(o->proc.args, want_args);
    assert_string_equal(o->proc.comm, "col_work");
    assert_non_null(o->proc.user);
    assert_string_equal(o->proc.user, "root");
    assert_non_null(o->proc.exe_sha256);
    assert_int_equal(strlen(o->proc.exe_sha256), 64);
    /* ancestry[0] is the parent's exe: this test program */
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(sl > 0);
    self[sl] = 0;
    assert_true(o->proc.n_ancestry >= 1);
    assert_string_equal(o->proc.ancestry[0], self);
    assert_true(o->first_ns > 0 && o->last_ns >= o->first_ns);
    /* wall-clock times within the last minute */
    assert_true(o->first_ns > mz_now_ns() - 60ull * 1000000000ull);

    /* the observation prints as JSON */
    cJSON *j = mz_observation_to_json(o);
    assert_non_null(j);
    cJSON_Delete(j);
}

static bool is_exec(const struct mz_observation *o, const void *arg)
{
    const int *pid = arg;
    return o->kind == MZ_OBS_EXEC && o->proc.pid == *pid;
}

static void test_exec(void **state)
{
    (void)state;
    clear_obs();
    const char *args[] = {"open", "/etc/hostname", NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    const struct mz_observation *o = wait_for(is_exec, &pid, 3000);
    assert_non_null(o);
    assert_int_equal(o->proc.ppid, getpid());
    assert_string_equal(o->proc.exe, H.tool);
    assert_string_equal(o->file.path, H.tool);
    assert_true(o->file.actions & MZ_FA_EXECVE);
    char want_args[4200];
    snprintf(want_args, sizeof(want_args), "%s open /etc/hostname", H.tool);
    assert_string_equal(o->proc.args, want_args);
    assert_true(o->proc.n_ancestry >= 1);
    /* the working directory at exec, from the kernel (the child is gone) */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_non_null(o->proc.cwd);
    assert_string_equal(o->proc.cwd, cwd);
}

static void test_file_actions(void **state)
{
    (void)state;
    clear_obs();
    char dir[512], a[600], b[600], c[600], d[600];
    snprintf(dir, sizeof(dir), "%s/files", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(c, sizeof(c), "%s/c", dir);
    snprintf(d, sizeof(d), "%s/d", dir);
    const char *args[] = {"files", dir, NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_file w = {pid, "memfd:col_memfd", MZ_FA_MEMFD};
    assert_non_null(wait_tool(is_file, &w, 3000));
    scan_once();

    const char *p2 = NULL;
    uint32_t fa = file_actions(pid, a, &p2);
    uint32_t want = MZ_FA_OPEN | MZ_FA_WRITE | MZ_FA_CREATE | MZ_FA_TRUNCATE | MZ_FA_CHMOD |
                    MZ_FA_CHOWN | MZ_FA_LINK | MZ_FA_SYMLINK | MZ_FA_READ | MZ_FA_MMAP;
    if ((fa & want) != want)
        fprintf(stderr, "actions on %s: 0x%x, want 0x%x\n", a, fa, want);
    assert_int_equal(fa & want, want);
    p2 = NULL;
    assert_true(file_actions(pid, b, &p2) & MZ_FA_RENAME);
    assert_non_null(p2);
    assert_string_equal(p2, d);
    assert_true(file_actions(pid, d, NULL) & MZ_FA_UNLINK);
    (void)c;
}

/* Relative paths are resolved against the cwd or the dirfd in the kernel. */
static void test_relative_paths(void **state)
{
    (void)state;
    clear_obs();
    char dir[512], r[600];
    snprintf(dir, sizeof(dir), "%s/rel", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(r, sizeof(r), "%s/r", dir);
    const char *args[] = {"relative", dir, NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_file shadow = {pid, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ};
    assert_non_null(wait_tool(is_file, &shadow, 3000));
    struct want_file host = {pid, "/etc/hostname", MZ_FA_OPEN | MZ_FA_READ};
    assert_non_null(wait_tool(is_file, &host, 1000));
    struct want_file created = {pid, r, MZ_FA_CREATE | MZ_FA_WRITE};
    assert_non_null(wait_tool(is_file, &created, 1000));
    struct want_file unlinked = {pid, r, MZ_FA_UNLINK};
    assert_non_null(wait_tool(is_file, &unlinked, 1000));
}

/* Max count and union of actions over the observations of (pid, path)
 * that include want (a link delivered twice carries its running count). */
static uint64_t file_count(int pid, const char *path, uint32_t want, uint32_t *actions)
{
    uint64_t n = 0;
    *actions = 0;
    for (size_t i = 0; i < H.n; i++) {
        const struct mz_observation *o = H.obs[i];
        if (o->kind == MZ_OBS_FILE && o->proc.pid == pid && o->file.path &&
            strcmp(o->file.path, path) == 0 && (o->file.actions & want) == want) {
            *actions |= o->file.actions;
            if (o->count > n)
                n = o->count;
        }
    }
    return n;
}

/* The loaded open path is the one the config and the kernel call for. */
static void test_open_path_version(void **state)
{
    (void)state;
    const char *dr = getenv("MIZAN_TEST_DIRECT_READS");
    if (dr && strcmp(dr, "off") == 0) {
        assert_false(col_direct_reads(H.c));
        return;
    }
    struct btf *vmlinux = btf__load_vmlinux_btf();
    assert_non_null(vmlinux);
    bool has = btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
    btf__free(vmlinux);
    fprintf(stderr, "kernel %s bpf_rdonly_cast: open path with %s reads\n", has ? "has" : "lacks",
            col_direct_reads(H.c) ? "direct" : "probe");
    assert_int_equal(col_direct_reads(H.c), has);
}

/* Runs `col_work CMD DIR` in a new DIR under the test's directory (its
 * path in dir), waits until its last action, a read open of DIR/last,
 * is observed, then scans once more. Returns the workload's pid. */
static pid_t run_in_dir(const char *cmd, char dir[512], const char *last)
{
    char path[600];
    clear_obs();
    snprintf(dir, 512, "%s/%s", H.tmp, cmd);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, last);
    const char *args[] = {cmd, dir, NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_file w = {pid, path, MZ_FA_OPEN | MZ_FA_READ};
    assert_non_null(wait_tool(is_file, &w, 3000));
    scan_once();
    return pid;
}

/* An open through a symlink is charged to the file it reached. */
static void test_symlink_open(void **state)
{
    (void)state;
    char dir[512], ln[600];
    pid_t pid = run_in_dir("symlink", dir, "target");
    snprintf(ln, sizeof(ln), "%s/ln", dir);
    uint32_t a;
    assert_int_equal(file_count(pid, ln, MZ_FA_OPEN, &a), 0);
    /* the symlink itself: its target as written, the link's path second */
    const char *p2 = NULL;
    assert_true(file_actions(pid, "target", &p2) & MZ_FA_SYMLINK);
    assert_non_null(p2);
    assert_string_equal(p2, ln);
}

/* Opens before a directory above the file is renamed are charged to the old
 * path, opens after it to the new one; a renamed file is a new identity. */
static void test_moved_directory(void **state)
{
    (void)state;
    char dir[512], af[600], bf[600], bg[600];
    pid_t pid = run_in_dir("moved", dir, "b/g");
    snprintf(af, sizeof(af), "%s/a/f", dir);
    snprintf(bf, sizeof(bf), "%s/b/f", dir);
    snprintf(bg, sizeof(bg), "%s/b/g", dir);
    uint32_t a;
    /* the creating open and two reads */
    assert_int_equal(file_count(pid, af, MZ_FA_OPEN, &a), 3);
    uint32_t want = MZ_FA_OPEN | MZ_FA_CREATE | MZ_FA_WRITE | MZ_FA_READ;
    assert_int_equal(a & want, want);
    /* three reads, then the rename of f to g (one record per path) */
    assert_int_equal(file_count(pid, bf, MZ_FA_OPEN, &a), 4);
    want = MZ_FA_OPEN | MZ_FA_READ | MZ_FA_RENAME;
    assert_int_equal(a & want, want);
    assert_false(a & MZ_FA_CREATE);
    assert_int_equal(file_count(pid, bg, MZ_FA_OPEN, &a), 1);
}

/* A mount moved above a file: the open after the move has the new path. */
static void test_moved_mount(void **state)
{
    (void)state;
    char dir[512], mf[600], nf[600];
    pid_t pid = run_in_dir("mountmove", dir, "n/f");
    snprintf(mf, sizeof(mf), "%s/m/f", dir);
    snprintf(nf, sizeof(nf), "%s/n/f", dir);
    uint32_t a;
    assert_int_equal(file_count(pid, mf, MZ_FA_OPEN, &a), 2);
    assert_int_equal(file_count(pid, nf, MZ_FA_OPEN, &a), 1);
    assert_false(a & MZ_FA_CREATE);
}

struct want_flow {
    int pid;
    uint32_t action;
    int port; /* remote (connect, send) or local (listen, bind, accept) */
};

static bool is_flow(const struct mz_observation *o, const void *arg)
{
    const struct want_flow *w = arg;
    if (o->kind != MZ_OBS_FLOW || o->proc.pid != w->pid || !(o->flow.actions & w->action))
        return false;
    if (w->action & (MZ_FL_CONNECT | MZ_FL_SEND))
        return o->flow.remote_port == w->port && (strcmp(o->flow.remote_addr, "127.0.0.1") == 0 ||
                                                  strcmp(o->flow.remote_addr, "::1") == 0);
    return o->flow.local_port == w->port;
}

static void test_network(void **state)
{
    (void)state;
    clear_obs();
    const char *args[] = {"net", NULL};
    int out;
    pid_t pid = spawn(args, &out);
    char line[64] = "";
    ssize_t nr = read(out, line, sizeof(line) - 1);
    close(out);
    assert_true(nr > 0);
    line[nr] = 0;
    unsigned port = 0, port6 = 0;
    assert_int_equal(sscanf(line, "%u %u", &port, &port6), 2);
    wait_ok(pid);
    struct want_flow connect = {pid, MZ_FL_CONNECT, (int)port};
    const struct mz_observation *o = wait_tool(is_flow, &connect, 3000);
    assert_non_null(o);
    assert_int_equal(o->flow.proto, 6);
    assert_int_equal(o->flow.family, AF_INET);
    assert_int_equal(o->flow.direction, MZ_DIR_EGRESS);
    assert_true(o->flow.actions & MZ_FL_ESTABLISHED);
    assert_string_equal(o->flow.local_addr, "127.0.0.1");
    if (port6) {
        struct want_flow c6 = {pid, MZ_FL_CONNECT, (int)port6};
        const struct mz_observation *o6 = wait_tool(is_flow, &c6, 1000);
        assert_non_null(o6);
        assert_int_equal(o6->flow.family, AF_INET6);
        assert_string_equal(o6->flow.remote_addr, "::1");
    } else {
        fprintf(stderr, "(no IPv6 on the loopback: the IPv6 flow is not checked)\n");
    }
    struct want_flow listen = {pid, MZ_FL_LISTEN, (int)port};
    assert_non_null(wait_tool(is_flow, &listen, 1000));
    struct want_flow bind = {pid, MZ_FL_BIND, (int)port};
    assert_non_null(wait_tool(is_flow, &bind, 1000));
    struct want_flow accept = {pid, MZ_FL_ACCEPT, (int)port};
    o = wait_tool(is_flow, &accept, 1000);
    assert_non_null(o);
    assert_int_equal(o->flow.direction, MZ_DIR_INGRESS);
    struct want_flow send = {pid, MZ_FL_SEND, 9};
    o = wait_tool(is_flow, &send, 1000);
    assert_non_null(o);
    assert_int_equal(o->flow.proto, 17);
}

static bool is_domain_flow(const struct mz_observation *o, const void *arg)
{
    const int *pid = arg;
    return o->kind == MZ_OBS_FLOW && o->proc.pid == *pid && o->flow.remote_port == 9 &&
           strcmp(o->flow.remote_addr, "127.0.0.9") == 0;
}

/* The remote end of a flow is named by the DNS answer that gave its address
 * (in a network namespace of the test's own: nothing leaves the machine). */
static void test_flow_domain(void **state)
{
    (void)state;
    clear_obs();
    /* the DNS parser hangs on the cgroup v2 hierarchy */
    char *mounts = NULL;
    size_t mlen = 0;
    assert_int_equal(mz_read_file("/proc/self/mounts", 1 << 20, &mounts, &mlen), 0);
    bool v2 = strstr(mounts, " cgroup2 ") != NULL;
    free(mounts);
    if (!v2) {
        fprintf(stderr, "SKIP: test_flow_domain: no cgroup v2 hierarchy mounted\n");
        skip();
    }
    const char *args[] = {"dns", "mizan-test.example", "127.0.0.9", NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    const struct mz_observation *o = wait_tool(is_domain_flow, &pid, 3000);
    assert_non_null(o);
    assert_int_equal(o->flow.proto, 17);
    assert_true(o->flow.actions & MZ_FL_CONNECT);
    assert_non_null(o->flow.domain);
    assert_string_equal(o->flow.domain, "mizan-test.example");
}

struct want_priv {
    int pid;
    uint32_t action;
    int64_t target;
    bool any_target;
};

static bool is_priv(const struct mz_observation *o, const void *arg)
{
    const struct want_priv *w = arg;
    return o->kind == MZ_OBS_PRIV && o->proc.pid == w->pid && (o->priv.actions & w->action) &&
           (w->any_target || o->priv.target == w->target);
}

static void test_privilege(void **state)
{
    (void)state;
    clear_obs();
    const char *args[] = {"priv", NULL};
    int out;
    pid_t pid = spawn(args, &out);
    long child = read_num(out);
    wait_ok(pid);
    struct want_priv ptr = {pid, MZ_PA_PTRACE, child, false};
    assert_non_null(wait_tool(is_priv, &ptr, 3000));
    struct want_priv su = {pid, MZ_PA_SETUID, 0, false};
    assert_non_null(wait_tool(is_priv, &su, 1000));
    struct want_priv sg = {pid, MZ_PA_SETGID, 0, false};
    assert_non_null(wait_tool(is_priv, &sg, 1000));
    struct want_priv cs = {pid, MZ_PA_CAPSET, 0, true};
    assert_non_null(wait_tool(is_priv, &cs, 1000));
}

struct want_tamper {
    int pid;
    uint32_t kind;
};

static bool is_tamper(const struct mz_observation *o, const void *arg)
{
    const struct want_tamper *w = arg;
    return o->kind == MZ_OBS_TAMPER && o->proc.pid == w->pid && o->tamper.kind == w->kind;
}

/* A foreign write and a handle taken on mizan's maps are tamper records,
 * and a flood of other events right after (setfsuid to many more distinct
 * uids than the events map holds, before any scan) does not evict them. */
static void test_tamper(void **state)
{
    (void)state;
    clear_obs();
    uint32_t id = col_map_id(H.c, "links");
    assert_true(id > 0);
    char ids[32], flood[32];
    snprintf(ids, sizeof(ids), "%u", id);
    uint64_t events = H.cfg.cache.flows / 8 < 1024 ? 1024 : H.cfg.cache.flows / 8;
    snprintf(flood, sizeof(flood), "%llu", (unsigned long long)(4 * events));
    const char *args[] = {"tamper", ids, flood, NULL};
    struct col_map_counts ev0, ev1;
    assert_int_equal(col_map_counts(H.c, "events", &ev0), 0);
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_tamper w = {pid, MZ_TAMPER_MAP_WRITE};
    const struct mz_observation *o = wait_tool(is_tamper, &w, 3000);
    assert_non_null(o);
    assert_non_null(o->tamper.detail);
    assert_non_null(strstr(o->tamper.detail, "links"));
    struct want_tamper open = {pid, MZ_TAMPER_MAP_OPEN};
    assert_non_null(wait_tool(is_tamper, &open, 1000));
    /* mizan's own map accesses (this process scans them) are not tamper */
    for (size_t i = 0; i < H.n; i++)
        assert_false(H.obs[i]->kind == MZ_OBS_TAMPER && H.obs[i]->proc.pid == getpid());
    scan_once();
    assert_int_equal(col_map_counts(H.c, "events", &ev1), 0);
    H.flood_evicted = ev1.lost_full - ev0.lost_full;
    fprintf(stderr, "tamper: flood of %s privilege events, %llu lost (events full)\n", flood,
            (unsigned long long)H.flood_evicted);
}

/* The own-maps table cannot be changed from user space (frozen) nor
 * mmapped; the generation's map cannot be mmapped, and a write to it by
 * another process is tamper evidence. */
static void test_tamper_tables(void **state)
{
    (void)state;
    clear_obs();
    uint32_t ids_id = col_map_id(H.c, ".data.ids"), gen_id = col_map_id(H.c, ".data.gen");
    assert_true(ids_id > 0);
    assert_true(gen_id > 0);
    int fd = bpf_map_get_fd_by_id(ids_id); /* this process is mizan: not tamper */
    assert_true(fd >= 0);
    uint32_t zero = 0, val[64] = {0};
    assert_int_equal(bpf_map_lookup_elem(fd, &zero, val), 0);
    bool has_tasks = false, has_ids = false, has_gen = false;
    for (size_t i = 0; i < 64; i++) {
        has_tasks |= val[i] == col_map_id(H.c, "tasks");
        has_ids |= val[i] == ids_id;
        has_gen |= val[i] == gen_id;
    }
    assert_true(has_tasks && has_ids && has_gen);
    assert_true(bpf_map_update_elem(fd, &zero, val, BPF_ANY) < 0);
    assert_int_equal(errno, EPERM); /* frozen */
    assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
    close(fd);
    fd = bpf_map_get_fd_by_id(gen_id);
    assert_true(fd >= 0);
    assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    close(fd);

    char ids[32];
    snprintf(ids, sizeof(ids), "%u", gen_id);
    const char *args[] = {"rewrite", ids, NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_tamper w = {pid, MZ_TAMPER_MAP_WRITE};
    const struct mz_observation *o = wait_tool(is_tamper, &w, 3000);
    assert_non_null(o);
    assert_non_null(strstr(o->tamper.detail, ".data.gen"));
}

#define SYSCALL_NAME(n) #n,
static const char *const recorded_syscalls[] = {MZ_OPEN_SYSCALLS(SYSCALL_NAME)
                                                    MZ_OTHER_SYSCALLS(SYSCALL_NAME)};
#define N_RECORDED (sizeof(recorded_syscalls) / sizeof(recorded_syscalls[0]))

/* The tracepoint programs this process holds, from its fds: the
 * syscalls:sys_exit_NAME ones into attached[] (a program twice on one, or
 * on a syscall mizan does not record, fails), and how many are attached
 * and raw (into *n_raw_out, when not NULL). */
static int sys_exit_programs(bool attached[N_RECORDED], int *n_raw_out)
{
    int n_sys = 0, n_raw = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char name[256];
        uint32_t len = sizeof(name), prog_id = 0, type = 0;
        __u64 off = 0, addr = 0;
        int64_t v;
        if (mz_parse_i64(e->d_name, 0, 1 << 20, &v) < 0 || (int)v == dirfd(d))
            continue;
        int fd = (int)v;
        if (bpf_task_fd_query(getpid(), fd, 0, name, &len, &prog_id, &type, &off, &addr) < 0)
            continue;
        if (type == BPF_FD_TYPE_RAW_TRACEPOINT) {
            n_raw++;
            if (strcmp(name, "sys_exit") == 0 || strcmp(name, "sys_enter") == 0)
                fail_msg("a program on every syscall: raw tracepoint %s", name);
        }
        if (type != BPF_FD_TYPE_TRACEPOINT || strncmp(name, "sys_e", 5) != 0)
            continue;
        size_t i = 0;
        while (i < N_RECORDED &&
               (strncmp(name, "sys_exit_", 9) != 0 || strcmp(name + 9, recorded_syscalls[i]) != 0))
            i++;
        if (i == N_RECORDED)
            fail_msg("a program on syscalls:%s, which mizan does not record", name);
        assert_false(attached[i]);
        attached[i] = true;
        n_sys++;
    }
    closedir(d);
    if (n_raw_out)
        *n_raw_out = n_raw;
    return n_sys;
}

/* No program on syscalls nobody needs: every syscall hook this process (the
 * collector) holds is the sys_exit tracepoint of a recorded syscall, none is
 * a raw tracepoint on every syscall's entry or exit, and each recorded
 * syscall this kernel has a tracepoint for has its program (those it lacks
 * were skipped, col_new did not fail). */
static void test_syscall_hooks(void **state)
{
    (void)state;
    bool attached[N_RECORDED] = {false};
    int n_raw = 0;
    int n_sys = sys_exit_programs(attached, &n_raw);
    int n_exist = 0;
    for (size_t i = 0; i < N_RECORDED; i++) {
        char path[256];
        snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/sys_exit_%s",
                 recorded_syscalls[i]);
        bool exists = access(path, F_OK) == 0;
        n_exist += exists;
        if (exists != attached[i])
            fail_msg("sys_exit_%s: tracepoint %s, program %s", recorded_syscalls[i],
                     exists ? "present" : "absent", attached[i] ? "attached" : "not attached");
    }
    fprintf(stderr,
            "syscall hooks: %d sys_exit tracepoints of %zu recorded syscalls (%d here), "
            "%d raw tracepoints\n",
            n_sys, N_RECORDED, n_exist, n_raw);
    assert_true(n_raw >= 3); /* sched_process_{fork,exec,exit}: the query sees raw ones */
    assert_true(n_sys > 30);
}

/* The syscall programs detach and attach again (col_syscalls_set, whose
 * detach destroys the links at once, col_links_destroy): detached, none is
 * left in this process and an open is not recorded; attached again, every
 * one is back (a link whose program was still attached would refuse the
 * second attach with EEXIST) and an open is recorded. The daemon's
 * collector has no bench gate. */
static void test_syscall_toggle(void **state)
{
    (void)state;
    assert_null(col_bench_gate(H.c));
    bool attached[N_RECORDED] = {false};
    int n_sys = sys_exit_programs(attached, NULL);
    assert_true(n_sys > 30);
    char path[2][300];
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof(path[i]), "%s/toggle-%d", H.tmp, i);
        int fd = open(path[i], O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    double t0 = now_s();
    assert_int_equal(col_syscalls_set(H.c, false), 0);
    double t_off = now_s() - t0;
    bool none[N_RECORDED] = {false};
    assert_int_equal(sys_exit_programs(none, NULL), 0);
    clear_obs();
    const char *a0[] = {"open", path[0], NULL};
    pid_t p0 = spawn(a0, NULL);
    wait_ok(p0);
    struct want_file w0 = {p0, path[0], MZ_FA_OPEN | MZ_FA_READ};
    assert_null(wait_tool(is_file, &w0, 1000));

    assert_int_equal(col_syscalls_set(H.c, true), n_sys);
    bool again[N_RECORDED] = {false};
    assert_int_equal(sys_exit_programs(again, NULL), n_sys);
    assert_memory_equal(again, attached, sizeof(attached));
    const char *a1[] = {"open", path[1], NULL};
    pid_t p1 = spawn(a1, NULL);
    wait_ok(p1);
    struct want_file w1 = {p1, path[1], MZ_FA_OPEN | MZ_FA_READ};
    assert_non_null(wait_tool(is_file, &w1, 3000));
    fprintf(stderr, "syscall toggle: %d programs detached in %.2f s, attached again\n", n_sys,
            t_off);
}

/* The bench gate cannot gate the daemon: its collector loads bench_gate 0
 * (frozen rodata), so bench_paused, written as a hostile root would (the
 * .bss map found by id, its word located through the map's BTF, mmapped
 * and set), changes nothing: an open is still recorded. */
static void test_gate_off(void **state)
{
    (void)state;
    assert_null(col_bench_gate(H.c));
    uint32_t id = col_map_id(H.c, "mizan.bss");
    assert_true(id > 0);
    int fd = bpf_map_get_fd_by_id(id);
    assert_true(fd >= 0);
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);
    assert_non_null(btf);
    const struct btf_type *sec = btf__type_by_id(btf, info.btf_value_type_id);
    assert_non_null(sec);
    assert_true(btf_is_datasec(sec));
    long off = -1;
    const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); i++, vs++) {
        const struct btf_type *var = btf__type_by_id(btf, vs->type);
        if (var && strcmp(btf__name_by_offset(btf, var->name_off), "bench_paused") == 0)
            off = (long)vs->offset;
    }
    btf__free(btf);
    assert_true(off >= 0 && (size_t)off + 4 <= info.value_size);
    size_t map_len = ((size_t)info.value_size + 4095) & ~(size_t)4095;
    uint8_t *bss = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(bss != MAP_FAILED);
    volatile uint32_t *paused = (volatile uint32_t *)(bss + off);
    *paused = 1;

    char path[300];
    snprintf(path, sizeof(path), "%s/gate-off", H.tmp);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(f >= 0);
    close(f);
    clear_obs();
    const char *args[] = {"open", path, NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    struct want_file w = {pid, path, MZ_FA_OPEN | MZ_FA_READ};
    bool seen = wait_tool(is_file, &w, 3000) != NULL;
    *paused = 0;
    munmap(bss, map_len);
    close(fd);
    assert_true(seen);
}

static int atoi_free_index(const char *s);

/* A consumer that takes `budget` observations per scan, then says -EAGAIN. */
struct tight {
    int budget;
    int refused;
};

static int tight_emit(struct mz_observation *o, void *ctx)
{
    struct tight *t = ctx;
    if (t->budget <= 0) {
        t->refused++;
        return -EAGAIN;
    }
    t->budget--;
    return emit_cb(o, &H);
}

/* A full downstream queue pauses the scans; nothing is lost or repeated. */
static void test_backpressure(void **state)
{
    (void)state;
    clear_obs();
    enum { NFILES = 60 };
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/bp", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "%s/f%04d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    uint64_t lost0 = col_evicted_unseen(H.c);
    char nf[16];
    snprintf(nf, sizeof(nf), "%d", NFILES);
    const char *args[] = {"loop", dir, nf, "3", NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    int seen[NFILES] = {0};
    int refused = 0;
    size_t dlen = strlen(dir);
    /* Bounded in time, not in rounds: other processes' activity takes its
     * share of each round's budget too. */
    double end = now_s() + 20.0;
    while (now_s() < end) {
        struct tight t = {.budget = 7};
        int n = col_scan(H.c, tight_emit, &t);
        /* -EAGAIN exactly when the consumer refused one */
        assert_true(t.refused ? n == -EAGAIN : (n >= 0 && n <= 7));
        refused += t.refused;
        int done = 0;
        for (int i = 0; i < NFILES; i++)
            done += seen[i] > 0;
        for (size_t i = 0; i < H.n; i++) {
            const struct mz_observation *o = H.obs[i];
            if (o->kind == MZ_OBS_FILE && o->proc.pid == pid && o->file.path &&
                strncmp(o->file.path, dir, dlen) == 0) {
                int f = atoi_free_index(o->file.path + dlen);
                if (f >= 0 && f < NFILES && o->count == 3)
                    seen[f]++;
            }
        }
        clear_obs();
        if (done == NFILES && t.refused == 0)
            break;
    }
    for (int i = 0; i < NFILES; i++)
        assert_int_equal(seen[i], 1); /* each exactly once, with its final count */
    assert_true(refused > 0);         /* the queue was full at least once */
    assert_int_equal(col_evicted_unseen(H.c) - lost0, 0);
}

/* "/f0123" -> 123, or -1. */
static int atoi_free_index(const char *s)
{
    if (s[0] != '/' || s[1] != 'f' || !s[2])
        return -1;
    int v = 0;
    for (s += 2; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* 1,000,000 open/close on 1,000 files by 4 processes, scanned at a cadence
 * while they run: every (process, file) pair with its count, 0 lost. */
static void test_million_opens(void **state)
{
    (void)state;
    clear_obs();
    enum { NPROC = 4, NFILES = 1000, ROUNDS = 250 };
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/many", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "%s/f%04d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    uint64_t lost0 = col_evicted_unseen(H.c);
    char nf[16], nr[16];
    snprintf(nf, sizeof(nf), "%d", NFILES);
    snprintf(nr, sizeof(nr), "%d", ROUNDS);
    const char *args[] = {"loop", dir, nf, nr, NULL};
    pid_t pids[NPROC];
    double t0 = now_s();
    for (int i = 0; i < NPROC; i++)
        pids[i] = spawn(args, NULL);
    /* scan at the default cadence while the workload runs */
    int running = NPROC;
    while (running) {
        scan_once();
        usleep((useconds_t)H.cfg.collector.cadence_ms * 1000);
        for (int i = 0; i < NPROC; i++) {
            int st;
            if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                pids[i] = -pids[i];
                running--;
            }
        }
    }
    double dt = now_s() - t0;
    scan_once();
    scan_once();

    /* the latest count of every pair */
    uint64_t *count = mz_calloc((size_t)NPROC * NFILES, sizeof(uint64_t));
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < H.n; i++) {
        const struct mz_observation *o = H.obs[i];
        if (o->kind != MZ_OBS_FILE || !o->file.path || strncmp(o->file.path, dir, dlen) != 0)
            continue;
        int p = -1;
        for (int k = 0; k < NPROC; k++)
            if (o->proc.pid == -pids[k])
                p = k;
        if (p < 0)
            continue;
        int f = atoi_free_index(o->file.path + dlen);
        if (f < 0 || f >= NFILES)
            continue;
        if (o->count > count[p * NFILES + f])
            count[p * NFILES + f] = o->count;
    }
    size_t pairs = 0, exact = 0;
    for (int i = 0; i < NPROC * NFILES; i++) {
        pairs += count[i] > 0;
        exact += count[i] == ROUNDS;
    }
    free(count);
    uint64_t lost = col_evicted_unseen(H.c) - lost0;
    fprintf(stderr, "million: %.2f s, %zu/%d pairs, %zu with count %d, %llu evicted unseen\n", dt,
            pairs, NPROC * NFILES, exact, ROUNDS, (unsigned long long)lost);
    assert_int_equal(pairs, NPROC * NFILES);
    assert_int_equal(exact, NPROC * NFILES);
    assert_int_equal(lost, 0);
}

/* 10,000 execs of short-lived processes: every one seen, with its parent. */
static void test_ten_thousand_execs(void **state)
{
    (void)state;
    clear_obs();
    enum { N = 10000 };
    const char *prog = access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true" : "/bin/true";
    uint64_t lost0 = col_evicted_unseen(H.c);
    char n[16];
    snprintf(n, sizeof(n), "%d", N);
    const char *args[] = {"execloop", n, prog, NULL};
    double t0 = now_s();
    pid_t pid = spawn(args, NULL);
    int st;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        scan_once();
        usleep((useconds_t)H.cfg.collector.cadence_ms * 1000);
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double dt = now_s() - t0;
    scan_once();
    scan_once();
    size_t seen = 0, wrong_parent = 0;
    for (size_t i = 0; i < H.n; i++) {
        const struct mz_observation *o = H.obs[i];
        if (o->kind != MZ_OBS_EXEC || !o->proc.exe || strcmp(o->proc.exe, prog) != 0)
            continue;
        if (o->proc.ppid == pid)
            seen++;
        else if (o->proc.ancestry && o->proc.n_ancestry && o->proc.ppid != pid)
            wrong_parent++;
    }
    uint64_t lost = col_evicted_unseen(H.c) - lost0;
    fprintf(stderr, "execs: %.2f s, %zu/%d seen with their parent, %llu evicted unseen\n", dt, seen,
            N, (unsigned long long)lost);
    assert_int_equal(seen, N);
    assert_int_equal(lost, 0);
}

static void test_stats_json(void **state)
{
    (void)state;
    scan_once();
    cJSON *j = col_stats_json(H.c);
    assert_non_null(j);
    cJSON *maps = cJSON_GetObjectItem(j, "maps");
    assert_non_null(maps);
    cJSON *links = cJSON_GetObjectItem(maps, "links");
    assert_non_null(links);
    assert_true(cJSON_GetObjectItem(links, "created")->valuedouble >= 4000);
    assert_true(cJSON_GetObjectItem(links, "delivered")->valuedouble >= 4000);
    cJSON *lost = cJSON_GetObjectItem(links, "lost");
    assert_non_null(lost);
    assert_non_null(cJSON_GetObjectItem(lost, "full"));
    assert_non_null(cJSON_GetObjectItem(lost, "join_miss"));
    assert_non_null(cJSON_GetObjectItem(maps, "files_long"));
    assert_non_null(cJSON_GetObjectItem(maps, "domains"));
    assert_true(cJSON_GetObjectItem(links, "max_entries")->valuedouble == H.cfg.cache.file_links);
    assert_true(cJSON_GetObjectItem(j, "scans")->valuedouble > 10);
    /* nothing leaves a map uncounted; events lost what test_tamper's flood
     * could not fit (counted), and at least that much is in the total */
    assert_int_equal((uint64_t)cJSON_GetObjectItem(j, "evicted_unseen")->valuedouble, 0);
    assert_true((uint64_t)cJSON_GetObjectItem(j, "lost")->valuedouble >= H.flood_evicted);
    cJSON *events = cJSON_GetObjectItem(maps, "events");
    assert_non_null(events);
    cJSON *elost = cJSON_GetObjectItem(events, "lost");
    assert_non_null(elost);
    assert_true((uint64_t)cJSON_GetObjectItem(elost, "full")->valuedouble >= H.flood_evicted);
    char *txt = cJSON_PrintUnformatted(j);
    fprintf(stderr, "stats: %s\n", txt);
    free(txt);
    cJSON_Delete(j);
}

/* Maps undersized on purpose (links and files 64 entries, a 4 KiB overflow
 * ring), N distinct opens by one process as fast as it can, scans at the
 * cadence: records are lost, and every one of the workload's N links is
 * either delivered or counted lost; per map, created = delivered + lost
 * (+ what is still in the map, for the joined maps). */
static void test_loss_counters(void **state)
{
    (void)state;
    clear_obs();
    enum { N = 3000 };
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/loss", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "%s/f%04d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    scan_once();
    scan_once();
    clear_obs();
    struct col_map_counts l0, f0, l1, f1;
    assert_int_equal(col_map_counts(H.c, "links", &l0), 0);
    assert_int_equal(col_map_counts(H.c, "files", &f0), 0);
    char nf[16];
    snprintf(nf, sizeof(nf), "%d", N);
    const char *args[] = {"loop", dir, nf, "1", NULL};
    pid_t pid = spawn(args, NULL);
    int st;
    double end = now_s() + 60.0;
    while (waitpid(pid, &st, WNOHANG) != pid && now_s() < end) {
        scan_once();
        usleep((useconds_t)H.cfg.collector.cadence_ms * 1000);
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 0; i < 4; i++)
        scan_once();
    assert_int_equal(col_map_counts(H.c, "links", &l1), 0);
    assert_int_equal(col_map_counts(H.c, "files", &f1), 0);

    /* The workload's links delivered: its opens under dir, and any of its
     * links whose path was lost (counted on files, not here). */
    size_t ours = 0, no_path = 0, dlen = strlen(dir);
    for (size_t i = 0; i < H.n; i++) {
        const struct mz_observation *o = H.obs[i];
        if (o->kind != MZ_OBS_FILE || o->proc.pid != pid)
            continue;
        if (!o->file.path)
            no_path++;
        else if (strncmp(o->file.path, dir, dlen) == 0 && atoi_free_index(o->file.path + dlen) >= 0)
            ours++;
    }
    uint64_t created = l1.created - l0.created, delivered = l1.delivered - l0.delivered;
    uint64_t lost =
        (l1.lost_full + l1.lost_read + l1.lost_join) - (l0.lost_full + l0.lost_read + l0.lost_join);
    uint64_t fcreated = f1.created - f0.created, fdelivered = f1.delivered - f0.delivered;
    uint64_t flost = (f1.lost_full + f1.lost_read) - (f0.lost_full + f0.lost_read);
    fprintf(stderr,
            "loss: links created %llu delivered %llu lost %llu (overflowed %llu); workload %zu "
            "of %d delivered with their path, %zu without; files created %llu delivered %llu "
            "lost %llu (join misses %llu) entries %llu\n",
            (unsigned long long)created, (unsigned long long)delivered, (unsigned long long)lost,
            (unsigned long long)(l1.overflowed - l0.overflowed), ours, N, no_path,
            (unsigned long long)fcreated, (unsigned long long)fdelivered, (unsigned long long)flost,
            (unsigned long long)(f1.lost_join - f0.lost_join), (unsigned long long)f1.entries);
    /* the counters moved */
    assert_true(lost > 0);
    assert_true(flost > 0);
    assert_true(l1.overflowed > l0.overflowed);
    /* the truth: N records of the workload were made; each was delivered or
     * counted lost (other processes' records may add to both sides) */
    assert_true(created >= N);
    assert_true(ours <= N);
    assert_true(ours + no_path + lost >= N);
    /* per map: created = delivered + lost; links are caught up after the
     * last scans (a few records of other processes may be in flight) */
    uint64_t lall = l1.delivered + l1.lost_full + l1.lost_read + l1.lost_join;
    assert_true(l1.created >= lall);       /* totals: what is in flight is >= 0 */
    assert_true(l1.created - lall <= 160); /* at most the map and the ring */
    /* files: created = delivered (taken out of the kernel) + lost + in the
     * map, + what is in the ring (other processes' records made since the
     * last drain) */
    uint64_t fin = f1.delivered + f1.lost_full + f1.lost_read + f1.entries;
    assert_true(f1.created >= fin);
    assert_true(f1.created - fin <= 160);
    assert_true(fcreated >= N);
    clear_obs();
}

/* One flood_then run (N distinct files in dir, then /etc/shadow) with no scan
 * until it is done; then scans until nothing is pending. Returns the pid, and
 * whether its /etc/shadow link was delivered; the links counters before and
 * after in l0, l1. */
/* A flood's start: what came before is delivered and dropped, the links'
 * counts into *l0. */
static void flood_begin(struct col_map_counts *l0)
{
    scan_once();
    scan_once();
    clear_obs();
    assert_int_equal(col_map_counts(H.c, "links", l0), 0);
}

/* One process of col_work floodthen: n files in dir, then /etc/shadow;
 * returns its pid once it exited (no scan meanwhile). */
static pid_t flood_spawn(const char *dir, int n)
{
    char nf[16];
    snprintf(nf, sizeof(nf), "%d", n);
    const char *args[] = {"floodthen", nf, dir, "/etc/shadow", NULL};
    pid_t pid = spawn(args, NULL);
    wait_ok(pid);
    return pid;
}

/* A flood's end: scans (all delivered into H.obs), the links' counts into
 * *l1. */
static void flood_end(int scans, struct col_map_counts *l1)
{
    for (int i = 0; i < scans; i++)
        scan_once();
    assert_int_equal(col_map_counts(H.c, "links", l1), 0);
}

/* Whether pid's read of /etc/shadow was delivered. */
static bool shadow_of(pid_t pid)
{
    struct want_file w = {pid, "/etc/shadow", MZ_FA_OPEN | MZ_FA_READ};
    for (size_t i = 0; i < H.n; i++)
        if (is_file(H.obs[i], &w))
            return true;
    return false;
}

static pid_t flood_then_shadow(const char *dir, int n, bool *shadow, struct col_map_counts *l0,
                               struct col_map_counts *l1)
{
    flood_begin(l0);
    pid_t pid = flood_spawn(dir, n);
    flood_end(6, l1);
    *shadow = shadow_of(pid);
    return pid;
}

/* Interesting records are protected (bpf/helpers/interest.h). Maps small
 * (a 4 MiB ring: the free half must hold what other processes on a shared
 * machine make meanwhile), no scan during the flood: a process creates N files nobody's
 * recipe looks at, then reads /etc/shadow. Without an interest set every
 * record may take the ring, the flood fills it, and the read is lost
 * (counted): the control, which shows the test can fail. With the built-in
 * recipes' set loaded, the flood past the ring's free half is aggregated
 * (counted, summed per task) and the read is delivered. Then floods the
 * set calls interesting: one past its budget, many each under it. */
static void test_interest_protected(void **state)
{
    (void)state;
    enum { N = 20000 };
    char dir[512];
    struct col_map_counts l0, l1;
    bool shadow;

    /* control: no set loaded, every record is interesting */
    snprintf(dir, sizeof(dir), "%s/nointerest", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    (void)flood_then_shadow(dir, N, &shadow, &l0, &l1);
    fprintf(stderr, "interest: without a set: shadow %s, links lost full %llu, aggregated %llu\n",
            shadow ? "delivered" : "lost", (unsigned long long)(l1.lost_full - l0.lost_full),
            (unsigned long long)(l1.aggregated - l0.aggregated));
    assert_false(shadow);
    assert_true(l1.lost_full > l0.lost_full);
    assert_int_equal(l1.aggregated, l0.aggregated);

    /* the built-in recipes' set */
    char err[512];
    struct det_engine *e = det_engine_new(&H.cfg, err, sizeof(err));
    assert_non_null(e);
    uint64_t gen = 0;
    struct det_interest *ii = det_engine_interest(e, &gen);
    assert_non_null(ii);
    assert_int_equal(col_set_interest(H.c, ii, gen), 0);
    assert_int_equal(col_interest_gen(H.c), gen);
    det_interest_unref(ii);
    det_engine_free(e);

    snprintf(dir, sizeof(dir), "%s/interest", H.tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    pid_t pid = flood_then_shadow(dir, N, &shadow, &l0, &l1);
    uint64_t agg = l1.aggregated - l0.aggregated, created = l1.created - l0.created;
    fprintf(stderr,
            "interest: with the set: shadow %s, links created %llu, aggregated %llu, lost full "
            "%llu\n",
            shadow ? "delivered" : "lost", (unsigned long long)created, (unsigned long long)agg,
            (unsigned long long)(l1.lost_full - l0.lost_full));
    assert_true(shadow);
    assert_true(agg > 0);
    /* every one of the flood's links was made or aggregated (other
     * processes' records may add to both) */
    assert_true(created + agg >= N);
    /* the aggregate names the flooder */
    cJSON *j = col_stats_json(H.c);
    assert_non_null(j);
    cJSON *at = cJSON_GetObjectItem(j, "aggregated_tasks"), *t;
    bool named = false;
    cJSON_ArrayForEach(t, at)
    {
        cJSON *p = cJSON_GetObjectItem(t, "pid"), *cnt = cJSON_GetObjectItem(t, "count");
        if (p && cnt && (pid_t)p->valuedouble == pid && cnt->valuedouble > 0 &&
            cnt->valuedouble <= N)
            named = true;
    }
    cJSON_Delete(j);
    assert_true(named);

    /* A flood the set calls interesting: files under /home (the credential
     * recipes' patterns make every path there interesting). Without the
     * ring's tiers it filled the ring like the control and the read was
     * lost; with them /etc/shadow, a path named exactly, keeps the ring's
     * last part, the flooder's records past its budget are aggregated, and
     * the flooder has a record_flood tamper record. */
    char home[] = "/home/mizan-col-XXXXXX";
    assert_non_null(mkdtemp(home));
    pid = flood_then_shadow(home, N, &shadow, &l0, &l1);
    agg = l1.aggregated - l0.aggregated;
    struct want_tamper fl = {pid, MZ_TAMPER_RECORD_FLOOD};
    const struct mz_observation *ft = NULL;
    for (size_t i = 0; i < H.n && !ft; i++)
        if (is_tamper(H.obs[i], &fl))
            ft = H.obs[i];
    fprintf(stderr,
            "interest: an interesting flood under /home: shadow %s, links aggregated %llu, lost "
            "full %llu, record_flood %s (count %llu)\n",
            shadow ? "delivered" : "lost", (unsigned long long)agg,
            (unsigned long long)(l1.lost_full - l0.lost_full), ft ? "recorded" : "missing",
            ft ? (unsigned long long)ft->count : 0ull);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", home);
    assert_true(shadow);
    assert_true(agg > 0);
    assert_non_null(ft);
    assert_non_null(ft->tamper.detail);
    assert_non_null(strstr(ft->tamper.detail, home));
    assert_true(ft->count > 0 && ft->count <= agg);
    clear_obs();

    /* Many flooders, each under its budget: the ring's seven eighths. K
     * processes one after the other, no scan between them, each creating
     * M < MZ_PRESSURE_BUDGET files under /home and then reading
     * /etc/shadow. No budget runs out, yet together they fill the ring
     * past its seven eighths: the later ones' files are aggregated with a
     * record_flood (which only the cap can have caused), and every shadow
     * read, a path named exactly, takes the last eighth and is
     * delivered. */
    enum { K = 20, M = 900 };
    char homek[] = "/home/mizan-col-XXXXXX";
    assert_non_null(mkdtemp(homek));
    flood_begin(&l0);
    pid_t pids[K];
    for (int k = 0; k < K; k++) {
        char sub[600];
        snprintf(sub, sizeof(sub), "%s/%d", homek, k);
        assert_int_equal(mkdir(sub, 0700), 0);
        pids[k] = flood_spawn(sub, M);
    }
    flood_end(8, &l1);
    agg = l1.aggregated - l0.aggregated;
    int shadows = 0, capped = 0;
    uint64_t capped_max = 0;
    for (int k = 0; k < K; k++) {
        shadows += shadow_of(pids[k]);
        struct want_tamper tk = {pids[k], MZ_TAMPER_RECORD_FLOOD};
        for (size_t i = 0; i < H.n; i++)
            if (is_tamper(H.obs[i], &tk)) {
                capped++;
                if (H.obs[i]->count > capped_max)
                    capped_max = H.obs[i]->count;
                break;
            }
    }
    fprintf(stderr,
            "interest: %d flooders of %d files under /home, each under its budget: %d of %d "
            "shadow reads delivered, %d flooders capped (record_flood, at most %llu each), links "
            "aggregated %llu, lost full %llu\n",
            K, M, shadows, K, capped, (unsigned long long)capped_max, (unsigned long long)agg,
            (unsigned long long)(l1.lost_full - l0.lost_full));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", homek);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", homek);
    assert_int_equal(shadows, K);
    assert_true(capped > 0);
    /* the files and the process's few other opens, never its budget
     * (MZ_PRESSURE_BUDGET, 1024) */
    assert_true(capped_max > 0 && capped_max < 1024);
    assert_true(agg > 0);
    clear_obs();
}

int main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: test_collector needs root\n");
        return 77;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        printf("SKIP: test_collector needs a kernel with BTF\n");
        return 77;
    }
    if (interest_run()) {
        const struct CMUnitTest in[] = {cmocka_unit_test(test_interest_protected)};
        return cmocka_run_group_tests(in, group_setup, group_teardown);
    }
    if (loss_run()) {
        const struct CMUnitTest loss[] = {cmocka_unit_test(test_loss_counters)};
        return cmocka_run_group_tests(loss, group_setup, group_teardown);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_to_first_scan),
        cmocka_unit_test(test_syscall_hooks),
        cmocka_unit_test(test_syscall_toggle),
        cmocka_unit_test(test_gate_off),
        cmocka_unit_test(test_shadow_read),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_file_actions),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_open_path_version),
        cmocka_unit_test(test_symlink_open),
        cmocka_unit_test(test_moved_directory),
        cmocka_unit_test(test_moved_mount),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_flow_domain),
        cmocka_unit_test(test_privilege),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_tamper_tables),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_million_opens),
        cmocka_unit_test(test_ten_thousand_execs),
        cmocka_unit_test(test_stats_json),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
