// SPDX-License-Identifier: Apache-2.0
/* test_rx.c - the reaction queue (reactions/rx.c), without running
 * anything: an alert of a recipe without reactions queues nothing, a
 * withheld alert does not react (counted), and past reactions.queue a
 * reaction is dropped and counted while rx_submit returns at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/event.h"
#include "reactions/rx.h"

static struct mz_alert *alert_of(const char *recipe, bool withheld)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    o->file.path = mz_strdup("/tmp/x");
    o->proc.pid = 4242;
    struct mz_recipe_ref ref = {.id = (char *)recipe, .name = (char *)recipe};
    struct mz_detection *d = mz_detection_new(o, &ref);
    mz_observation_free(o);
    struct mz_alert *a = mz_alert_new(d, "host");
    a->att.withheld = withheld;
    return a;
}

static double stat_of(struct rx *rx, const char *key)
{
    cJSON *j = rx_stats_json(rx);
    double v = cJSON_GetObjectItemCaseSensitive(j, key)->valuedouble;
    cJSON_Delete(j);
    return v;
}

static void test_queue_and_withheld(void **state)
{
    (void)state;
    struct mz_config cfg;
    mz_config_defaults(&cfg);
    cfg.reactions.queue = 2;
    char err[256];
    struct rx *rx = rx_new(&cfg, err, sizeof(err));
    assert_non_null(rx);
    struct rx_table *t = rx_table_new();
    rx_table_add(t, "r", "k", 0, "js", "function process(d) {}");
    rx_table_add(t, "r", "k", 1, "shell", "true");
    rx_set_reactions(rx, t);
    assert_int_equal(stat_of(rx, "reactions"), 2);

    struct mz_alert *a = alert_of("other", false);
    rx_submit(rx, a);
    mz_alert_free(a);
    assert_int_equal(stat_of(rx, "queued"), 0);

    a = alert_of("r", true);
    rx_submit(rx, a);
    mz_alert_free(a);
    assert_int_equal(stat_of(rx, "withheld"), 2);
    assert_int_equal(stat_of(rx, "queued"), 0);

    /* no worker runs (not started): two fit, the next two are dropped */
    for (int i = 0; i < 2; i++) {
        a = alert_of("r", false);
        rx_submit(rx, a);
        mz_alert_free(a);
    }
    assert_int_equal(stat_of(rx, "queued"), 2);
    assert_int_equal(stat_of(rx, "queue_full"), 2);
    rx_free(rx); /* frees what is queued */
    rx_free(NULL);
    mz_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_and_withheld),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
