// SPDX-License-Identifier: Apache-2.0
/*
 * prn_spool.c - the network outputs' on-disk FIFO (see prn_spool.h for the
 * format and the guarantees). Workload: records arrive only while an
 * endpoint is down or slow, and are read back in order once it answers, so
 * a spool is mostly empty; when it is not, appends go to the last segment
 * and reads come from the first. Segments are a quarter of the bound (64 KiB
 * to 8 MiB), so space comes back while a long backlog drains.
 */
#include "printers/prn_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "core/util.h"

#define MAGIC       0x31535a4du /* "MZS1" little-endian */
#define SEG_MIN     (64u << 10)
#define SEG_MAX     (8u << 20)
#define SEG_CAP     (1u << 30) /* a segment file larger than this is not read */
#define SEGS_MAX    4096
#define HEAD_NAME   "head"
#define SEG_PATTERN "seg-%016llu.spool"

struct seg {
    uint64_t no;
    uint64_t size;
};

struct prn_spool {
    char dir[PATH_MAX];
    uint64_t max_bytes;
    uint64_t seg_max;
    enum mz_fsync_policy fsync;
    uint64_t fsync_interval_ms;
    uint64_t last_sync_ms;
    bool dirty;
    struct seg *segs;
    size_t nseg;
    uint64_t next_no;  /* number of the next segment to create */
    uint64_t head_off; /* in segs[0] */
    uint64_t bytes;
    uint64_t records;
    uint64_t torn;
    int tail_fd; /* segs[nseg-1], O_APPEND; -1 when closed */
};

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
    return (uint32_t)crc32(0L, p, (uInt)len);
}

size_t prn_spool_parse(const uint8_t *buf, size_t len, prn_spool_rec_fn fn, void *ctx, size_t *bad,
                       size_t *good_end)
{
    size_t off = 0, good = 0, nbad = 0, end = 0;
    bool in_bad = false;

    while (off < len) {
        if (len - off >= PRN_SPOOL_HDR_BYTES && get_le32(buf + off) == MAGIC) {
            uint32_t n = get_le32(buf + off + 4);
            uint32_t crc = get_le32(buf + off + 8);
            if (n <= PRN_SPOOL_REC_MAX && n <= len - off - PRN_SPOOL_HDR_BYTES &&
                crc_of(buf + off + PRN_SPOOL_HDR_BYTES, n) == crc) {
                if (fn)
                    fn(ctx, off, buf + off + PRN_SPOOL_HDR_BYTES, n);
                off += PRN_SPOOL_HDR_BYTES + (size_t)n;
                end = off;
                good++;
                in_bad = false;
                continue;
            }
        }
        /* not a whole valid record here: one bad span until the next one */
        if (!in_bad)
            nbad++;
        in_bad = true;
        off++;
    }
    if (bad)
        *bad = nbad;
    if (good_end)
        *good_end = end;
    return good;
}

void prn_recs_free(struct prn_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(recs[i].data);
        recs[i].data = NULL;
    }
}

static void seg_path(const struct prn_spool *s, uint64_t no, char *out, size_t outlen)
{
    char name[64];
    snprintf(name, sizeof(name), SEG_PATTERN, (unsigned long long)no);
    snprintf(out, outlen, "%s/%s", s->dir, name);
}

static void sync_dir(const struct prn_spool *s)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Writes the head file: "SEGNO OFFSET\n" into head.tmp, renamed over head. */
static int write_head(struct prn_spool *s)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 16], line[64];
    uint64_t no = s->nseg ? s->segs[0].no : s->next_no;
    int n = snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)no,
                     (unsigned long long)(s->nseg ? s->head_off : 0));
    int fd, r = 0;

    snprintf(path, sizeof(path), "%s/" HEAD_NAME, s->dir);
    snprintf(tmp, sizeof(tmp), "%s/" HEAD_NAME ".tmp", s->dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, line, (size_t)n) != n)
        r = -EIO;
    if (!r && s->fsync != MZ_FSYNC_NEVER && fdatasync(fd))
        r = -errno;
    close(fd);
    if (!r && rename(tmp, path))
        r = -errno;
    return r;
}

static int open_tail(struct prn_spool *s)
{
    char path[PATH_MAX + 64];
    seg_path(s, s->segs[s->nseg - 1].no, path, sizeof(path));
    s->tail_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    return s->tail_fd < 0 ? -errno : 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->no < y->no ? -1 : x->no > y->no;
}

struct parse_ctx {
    struct mz_buf out; /* the good records, for a rewrite */
    uint64_t head_in;  /* head offset in the file as found */
    uint64_t head_out; /* the same record boundary after the rewrite */
    uint64_t after;    /* good records at or past the head */
    int err;
};

static void keep_rec(void *ctx, size_t off, const uint8_t *payload, size_t len)
{
    struct parse_ctx *c = ctx;
    if (off < c->head_in)
        c->head_out += PRN_SPOOL_HDR_BYTES + len;
    else
        c->after++;
    if (!c->err)
        c->err = mz_buf_append(&c->out, payload - PRN_SPOOL_HDR_BYTES, PRN_SPOOL_HDR_BYTES + len);
}

/* Checks one segment; rewrites it without its bad spans. *head: the head
 * offset in it (0 for all but the first), updated to the rewritten file. */
static int check_segment(struct prn_spool *s, struct seg *g, uint64_t *head)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    char *data = NULL;
    size_t len = 0, bad = 0, good_end = 0;
    struct parse_ctx c = {.head_in = *head};
    int r;

    seg_path(s, g->no, path, sizeof(path));
    r = mz_read_file(path, SEG_CAP, &data, &len);
    if (r)
        return r;
    mz_buf_init(&c.out, len + 1);
    prn_spool_parse((const uint8_t *)data, len, keep_rec, &c, &bad, &good_end);
    free(data);
    if (c.err) {
        mz_buf_free(&c.out);
        return c.err;
    }
    if (bad) {
        int fd;
        log_warn("spool %s: %zu torn or corrupt record(s) cut out of %s", s->dir, bad, path);
        s->torn += bad;
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || (c.out.len && write(fd, c.out.data, c.out.len) != (ssize_t)c.out.len) ||
            fdatasync(fd) || rename(tmp, path)) {
            r = errno ? -errno : -EIO;
            if (fd >= 0)
                close(fd);
            mz_buf_free(&c.out);
            return r;
        }
        close(fd);
        len = c.out.len;
    }
    mz_buf_free(&c.out);
    g->size = len;
    *head = c.head_out;
    s->records += c.after;
    return 0;
}

static int load_existing(struct prn_spool *s)
{
    char path[PATH_MAX + 16];
    char *head = NULL;
    size_t hlen = 0;
    uint64_t head_no = 0, head_off = 0;
    bool have_head = false;
    DIR *d;
    struct dirent *e;
    size_t cap = 0;
    int r = 0;

    snprintf(path, sizeof(path), "%s/" HEAD_NAME, s->dir);
    if (mz_read_file(path, 128, &head, &hlen) == 0) {
        char *sp = strchr(head, ' '), *nl = strchr(head, '\n');
        if (sp && nl && nl > sp) {
            *sp = '\0';
            *nl = '\0';
            have_head = mz_parse_u64(head, UINT64_MAX, &head_no) == 0 &&
                        mz_parse_u64(sp + 1, UINT64_MAX, &head_off) == 0;
        }
        if (!have_head)
            log_warn("spool %s: unreadable head file; replaying every segment", s->dir);
        free(head);
    }

    d = opendir(s->dir);
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        unsigned long long no;
        char rest[8];
        if (sscanf(e->d_name, "seg-%16llu.spoo%1s", &no, rest) != 2 || strcmp(rest, "l") != 0)
            continue;
        if (strlen(e->d_name) != 26) /* "seg-" 16 digits ".spool" */
            continue;
        if (s->nseg == cap) {
            if (cap >= SEGS_MAX) {
                r = -E2BIG;
                break;
            }
            cap = cap ? cap * 2 : 8;
            s->segs = mz_realloc(s->segs, cap * sizeof(*s->segs));
        }
        s->segs[s->nseg].no = no;
        s->segs[s->nseg].size = 0;
        s->nseg++;
    }
    closedir(d);
    if (r)
        return r;
    if (s->nseg)
        qsort(s->segs, s->nseg, sizeof(*s->segs), cmp_seg);

    /* segments before the head's were delivered (the process died before
     * unlinking them) */
    size_t first = 0;
    while (have_head && first < s->nseg && s->segs[first].no < head_no) {
        char p[PATH_MAX + 64];
        seg_path(s, s->segs[first].no, p, sizeof(p));
        unlink(p);
        first++;
    }
    if (first)
        memmove(s->segs, s->segs + first, (s->nseg - first) * sizeof(*s->segs));
    s->nseg -= first;
    if (!s->nseg || !have_head || s->segs[0].no != head_no)
        head_off = 0;

    for (size_t i = 0; i < s->nseg; i++) {
        uint64_t h = i == 0 ? head_off : 0;
        if ((r = check_segment(s, &s->segs[i], &h)))
            return r;
        if (i == 0)
            s->head_off = h;
        s->bytes += s->segs[i].size;
    }
    s->bytes -= s->head_off;
    s->next_no = s->nseg ? s->segs[s->nseg - 1].no + 1 : (have_head ? head_no : 0);
    if (s->nseg)
        return open_tail(s);
    return 0;
}

/* The spool is replayed to the endpoint: a directory another user can
 * write to (or a symlink to one) would let them inject alerts. */
static int check_dir(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st))
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        log_error("spool %s: not a directory of ours closed to other users (owner %u, mode %o)",
                  dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

struct prn_spool *prn_spool_open(const char *dir, uint64_t max_bytes, enum mz_fsync_policy fsync,
                                 uint64_t fsync_interval_ms)
{
    struct prn_spool *s = mz_calloc(1, sizeof(*s));
    int r;

    s->tail_fd = -1;
    s->max_bytes = max_bytes;
    s->seg_max = max_bytes / 4;
    if (s->seg_max < SEG_MIN)
        s->seg_max = SEG_MIN;
    if (s->seg_max > SEG_MAX)
        s->seg_max = SEG_MAX;
    s->fsync = fsync;
    s->fsync_interval_ms = fsync_interval_ms;
    s->last_sync_ms = mz_monotonic_ns() / 1000000;
    if (mz_strlcpy(s->dir, dir, sizeof(s->dir))) {
        r = -ENAMETOOLONG;
        goto fail;
    }
    if ((r = mz_mkdir_p(dir, 0700)))
        goto fail;
    if ((r = check_dir(dir)))
        goto fail;
    if ((r = load_existing(s)))
        goto fail;
    if (s->records)
        log_info("spool %s: %llu record(s) (%llu bytes) left from an earlier run, replayed first",
                 dir, (unsigned long long)s->records, (unsigned long long)s->bytes);
    return s;
fail:
    log_error("spool %s: cannot open: %s", dir, strerror(-r));
    prn_spool_close(s);
    return NULL;
}

bool prn_spool_fits(const struct prn_spool *s, size_t n, uint64_t bytes)
{
    return s->bytes + bytes + (uint64_t)n * PRN_SPOOL_HDR_BYTES <= s->max_bytes;
}

int prn_spool_append(struct prn_spool *s, const char *data, size_t len)
{
    uint8_t *buf;
    size_t total = PRN_SPOOL_HDR_BYTES + len;
    int r = 0;

    if (len > PRN_SPOOL_REC_MAX)
        return -EMSGSIZE;
    if (!prn_spool_fits(s, 1, len))
        return -ENOSPC;
    if (!s->nseg ||
        (s->segs[s->nseg - 1].size > 0 && s->segs[s->nseg - 1].size + total > s->seg_max)) {
        if (s->nseg >= SEGS_MAX)
            return -ENOSPC;
        if (s->tail_fd >= 0) {
            if (s->fsync != MZ_FSYNC_NEVER)
                (void)fdatasync(s->tail_fd);
            close(s->tail_fd);
            s->tail_fd = -1;
        }
        s->segs = mz_realloc(s->segs, (s->nseg + 1) * sizeof(*s->segs));
        s->segs[s->nseg].no = s->next_no++;
        s->segs[s->nseg].size = 0;
        s->nseg++;
        if (s->nseg == 1)
            s->head_off = 0;
        if ((r = open_tail(s))) {
            s->nseg--;
            return r;
        }
        if (s->fsync != MZ_FSYNC_NEVER)
            sync_dir(s);
    }
    buf = malloc(total);
    if (!buf)
        return -ENOMEM;
    put_le32(buf, MAGIC);
    put_le32(buf + 4, (uint32_t)len);
    put_le32(buf + 8, crc_of((const uint8_t *)data, len));
    memcpy(buf + PRN_SPOOL_HDR_BYTES, data, len);
    ssize_t w = write(s->tail_fd, buf, total);
    free(buf);
    if (w != (ssize_t)total) {
        r = w < 0 ? -errno : -EIO;
        /* a short write leaves a torn record: cut it off now */
        if (w > 0 && ftruncate(s->tail_fd, (off_t)s->segs[s->nseg - 1].size))
            log_error("spool %s: cannot cut a short write: %s", s->dir, strerror(errno));
        return r;
    }
    s->segs[s->nseg - 1].size += total;
    s->bytes += total;
    s->records++;
    s->dirty = true;
    if (s->fsync == MZ_FSYNC_ALWAYS)
        prn_spool_sync(s, true);
    return 0;
}

void prn_spool_sync(struct prn_spool *s, bool force)
{
    uint64_t now = mz_monotonic_ns() / 1000000;
    if (!s->dirty || s->tail_fd < 0)
        return;
    if (!force && (s->fsync != MZ_FSYNC_INTERVAL || now - s->last_sync_ms < s->fsync_interval_ms))
        return;
    if (fdatasync(s->tail_fd))
        log_warn("spool %s: fdatasync: %s", s->dir, strerror(errno));
    s->dirty = false;
    s->last_sync_ms = now;
}

/* Reads the header of the record at (segment i, off); its payload length. */
static int read_header(const struct prn_spool *s, int fd, uint64_t off, uint32_t *len)
{
    uint8_t h[PRN_SPOOL_HDR_BYTES];
    if (pread(fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h))
        return -EIO;
    if (get_le32(h) != MAGIC)
        return -EBADMSG;
    *len = get_le32(h + 4);
    if (*len > PRN_SPOOL_REC_MAX)
        return -EBADMSG;
    (void)s;
    return 0;
}

/* Walks n records from the head: copies them into out (when out) or counts
 * them for consume. Stops early at max_bytes of payload (peek only). */
static int walk(struct prn_spool *s, size_t max_n, size_t max_bytes, struct prn_rec *out,
                size_t *done, size_t *end_seg, uint64_t *end_off)
{
    size_t i = 0, n = 0, payload = 0;
    uint64_t off = s->head_off;
    int fd = -1, fd_seg = -1, r = 0;

    while (n < max_n && i < s->nseg) {
        uint32_t len;
        if (off >= s->segs[i].size) {
            i++;
            off = 0;
            continue;
        }
        if (fd_seg != (int)i) {
            char path[PATH_MAX + 64];
            if (fd >= 0)
                close(fd);
            seg_path(s, s->segs[i].no, path, sizeof(path));
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) {
                r = -errno;
                break;
            }
            fd_seg = (int)i;
        }
        if ((r = read_header(s, fd, off, &len)))
            break;
        if (out) {
            if (n > 0 && payload + len > max_bytes)
                break;
            out[n].data = malloc((size_t)len + 1);
            if (!out[n].data) {
                r = -ENOMEM;
                break;
            }
            if (pread(fd, out[n].data, len, (off_t)(off + PRN_SPOOL_HDR_BYTES)) != (ssize_t)len) {
                free(out[n].data);
                out[n].data = NULL;
                r = -EIO;
                break;
            }
            out[n].data[len] = '\0';
            out[n].len = len;
        }
        payload += len;
        off += PRN_SPOOL_HDR_BYTES + len;
        n++;
    }
    if (fd >= 0)
        close(fd);
    *done = n;
    *end_seg = i;
    *end_off = off;
    if (r && out)
        prn_recs_free(out, n);
    return r;
}

int prn_spool_peek(struct prn_spool *s, size_t max_n, size_t max_bytes, struct prn_rec *out,
                   size_t *n)
{
    size_t seg;
    uint64_t off;
    *n = 0;
    if (!s->records)
        return 0;
    int r = walk(s, max_n, max_bytes, out, n, &seg, &off);
    if (r) {
        *n = 0;
        log_error("spool %s: cannot read: %s", s->dir, strerror(-r));
    }
    return r;
}

int prn_spool_consume(struct prn_spool *s, size_t n)
{
    size_t done, seg;
    uint64_t off, before;
    int r;

    if (n > s->records)
        return -EINVAL;
    if ((r = walk(s, n, SIZE_MAX, NULL, &done, &seg, &off)))
        return r;
    if (done != n)
        return -EIO;
    /* bytes before the new head: every segment passed, plus off */
    before = 0;
    for (size_t i = 0; i < seg && i < s->nseg; i++)
        before += s->segs[i].size;
    before += seg < s->nseg ? off : 0;
    s->bytes -= before - s->head_off;
    s->records -= n;
    if (s->records == 0) {
        /* all delivered: every segment goes, the next append starts anew */
        seg = s->nseg;
        off = 0;
    }
    for (size_t i = 0; i < seg && i < s->nseg; i++) {
        char path[PATH_MAX + 64];
        if (i == s->nseg - 1 && s->tail_fd >= 0) {
            close(s->tail_fd);
            s->tail_fd = -1;
        }
        seg_path(s, s->segs[i].no, path, sizeof(path));
        unlink(path);
    }
    if (seg > s->nseg)
        seg = s->nseg;
    if (seg && s->nseg > seg)
        memmove(s->segs, s->segs + seg, (s->nseg - seg) * sizeof(*s->segs));
    s->nseg -= seg;
    s->head_off = s->nseg ? off : 0;
    if (!s->nseg)
        s->bytes = 0;
    return write_head(s);
}

uint64_t prn_spool_bytes(const struct prn_spool *s)
{
    return s->bytes;
}

uint64_t prn_spool_records(const struct prn_spool *s)
{
    return s->records;
}

uint64_t prn_spool_torn(const struct prn_spool *s)
{
    return s->torn;
}

void prn_spool_close(struct prn_spool *s)
{
    if (!s)
        return;
    if (s->tail_fd >= 0) {
        if (s->dirty && s->fsync != MZ_FSYNC_NEVER)
            (void)fdatasync(s->tail_fd);
        close(s->tail_fd);
    }
    free(s->segs);
    free(s);
}
