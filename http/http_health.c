// SPDX-License-Identifier: Apache-2.0
/*
 * http_health.c - /healthz's verdict, from the status tree the daemon
 * publishes every second: a stage thread that returned while the daemon was
 * not shutting down ("stages_exited", pipeline/stage.h mz_stages_exited), or
 * a queue that holds items while its consumer's progress counter has not
 * moved for stuck_after, makes the daemon unhealthy. A queue that is empty,
 * or that drains however slowly, is healthy: a slow model is not a fault.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "http/http_int.h"

static double num_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* Remembers the queue's progress; returns how long (ns) it has not moved
 * while it held items (0 when it is empty or moved). */
static uint64_t idle_for(struct http_health *h, const char *name, double depth, double progress,
                         uint64_t now)
{
    int slot = -1;
    for (int i = 0; i < HTTP_HEALTH_QUEUES; i++) {
        if (h->q[i].used && strcmp(h->q[i].name, name) == 0) {
            slot = i;
            break;
        }
        if (!h->q[i].used && slot < 0)
            slot = i;
    }
    if (slot < 0)
        return 0; /* more queues than slots: not tracked */
    if (!h->q[slot].used) {
        h->q[slot].used = true;
        (void)mz_strlcpy(h->q[slot].name, name, sizeof(h->q[slot].name));
        h->q[slot].progress = progress;
        h->q[slot].moved_ns = now;
        return 0;
    }
    if (depth <= 0 || progress != h->q[slot].progress) {
        h->q[slot].progress = progress;
        h->q[slot].moved_ns = now;
        return 0;
    }
    return now - h->q[slot].moved_ns;
}

bool http_health_check(struct http_health *h, const cJSON *status, uint64_t now_ns,
                       uint64_t stuck_after_ns, char *why, size_t len)
{
    const cJSON *exited = cJSON_GetObjectItemCaseSensitive(status, "stages_exited");
    if (cJSON_IsString(exited) && exited->valuestring[0]) {
        snprintf(why, len, "stage thread exited: %s", exited->valuestring);
        return false;
    }
    const cJSON *pipe = cJSON_GetObjectItemCaseSensitive(status, "pipeline");
    struct {
        char name[48];
        double depth, progress;
    } q[HTTP_HEALTH_QUEUES];
    int n = 0;
    if (num_at(pipe, "q1", "size") >= 0) {
        snprintf(q[n].name, sizeof(q[n].name), "q1");
        q[n].depth = num_at(pipe, "q1", "size");
        q[n++].progress = num_at(pipe, "observations", NULL);
    }
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(pipe, "attenuator");
    if (num_at(att, "submitted", NULL) >= 0) {
        snprintf(q[n].name, sizeof(q[n].name), "attenuator");
        q[n].depth = num_at(att, "submitted", NULL) - num_at(att, "emitted", NULL);
        q[n++].progress = num_at(att, "emitted", NULL);
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(pipe, "printers"))
    {
        if (n >= HTTP_HEALTH_QUEUES || !cJSON_IsObject(p) || num_at(p, "queued", NULL) < 0)
            continue;
        snprintf(q[n].name, sizeof(q[n].name), "printer_%s", p->string);
        q[n].depth = num_at(p, "queued", NULL);
        q[n++].progress = num_at(p, "written", NULL);
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        uint64_t idle = idle_for(h, q[i].name, q[i].depth, q[i].progress, now_ns);
        if (ok && idle >= stuck_after_ns) {
            snprintf(why, len, "queue %s stuck: %.0f items, no progress for %llu s", q[i].name,
                     q[i].depth, (unsigned long long)(idle / 1000000000ull));
            ok = false;
        }
    }
    return ok;
}
