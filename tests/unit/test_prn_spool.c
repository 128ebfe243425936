// SPDX-License-Identifier: Apache-2.0
/* test_prn_spool.c - the network outputs' on-disk spool: order, the size
 * bound, replay after a reopen (a restart), and torn or corrupt records cut
 * out and counted, in real files under a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "printers/prn_spool.h"

static char *tmpdir(void)
{
    char *d = strdup("/tmp/mizan-spool-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0)
            n++;
    closedir(d);
    return n;
}

static void append_n(struct prn_spool *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        char rec[64];
        int n = snprintf(rec, sizeof(rec), "{\"n\":%d}", i);
        assert_int_equal(prn_spool_append(s, rec, (size_t)n), 0);
    }
}

/* Reads everything left, checking it is from..to-1 in order, and consumes it. */
static void expect_range(struct prn_spool *s, int from, int to)
{
    int next = from;
    while (prn_spool_records(s) > 0) {
        struct prn_rec recs[7];
        size_t n = 0;
        assert_int_equal(prn_spool_peek(s, 7, 1 << 20, recs, &n), 0);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof(want), "{\"n\":%d}", next++);
            assert_string_equal(recs[i].data, want);
        }
        prn_recs_free(recs, n);
        assert_int_equal(prn_spool_consume(s, n), 0);
    }
    assert_int_equal(next, to);
    assert_int_equal(prn_spool_bytes(s), 0);
}

static void test_order_and_accounting(void **state)
{
    (void)state;
    char *d = tmpdir();
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/a/b", d); /* parents are created */
    struct prn_spool *s = prn_spool_open(sub, 1 << 20, MZ_FSYNC_NEVER, 1000);
    assert_non_null(s);
    assert_int_equal(prn_spool_records(s), 0);
    append_n(s, 0, 100);
    assert_int_equal(prn_spool_records(s), 100);
    /* peek does not consume */
    struct prn_rec r[3];
    size_t n;
    assert_int_equal(prn_spool_peek(s, 3, 1 << 20, r, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].data, "{\"n\":0}");
    prn_recs_free(r, n);
    assert_int_equal(prn_spool_records(s), 100);
    expect_range(s, 0, 100);
    assert_int_equal(count_segments(sub), 0); /* all delivered: nothing left */
    /* appends after a full drain start anew */
    append_n(s, 100, 110);
    expect_range(s, 100, 110);
    prn_spool_close(s);
    rm_rf(d);
    free(d);
}

static void test_bound_refuses(void **state)
{
    (void)state;
    char *d = tmpdir();
    struct prn_spool *s = prn_spool_open(d, 4096, MZ_FSYNC_NEVER, 1000);
    char rec[100];
    int ok = 0, refused = 0;
    memset(rec, 'x', sizeof(rec));
    assert_non_null(s);
    for (int i = 0; i < 100; i++) {
        int r = prn_spool_append(s, rec, sizeof(rec));
        if (r == 0)
            ok++;
        else if (r == -ENOSPC)
            refused++;
        else
            fail_msg("append: %d", r);
    }
    /* 112 bytes a record on disk: 36 fit in 4096 */
    assert_int_equal(ok, 4096 / (100 + PRN_SPOOL_HDR_BYTES));
    assert_int_equal(refused, 100 - ok);
    assert_true(prn_spool_bytes(s) <= 4096);
    struct stat st;
    char seg[512];
    snprintf(seg, sizeof(seg), "%s/seg-%016d.spool", d, 0);
    assert_int_equal(stat(seg, &st), 0);
    assert_true(st.st_size <= 4096);
    /* space comes back once records are delivered */
    assert_int_equal(prn_spool_consume(s, 10), 0);
    assert_int_equal(prn_spool_append(s, rec, sizeof(rec)), 0);
    prn_spool_close(s);
    rm_rf(d);
    free(d);
}

static void test_reopen_replays_from_head(void **state)
{
    (void)state;
    char *d = tmpdir();
    /* 1 MiB bound: 256 KiB segments, so 30,000 records span several */
    struct prn_spool *s = prn_spool_open(d, 1 << 20, MZ_FSYNC_INTERVAL, 1000);
    assert_non_null(s);
    append_n(s, 0, 30000);
    assert_true(count_segments(d) >= 2);
    size_t before = count_segments(d);
    /* deliver 20,000: the segments passed are deleted */
    for (int left = 20000; left > 0;) {
        int k = left > 1000 ? 1000 : left;
        assert_int_equal(prn_spool_consume(s, (size_t)k), 0);
        left -= k;
    }
    assert_true(count_segments(d) < before);
    prn_spool_close(s);
    /* a restart: the rest, in order, from the persisted head */
    s = prn_spool_open(d, 1 << 20, MZ_FSYNC_INTERVAL, 1000);
    assert_non_null(s);
    assert_int_equal(prn_spool_records(s), 10000);
    assert_int_equal(prn_spool_torn(s), 0);
    append_n(s, 30000, 30010);
    expect_range(s, 20000, 30010);
    prn_spool_close(s);
    rm_rf(d);
    free(d);
}

static void test_torn_and_corrupt_records(void **state)
{
    (void)state;
    char *d = tmpdir();
    char seg[512];
    struct stat st;
    int fd;
    struct prn_spool *s = prn_spool_open(d, 1 << 20, MZ_FSYNC_NEVER, 1000);
    assert_non_null(s);
    append_n(s, 0, 10);
    prn_spool_close(s);
    snprintf(seg, sizeof(seg), "%s/seg-%016d.spool", d, 0);
    assert_int_equal(stat(seg, &st), 0);
    /* a crash mid-append: the last record cut in half */
    assert_int_equal(truncate(seg, st.st_size - 4), 0);
    /* and a flipped byte in the payload of record 3 ({"n":3}: 7 bytes) */
    fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    off_t at = 3 * (PRN_SPOOL_HDR_BYTES + 7) + PRN_SPOOL_HDR_BYTES + 2;
    assert_int_equal(pwrite(fd, "X", 1, at), 1);
    close(fd);

    s = prn_spool_open(d, 1 << 20, MZ_FSYNC_NEVER, 1000);
    assert_non_null(s);
    assert_int_equal(prn_spool_torn(s), 2);
    assert_int_equal(prn_spool_records(s), 8);
    int want[] = {0, 1, 2, 4, 5, 6, 7, 8};
    struct prn_rec recs[8];
    size_t n;
    assert_int_equal(prn_spool_peek(s, 8, 1 << 20, recs, &n), 0);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        char w[32];
        snprintf(w, sizeof(w), "{\"n\":%d}", want[i]);
        assert_string_equal(recs[i].data, w);
    }
    prn_recs_free(recs, n);
    /* the repaired file takes appends and reads back whole */
    append_n(s, 100, 101);
    assert_int_equal(prn_spool_records(s), 9);
    prn_spool_close(s);
    s = prn_spool_open(d, 1 << 20, MZ_FSYNC_NEVER, 1000);
    assert_int_equal(prn_spool_torn(s), 0);
    assert_int_equal(prn_spool_records(s), 9);
    prn_spool_close(s);
    rm_rf(d);
    free(d);
}

static void test_parse(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t bad, end;
    /* garbage only */
    memset(buf, 0xA5, sizeof(buf));
    assert_int_equal(prn_spool_parse(buf, sizeof(buf), NULL, NULL, &bad, &end), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(end, 0);
    /* a header claiming more than there is */
    memcpy(buf, "MZS1", 4);
    buf[4] = 0xff;
    buf[5] = 0xff;
    buf[6] = 0xff;
    buf[7] = 0x7f;
    assert_int_equal(prn_spool_parse(buf, 12, NULL, NULL, &bad, &end), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(prn_spool_parse(buf, 0, NULL, NULL, &bad, &end), 0);
    assert_int_equal(bad, 0);
}

static void test_rejects_foreign_dir(void **state)
{
    (void)state;
    char *d = tmpdir();
    assert_int_equal(chmod(d, 0777), 0); /* others could plant records */
    assert_null(prn_spool_open(d, 1 << 20, MZ_FSYNC_NEVER, 1000));
    assert_int_equal(chmod(d, 0700), 0);
    struct prn_spool *s = prn_spool_open(d, 1 << 20, MZ_FSYNC_NEVER, 1000);
    assert_non_null(s);
    prn_spool_close(s);
    rm_rf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_accounting),
        cmocka_unit_test(test_bound_refuses),
        cmocka_unit_test(test_reopen_replays_from_head),
        cmocka_unit_test(test_torn_and_corrupt_records),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_rejects_foreign_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
