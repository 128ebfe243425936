// SPDX-License-Identifier: Apache-2.0
/*
 * replay.c - `mizan replay FILE.jsonl`: recorded detections and observations
 * go through the same path as live ones. A line with a "recipe" object is a
 * detection (straight to the attenuator); any other line is an observation
 * (matched against the recipes first). A malformed line is reported as
 * FILE:LINE: why, skipped, and counted; the rest is processed.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/pipeline.h"
#include "daemon/privs.h"

#define REPLAY_LINE_MAX (1u << 20)

static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* SIGTERM/SIGINT stop intake (a blocked read returns EINTR); what was read is
 * drained and flushed, and replay exits 0. */
static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupt the read */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int mz_replay(struct mz_config *cfg, const char *path, uint64_t model_wait_ms)
{
    struct mz_pipeline *p = NULL;
    FILE *f = NULL;
    char *line = NULL, err[512] = "";
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0, bad = 0, dets = 0, obs = 0;
    int status = 3;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        log_error("replay: cannot open %s: %s", path, strerror(errno));
        return 2;
    }
    /* The end of the input is not a shutdown: queued model calls get their
     * own, generous, wait (--model-wait) instead of half of drain_timeout. */
    cfg->attenuator.drain_wait_ms = model_wait_ms;
    p = mz_pipeline_new(cfg, 0, err, sizeof(err));
    if (!p) {
        log_error("replay: %s", err);
        goto out;
    }
    /* The input is open: the model's answers and the input's lines are
     * read with no capability at all (daemon/privs.h). */
    if (cfg->security.drop_capabilities && mz_privs_drop(0, err, sizeof(err)))
        log_warn("replay: dropping capabilities: %s", err);
    if (mz_pipeline_start(p)) {
        log_error("replay: cannot start the pipeline");
        goto out;
    }
    install_stop_handlers();
    while (!g_stop && (n = getline(&line, &cap, f)) >= 0) {
        cJSON *j;
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if ((size_t)n > REPLAY_LINE_MAX) {
            log_error("%s:%llu: line longer than %u bytes; skipped", path,
                      (unsigned long long)lineno, REPLAY_LINE_MAX);
            bad++;
            continue;
        }
        j = cJSON_ParseWithLength(line, (size_t)n);
        if (!j) {
            log_error("%s:%llu: not valid JSON; skipped", path, (unsigned long long)lineno);
            bad++;
            continue;
        }
        if (cJSON_GetObjectItemCaseSensitive(j, "recipe")) {
            struct mz_detection *d = mz_calloc(1, sizeof(*d));
            if (mz_detection_from_json(j, d, err, sizeof(err))) {
                log_error("%s:%llu: %s; skipped", path, (unsigned long long)lineno, err);
                free(d);
                bad++;
            } else {
                mz_pipeline_submit_detection(p, d);
                dets++;
            }
        } else {
            struct mz_observation o;
            if (mz_observation_from_json(j, &o, err, sizeof(err))) {
                log_error("%s:%llu: %s; skipped", path, (unsigned long long)lineno, err);
                bad++;
            } else {
                mz_pipeline_match(p, &o);
                mz_observation_clear(&o);
                obs++;
            }
        }
        cJSON_Delete(j);
    }
    if (g_stop)
        log_info("replay: stopped by signal after line %llu; draining", (unsigned long long)lineno);
    else if (ferror(f)) {
        log_error("replay: read error on %s after line %llu", path, (unsigned long long)lineno);
        bad++;
    }
    mz_pipeline_drain(p);
    log_info("replay: %s: %llu lines, %llu detections, %llu observations, %llu skipped", path,
             (unsigned long long)lineno, (unsigned long long)dets, (unsigned long long)obs,
             (unsigned long long)bad);
    status = bad ? 1 : 0;
out:
    mz_pipeline_free(p);
    free(line);
    if (f && f != stdin)
        fclose(f);
    return status;
}
