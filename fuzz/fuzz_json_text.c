// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_json_text.c - the one-pass JSON writer (mz_alert_json) on alerts whose
 * text fields are attacker-chosen bytes: its output must be JSON that cJSON
 * parses, in cJSON's canonical form (printing the parse gives the same
 * text), with the args given back unchanged. The input is split on NUL
 * bytes into the fields; the first 8 bytes are also the confidence.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/util.h"

static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p, *z = s;
    while (z < end && *z)
        z++;
    char *out = malloc((size_t)(z - s) + 1);
    if (!out)
        abort();
    memcpy(out, s, (size_t)(z - s));
    out[z - s] = 0;
    *p = z < end ? z + 1 : end;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    struct mz_recipe_ref r = {0};
    double conf = 0;
    if (size >= sizeof(conf))
        memcpy(&conf, data, sizeof(conf));
    o->proc.args = field(&p, end);
    o->proc.exe = field(&p, end);
    o->file.path = field(&p, end);
    o->file.path2 = field(&p, end);
    o->proc.user = field(&p, end);
    char *comm = field(&p, end);
    mz_strlcpy(o->proc.comm, comm, sizeof(o->proc.comm));
    free(comm);
    o->proc.ancestry = mz_calloc(1, sizeof(char *));
    o->proc.ancestry[0] = field(&p, end);
    o->proc.n_ancestry = 1;
    o->count = size;
    o->proc.pid = -(int)size;
    char *id = field(&p, end);
    r.id = id;
    struct mz_detection *d = mz_detection_new(o, &r);
    free(id);
    mz_observation_free(o);
    struct mz_alert *a = mz_alert_new(d, "fuzz");
    a->att.status = MZ_ATT_VERDICT;
    a->att.verdict = MZ_VERDICT_UNCERTAIN;
    a->att.confidence = conf;
    a->att.latency_ms = -conf;
    a->att.reason = field(&p, end);

    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    if (mz_alert_json(a, &b) != 0 || !b.data)
        abort();
    cJSON *j = cJSON_Parse(b.data);
    if (!j)
        abort();
    char *again = cJSON_PrintUnformatted(j);
    if (!again || strcmp(again, b.data) != 0)
        abort();
    const cJSON *args = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "args");
    if (!cJSON_IsString(args) || strcmp(args->valuestring, a->det.obs.proc.args) != 0)
        abort();
    free(again);
    cJSON_Delete(j);
    mz_buf_free(&b);
    mz_alert_free(a);
    return 0;
}
