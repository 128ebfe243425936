// SPDX-License-Identifier: Apache-2.0
/* test_cursor.c - the delivery cursor: it moves only past scans whose work
 * has all come back, it is saved with the log positions of the scan it
 * names, and a restart reads back exactly the ids printed since (across a
 * rotation), for its own instance only. Live alert ids are a digest of the
 * source and recipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "daemon/cursor.h"

struct env {
    char dir[64];
    char log[128];
    struct mz_config cfg;
};

static const uint8_t inst_a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t inst_b[16] = {9};

static void env_init(struct env *e)
{
    snprintf(e->dir, sizeof(e->dir), "/tmp/mizan-cursor.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->log, sizeof(e->log), "%s/alerts.log", e->dir);
    mz_config_defaults(&e->cfg);
    free(e->cfg.status_file);
    char st[128];
    snprintf(st, sizeof(st), "%s/status.json", e->dir);
    e->cfg.status_file = mz_strdup(st);
    free(e->cfg.printers.varlog.path);
    e->cfg.printers.varlog.path = mz_strdup(e->log);
    e->cfg.printers.varlog.keep = 3;
}

static void env_free(struct env *e)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    mz_config_free(&e->cfg);
}

static void print_id(const char *path, char c)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    char id[33];
    memset(id, c, 32);
    id[32] = 0;
    fprintf(f, "{\"id\":\"%s\",\"time\":\"x\"}\n", id);
    fclose(f);
}

static bool printed(struct mz_cursor *c, char ch)
{
    char id[33];
    memset(id, ch, 32);
    id[32] = 0;
    return mz_cursor_printed(c, id);
}

static uint64_t saved_gen(const struct env *e)
{
    char path[160], buf[512];
    snprintf(path, sizeof(path), "%s/cursor.json", e->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return UINT64_MAX;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *g = strstr(buf, "\"gen\":");
    assert_non_null(g);
    return strtoull(g + 6, NULL, 10);
}

static void test_moves_when_work_comes_back(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    struct mz_cursor *c = mz_cursor_new(&e.cfg, inst_a);
    assert_non_null(c);
    uint32_t from = 7;
    assert_int_equal(mz_cursor_restore(c, false, &from), 0); /* fresh maps */
    assert_int_equal(from, 0);

    mz_cursor_scan_start(c, 1);
    mz_cursor_add(c, 1, 2); /* two observations */
    mz_cursor_scanned(c, 1);
    mz_cursor_scan_start(c, 2);
    mz_cursor_add(c, 2, 1);
    mz_cursor_scanned(c, 2);
    assert_int_equal(mz_cursor_save(c), 0);
    assert_int_equal(mz_cursor_gen(c), 0);
    mz_cursor_add(c, 1, 1);  /* a detection of the first */
    mz_cursor_add(c, 1, -2); /* both observations matched */
    assert_int_equal(mz_cursor_save(c), 0);
    assert_int_equal(mz_cursor_gen(c), 0); /* the detection's alert is not printed */
    mz_cursor_add(c, 1, -1);
    assert_int_equal(mz_cursor_save(c), 0);
    assert_int_equal(mz_cursor_gen(c), 1); /* scan 2 still holds one */
    assert_int_equal(saved_gen(&e), 1);
    mz_cursor_add(c, 2, -1);
    assert_int_equal(mz_cursor_save(c), 0);
    assert_int_equal(mz_cursor_gen(c), 2);
    assert_int_equal(saved_gen(&e), 2);
    mz_cursor_free(c);
    env_free(&e);
}

static void test_restart_reads_back_what_was_printed_since(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    struct mz_cursor *c = mz_cursor_new(&e.cfg, inst_a);
    uint32_t from;
    assert_int_equal(mz_cursor_restore(c, false, &from), 0);
    print_id(e.log, 'a'); /* before scan 1 */
    mz_cursor_scan_start(c, 1);
    mz_cursor_scanned(c, 1);
    print_id(e.log, 'b'); /* during scan 1 and after */
    mz_cursor_scan_start(c, 2);
    mz_cursor_add(c, 2, 1); /* in flight at the crash */
    mz_cursor_scanned(c, 2);
    assert_int_equal(mz_cursor_save(c), 0);
    assert_int_equal(mz_cursor_gen(c), 1);
    print_id(e.log, 'c');
    /* the log rotates: alerts.log -> alerts.log.1 */
    char rot[160];
    snprintf(rot, sizeof(rot), "%s.1", e.log);
    assert_int_equal(rename(e.log, rot), 0);
    print_id(e.log, 'd');
    mz_cursor_free(c); /* the crash */

    c = mz_cursor_new(&e.cfg, inst_a);
    assert_int_equal(mz_cursor_restore(c, true, &from), 1);
    assert_int_equal(from, 1);
    assert_false(printed(c, 'a')); /* before the cursor's scan: not read back */
    assert_true(printed(c, 'b'));
    assert_true(printed(c, 'c'));
    assert_true(printed(c, 'd'));
    assert_false(printed(c, 'e'));
    mz_cursor_free(c);

    /* other maps (another instance): nothing to resume from the file */
    c = mz_cursor_new(&e.cfg, inst_b);
    assert_int_equal(mz_cursor_restore(c, true, &from), 1);
    assert_int_equal(from, 0);    /* everything again ... */
    assert_true(printed(c, 'a')); /* ... against the whole logs */
    mz_cursor_free(c);

    assert_int_equal(mz_cursor_remove(&e.cfg), 0);
    c = mz_cursor_new(&e.cfg, inst_a);
    assert_int_equal(mz_cursor_restore(c, true, &from), 1);
    assert_int_equal(from, 0);
    mz_cursor_free(c);
    env_free(&e);
}

static void test_alert_id_from_source(void **state)
{
    (void)state;
    struct mz_recipe_ref ref = {.id = "r1"};
    char ids[4][33];
    for (int i = 0; i < 4; i++) {
        struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
        o->src.map = 3;
        o->src.key[0] = 1;
        o->src.fp = i == 2 ? 43 : 42; /* 2: the record changed */
        o->src.scan = (uint32_t)i;    /* the scan does not name the record */
        ref.id = i == 3 ? "r2" : "r1";
        struct mz_detection *d = mz_detection_new(o, &ref);
        mz_observation_free(o);
        struct mz_alert *a = mz_alert_new(d, "h");
        memcpy(ids[i], a->id, 33);
        mz_alert_free(a);
    }
    assert_string_equal(ids[0], ids[1]);
    assert_string_not_equal(ids[0], ids[2]);
    assert_string_not_equal(ids[0], ids[3]);
    /* no source (replay): random */
    struct mz_alert *a = mz_alert_new(NULL, "h");
    struct mz_alert *b = mz_alert_new(NULL, "h");
    assert_string_not_equal(a->id, b->id);
    mz_alert_free(a);
    mz_alert_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moves_when_work_comes_back),
        cmocka_unit_test(test_restart_reads_back_what_was_printed_since),
        cmocka_unit_test(test_alert_id_from_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
