// SPDX-License-Identifier: Apache-2.0
/*
 * recipe_fixtures.c - the recipes' positive fixtures as observations
 * (recipe_fixtures.h).
 */
#include "tests/support/recipe_fixtures.h"

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/event.h"

int recipe_fixtures_each(void (*fn)(const struct mz_observation *o, void *arg), void *arg)
{
    const char *src = getenv("MIZAN_SOURCE_DIR");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "cat %s/tests/fixtures/recipes/*.pos.jsonl", src ? src : ".");
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        if (!j)
            continue;
        struct mz_observation o;
        char err[256];
        if (mz_observation_from_json(j, &o, err, sizeof(err)) == 0) {
            fn(&o, arg);
            n++;
            mz_observation_clear(&o);
        }
        cJSON_Delete(j);
    }
    free(line);
    pclose(f);
    return n;
}
