// SPDX-License-Identifier: Apache-2.0
/* test_http.c - the operations endpoint: the Prometheus rendering of a status
 * tree (names, labels escaped, histogram, reactions hook), the health check
 * (exited stage, stuck queue), and the real server on 127.0.0.1 answering
 * /metrics, /healthz, /readyz, 404 and 405 (requests made with libcurl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/http_int.h"

static cJSON *tree(void)
{
    const char *s =
        "{\"uptime_s\":3.5,\"scans\":7,\"collector\":{\"emitted\":11,\"maps\":{"
        "\"files\":{\"created\":42,\"updated\":1,\"delivered\":40,"
        "\"lost\":{\"full\":2,\"read_error\":0,\"join_miss\":0},\"entries\":5,"
        "\"max_entries\":64}}},"
        "\"pipeline\":{\"observations\":11,\"q1\":{\"size\":3,\"capacity\":8,"
        "\"full_events\":1},\"detect\":{\"recipes\":2,\"per_recipe\":{"
        "\"a\\\"b\\nc\\u00e9\\t\":{\"matched\":4,\"emitted\":3,\"rate_suppressed\":1}}},"
        "\"attenuator\":{\"submitted\":3,\"emitted\":3,\"filters\":{\"cache\":"
        "{\"passed\":1,\"changed\":2,\"withheld\":0}},\"cache\":{\"hits\":2},"
        "\"model\":{\"calls\":1,\"client\":{\"failures\":{\"timeout\":5}}}},"
        "\"printers\":{\"submitted\":3,\"stdout\":{\"written\":3,\"errors\":0,"
        "\"spilled\":0,\"queued\":0}}}}";
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    return j;
}

static char *render(const cJSON *j, const struct http_state *st)
{
    struct mz_buf b;
    mz_buf_init(&b, 1u << 20);
    assert_int_equal(http_render_metrics(j, st, &b), 0);
    return mz_buf_take(&b);
}

static void test_render(void **state)
{
    (void)state;
    cJSON *j = tree();
    struct http_alert_counts c;
    memset(&c, 0, sizeof(c));
    struct mz_alert a;
    memset(&a, 0, sizeof(a));
    a.att.status = MZ_ATT_VERDICT;
    a.att.verdict = MZ_VERDICT_FALSE_POSITIVE;
    a.att.latency_ms = 0.5; /* le 0.001 */
    http_alert_count(&c, &a);
    a.att.withheld = true;
    a.att.latency_ms = 20; /* le 0.025 */
    http_alert_count(&c, &a);
    a.att.withheld = false;
    a.att.status = MZ_ATT_BYPASSED;
    a.att.verdict = MZ_VERDICT_NONE;
    a.att.latency_ms = 60000; /* +Inf */
    http_alert_count(&c, &a);
    cJSON_AddItemToObject(cJSON_GetObjectItem(j, "pipeline"), "alerts_by",
                          http_alert_counts_json(&c));
    struct http_state st = {.ready = true, .healthy = false, .unhealthy_why = "x"};
    char *m = render(j, &st);
    static const char *const want[] = {
        "# TYPE mizan_collector_records_created_total counter\n",
        "mizan_collector_records_created_total{map=\"files\"} 42\n",
        "mizan_collector_records_delivered_total{map=\"files\"} 40\n",
        "mizan_collector_records_lost_total{map=\"files\",reason=\"full\"} 2\n",
        "mizan_queue_depth{queue=\"q1\"} 3\n",
        "mizan_stage_items_total{stage=\"collector\"} 11\n",
        "mizan_detect_detections_total{recipe=\"a\\\"b\\nc___\"} 3\n",
        "mizan_detect_rate_limited_total{recipe=\"a\\\"b\\nc___\"} 1\n",
        "mizan_attenuator_filter_total{filter=\"cache\",outcome=\"changed\"} 2\n",
        "mizan_attenuator_cache_hits_total 2\n",
        "mizan_attenuator_model_errors_total{kind=\"timeout\"} 5\n",
        "mizan_attenuator_verdicts_total{verdict=\"false_positive\"} 2\n",
        "mizan_attenuator_alerts_total{status=\"bypassed\"} 1\n",
        "mizan_attenuator_withheld_total 1\n",
        "mizan_attenuator_latency_seconds_bucket{le=\"0.001\"} 1\n",
        "mizan_attenuator_latency_seconds_bucket{le=\"0.025\"} 2\n",
        "mizan_attenuator_latency_seconds_bucket{le=\"30\"} 2\n",
        "mizan_attenuator_latency_seconds_bucket{le=\"+Inf\"} 3\n",
        "mizan_attenuator_latency_seconds_count 3\n",
        "mizan_reactions_run_total 0\n",
        "mizan_ready 1\n",
        "mizan_healthy 0\n",
        "mizan_uptime_seconds 3.5\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(m, want[i]))
            fail_msg("missing %s in:\n%s", want[i], m);
    free(m);

    /* reactions: the pipeline's "reactions" object (reactions/rx.h) fills the family */
    cJSON *pl = cJSON_GetObjectItem(j, "pipeline");
    assert_non_null(pl);
    cJSON *r = cJSON_AddObjectToObject(pl, "reactions");
    cJSON_AddNumberToObject(r, "ran", 7);
    cJSON_AddNumberToObject(r, "timed_out", 2);
    m = render(j, &st);
    assert_non_null(strstr(m, "mizan_reactions_run_total 7\n"));
    assert_non_null(strstr(m, "mizan_reactions_failed_total 0\n"));
    assert_non_null(strstr(m, "mizan_reactions_timed_out_total 2\n"));
    free(m);

    /* no tree: the gauges only; a cap too small is an error, not a cut */
    m = render(NULL, NULL);
    assert_non_null(strstr(m, "mizan_ready 0\n"));
    assert_null(strstr(m, "mizan_collector"));
    free(m);
    struct mz_buf b;
    mz_buf_init(&b, 256);
    assert_int_equal(http_render_metrics(j, &st, &b), -E2BIG);
    mz_buf_free(&b);
    cJSON_Delete(j);
}

static void test_health(void **state)
{
    (void)state;
    struct http_health h;
    char why[256];
    memset(&h, 0, sizeof(h));
    cJSON *j = tree(); /* q1 holds 3 items, progress 11 */
    const uint64_t s = 1000000000ull;
    assert_true(http_health_check(&h, j, 1 * s, 10 * s, why, sizeof(why)));
    assert_true(http_health_check(&h, j, 10 * s, 10 * s, why, sizeof(why)));
    /* no progress for 10 s with items in the queue: stuck */
    assert_false(http_health_check(&h, j, 11 * s, 10 * s, why, sizeof(why)));
    assert_non_null(strstr(why, "queue q1 stuck: 3 items"));
    /* progress: healthy again */
    cJSON *pipe = cJSON_GetObjectItem(j, "pipeline");
    cJSON_SetNumberValue(cJSON_GetObjectItem(pipe, "observations"), 12);
    assert_true(http_health_check(&h, j, 12 * s, 10 * s, why, sizeof(why)));
    /* an empty queue never stalls */
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(pipe, "q1"), "size"), 0);
    assert_true(http_health_check(&h, j, 100 * s, 10 * s, why, sizeof(why)));
    /* a stage thread that exited */
    cJSON_AddStringToObject(j, "stages_exited", "detect");
    assert_false(http_health_check(&h, j, 101 * s, 10 * s, why, sizeof(why)));
    assert_string_equal(why, "stage thread exited: detect");
    cJSON_Delete(j);
}

struct body {
    char data[4096];
    size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t len = sz * n;
    if (b->len + len >= sizeof(b->data))
        len = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return sz * n;
}

static long get(uint16_t port, const char *path, const char *method, struct body *b)
{
    char url[128];
    long code = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    memset(b, 0, sizeof(*b));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void test_server(void **state)
{
    (void)state;
    char err[256];
    struct body b;
    assert_null(http_start("localhost:1", err, sizeof(err)));
    assert_non_null(strstr(err, "bad address"));
    struct http_server *s = http_start("127.0.0.1:0", err, sizeof(err));
    assert_non_null(s);
    uint16_t port = http_port(s);
    assert_true(port > 0);
    /* before the first publish */
    assert_int_equal(get(port, "/readyz", NULL, &b), 503);
    assert_string_equal(b.data, "not ready: starting\n");
    assert_int_equal(get(port, "/healthz", NULL, &b), 200);
    /* the same port again: refused, not shared */
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
    assert_null(http_start(addr, err, sizeof(err)));

    cJSON *j = tree();
    struct http_state st = {.ready = false,
                            .not_ready_why = "first scan not done",
                            .healthy = false,
                            .unhealthy_why = "queue q1 stuck"};
    assert_int_equal(http_publish(s, j, &st), 0);
    assert_int_equal(get(port, "/readyz", NULL, &b), 503);
    assert_string_equal(b.data, "not ready: first scan not done\n");
    assert_int_equal(get(port, "/healthz", NULL, &b), 503);
    assert_string_equal(b.data, "unhealthy: queue q1 stuck\n");
    st.ready = st.healthy = true;
    assert_int_equal(http_publish(s, j, &st), 0);
    assert_int_equal(get(port, "/readyz", NULL, &b), 200);
    assert_int_equal(get(port, "/healthz", NULL, &b), 200);
    assert_int_equal(get(port, "/metrics", NULL, &b), 200);
    assert_non_null(strstr(b.data, "mizan_collector_records_created_total{map=\"files\"} 42\n"));
    assert_int_equal(get(port, "/metrics?x=1", NULL, &b), 200);
    assert_int_equal(get(port, "/metrics/", NULL, &b), 404);
    assert_int_equal(get(port, "/", NULL, &b), 404);
    assert_int_equal(get(port, "/metrics", "POST", &b), 405);
    assert_int_equal(get(port, "/metrics", "DELETE", &b), 405);
    cJSON_Delete(j);
    http_stop(s);
    http_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_server),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return r;
}
