// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_obs_json.c - the replay path's observation parser
 * (mz_observation_from_json) on arbitrary JSON: it accepts or refuses
 * without a fault or a leak, and what it accepts is copied, written again
 * (mz_observation_json) and read back to the same flow names and
 * resolution (every bounded field survives the round trip).
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    struct mz_observation o, c, back;
    char err[256];
    if (mz_observation_from_json(j, &o, err, sizeof(err)) != 0) {
        cJSON_Delete(j);
        return 0;
    }
    cJSON_Delete(j);
    mz_observation_copy(&c, &o);
    mz_observation_clear(&o);
    struct mz_buf b;
    mz_buf_init(&b, MZ_JSON_MAX);
    if (mz_observation_json(&c, &b) == 0) {
        cJSON *k = cJSON_ParseWithLength(b.data, b.len);
        if (!k || mz_observation_from_json(k, &back, err, sizeof(err)) != 0)
            abort();
        cJSON_Delete(k);
        if (back.kind == MZ_OBS_FLOW) {
            if (back.flow.n_domain_names != c.flow.n_domain_names ||
                back.flow.has_resolution != c.flow.has_resolution ||
                back.flow.resolution_qid != c.flow.resolution_qid ||
                back.flow.resolution_netns != c.flow.resolution_netns)
                abort();
            for (size_t i = 0; i < back.flow.n_domain_names; i++)
                if (strcmp(back.flow.domain_names[i], c.flow.domain_names[i]) != 0)
                    abort();
        }
        mz_observation_clear(&back);
    }
    mz_buf_free(&b);
    mz_observation_clear(&c);
    return 0;
}
