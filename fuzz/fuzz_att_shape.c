/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_att_shape.c - libFuzzer target for the shape-only context
 * (attenuator/shape.c): the input is used as every kind of field (args,
 * path, exe, comm, domain, user, detail) and as the args, cwd, path and
 * domain of detections.
 *
 * Invariants: a shape is printable ASCII (no attacker byte outside ASCII
 * ever reaches the shape-only context), at most 8 KiB, and the same on a
 * second call (the memo returns what a fresh computation gives); an input
 * holding a byte outside printable ASCII is always marked; the scan and the
 * shape document of a detection never fail on these sizes and the document
 * prints.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attenuator/shape.h"
#include "core/event.h"

static void check_kind(const char *kind, const char *s)
{
    struct mz_buf a, b;
    char wa[128], wb[128];
    mz_buf_init(&a, 1 << 20);
    mz_buf_init(&b, 1 << 20);
    if (att_shape_string(kind, s, &a, wa, sizeof(wa)) != 0 ||
        att_shape_string(kind, s, &b, wb, sizeof(wb)) != 0)
        abort();
    const char *x = a.data ? a.data : "", *y = b.data ? b.data : "";
    if (strcmp(x, y) != 0 || strcmp(wa, wb) != 0 || a.len > 8192)
        abort();
    for (const char *p = x; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            abort();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p >= 0x80 || *p < 0x20 || *p == 0x7f) && !wa[0])
            abort();
    mz_buf_free(&a);
    mz_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = {"args", "path", "exe", "comm", "domain", "user", "detail"};
    if (size > MZ_ARGS_MAX)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        check_kind(kinds[i], s);

    for (int k = 0; k < 2; k++) {
        struct mz_observation *o = mz_observation_new(k ? MZ_OBS_FLOW : MZ_OBS_FILE);
        struct mz_recipe_ref r = {.id = (char *)"fuzz", .importance = MZ_IMP_LOW};
        o->proc.exe = strdup("/usr/bin/fuzz");
        o->proc.args = strdup(s);
        o->proc.cwd = strdup(s);
        o->proc.ancestry = calloc(1, sizeof(char *));
        o->proc.ancestry[0] = strdup(s);
        o->proc.n_ancestry = 1;
        memcpy(o->proc.comm, s, size < 15 ? size : 15);
        if (k)
            o->flow.domain = strdup(s);
        else
            o->file.path = strdup(s);
        struct mz_detection *d = mz_detection_new(o, &r);
        mz_observation_free(o);
        struct att_shape_scan sc;
        if (att_shape_scan(d, true, &sc) != 0 || !sc.have_digest)
            abort();
        cJSON *doc = att_shape_to_json(d);
        char *txt = cJSON_PrintUnformatted(doc);
        if (!txt)
            abort();
        free(txt);
        cJSON_Delete(doc);
        mz_detection_free(d);
    }
    free(s);
    return 0;
}
