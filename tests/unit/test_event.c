// SPDX-License-Identifier: Apache-2.0
/* test_event.c - event model: JSON round trips, strict field errors, time
 * formatting, capped buffers, checked parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/event.h"

static struct mz_detection *sample_detection(void)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_recipe_ref r = {.id = "credentials_files_access",
                              .name = "Credentials files access",
                              .tactic = "credential_access",
                              .technique = "T1003.008",
                              .importance = MZ_IMP_HIGH};
    o->first_ns = 1700000000123456789ull;
    o->last_ns = 1700000005000000001ull;
    o->count = 42;
    o->proc.pid = 4242;
    o->proc.ppid = 1;
    o->proc.uid = 1000;
    (void)mz_strlcpy(o->proc.comm, "cat", sizeof(o->proc.comm));
    o->proc.exe = mz_strdup("/usr/bin/cat");
    o->proc.args = mz_strdup("cat /etc/shadow");
    o->proc.user = mz_strdup("alice");
    o->proc.group = mz_strdup("staff");
    o->proc.exe_sha256_why = mz_strdup("too_large");
    o->proc.exe_trusted = true;
    o->proc.exe_trust_why = mz_strdup("system_binary");
    o->proc.n_ancestry = 2;
    o->proc.ancestry = mz_calloc(2, sizeof(char *));
    o->proc.ancestry[0] = mz_strdup("/usr/bin/bash");
    o->proc.ancestry[1] = mz_strdup("/sbin/init");
    o->file.path = mz_strdup("/etc/shadow");
    o->file.actions = MZ_FA_OPEN | MZ_FA_READ;
    struct mz_detection *d = mz_detection_new(o, &r);
    assert_null(o->file.path); /* taken */
    mz_observation_free(o);
    return d;
}

static void test_detection_round_trip(void **state)
{
    (void)state;
    struct mz_detection *d = sample_detection(), back;
    char err[256] = "";
    struct mz_alert *a = mz_alert_new(d, "h1");
    cJSON *j = mz_alert_to_json(a);
    char *s = cJSON_PrintUnformatted(j);
    cJSON *j2 = cJSON_Parse(s);

    assert_int_equal(strlen(a->id), 32);
    assert_int_equal(mz_detection_from_json(j2, &back, err, sizeof(err)), 0);
    assert_string_equal(back.recipe.id, "credentials_files_access");
    assert_int_equal(back.recipe.importance, MZ_IMP_HIGH);
    assert_int_equal(back.obs.kind, MZ_OBS_FILE);
    assert_int_equal(back.obs.count, 42);
    assert_true(back.obs.first_ns == 1700000000123456789ull);
    assert_true(back.obs.last_ns == 1700000005000000001ull);
    assert_int_equal(back.obs.proc.pid, 4242);
    assert_string_equal(back.obs.proc.comm, "cat");
    assert_string_equal(back.obs.proc.user, "alice");
    assert_string_equal(back.obs.proc.group, "staff");
    /* the digest that could not be made: null, with why */
    const cJSON *jp = cJSON_GetObjectItem(j, "process");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(jp, "exe_sha256")));
    assert_null(back.obs.proc.exe_sha256);
    assert_string_equal(back.obs.proc.exe_sha256_why, "too_large");
    assert_true(back.obs.proc.exe_trusted);
    assert_false(back.obs.proc.parent_exe_trusted);
    assert_string_equal(back.obs.proc.exe_trust_why, "system_binary");
    assert_int_equal(back.obs.proc.n_ancestry, 2);
    assert_string_equal(back.obs.proc.ancestry[1], "/sbin/init");
    assert_string_equal(back.obs.file.path, "/etc/shadow");
    assert_int_equal(back.obs.file.actions, MZ_FA_OPEN | MZ_FA_READ);
    assert_string_equal(cJSON_GetObjectItem(j, "host")->valuestring, "h1");

    mz_recipe_ref_clear(&back.recipe);
    mz_observation_clear(&back.obs);
    cJSON_Delete(j2);
    cJSON_Delete(j);
    free(s);
    mz_alert_free(a);
}

static void test_flow_observation_round_trip(void **state)
{
    (void)state;
    const char *line =
        "{\"kind\":\"flow\",\"time\":\"2026-11-21T10:00:00Z\",\"process\":{\"pid\":7,"
        "\"exe\":\"/usr/bin/curl\"},\"flow\":{\"proto\":\"tcp\",\"direction\":"
        "\"egress\",\"remote\":{\"addr\":\"169.254.169.254\",\"port\":80},"
        "\"domain\":\"metadata\",\"actions\":[\"connect\"]}}";
    struct mz_observation o;
    char err[256] = "";
    cJSON *j = cJSON_Parse(line);
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), 0);
    assert_int_equal(o.kind, MZ_OBS_FLOW);
    assert_int_equal(o.flow.proto, 6);
    assert_int_equal(o.flow.direction, MZ_DIR_EGRESS);
    assert_string_equal(o.flow.remote_addr, "169.254.169.254");
    assert_int_equal(o.flow.remote_port, 80);
    assert_int_equal(o.flow.actions, MZ_FL_CONNECT);
    assert_int_equal(o.count, 1);
    cJSON *out = mz_observation_to_json(&o);
    assert_string_equal(cJSON_GetObjectItem(out, "domain")->valuestring, "metadata");
    cJSON_Delete(out);
    mz_observation_clear(&o);
    cJSON_Delete(j);
}

/* flow.domain_names and flow.resolution come back from JSON, are copied
 * and written again; too many names or a bad id are named. */
static void test_flow_names_round_trip(void **state)
{
    (void)state;
    const char *line =
        "{\"kind\":\"flow\",\"process\":{\"pid\":7},\"flow\":{\"proto\":\"udp\","
        "\"remote\":{\"addr\":\"192.0.2.9\",\"port\":9},\"domain\":\"alias.mzd.test\","
        "\"domain_names\":[\"alias.mzd.test\",\"mid.mzd.test\",\"target.mzd.test\"],"
        "\"resolution\":{\"qid\":4242,\"netns\":4026531840,\"own\":true}}}";
    struct mz_observation o, c;
    char err[256] = "";
    cJSON *j = cJSON_Parse(line);
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), 0);
    cJSON_Delete(j);
    assert_int_equal(o.flow.n_domain_names, 3);
    assert_string_equal(o.flow.domain_names[2], "target.mzd.test");
    assert_true(o.flow.has_resolution);
    assert_true(o.flow.resolution_own);
    assert_int_equal(o.flow.resolution_qid, 4242);
    assert_int_equal(o.flow.resolution_netns, 4026531840u);
    mz_observation_copy(&c, &o);
    mz_observation_clear(&o);
    assert_string_equal(c.flow.domain_names[1], "mid.mzd.test");
    cJSON *out = mz_observation_to_json(&c);
    const cJSON *fl = cJSON_GetObjectItem(out, "flow");
    const cJSON *names = cJSON_GetObjectItem(fl, "domain_names");
    assert_int_equal(cJSON_GetArraySize(names), 3);
    assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "alias.mzd.test");
    const cJSON *res = cJSON_GetObjectItem(fl, "resolution");
    assert_int_equal(cJSON_GetObjectItem(res, "qid")->valueint, 4242);
    assert_true(cJSON_GetObjectItem(res, "netns")->valuedouble == 4026531840.0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "own")));
    cJSON_Delete(out);
    mz_observation_clear(&c);

    static const struct {
        const char *flow, *expect;
    } bad[] = {
        {"\"domain_names\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
         "flow.domain_names: more than 8"},
        {"\"domain_names\":[\"a\",7]", "flow.domain_names[1]"},
        {"\"domain_names\":\"a\"", "flow.domain_names: expected an array"},
        {"\"resolution\":{\"qid\":70000}", "flow.resolution.qid: 70000 out of range"},
        {"\"resolution\":{\"netns\":1}", "flow.resolution.qid: missing"},
        {"\"resolution\":[]", "flow.resolution: expected an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[512];
        snprintf(buf, sizeof(buf),
                 "{\"kind\":\"flow\",\"process\":{},\"flow\":{\"remote\":{\"addr\":"
                 "\"192.0.2.9\",\"port\":9},%s}}",
                 bad[i].flow);
        j = cJSON_Parse(buf);
        assert_non_null(j);
        err[0] = 0;
        assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), -EINVAL);
        if (!strstr(err, bad[i].expect))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].expect);
        cJSON_Delete(j);
    }
}

/* A container's file and exe: the paths it saw, the initial namespace's
 * paths and the mount namespace, through JSON, a copy, and JSON again. */
static void test_mntns_round_trip(void **state)
{
    (void)state;
    const char *line = "{\"kind\":\"file\",\"process\":{\"pid\":7,\"exe\":\"/bin/sh\","
                       "\"exe_host_path\":\"/var/lib/c/root/bin/sh\",\"exe_mnt_ns\":4026532177},"
                       "\"file\":{\"path\":\"/data/x\",\"host_path\":\"/var/lib/c/root/data/x\","
                       "\"mnt_ns\":4026532177,\"actions\":[\"open\"]}}";
    struct mz_observation o, copy;
    char err[256] = "";
    cJSON *j = cJSON_Parse(line);
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), 0);
    cJSON_Delete(j);
    assert_int_equal(o.file.mnt_ns, 4026532177u);
    assert_string_equal(o.file.host_path, "/var/lib/c/root/data/x");
    assert_int_equal(o.proc.exe_mnt_ns, 4026532177u);
    assert_string_equal(o.proc.exe_host_path, "/var/lib/c/root/bin/sh");
    mz_observation_copy(&copy, &o);
    mz_observation_clear(&o);
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    assert_int_equal(mz_observation_json(&copy, &b), 0);
    assert_int_equal(mz_buf_append(&b, "", 1), 0);
    j = cJSON_Parse(b.data);
    assert_non_null(j);
    cJSON *f = cJSON_GetObjectItem(j, "file"), *p = cJSON_GetObjectItem(j, "process");
    assert_string_equal(cJSON_GetObjectItem(f, "path")->valuestring, "/data/x");
    assert_string_equal(cJSON_GetObjectItem(f, "host_path")->valuestring, "/var/lib/c/root/data/x");
    assert_int_equal(cJSON_GetObjectItem(f, "mnt_ns")->valuedouble, 4026532177.0);
    assert_string_equal(cJSON_GetObjectItem(p, "exe_host_path")->valuestring,
                        "/var/lib/c/root/bin/sh");
    cJSON_Delete(j);
    /* no host path known: null, with the namespace */
    free(copy.file.host_path);
    copy.file.host_path = NULL;
    mz_buf_reset(&b);
    assert_int_equal(mz_observation_json(&copy, &b), 0);
    assert_int_equal(mz_buf_append(&b, "", 1), 0);
    assert_non_null(strstr(b.data, "\"host_path\":null"));
    /* the initial namespace: neither field */
    copy.file.mnt_ns = 0;
    copy.proc.exe_mnt_ns = 0;
    mz_buf_reset(&b);
    assert_int_equal(mz_observation_json(&copy, &b), 0);
    assert_int_equal(mz_buf_append(&b, "", 1), 0);
    assert_null(strstr(b.data, "mnt_ns"));
    assert_null(strstr(b.data, "host_path"));
    mz_buf_free(&b);
    mz_observation_clear(&copy);
    /* out of range */
    j = cJSON_Parse("{\"kind\":\"file\",\"process\":{},\"file\":{\"path\":\"/a\","
                    "\"mnt_ns\":4294967296}}");
    assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "file.mnt_ns"));
    cJSON_Delete(j);
}

static void test_bad_fields_are_named(void **state)
{
    (void)state;
    static const struct {
        const char *line, *expect;
    } cases[] = {
        {"[1]", "expected a JSON object"},
        {"{\"kind\":\"smell\"}", "kind: expected one of"},
        {"{\"kind\":\"file\"}", "process: missing"},
        {"{\"kind\":\"file\",\"process\":{\"pid\":-1},\"file\":{\"path\":\"/a\"}}",
         "process.pid: -1 out of range"},
        {"{\"kind\":\"file\",\"process\":{},\"file\":{}}", "file.path: missing"},
        {"{\"kind\":\"file\",\"process\":{\"comm\":\"0123456789abcdefXYZ\"},\"file\":{\"path\":\"/"
         "a\"}}",
         "process.comm: longer than 15"},
        {"{\"kind\":\"file\",\"time\":\"yesterday\",\"process\":{},\"file\":{\"path\":\"/a\"}}",
         "time: expected an RFC 3339 time"},
        {"{\"kind\":\"flow\",\"process\":{},\"flow\":{\"remote\":{\"port\":70000}}}",
         "flow.remote.port: 70000 out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mz_observation o;
        char err[256] = "";
        cJSON *j = cJSON_Parse(cases[i].line);
        assert_non_null(j);
        assert_int_equal(mz_observation_from_json(j, &o, err, sizeof(err)), -EINVAL);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].expect);
        cJSON_Delete(j);
    }
    /* a detection needs a recipe id */
    struct mz_detection d;
    char err[256] = "";
    cJSON *j = cJSON_Parse("{\"recipe\":{},\"kind\":\"file\",\"process\":{},\"file\":{\"path\":"
                           "\"/a\"}}");
    assert_int_equal(mz_detection_from_json(j, &d, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "recipe.id: missing"));
    cJSON_Delete(j);
}

static void test_time_and_parsing(void **state)
{
    (void)state;
    char buf[MZ_RFC3339_LEN];
    uint64_t ns, v;
    int64_t i;
    mz_format_rfc3339(1700000000123456789ull, buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.123456789Z");
    assert_int_equal(mz_parse_rfc3339(buf, &ns), 0);
    assert_true(ns == 1700000000123456789ull);
    assert_int_equal(mz_parse_rfc3339("2023-11-14T23:13:20.5+01:00", &ns), 0);
    assert_true(ns == 1700000000500000000ull);
    assert_int_equal(mz_parse_rfc3339("2023-11-14 nope", &ns), -EINVAL);
    assert_int_equal(mz_parse_duration_ms("1.5s", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(mz_parse_duration_ms("3 days", &v), -EINVAL);
    assert_int_equal(mz_parse_size("2MiB", &v), 0);
    assert_int_equal(v, 2 << 20);
    assert_int_equal(mz_parse_i64("12x", 0, 100, &i), -EINVAL);
    assert_int_equal(mz_parse_i64("101", 0, 100, &i), -ERANGE);
    assert_int_equal(mz_parse_u64("-1", 100, &v), -EINVAL);
}

/* The per-thread cache of the formatted second: a second change, a step
 * back and the first instant of a second all come out whole. */
static void test_time_cache(void **state)
{
    (void)state;
    char buf[MZ_RFC3339_LEN];
    mz_format_rfc3339(1700000000999999999ull, buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.999999999Z");
    mz_format_rfc3339(1700000001000000000ull, buf);
    assert_string_equal(buf, "2023-11-14T22:13:21.000000000Z");
    mz_format_rfc3339(1700000000000000007ull, buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.000000007Z");
    mz_format_rfc3339(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
    mz_format_rfc3339(4102444800123000000ull, buf);
    assert_string_equal(buf, "2100-01-01T00:00:00.123000000Z");
}

/* Ids from the per-thread pool: well formed, all distinct (past several
 * refills), and a forked child does not repeat the ids its parent has yet to
 * hand out. */
static void test_random_ids(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char ids[N][33];
    for (int i = 0; i < N; i++) {
        mz_random_id(ids[i]);
        assert_int_equal(strlen(ids[i]), 32);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
        for (int k = 0; k < i; k++)
            assert_string_not_equal(ids[i], ids[k]);
    }
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char child[33];
        mz_random_id(child);
        _exit(write(p[1], child, 33) == 33 ? 0 : 1);
    }
    char child[33] = "", parent[33];
    assert_int_equal(read(p[0], child, 33), 33);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(p[0]);
    close(p[1]);
    mz_random_id(parent);
    assert_string_not_equal(child, parent);
}

/* The direct JSON writer prints what cJSON prints: every byte value in a
 * string (escapes), numbers of every form, and a whole alert is in cJSON's
 * canonical form (parsing and printing it again gives the same text). */
static void test_json_text_is_cjson_text(void **state)
{
    (void)state;
    struct mz_detection *d = sample_detection();
    struct mz_alert *a = mz_alert_new(d, "h1");
    /* every byte 1..255 in the fields that carry attacker-chosen text */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = 0;
    free(a->det.obs.proc.args);
    a->det.obs.proc.args = mz_strdup(all);
    free(a->det.obs.file.path);
    a->det.obs.file.path = mz_strdup("/tmp/\"quoted\"\\back\tslash\x7f\xc3\xa9");
    a->att.status = MZ_ATT_CACHED;
    a->att.verdict = MZ_VERDICT_FALSE_POSITIVE;
    const double nums[] = {0.0,    1.0,   0.9,       0.123, 1e-7,    123456.789,
                           2.5e10, -3.25, 1.0 / 3.0, NAN,   INFINITY};
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
        a->att.confidence = nums[k];
        a->att.latency_ms = nums[k] * 7.0;
        struct mz_buf b;
        mz_buf_init(&b, MZ_JSON_MAX);
        assert_int_equal(mz_alert_json(a, &b), 0);
        cJSON *j = cJSON_Parse(b.data);
        assert_non_null(j);
        char *again = cJSON_PrintUnformatted(j);
        assert_string_equal(b.data, again);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "args")->valuestring, all);
        free(again);
        cJSON_Delete(j);
        mz_buf_free(&b);
    }
    /* the numbers' fast path, against cJSON's own printing of the same
     * values: every thousandth up to 100, and a spread up to 1e10 */
    for (int64_t k = -2000; k < 100000 + 400; k++) {
        double v = k < 100000 ? (double)k / 1000.0 : (double)((k - 100000) * 33333331) / 1000.0;
        a->att.confidence = v;
        struct mz_buf b;
        mz_buf_init(&b, MZ_JSON_MAX);
        assert_int_equal(mz_alert_json(a, &b), 0);
        cJSON *num = cJSON_CreateNumber(floor(v * 1000.0 + 0.5) / 1000.0);
        char *want = cJSON_PrintUnformatted(num), needle[64];
        snprintf(needle, sizeof(needle), "\"confidence\":%s,", want);
        if (!strstr(b.data, needle))
            fail_msg("confidence %.17g: want %s in %.200s", v, needle, strstr(b.data, "\"conf"));
        free(want);
        cJSON_Delete(num);
        mz_buf_free(&b);
    }
    /* a string alone, against cJSON's own printing of it */
    cJSON *str = cJSON_CreateString(all);
    char *want = cJSON_PrintUnformatted(str);
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    o->file.path = mz_strdup(all);
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    assert_int_equal(mz_observation_json(o, &b), 0);
    char needle[1200];
    snprintf(needle, sizeof(needle), "\"path\":%s", want);
    assert_non_null(strstr(b.data, needle));
    mz_buf_free(&b);
    mz_observation_free(o);
    free(want);
    cJSON_Delete(str);
    mz_alert_free(a);
}

static void test_buf_cap_is_an_error(void **state)
{
    (void)state;
    struct mz_buf b;
    mz_buf_init(&b, 8);
    assert_int_equal(mz_buf_append(&b, "12345", 5), 0);
    assert_int_equal(mz_buf_append(&b, "6789", 4), -E2BIG);
    assert_int_equal(b.len, 5); /* nothing appended on overflow */
    assert_int_equal(mz_buf_appendf(&b, "%d", 123), 0);
    assert_string_equal(b.data, "12345123");
    assert_int_equal(mz_buf_appendf(&b, "x"), -E2BIG);
    mz_buf_free(&b);
    char small[4];
    assert_int_equal(mz_strlcpy(small, "abcdef", sizeof(small)), -E2BIG);
    assert_string_equal(small, "abc");
}

static void test_utf8_decode(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(mz_utf8_decode((const unsigned char *)"A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xe2\x80\x8b", 3, &cp), 3);
    assert_int_equal(cp, 0x200B); /* zero-width space */
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    /* invalid: overlong, surrogate, past U+10FFFF, truncated, bad continuation */
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xc0\x80", 2, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xf0\x82\x80\x8b", 4, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xe2\x80", 2, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\xe2\x28\xa1", 3, &cp), 0);
    assert_int_equal(mz_utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection_round_trip),
        cmocka_unit_test(test_flow_observation_round_trip),
        cmocka_unit_test(test_flow_names_round_trip),
        cmocka_unit_test(test_bad_fields_are_named),
        cmocka_unit_test(test_mntns_round_trip),
        cmocka_unit_test(test_time_and_parsing),
        cmocka_unit_test(test_time_cache),
        cmocka_unit_test(test_json_text_is_cjson_text),
        cmocka_unit_test(test_random_ids),
        cmocka_unit_test(test_buf_cap_is_an_error),
        cmocka_unit_test(test_utf8_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
