/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_proc.h - the fixture model server (build/tests/fixture_model) as a
 * child process of a benchmark: found next to the build, started on
 * 127.0.0.1 with its port read back from a file, stopped with SIGTERM. Shared
 * by bench/attenuator.c and bench/pipeline.c (each bench is one .c file).
 */
#ifndef MIZAN_BENCH_FIXTURE_PROC_H
#define MIZAN_BENCH_FIXTURE_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

static pid_t bench_fixture_pid;

/* The fixture server's path ($MIZAN_BUILD_DIR/tests/fixture_model, else
 * ../tests/fixture_model from this benchmark) into out; false when it is not
 * there or not executable. */
static inline bool bench_fixture_path(char *out, size_t len)
{
    const char *bd = getenv("MIZAN_BUILD_DIR");
    char self[PATH_MAX];
    out[0] = 0;
    if (bd) {
        snprintf(out, len, "%.3900s/tests/fixture_model", bd);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            return false;
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
        if (snprintf(out, len, "%.3900s/../tests/fixture_model", self) >= (int)len)
            out[0] = 0;
    }
    return out[0] && access(out, X_OK) == 0;
}

/* Starts bin answering after delay_ms, its port file in dir; fills url
 * with its base URL. 0 or -errno. */
static inline int bench_fixture_start(const char *bin, const char *dir, unsigned delay_ms,
                                      char *url, size_t urllen)
{
    char portfile[512], delay[32];
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    snprintf(delay, sizeof(delay), "%u", delay_ms);
    unlink(portfile);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execl(bin, bin, "--behaviour", "normal", "--delay-ms", delay, "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    bench_fixture_pid = pid;
    for (int i = 0; i < 500; i++) {
        char *data = NULL;
        size_t len;
        if (mz_read_file(portfile, 64, &data, &len) == 0) {
            unsigned port = (unsigned)strtoul(data, NULL, 10);
            free(data);
            snprintf(url, urllen, "http://127.0.0.1:%u/v1", port);
            return 0;
        }
        usleep(10000);
    }
    return -ETIMEDOUT;
}

static inline void bench_fixture_stop(void)
{
    if (bench_fixture_pid > 0) {
        kill(bench_fixture_pid, SIGTERM);
        waitpid(bench_fixture_pid, NULL, 0);
        bench_fixture_pid = 0;
    }
}

#endif
