// SPDX-License-Identifier: Apache-2.0
/* test_privs.c - daemon/privs.c: what each configuration keeps, the names,
 * and (as root, in a child process) the drop reaching every thread, also
 * threads blocked in poll, a condition variable and nanosleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/privs.h"

#define BIT(c) (1ull << (c))

static void test_needed(void **state)
{
    (void)state;
    struct mz_config c;
    mz_config_defaults(&c);
    /* the default: collector and reactions */
    assert_int_equal(mz_privs_needed(&c), BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH) |
                                              BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(CAP_SETGID));
    c.reactions.allow_emergency = true;
    assert_true(mz_privs_needed(&c) & BIT(CAP_SYS_BOOT));
    c.reactions.allow_emergency = false;
    c.reactions.enabled = false;
    c.collector.enabled = true;
    assert_int_equal(mz_privs_needed(&c), BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH));
    c.collector.enabled = false;
    c.detect.reload = false;
    c.netpolicy.enabled = false;
    assert_int_equal(mz_privs_needed(&c), 0);
    c.netpolicy.enabled = true;
    assert_int_equal(mz_privs_needed(&c), BIT(CAP_DAC_READ_SEARCH));
    assert_true(c.security.drop_capabilities); /* on by default */
    mz_config_free(&c);
}

static void test_names(void **state)
{
    (void)state;
    char buf[128], tiny[12];
    assert_string_equal(mz_privs_names(0, buf, sizeof(buf)), "none");
    assert_string_equal(mz_privs_names(BIT(CAP_SYS_PTRACE) | BIT(CAP_KILL), buf, sizeof(buf)),
                        "cap_kill,cap_sys_ptrace");
    /* a short buffer holds whole names only */
    assert_string_equal(mz_privs_names(BIT(CAP_SYS_PTRACE) | BIT(CAP_KILL), tiny, sizeof(tiny)),
                        "cap_kill");
}

static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int done;

static void *in_poll(void *arg)
{
    (void)arg;
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    while (!done)
        (void)poll(&p, 1, -1); /* EINTR from the drop's signal: poll again */
    return NULL;
}

static void *in_cond(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *in_sleep(void *arg)
{
    (void)arg;
    while (!done) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Every thread of this process: CapEff and CapBnd equal want, no_new_privs. */
static int all_threads_hold(uint64_t want)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0, bad = 0;
    while (d && (e = readdir(d))) {
        char path[300], line[256];
        unsigned long long eff = ~0ull, bnd = ~0ull;
        int nnp = 0;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f)) {
            (void)sscanf(line, "CapEff: %llx", &eff);
            (void)sscanf(line, "CapBnd: %llx", &bnd);
            (void)sscanf(line, "NoNewPrivs: %d", &nnp);
        }
        if (f)
            fclose(f);
        n++;
        if (eff != want || bnd != want || nnp != 1) {
            fprintf(stderr, "thread %s: CapEff %llx CapBnd %llx NoNewPrivs %d\n", e->d_name, eff,
                    bnd, nnp);
            bad++;
        }
    }
    if (d)
        closedir(d);
    return bad ? -1 : n;
}

static void test_drop_every_thread(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        printf("SKIP: dropping capabilities needs root\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pthread_t t[3];
        char err[256] = "";
        if (pipe(pipefd) || pthread_create(&t[0], NULL, in_poll, NULL) ||
            pthread_create(&t[1], NULL, in_cond, NULL) ||
            pthread_create(&t[2], NULL, in_sleep, NULL))
            _exit(10);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL); /* all three are blocked by now */
        if (mz_privs_drop(BIT(CAP_KILL), err, sizeof(err))) {
            fprintf(stderr, "drop: %s\n", err);
            _exit(11);
        }
        int n = all_threads_hold(BIT(CAP_KILL));
        done = 1;
        pthread_mutex_lock(&mu);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        if (write(pipefd[1], "x", 1) != 1)
            _exit(12);
        for (int i = 0; i < 3; i++)
            pthread_join(t[i], NULL);
        _exit(n == 4 ? 0 : 13);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needed),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_drop_every_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
