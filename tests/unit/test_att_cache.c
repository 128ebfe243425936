// SPDX-License-Identifier: Apache-2.0
/* test_att_cache.c - the sqlite3 verdict cache on real files: hits and
 * misses, persistence, TTL, the max_entries bound, and corrupt or unreadable
 * databases (logged, cache off, nothing crashes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "att_test_util.h"
#include "attenuator/cache.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    att_t_mkdtemp(dir, sizeof(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    att_t_rmdir(dir);
    return 0;
}

static void key_n(unsigned n, unsigned char key[32])
{
    unsigned char art[32] = {0}, prompt[32] = {1};
    char id[32];
    snprintf(id, sizeof(id), "recipe-%u", n);
    att_cache_key(id, art, prompt, "m", "amend", key);
}

static void path_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static void test_key_covers_every_field(void **state)
{
    (void)state;
    unsigned char art[32] = {0}, art2[32] = {0}, prompt[32] = {0}, prompt2[32] = {0};
    unsigned char k[6][32];
    art2[31] = 1;
    prompt2[0] = 9;
    att_cache_key("r", art, prompt, "m", "amend", k[0]);
    att_cache_key("r2", art, prompt, "m", "amend", k[1]);
    att_cache_key("r", art2, prompt, "m", "amend", k[2]);
    att_cache_key("r", art, prompt2, "m", "amend", k[3]);
    att_cache_key("r", art, prompt, "m2", "amend", k[4]);
    att_cache_key("r", art, prompt, "m", "block", k[5]);
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            assert_memory_not_equal(k[i], k[j], 32);
    /* length prefixes: ("ab","c") and ("a","bc") differ */
    att_cache_key("r", art, prompt, "ab", "c", k[0]);
    att_cache_key("r", art, prompt, "a", "bc", k[1]);
    assert_memory_not_equal(k[0], k[1], 32);
}

static int front_hits(const struct att_cache *c)
{
    cJSON *j = att_cache_stats_json(c);
    int n = cJSON_GetObjectItemCaseSensitive(j, "front_hits")->valueint;
    cJSON_Delete(j);
    return n;
}

static void test_put_get_persist(void **state)
{
    (void)state;
    char path[512];
    unsigned char k[32], k2[32];
    struct att_cache_entry e = {.verdict = MZ_VERDICT_FALSE_POSITIVE,
                                .confidence = 0.93,
                                .severity = "low",
                                .reason = (char *)"apt upgrade"};
    struct att_cache_entry got;
    path_of("v.db", path, sizeof(path));
    key_n(1, k);
    key_n(2, k2);

    struct att_cache *c = att_cache_open(path, 3600 * 1000, 100);
    assert_non_null(c);
    assert_int_equal(att_cache_get(c, k, true, &got), -ENOENT);
    assert_int_equal(att_cache_put(c, k, &e, "m", "{\"ctx\":1}"), 0);
    assert_int_equal(att_cache_get(c, k, true, &got), 0);
    assert_int_equal(got.verdict, MZ_VERDICT_FALSE_POSITIVE);
    assert_true(got.confidence == 0.93);
    assert_string_equal(got.severity, "low");
    assert_string_equal(got.reason, "apt upgrade");
    att_cache_entry_clear(&got);
    assert_int_equal(att_cache_get(c, k, false, &got), 0);
    assert_null(got.reason);
    assert_int_equal(att_cache_get(c, k2, false, &got), -ENOENT);
    /* both hits came from the memory front without the mutex, the reason
     * with them; a reason past the front's 256 bytes takes the locked path */
    assert_int_equal(front_hits(c), 2);
    char long_reason[300];
    memset(long_reason, 'x', sizeof(long_reason) - 1);
    long_reason[sizeof(long_reason) - 1] = '\0';
    struct att_cache_entry el = e;
    el.reason = long_reason;
    assert_int_equal(att_cache_put(c, k2, &el, "m", NULL), 0);
    assert_int_equal(att_cache_get(c, k2, true, &got), 0);
    assert_string_equal(got.reason, long_reason);
    att_cache_entry_clear(&got);
    assert_int_equal(front_hits(c), 2);
    assert_int_equal(att_cache_get(c, k2, false, &got), 0);
    assert_int_equal(front_hits(c), 3);
    att_cache_close(c);

    /* WAL mode, and the verdict survives a restart (read from SQL, not memory) */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    c = att_cache_open(path, 3600 * 1000, 100);
    assert_non_null(c);
    assert_int_equal(att_cache_rows(c), 2);
    assert_int_equal(att_cache_get(c, k, true, &got), 0);
    assert_string_equal(got.reason, "apt upgrade");
    att_cache_entry_clear(&got);
    att_cache_close(c);
}

static void test_ttl_expires(void **state)
{
    (void)state;
    char path[512];
    unsigned char k[32];
    struct att_cache_entry e = {
        .verdict = MZ_VERDICT_TRUE_POSITIVE, .confidence = 0.8, .severity = "high"};
    struct att_cache_entry got;
    path_of("ttl.db", path, sizeof(path));
    key_n(7, k);
    struct att_cache *c = att_cache_open(path, 150, 100);
    assert_non_null(c);
    assert_int_equal(att_cache_put(c, k, &e, "m", NULL), 0);
    assert_int_equal(att_cache_get(c, k, false, &got), 0);
    usleep(300 * 1000);
    assert_int_equal(att_cache_get(c, k, false, &got), -ENOENT);
    att_cache_close(c);
    /* an expired row is deleted at the next open */
    c = att_cache_open(path, 150, 100);
    assert_non_null(c);
    assert_int_equal(att_cache_rows(c), 0);
    att_cache_close(c);
}

static void test_max_entries_evicts_oldest(void **state)
{
    (void)state;
    char path[512];
    unsigned char k[32];
    struct att_cache_entry e = {
        .verdict = MZ_VERDICT_UNCERTAIN, .confidence = 0.5, .severity = "medium"};
    struct att_cache_entry got;
    path_of("max.db", path, sizeof(path));
    struct att_cache *c = att_cache_open(path, 0, 50);
    assert_non_null(c);
    for (unsigned i = 0; i < 200; i++) {
        key_n(i, k);
        assert_int_equal(att_cache_put(c, k, &e, "m", NULL), 0);
        assert_true(att_cache_rows(c) <= 50);
        if (i % 10 == 0)
            usleep(2000); /* distinct created_ms for a strict order */
    }
    /* the newest survive, the oldest went */
    key_n(199, k);
    assert_int_equal(att_cache_get(c, k, false, &got), 0);
    key_n(0, k);
    assert_int_equal(att_cache_get(c, k, false, &got), -ENOENT);
    cJSON *st = att_cache_stats_json(c);
    assert_true(cJSON_GetObjectItem(st, "evicted")->valuedouble >= 150);
    cJSON_Delete(st);
    att_cache_close(c);
}

static void test_garbage_file_turns_cache_off(void **state)
{
    (void)state;
    char path[512];
    path_of("garbage.db", path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    assert_null(att_cache_open(path, 1000, 100));
    /* the file is left alone for the operator to inspect */
    assert_int_equal(access(path, F_OK), 0);
}

static void test_corrupt_sqlite_file_turns_cache_off(void **state)
{
    (void)state;
    char path[512];
    unsigned char k[32];
    struct att_cache_entry e = {
        .verdict = MZ_VERDICT_UNCERTAIN, .confidence = 0.5, .severity = "medium"};
    path_of("corrupt.db", path, sizeof(path));
    struct att_cache *c = att_cache_open(path, 0, 100000);
    assert_non_null(c);
    for (unsigned i = 0; i < 2000; i++) {
        key_n(i, k);
        assert_int_equal(att_cache_put(c, k, &e, "m", "{\"some\":\"context text\"}"), 0);
    }
    att_cache_close(c);
    /* scribble over the middle of the database (past the header page) */
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    char junk[16384];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), (ssize_t)sizeof(junk));
    close(fd);
    c = att_cache_open(path, 0, 100000);
    assert_null(c);
}

static void test_unreadable_path(void **state)
{
    (void)state;
    char path[512];
    /* under a regular file: no directory can be made there */
    path_of("plain", path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    path_of("plain/sub/v.db", path, sizeof(path));
    assert_null(att_cache_open(path, 1000, 100));
    /* missing directories are created */
    path_of("new/sub/v.db", path, sizeof(path));
    struct att_cache *c = att_cache_open(path, 1000, 100);
    assert_non_null(c);
    att_cache_close(c);
    struct stat st;
    path_of("new/sub", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_null(att_cache_open("", 1000, 100));
    path_of("zero.db", path, sizeof(path));
    assert_null(att_cache_open(path, 1000, 0));
    /* a closed cache answers -EIO, never crashes */
    struct att_cache_entry got;
    unsigned char k[32] = {0};
    assert_int_equal(att_cache_get(NULL, k, false, &got), -EIO);
}

/* The memory front is read without the mutex while stores rewrite it: a
 * reader must never see a torn entry. Each store writes a generation g as
 * verdict 1 + g % 3, confidence g / 1e7, severity names[g % 5] and a
 * reason naming g (short, held in the front, or past its 256 bytes); readers
 * check that they agree. */
static const char *const sev_names[] = {"informational", "low", "medium", "high", "critical"};

static void torn_reason(uint64_t g, char *r, size_t n)
{
    int w = snprintf(r, n, "generation %llu ", (unsigned long long)g);
    size_t pad = g % 4 == 0 ? 300 : (size_t)(g % 200); /* every 4th past the front's 256 */
    for (size_t i = 0; i < pad && (size_t)w + i + 1 < n; i++)
        r[w + i] = (char)('a' + (g + i) % 26);
    r[(size_t)w + pad < n ? (size_t)w + pad : n - 1] = '\0';
}
static _Atomic bool torn_stop;
static _Atomic uint64_t torn_checked;

static void *torn_reader(void *arg)
{
    struct att_cache *c = arg;
    unsigned seed = 7;
    while (!atomic_load(&torn_stop)) {
        unsigned char k[32];
        struct att_cache_entry e;
        bool want = rand_r(&seed) % 2;
        key_n((unsigned)rand_r(&seed) % 64, k);
        if (att_cache_get(c, k, want, &e) != 0)
            continue;
        uint64_t g = (uint64_t)(e.confidence * 1e7 + 0.5);
        if (e.verdict != (enum mz_verdict)(1 + g % 3) || strcmp(e.severity, sev_names[g % 5]))
            abort(); /* torn */
        if (want) {
            char r[400];
            torn_reason(g, r, sizeof(r));
            if (!e.reason || strcmp(e.reason, r) != 0)
                abort(); /* torn reason */
            free(e.reason);
        } else if (e.reason) {
            abort(); /* a reason nobody asked for */
        }
        atomic_fetch_add(&torn_checked, 1);
    }
    return NULL;
}

static void test_front_reads_are_never_torn(void **state)
{
    (void)state;
    char path[512];
    path_of("torn.db", path, sizeof(path));
    struct att_cache *c = att_cache_open(path, 0, 1000);
    assert_non_null(c);
    pthread_t th[2];
    atomic_store(&torn_stop, false);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, torn_reader, c), 0);
    uint64_t end = mz_monotonic_ns() + 1000000000ull;
    for (uint64_t g = 1; mz_monotonic_ns() < end && g < 9000000; g++) {
        unsigned char k[32];
        char reason[400];
        torn_reason(g, reason, sizeof(reason));
        struct att_cache_entry e = {.verdict = (enum mz_verdict)(1 + g % 3),
                                    .confidence = (double)g / 1e7,
                                    .reason = reason};
        mz_strlcpy(e.severity, sev_names[g % 5], sizeof(e.severity));
        key_n((unsigned)(g % 64), k);
        assert_int_equal(att_cache_put(c, k, &e, "m", NULL), 0);
    }
    atomic_store(&torn_stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&torn_checked) > 0);
    att_cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_covers_every_field),
        cmocka_unit_test(test_put_get_persist),
        cmocka_unit_test(test_ttl_expires),
        cmocka_unit_test(test_max_entries_evicts_oldest),
        cmocka_unit_test(test_garbage_file_turns_cache_off),
        cmocka_unit_test(test_corrupt_sqlite_file_turns_cache_off),
        cmocka_unit_test(test_unreadable_path),
        cmocka_unit_test(test_front_reads_are_never_torn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
