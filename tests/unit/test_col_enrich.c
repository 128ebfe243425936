// SPDX-License-Identifier: Apache-2.0
/* test_col_enrich.c - the collector's enrichment helpers that need no root:
 * container ids from cgroup paths, argv joining with its cap, /proc
 * identity checks against the start time, and process enrichment of this
 * very process (user, exe digest compared with a digest computed here);
 * the exe worker against what a hostile user puts at an exited process's
 * exe path (a FIFO, a symlink to /dev/zero, a 10 GiB sparse file, a
 * same-size rewrite with the mtime put back); the trust check of system
 * binaries against copies and writable files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "collector/col_enrich.h"
#include "config/config.h"
#include "core/util.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_container_ids(void **state)
{
    (void)state;
    char id[65];
    static const char *const with[] = {
        "/system.slice/docker-" ID64 ".scope",
        "/docker/" ID64,
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
        "cri-containerd-" ID64 ".scope",
        "/kubepods/burstable/pod5f0a/" ID64,
        "/machine.slice/libpod-" ID64 ".scope/container",
        "/system.slice/crio-" ID64 ".scope",
    };
    for (size_t i = 0; i < MZ_ARRAY_SIZE(with); i++) {
        memset(id, 0, sizeof(id));
        assert_int_equal(col_container_id(with[i], id), 0);
        assert_string_equal(id, ID64);
    }
    static const char *const without[] = {
        "/",
        "/user.slice/user-0.slice/session-3.scope",
        "/system.slice/docker.service",
        "/docker/0123456789abcdef",                                                 /* too short */
        "/docker/" ID64 "0",                                                        /* too long */
        "/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", /* upper */
        "",
    };
    for (size_t i = 0; i < MZ_ARRAY_SIZE(without); i++)
        assert_int_equal(col_container_id(without[i], id), -ENOENT);
    assert_int_equal(col_container_id(NULL, id), -ENOENT);
}

static void test_dns_names(void **state)
{
    (void)state;
    char out[64];
    static const uint8_t ok[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                 'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    assert_int_equal(col_dns_name(ok, sizeof(ok), out, sizeof(out)), 0);
    assert_string_equal(out, "www.example.com");
    /* attacker bytes stay printable */
    static const uint8_t odd[] = {3, 'a', '\n', 0x80, 0};
    assert_int_equal(col_dns_name(odd, sizeof(odd), out, sizeof(out)), 0);
    assert_string_equal(out, "a??");
    /* cut, compressed, overrun, root, too long for out */
    assert_int_equal(col_dns_name(ok, sizeof(ok) - 1, out, sizeof(out)), -EINVAL);
    static const uint8_t ptr[] = {0xc0, 0x0c};
    assert_int_equal(col_dns_name(ptr, sizeof(ptr), out, sizeof(out)), -EINVAL);
    static const uint8_t over[] = {9, 'a', 'b', 0};
    assert_int_equal(col_dns_name(over, sizeof(over), out, sizeof(out)), -EINVAL);
    static const uint8_t root[] = {0};
    assert_int_equal(col_dns_name(root, sizeof(root), out, sizeof(out)), -EINVAL);
    assert_int_equal(col_dns_name(ok, sizeof(ok), out, 15), -E2BIG);
    assert_int_equal(col_dns_name(ok, sizeof(ok), out, 16), 0);
}

static void test_join_args(void **state)
{
    (void)state;
    char *s = col_join_args("cat\0/etc/shadow\0", 16, false);
    assert_string_equal(s, "cat /etc/shadow");
    free(s);
    s = col_join_args("a\0\0b", 4, false); /* an empty argument stays visible */
    assert_string_equal(s, "a  b");
    free(s);
    s = col_join_args("cut", 3, true); /* the kernel cut it: say so */
    assert_string_equal(s, "cut...");
    free(s);
    s = col_join_args("", 0, false);
    assert_string_equal(s, "");
    free(s);
    /* longer than the cap: cut at MZ_ARGS_MAX and marked */
    size_t n = MZ_ARGS_MAX + 100;
    char *big = malloc(n);
    memset(big, 'x', n);
    s = col_join_args(big, n, false);
    assert_int_equal(strlen(s), MZ_ARGS_MAX);
    assert_string_equal(s + MZ_ARGS_MAX - 3, "...");
    free(s);
    free(big);
}

/* start_boottime of this process in ns, from /proc/self/stat. */
static uint64_t start_ns_of(const char *stat_path)
{
    char buf[1024];
    FILE *f = fopen(stat_path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long ticks = 0;
    /* fields after ")": state is field 3, starttime field 22 */
    int field = 3;
    for (p += 2; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    assert_int_equal(sscanf(p, "%llu", &ticks), 1);
    return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

static uint64_t self_start_ns(void)
{
    return start_ns_of("/proc/self/stat");
}

static void test_proc_identity(void **state)
{
    (void)state;
    uint64_t start = self_start_ns();
    assert_true(col_proc_is(getpid(), start));
    assert_true(col_proc_is(getpid(), 0));
    /* a different start time is another process that had this pid */
    assert_false(col_proc_is(getpid(), start + 10ull * 1000000000ull));
    assert_false(col_proc_is(-1, 0));
    int ppid = 0;
    char *exe = NULL;
    assert_int_equal(col_proc_parent(getpid(), &ppid, &exe), 0);
    assert_int_equal(ppid, getppid());
    assert_non_null(exe);
    free(exe);
}

static void sha256_file(const char *path, char hex[65])
{
    unsigned char md[32], buf[65536];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    fclose(f);
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    mz_hex(md, 32, hex);
}

static void test_enrich_self(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    struct col_enrich *e = col_enrich_new(&cfg);
    assert_non_null(e);
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(sl > 0);
    self[sl] = 0;
    char want[65];
    sha256_file(self, want);

    for (int round = 0; round < 3; round++) {
        struct mz_process p;
        memset(&p, 0, sizeof(p));
        p.pid = getpid();
        p.uid = getuid();
        p.start_ns = self_start_ns();
        col_enrich_begin_scan(e);
        col_enrich_process(e, &p);
        assert_non_null(p.exe);
        assert_string_equal(p.exe, self);
        assert_non_null(p.args);
        assert_non_null(strstr(p.args, "test_col_enrich"));
        assert_non_null(p.cwd);
        assert_non_null(p.exe_sha256);
        assert_string_equal(p.exe_sha256, want);
        if (getuid() == 0) {
            assert_non_null(p.user);
            assert_string_equal(p.user, "root");
        }
        mz_process_clear(&p);
    }
    struct col_enrich_stats st;
    col_enrich_stats(e, &st);
    /* hashed once: the process's later observations take the kept result */
    assert_int_equal(st.sha_misses, 1);
    assert_int_equal(st.sha_hits, 0);

    /* a process that is gone gets nothing from /proc */
    struct mz_process gone;
    memset(&gone, 0, sizeof(gone));
    gone.pid = getpid();
    gone.start_ns = self_start_ns() + 10ull * 1000000000ull;
    col_enrich_process(e, &gone);
    assert_null(gone.args);
    assert_null(gone.cwd);
    mz_process_clear(&gone);
    col_enrich_free(e);
    col_enrich_free(NULL);
    mz_config_free(&cfg);
}

/* ---- what a hostile user puts at an exited process's exe path ---------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mizan-enrich.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* A process record whose process is gone (same pid as ours, another start
 * time: /proc/PID is not it), with exe at path. serial makes each record
 * another process. */
static void gone_process(struct mz_process *p, const char *path, int serial)
{
    memset(p, 0, sizeof(*p));
    p->pid = getpid();
    p->start_ns = self_start_ns() + (uint64_t)(100 + serial) * 1000000000ull;
    p->exe = strdup(path);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_hostile_exe_paths(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    struct col_enrich *e = col_enrich_new(&cfg);
    make_tmpdir();
    char fifo[300], link[300], sparse[300];
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
    snprintf(link, sizeof(link), "%s/zero", tmpdir);
    snprintf(sparse, sizeof(sparse), "%s/sparse", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink("/dev/zero", link), 0);
    FILE *f = fopen(sparse, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 10ll << 30), 0); /* 10 GiB, no blocks */
    fclose(f);

    static const struct {
        const char *name, *why;
    } cases[] = {
        {"fifo", "not_regular"}, {"zero", "symlink"}, {"sparse", "too_large"}, {"missing", "gone"}};
    for (size_t i = 0; i < MZ_ARRAY_SIZE(cases); i++) {
        char path[300];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, cases[i].name);
        struct mz_process p;
        gone_process(&p, path, (int)i);
        col_enrich_begin_scan(e);
        uint64_t t0 = now_ms();
        col_enrich_process(e, &p);
        /* no stall: a plain open of the FIFO would block here for ever, a
         * read of the sparse file or of /dev/zero would take minutes */
        assert_true(now_ms() - t0 < 5000);
        assert_null(p.exe_sha256);
        assert_non_null(p.exe_sha256_why);
        assert_string_equal(p.exe_sha256_why, cases[i].why);
        assert_false(p.exe_trusted);
        mz_process_clear(&p);
    }
    /* nothing was read: the FIFO, /dev/zero and the sparse file never reached
     * a read (the sparse file is refused on its size) */
    struct col_enrich_stats st;
    col_enrich_stats(e, &st);
    assert_int_equal(st.sha_misses, 0);
    col_enrich_free(e);
    rm_tmpdir();
    mz_config_free(&cfg);
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A same-size rewrite with the mtime put back: the digest cache's key has
 * ctime, so the new content gets its own digest. */
static void test_rewrite_mtime_restored(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    struct col_enrich *e = col_enrich_new(&cfg);
    make_tmpdir();
    char path[300], want1[65], want2[65];
    snprintf(path, sizeof(path), "%s/prog", tmpdir);
    write_file(path, "#!/bin/sh\necho one\n");
    sha256_file(path, want1);
    struct stat st0;
    assert_int_equal(stat(path, &st0), 0);

    struct mz_process p;
    gone_process(&p, path, 1);
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_non_null(p.exe_sha256);
    assert_string_equal(p.exe_sha256, want1);
    mz_process_clear(&p);

    struct timespec pause = {0, 20000000}; /* let ctime move on coarse clocks */
    nanosleep(&pause, NULL);
    write_file(path, "#!/bin/sh\necho two\n"); /* same size */
    struct timespec times[2] = {st0.st_atim, st0.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    struct stat st1;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(st1.st_size, st0.st_size);
    assert_int_equal(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
    assert_int_equal(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
    assert_int_equal(st1.st_ino, st0.st_ino);
    sha256_file(path, want2);
    assert_string_not_equal(want1, want2);

    gone_process(&p, path, 2); /* a new process ran it */
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_non_null(p.exe_sha256);
    assert_string_equal(p.exe_sha256, want2);
    mz_process_clear(&p);
    col_enrich_free(e);
    rm_tmpdir();
    mz_config_free(&cfg);
}

/* Starts exe (argv: exe, "5") as a child that sleeps; returns its pid and
 * start time. */
static pid_t spawn_sleep(const char *exe, uint64_t *start)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(exe, exe, "5", (char *)NULL);
        _exit(127);
    }
    char stat_path[64], link[64], buf[4096];
    snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)pid);
    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    for (int i = 0; i < 200; i++) { /* until the exec is done */
        ssize_t n = readlink(link, buf, sizeof(buf) - 1);
        if (n > 0 && (buf[n] = 0, strcmp(buf, exe) == 0))
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    *start = start_ns_of(stat_path);
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void enrich_live(struct col_enrich *e, pid_t pid, uint64_t start, const char *exe,
                        struct mz_process *p)
{
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->ppid = getpid();
    p->start_ns = start;
    p->exe = strdup(exe);
    col_enrich_begin_scan(e);
    col_enrich_process(e, p);
}

/* /usr/bin/sleep running is a trusted system binary; the same bytes copied
 * under a temp dir (named like anything) are not; nor is a file in a system
 * directory that others may write (checked on a synthetic stat). */
static void test_exe_trust(void **state)
{
    (void)state;
    const char *sys = "/usr/bin/sleep";
    struct stat sst;
    if (stat(sys, &sst) != 0 || sst.st_uid != 0 || (sst.st_mode & 022)) {
        skip(); /* no root-owned /usr/bin/sleep here */
        return;
    }
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    struct col_enrich *e = col_enrich_new(&cfg);
    make_tmpdir();
    char copy[300], cmd[700];
    snprintf(copy, sizeof(copy), "%s/cron", tmpdir);
    snprintf(cmd, sizeof(cmd), "cp %s '%s'", sys, copy);
    assert_int_equal(system(cmd), 0);

    struct mz_process p;
    uint64_t start;
    pid_t pid = spawn_sleep(sys, &start);
    enrich_live(e, pid, start, sys, &p);
    assert_true(p.exe_trusted);
    assert_non_null(p.exe_trust_why);
    assert_string_equal(p.exe_trust_why, "system_binary");
    assert_non_null(p.exe_sha256);
    mz_process_clear(&p);
    /* the recorded path may claim a system binary: the file that runs decides */
    reap(pid);

    pid = spawn_sleep(copy, &start);
    enrich_live(e, pid, start, copy, &p);
    assert_false(p.exe_trusted);
    assert_string_equal(p.exe_trust_why, "not_system_dir");
    mz_process_clear(&p);
    /* a copy whose record names /usr/bin/sleep (a bind mount in its own mount
     * namespace looks so): /proc/PID/exe is another file */
    enrich_live(e, pid, start, sys, &p);
    assert_false(p.exe_trusted);
    assert_string_equal(p.exe_trust_why, "not_same_file");
    mz_process_clear(&p);
    reap(pid);

    /* the parent's check: this test's own exe is in the build tree */
    memset(&p, 0, sizeof(p));
    p.pid = getpid();
    p.start_ns = self_start_ns();
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(sl > 0);
    self[sl] = 0;
    p.n_ancestry = 1;
    p.ancestry = calloc(1, sizeof(char *));
    p.ancestry[0] = strdup(self);
    p.ppid = getpid();
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_false(p.parent_exe_trusted);
    mz_process_clear(&p);

    /* a process gone: with the identity the kernel recorded at exec, the file
     * at the path is checked to be that one */
    gone_process(&p, sys, 7);
    p.exe_dev = sst.st_dev;
    p.exe_ino = sst.st_ino;
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_true(p.exe_trusted);
    assert_string_equal(p.exe_trust_why, "system_binary_by_inode");
    assert_non_null(p.exe_sha256);
    mz_process_clear(&p);
    gone_process(&p, sys, 8); /* what ran was another file, now replaced by sleep */
    p.exe_dev = sst.st_dev;
    p.exe_ino = sst.st_ino + 1;
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_false(p.exe_trusted);
    assert_string_equal(p.exe_trust_why, "identity_mismatch");
    assert_null(p.exe_sha256);
    assert_string_equal(p.exe_sha256_why, "identity_mismatch");
    mz_process_clear(&p);
    gone_process(&p, sys, 9); /* unknown identity: the path's file, by path */
    col_enrich_begin_scan(e);
    col_enrich_process(e, &p);
    assert_true(p.exe_trusted);
    assert_string_equal(p.exe_trust_why, "system_binary_by_path");
    mz_process_clear(&p);

    bool trusted;
    struct stat st = sst;
    assert_string_equal(col_exe_trust(sys, &st, true, &trusted), "system_binary");
    assert_true(trusted);
    assert_string_equal(col_exe_trust(sys, &st, false, &trusted), "system_binary_by_path");
    st.st_mode |= S_IWOTH;
    assert_string_equal(col_exe_trust(sys, &st, true, &trusted), "writable");
    assert_false(trusted);
    st = sst;
    st.st_mode |= S_IWGRP;
    assert_string_equal(col_exe_trust(sys, &st, true, &trusted), "writable");
    st = sst;
    st.st_uid = 1000;
    assert_string_equal(col_exe_trust(sys, &st, true, &trusted), "not_root_owned");
    st = sst;
    assert_string_equal(col_exe_trust("/usr/bin/../../tmp/sleep", &st, true, &trusted),
                        "unclean_path");
    assert_string_equal(col_exe_trust("/dev/shm/su", &st, true, &trusted), "not_system_dir");
    assert_string_equal(col_exe_trust("/usr/binx/sleep", &st, true, &trusted), "not_system_dir");
    assert_string_equal(col_exe_trust(NULL, &st, true, &trusted), "no_path");
    assert_false(trusted);

    col_enrich_free(e);
    rm_tmpdir();
    mz_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_ids),
        cmocka_unit_test(test_dns_names),
        cmocka_unit_test(test_join_args),
        cmocka_unit_test(test_proc_identity),
        cmocka_unit_test(test_enrich_self),
        cmocka_unit_test(test_hostile_exe_paths),
        cmocka_unit_test(test_rewrite_mtime_restored),
        cmocka_unit_test(test_exe_trust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
