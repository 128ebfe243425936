// SPDX-License-Identifier: Apache-2.0
/*
 * util.c - clocks, time formatting, checked parsing, capped buffers. All
 * parsing is whole-string: trailing junk is an error, never ignored.
 */
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mz_now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

uint64_t mz_monotonic_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t mz_boottime_ns(void)
{
    return clock_ns(CLOCK_BOOTTIME);
}

/* The date and time to the second change once a second: each thread keeps
 * the last one formatted and writes only the nanoseconds (formatting the
 * whole was a measurable share of printing an alert). */
void mz_format_rfc3339(uint64_t ns, char out[MZ_RFC3339_LEN])
{
    static _Thread_local uint64_t last_sec = UINT64_MAX;
    static _Thread_local char prefix[64]; /* "YYYY-MM-DDTHH:MM:SS." */
    static _Thread_local size_t prefix_len;
    uint64_t sec = ns / 1000000000ull;
    if (sec != last_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        int n =
            snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        prefix_len = n > 0 && (size_t)n < sizeof(prefix) ? (size_t)n : 0;
        last_sec = sec;
    }
    char tmp[sizeof(prefix) + 11];
    memcpy(tmp, prefix, prefix_len);
    uint32_t frac = (uint32_t)(ns % 1000000000ull);
    for (int i = 8; i >= 0; i--) {
        tmp[prefix_len + (size_t)i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    tmp[prefix_len + 9] = 'Z';
    tmp[prefix_len + 10] = '\0';
    (void)mz_strlcpy(out, tmp, MZ_RFC3339_LEN); /* cut as before past year 99999 */
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int mz_parse_rfc3339(const char *s, uint64_t *ns)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se, frac_ns = 0;
    const char *p = s;

    if (!s || take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
        take_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -EINVAL;
    p++;
    if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi) || *p++ != ':' ||
        take_digits(&p, 2, &se))
        return -EINVAL;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9) {
                frac_ns = frac_ns * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (digits == 0)
            return -EINVAL;
        for (; digits < 9; digits++)
            frac_ns *= 10;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (take_digits(&p, 2, &oh) || *p++ != ':' || take_digits(&p, 2, &om))
            return -EINVAL;
        offset = sign * (oh * 3600L + om * 60L);
    } else {
        return -EINVAL;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || t - offset < 0)
        return -EINVAL;
    *ns = (uint64_t)(t - offset) * 1000000000ull + (uint64_t)frac_ns;
    return 0;
}

int mz_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n;
    if (size == 0)
        return -E2BIG;
    if (!src)
        src = "";
    n = strnlen(src, size);
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -E2BIG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

char *mz_strdup(const char *s)
{
    char *r;
    if (!s)
        return NULL;
    r = strdup(s);
    if (!r)
        abort();
    return r;
}

void *mz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *mz_realloc(void *p, size_t size)
{
    void *r = realloc(p, size ? size : 1);
    if (!r)
        abort();
    return r;
}

int mz_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 0);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end)
        return -EINVAL;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int mz_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end)
        return -EINVAL;
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int mz_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end || isnan(v) || isinf(v))
        return -EINVAL;
    *out = v;
    return 0;
}

struct unit {
    const char *name;
    double mul;
};

/* Parses "<number><unit>" (a space between is allowed) against a unit table;
 * the result is rounded to the nearest whole unit of the table's base. */
static int parse_with_units(const char *s, const struct unit *units, size_t n, double max,
                            uint64_t *out)
{
    char *end;
    double v;
    if (!s || !*s || isspace((unsigned char)*s) || *s == '-')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || isnan(v) || v < 0)
        return -EINVAL;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(end, units[i].name) == 0) {
            double r = v * units[i].mul;
            if (r > max)
                return -ERANGE;
            *out = (uint64_t)(r + 0.5);
            return 0;
        }
    }
    return -EINVAL;
}

int mz_parse_duration_ms(const char *s, uint64_t *ms)
{
    static const struct unit units[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    return parse_with_units(s, units, MZ_ARRAY_SIZE(units), 1e15, ms);
}

int mz_parse_size(const char *s, uint64_t *bytes)
{
    static const struct unit units[] = {{"", 1},
                                        {"B", 1},
                                        {"KiB", 1024.0},
                                        {"MiB", 1048576.0},
                                        {"GiB", 1073741824.0},
                                        {"KB", 1e3},
                                        {"MB", 1e6},
                                        {"GB", 1e9},
                                        {"K", 1024.0},
                                        {"M", 1048576.0},
                                        {"G", 1073741824.0}};
    return parse_with_units(s, units, MZ_ARRAY_SIZE(units), 1e18, bytes);
}

int mz_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < MZ_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

void mz_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Ids come from a per-thread pool of kernel random bytes, refilled with one
 * getrandom per 16 ids rather than one per id (a syscall per alert was a
 * measurable share of printing one). A forked child refills before its
 * first id, so that it never repeats its parent's. */
static _Atomic uint64_t fork_gen;

static void note_fork(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void register_fork_handler(void)
{
    (void)pthread_atfork(NULL, NULL, note_fork);
}

void mz_random_id(char out[33])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static _Thread_local unsigned char pool[256];
    static _Thread_local size_t used = sizeof(pool);
    static _Thread_local uint64_t pool_gen;
    static _Thread_local uint64_t fallback;

    pthread_once(&once, register_fork_handler);
    uint64_t gen = atomic_load(&fork_gen);
    if (used + 16 > sizeof(pool) || pool_gen != gen) {
        size_t got = 0;
        while (got < sizeof(pool)) {
            ssize_t n = getrandom(pool + got, sizeof(pool) - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got < sizeof(pool)) {
            /* getrandom cannot fail after boot; keep ids unique anyway. */
            for (size_t i = got; i < sizeof(pool); i += sizeof(uint64_t)) {
                uint64_t t = mz_monotonic_ns() ^ ((uint64_t)getpid() << 32) ^ ++fallback;
                memcpy(pool + i, &t, sizeof(t));
            }
        }
        used = 0;
        pool_gen = gen;
    }
    mz_hex(pool + used, 16, out);
    memset(pool + used, 0, 16); /* an id is not kept around */
    used += 16;
}

void mz_buf_init(struct mz_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

static int buf_reserve(struct mz_buf *b, size_t extra)
{
    size_t need;
    if (extra > b->cap || b->len > b->cap - extra)
        return -E2BIG;
    need = b->len + extra + 1;
    if (need > b->alloc) {
        size_t n = b->alloc ? b->alloc : 256;
        while (n < need)
            n *= 2;
        if (n > b->cap + 1)
            n = b->cap + 1;
        b->data = mz_realloc(b->data, n);
        b->alloc = n;
    }
    return 0;
}

int mz_buf_reserve(struct mz_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int mz_buf_append(struct mz_buf *b, const void *data, size_t len)
{
    int r = buf_reserve(b, len);
    if (r)
        return r;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int mz_buf_appendf(struct mz_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    int r = buf_reserve(b, (size_t)n);
    if (r)
        return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void mz_buf_reset(struct mz_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *mz_buf_take(struct mz_buf *b)
{
    char *d = b->data ? b->data : mz_strdup("");
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return d;
}

void mz_buf_free(struct mz_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

int mz_read_file(const char *path, size_t cap, char **out, size_t *len)
{
    struct mz_buf b;
    char chunk[65536];
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    mz_buf_init(&b, cap);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        r = mz_buf_append(&b, chunk, (size_t)n);
        if (r)
            break;
    }
    close(fd);
    if (r) {
        mz_buf_free(&b);
        return r;
    }
    if (len)
        *len = b.len;
    *out = mz_buf_take(&b);
    return 0;
}

size_t mz_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int mz_mkdir_p(const char *dir, unsigned mode)
{
    char tmp[PATH_MAX];
    if (mz_strlcpy(tmp, dir, sizeof(tmp)))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, (mode_t)mode) && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    if (mkdir(tmp, (mode_t)mode) && errno != EEXIST)
        return -errno;
    return 0;
}
