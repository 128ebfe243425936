/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small helpers every module uses: clocks and RFC 3339 time, bounded
 * string copies, checked number parsing, and a growable buffer with a hard
 * cap (overflow is an error, never silent truncation).
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_CORE_UTIL_H
#define MIZAN_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MZ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MZ_MUST_CHECK    __attribute__((warn_unused_result))

uint64_t mz_now_ns(void);       /* CLOCK_REALTIME */
uint64_t mz_monotonic_ns(void); /* CLOCK_MONOTONIC */
uint64_t mz_boottime_ns(void);  /* CLOCK_BOOTTIME, the clock BPF's ktime_get_boot_ns uses */

/* Writes "2026-11-21T16:50:24.123456789Z" (31 bytes with NUL) into out. */
#define MZ_RFC3339_LEN 32
void mz_format_rfc3339(uint64_t ns, char out[MZ_RFC3339_LEN]);
/* Parses RFC 3339 with optional fraction and Z or +hh:mm. 0 or -EINVAL. */
int mz_parse_rfc3339(const char *s, uint64_t *ns) MZ_MUST_CHECK;

/* Copies at most size-1 bytes and NUL-terminates; returns -E2BIG when src did
 * not fit (dst then holds the cut copy), else 0. */
int mz_strlcpy(char *dst, const char *src, size_t size);
/* strdup that accepts NULL (returns NULL) and aborts on OOM. */
char *mz_strdup(const char *s);
/* Aborting allocators: the daemon cannot do useful work without memory. */
void *mz_calloc(size_t n, size_t size);
void *mz_realloc(void *p, size_t size);

/* Whole-string integer parsing with range checks: 0, -EINVAL or -ERANGE. */
int mz_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) MZ_MUST_CHECK;
int mz_parse_u64(const char *s, uint64_t max, uint64_t *out) MZ_MUST_CHECK;
int mz_parse_double(const char *s, double *out) MZ_MUST_CHECK;
/* "250ms", "2s", "5m", "1h", or a bare number of milliseconds. */
int mz_parse_duration_ms(const char *s, uint64_t *ms) MZ_MUST_CHECK;
/* "4096", "64KiB", "100MiB", "1GiB" (also KB/MB/GB as powers of 1000). */
int mz_parse_size(const char *s, uint64_t *bytes) MZ_MUST_CHECK;
/* "true/false/yes/no/on/off". */
int mz_parse_bool(const char *s, bool *out) MZ_MUST_CHECK;

/* Fills out with 32 random hex chars + NUL (an alert id). */
void mz_random_id(char out[33]);
/* Lowercase hex of len bytes into out (2*len+1). */
void mz_hex(const unsigned char *in, size_t len, char *out);

/* Growable byte buffer with a hard cap set at init. */
struct mz_buf {
    char *data; /* NUL-terminated while len < cap */
    size_t len;
    size_t alloc;
    size_t cap; /* the most it may hold, NUL excluded */
};
void mz_buf_init(struct mz_buf *b, size_t cap);
/* Makes room for extra more bytes (an allocation up front instead of
 * several as appends grow it); -E2BIG past the cap. */
int mz_buf_reserve(struct mz_buf *b, size_t extra) MZ_MUST_CHECK;
/* Appends; -E2BIG (and nothing appended) when the cap would be passed. */
int mz_buf_append(struct mz_buf *b, const void *data, size_t len) MZ_MUST_CHECK;
int mz_buf_appendf(struct mz_buf *b, const char *fmt, ...) MZ_MUST_CHECK
    __attribute__((format(printf, 2, 3)));
void mz_buf_reset(struct mz_buf *b);
/* Hands the data to the caller ("take"), leaving b empty. */
char *mz_buf_take(struct mz_buf *b);
void mz_buf_free(struct mz_buf *b);

/* Decodes one UTF-8 sequence at s (n >= 1 bytes available) into *cp. Returns
 * its length, or 0 when it is invalid: truncated, a bad continuation byte,
 * an overlong form, a surrogate or past U+10FFFF. */
size_t mz_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Reads a whole file of at most cap bytes. Returns 0, -E2BIG or -errno. */
int mz_read_file(const char *path, size_t cap, char **out, size_t *len) MZ_MUST_CHECK;
/* mkdir -p: creates dir and its missing parents with mode (existing ones
 * are left as they are). 0 or -errno. */
int mz_mkdir_p(const char *dir, unsigned mode) MZ_MUST_CHECK;

#endif
