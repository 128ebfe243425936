// SPDX-License-Identifier: Apache-2.0
/*
 * col_journal.c - the overflow ring's journal (col_journal.h): records
 * drained from the ring, appended to a file before they are delivered, and
 * replayed by a restarted daemon for what the delivery cursor does not show
 * printed.
 *
 * Workload: nothing while the maps have room; under a flood, one write(2)
 * per drain (tens of milliseconds of ring records, a few hundred KiB) and a
 * rename per cursor save (once a second). No fsync: a daemon killed (the
 * case this is for) leaves what it wrote in the page cache; a host crash
 * loses the maps too.
 */
#include "collector/col_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define JR_MAGIC    0x4a525a4du  /* "MZRJ" */
#define JR_REC_MAX  (64u * 1024) /* one ring record is at most a few KiB */
#define JR_BUF_MAX  (8u << 20)   /* buffered before a flush is forced */
#define JR_FILE_MAX (256u << 20) /* a journal file read back at most */

struct jr_frame {
    uint32_t magic;
    uint32_t len;
    uint32_t gen;
    uint32_t pad;
    uint64_t sum;
};

struct col_journal {
    char path_old[PATH_MAX], path_cur[PATH_MAX];
    int fd; /* path_cur, append */
    bool has_old;
    uint32_t max_old, max_cur; /* the largest tag in each file */
    uint64_t cur_bytes;
    char *buf;
    size_t n, cap;
    uint64_t written, replayed;
    bool warned;
};

static uint64_t checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int open_cur(struct col_journal *j)
{
    j->fd = open(j->path_cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0)
        return -errno;
    return 0;
}

struct col_journal *col_journal_open(const char *dir, int keep)
{
    if (!dir || !*dir)
        return NULL;
    struct col_journal *j = mz_calloc(1, sizeof(*j));
    if ((size_t)snprintf(j->path_old, sizeof(j->path_old), "%s/ring.journal.0", dir) >=
            sizeof(j->path_old) ||
        (size_t)snprintf(j->path_cur, sizeof(j->path_cur), "%s/ring.journal.1", dir) >=
            sizeof(j->path_cur)) {
        free(j);
        return NULL;
    }
    if (!keep) {
        (void)unlink(j->path_old);
        (void)unlink(j->path_cur);
    } else {
        /* the last daemon's: read by col_journal_replay; new records go to
         * a fresh file once it has */
        struct stat st;
        j->has_old = stat(j->path_old, &st) == 0;
        j->max_old = UINT32_MAX;
    }
    j->fd = -1;
    if (!keep && open_cur(j) < 0) {
        log_warn("collector: ring journal %s: %s: records drained from the overflow ring are "
                 "not kept across a crash",
                 j->path_cur, strerror(errno));
        free(j);
        return NULL;
    }
    return j;
}

void col_journal_add(struct col_journal *j, uint32_t gen, const void *rec, size_t len)
{
    if (!j || j->fd < 0 || len > JR_REC_MAX)
        return;
    size_t need = sizeof(struct jr_frame) + len;
    if (j->n + need > JR_BUF_MAX)
        (void)col_journal_flush(j);
    if (j->n + need > j->cap) {
        size_t cap = j->cap ? j->cap : 65536;
        while (cap < j->n + need)
            cap *= 2;
        j->buf = mz_realloc(j->buf, cap);
        j->cap = cap;
    }
    struct jr_frame f = {JR_MAGIC, (uint32_t)len, gen, 0, checksum(rec, len)};
    memcpy(j->buf + j->n, &f, sizeof(f));
    memcpy(j->buf + j->n + sizeof(f), rec, len);
    j->n += need;
    if (gen > j->max_cur || j->written == 0)
        j->max_cur = gen;
    j->written++;
}

int col_journal_flush(struct col_journal *j)
{
    if (!j || !j->n || j->fd < 0)
        return 0;
    size_t off = 0;
    int err = 0;
    while (off < j->n) {
        ssize_t w = write(j->fd, j->buf + off, j->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)w;
    }
    j->cur_bytes += off;
    j->n = 0;
    if (err && !j->warned) {
        log_warn("collector: ring journal %s: %s: records drained from the overflow ring may "
                 "be lost at a crash",
                 j->path_cur, strerror(-err));
        j->warned = true;
    }
    if (j->cap > JR_BUF_MAX) {
        free(j->buf);
        j->buf = NULL;
        j->cap = 0;
    }
    return err;
}

void col_journal_ack(struct col_journal *j, uint32_t gen)
{
    if (!j || j->fd < 0)
        return;
    /* a record drained in generation g is printed once the cursor is past
     * g + 1 (it is delivered at the next scan's start) */
    if (j->has_old && j->max_old != UINT32_MAX && (uint64_t)j->max_old + 2 <= gen) {
        (void)unlink(j->path_old);
        j->has_old = false;
    }
    if (j->has_old || !j->cur_bytes)
        return;
    (void)col_journal_flush(j);
    if (rename(j->path_cur, j->path_old) < 0)
        return;
    close(j->fd);
    j->has_old = true;
    j->max_old = j->max_cur;
    j->max_cur = 0;
    j->cur_bytes = 0;
    if (open_cur(j) < 0)
        log_warn("collector: ring journal %s: %s", j->path_cur, strerror(errno));
}

/* Reads one file whole (bounded); NULL when absent. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *b = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= JR_FILE_MAX) {
        b = mz_calloc(1, (size_t)st.st_size);
        size_t off = 0;
        while (off < (size_t)st.st_size) {
            ssize_t r = read(fd, b + off, (size_t)st.st_size - off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            off += (size_t)r;
        }
        *len = off;
    }
    close(fd);
    return b;
}

int col_journal_parse(const void *buf, size_t len, uint32_t from_gen, col_journal_fn fn, void *ctx,
                      uint64_t *torn, const char *what)
{
    const char *b = buf;
    int n = 0;
    size_t off = 0;
    while (off + sizeof(struct jr_frame) <= len) {
        struct jr_frame f;
        memcpy(&f, b + off, sizeof(f));
        if (f.magic != JR_MAGIC || f.len > JR_REC_MAX || f.len > len - off - sizeof(f) ||
            checksum(b + off + sizeof(f), f.len) != f.sum) {
            if (torn)
                (*torn)++;
            log_warn("collector: ring journal %s: a torn record at byte %zu: the rest of the "
                     "file is skipped",
                     what ? what : "", off);
            return n;
        }
        off += sizeof(f);
        if (f.gen >= from_gen) {
            (void)fn(ctx, (void *)(b + off), f.len);
            n++;
        }
        off += f.len;
    }
    if (off < len && torn)
        (*torn)++; /* a frame header cut short */
    return n;
}

static int replay_file(struct col_journal *j, const char *path, uint32_t from_gen,
                       col_journal_fn fn, void *ctx, uint64_t *torn)
{
    size_t len = 0;
    char *b = read_file(path, &len);
    if (!b)
        return 0;
    int n = col_journal_parse(b, len, from_gen, fn, ctx, torn, path);
    free(b);
    j->replayed += (uint64_t)n;
    return n;
}

int col_journal_replay(struct col_journal *j, uint32_t from_gen, col_journal_fn fn, void *ctx,
                       uint64_t *torn)
{
    if (!j || !fn)
        return 0;
    int n = 0;
    if (j->fd < 0) {
        n += replay_file(j, j->path_old, from_gen, fn, ctx, torn);
        n += replay_file(j, j->path_cur, from_gen, fn, ctx, torn);
        (void)unlink(j->path_old);
        (void)unlink(j->path_cur);
        j->has_old = false;
        if (open_cur(j) < 0) {
            log_warn("collector: ring journal %s: %s", j->path_cur, strerror(errno));
            return n;
        }
        if (n)
            log_info("collector: ring journal: %d records the last daemon drained from the "
                     "overflow ring and may not have printed, delivered again",
                     n);
    }
    return n;
}

void col_journal_counts(const struct col_journal *j, uint64_t *written, uint64_t *replayed)
{
    *written = j ? j->written : 0;
    *replayed = j ? j->replayed : 0;
}

void col_journal_free(struct col_journal *j)
{
    if (!j)
        return;
    (void)col_journal_flush(j);
    if (j->fd >= 0)
        close(j->fd);
    free(j->buf);
    free(j);
}
