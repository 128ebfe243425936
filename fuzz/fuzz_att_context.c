/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_att_context.c - libFuzzer target for what the attenuator does with
 * attacker-controlled strings: redaction (attenuator/context.c), the
 * injection scan (attenuator/guard.c), and the user message that carries the
 * minimized context to the model. The input is used as a command line and as
 * a path of one detection.
 *
 * Invariants: redaction only ever replaces (output equals input when nothing
 * was redacted, and holds at least as many "[REDACTED" markers as it reports); the
 * scan is deterministic; the data block of the user message is printable
 * ASCII without '<' or '>', so the input can never close it, and it parses
 * back as JSON.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attenuator/context.h"
#include "attenuator/guard.h"
#include "core/event.h"

static size_t count_sub(const char *s, const char *sub)
{
    size_t n = 0, l = strlen(sub);
    for (const char *p = strstr(s, sub); p; p = strstr(p + l, sub))
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    struct mz_buf b;
    int n;

    if (size > MZ_ARGS_MAX)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s); /* command lines and paths hold no NUL */

    mz_buf_init(&b, 41 * len + 256); /* a marker is at most 40 bytes */
    n = att_redact(s, len, &b);
    if (n < 0)
        abort();
    const char *out = b.data ? b.data : "";
    if (n == 0 && strcmp(out, s) != 0)
        abort();
    if (count_sub(out, ATT_REDACTED_PREFIX) < (size_t)n)
        abort();
    mz_buf_free(&b);

    char why1[128], why2[128];
    bool a = att_guard_scan(s, len, why1, sizeof(why1));
    bool a2 = att_guard_scan(s, len, why2, sizeof(why2));
    if (a != a2 || (a && strcmp(why1, why2) != 0))
        abort();

    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_recipe_ref r = {.id = (char *)"fuzz", .importance = MZ_IMP_LOW};
    o->proc.exe = strdup("/bin/fuzz");
    o->proc.args = strdup(s);
    o->file.path = strdup(s);
    o->file.actions = 1;
    struct mz_detection *d = mz_detection_new(o, &r);
    mz_observation_free(o);
    struct att_context_opts opts = {.args_max = 512};
    struct att_context ctx;
    char w[160];
    (void)att_guard_scan_detection(d, w, sizeof(w));
    if (att_context_build(d, &opts, &ctx) == 0) {
        cJSON *doc = att_context_to_json(&ctx, d, &opts, NULL);
        char *msg = att_context_user_message(doc);
        if (!msg)
            abort();
        const char *begin = strstr(msg, "\n<ALERT_DATA_BEGIN>\n");
        if (!begin)
            abort();
        begin += strlen("\n<ALERT_DATA_BEGIN>\n");
        const char *end = strstr(begin, "\n<ALERT_DATA_END>\n");
        if (!end)
            abort();
        for (const char *p = begin; p < end; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '<' || *p == '>')
                abort();
        char *json = strndup(begin, (size_t)(end - begin));
        cJSON *back = cJSON_Parse(json);
        if (!back)
            abort();
        cJSON_Delete(back);
        free(json);
        free(msg);
        cJSON_Delete(doc);
        att_context_clear(&ctx);
    }
    mz_detection_free(d);
    free(s);
    return 0;
}
