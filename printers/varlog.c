// SPDX-License-Identifier: Apache-2.0
/*
 * varlog.c - JSON lines under /var/log/mizan: one write(2) per whole line on
 * an O_APPEND descriptor, so a crash leaves whole lines only (the kernel can
 * cut a multi-page write short on SIGKILL; such a torn tail is repaired on
 * the next open). Size rotation renames path -> path.1 -> ... -> path.keep;
 * fsync is never, at most every interval, or after every line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "printers/printer.h"

struct varlog {
    struct prn_printer base;
    char *path;
    uint64_t max_size;
    uint32_t keep;
    enum mz_fsync_policy fsync;
    uint64_t fsync_interval_ms;
    int fd;
    uint64_t size;
    uint64_t last_sync_ms;
    bool dirty;
};

/* Cuts a torn last line (no trailing newline) back to the last whole line. */
static int repair_tail(int fd, const char *path)
{
    struct stat st;
    char buf[4096];
    off_t end, pos;

    if (fstat(fd, &st))
        return -errno;
    end = st.st_size;
    pos = end;
    while (pos > 0) {
        size_t chunk = (size_t)(pos > (off_t)sizeof(buf) ? (off_t)sizeof(buf) : pos);
        ssize_t n = pread(fd, buf, chunk, pos - (off_t)chunk);
        if (n != (ssize_t)chunk)
            return -EIO;
        for (ssize_t i = n - 1; i >= 0; i--) {
            if (buf[i] == '\n') {
                off_t keep = pos - (off_t)chunk + i + 1;
                if (keep != end) {
                    log_warn("varlog: %s ended in a torn line; cut %lld bytes back to the last "
                             "whole line",
                             path, (long long)(end - keep));
                    if (ftruncate(fd, keep))
                        return -errno;
                }
                return 0;
            }
        }
        pos -= (off_t)chunk;
    }
    if (end > 0) {
        log_warn("varlog: %s held no whole line; truncated", path);
        if (ftruncate(fd, 0))
            return -errno;
    }
    return 0;
}

static int varlog_open(struct varlog *v)
{
    struct stat st;
    char dir[PATH_MAX];
    char *slash;
    int r, rw;

    if (mz_strlcpy(dir, v->path, sizeof(dir)))
        return -ENAMETOOLONG;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if ((r = mz_mkdir_p(dir, 0750)))
            return r;
    }
    v->fd = open(v->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (v->fd < 0)
        return -errno;
    rw = open(v->path, O_RDWR | O_CLOEXEC); /* repair needs to read */
    if (rw >= 0) {
        r = repair_tail(rw, v->path);
        close(rw);
        if (r)
            log_warn("varlog: cannot check %s for a torn tail: %s", v->path, strerror(-r));
    }
    if (fstat(v->fd, &st))
        return -errno;
    v->size = (uint64_t)st.st_size;
    return 0;
}

static int varlog_rotate(struct varlog *v)
{
    char from[PATH_MAX + 16], to[PATH_MAX + 16];
    if (v->fd >= 0) {
        if (v->fsync != MZ_FSYNC_NEVER)
            fdatasync(v->fd);
        close(v->fd);
        v->fd = -1;
    }
    if (v->keep == 0) {
        if (unlink(v->path) && errno != ENOENT)
            return -errno;
    } else {
        for (uint32_t i = v->keep; i >= 1; i--) {
            snprintf(to, sizeof(to), "%s.%u", v->path, i);
            if (i == 1)
                snprintf(from, sizeof(from), "%s", v->path);
            else
                snprintf(from, sizeof(from), "%s.%u", v->path, i - 1);
            if (rename(from, to) && errno != ENOENT)
                return -errno;
        }
    }
    return varlog_open(v);
}

static int varlog_write(struct prn_printer *p, const char *line, size_t len)
{
    struct varlog *v = (struct varlog *)p;
    char stackbuf[8192];
    char *buf = stackbuf;
    size_t off = 0;
    int r = 0;

    if (v->fd < 0 && (r = varlog_open(v)))
        return r;
    if (v->size > 0 && v->size + len + 1 > v->max_size && (r = varlog_rotate(v)))
        return r;
    if (len + 1 > sizeof(stackbuf))
        buf = mz_calloc(1, len + 1);
    memcpy(buf, line, len);
    buf[len] = '\n';
    /* One write per whole line: with O_APPEND lines never interleave. A short
     * write (disk full) is finished so the file stays line-aligned. */
    while (off < len + 1) {
        ssize_t n = write(v->fd, buf + off, len + 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    if (buf != stackbuf)
        free(buf);
    v->size += off;
    if (r)
        return r;
    v->dirty = true;
    if (v->fsync == MZ_FSYNC_ALWAYS) {
        fdatasync(v->fd);
        v->dirty = false;
    }
    return 0;
}

static int varlog_flush(struct prn_printer *p, bool final)
{
    struct varlog *v = (struct varlog *)p;
    uint64_t now = mz_monotonic_ns() / 1000000;
    if (v->fd < 0 || !v->dirty || v->fsync == MZ_FSYNC_NEVER)
        return 0;
    if (final || now - v->last_sync_ms >= v->fsync_interval_ms) {
        if (fdatasync(v->fd))
            return -errno;
        v->last_sync_ms = now;
        v->dirty = false;
    }
    return 0;
}

static void varlog_destroy(struct prn_printer *p)
{
    struct varlog *v = (struct varlog *)p;
    if (v->fd >= 0) {
        if (v->fsync != MZ_FSYNC_NEVER && v->dirty)
            fdatasync(v->fd);
        close(v->fd);
    }
    free(v->path);
    free(v);
}

struct prn_printer *prn_varlog_new(const char *path, uint64_t max_size, uint32_t keep,
                                   enum mz_fsync_policy fsync, uint64_t fsync_interval_ms,
                                   bool audit)
{
    struct varlog *v;
    int r;
    if (!path || !*path)
        return NULL;
    v = mz_calloc(1, sizeof(*v));
    v->base.name = audit ? "audit" : "varlog";
    v->base.audit = audit;
    v->base.write = varlog_write;
    v->base.flush = varlog_flush;
    v->base.destroy = varlog_destroy;
    v->path = mz_strdup(path);
    v->max_size = max_size;
    v->keep = keep;
    v->fsync = fsync;
    v->fsync_interval_ms = fsync_interval_ms;
    v->fd = -1;
    if ((r = varlog_open(v))) {
        log_error("varlog: cannot open %s: %s", path, strerror(-r));
        varlog_destroy(&v->base);
        return NULL;
    }
    return &v->base;
}
