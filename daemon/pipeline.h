/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h - the userland pipeline after the collector, shared by `run` and
 * `replay`:
 *
 *   observations --q1--> detect thread --> attenuator chain --> printers
 *
 * q1 is a bounded SPSC ring (one collector thread feeds one detect thread);
 * the attenuator holds the bounded queue in front of the model (q2) and the
 * printers hold one queue each (q3). Replay feeds observations inline
 * (mz_pipeline_match) and detections straight to the attenuator.
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_DAEMON_PIPELINE_H
#define MIZAN_DAEMON_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/event.h"

struct cJSON;
struct mz_pipeline;

enum mz_pipeline_flags {
    MZ_PIPE_DETECT_THREAD = 1 << 0, /* run a detect thread fed by q1 */
    MZ_PIPE_OBSERVATIONS = 1 << 1,  /* print observations instead of detecting */
    MZ_PIPE_REACTIONS = 1 << 2,     /* run recipes' reactions (live runs only: reactions/) */
};

/* cfg must outlive the pipeline. NULL on error (logged, err filled). */
struct mz_pipeline *mz_pipeline_new(const struct mz_config *cfg, unsigned flags, char *err,
                                    size_t errlen);
/* Before start: counts every observation, detection and alert against cur
 * (daemon/cursor.h) and skips alerts cur says were printed before a
 * restart. cur must outlive the pipeline. */
struct mz_cursor;
void mz_pipeline_set_cursor(struct mz_pipeline *p, struct mz_cursor *cur);
/* Before start: the network policy reactions' Net* helpers act on. */
struct np;
void mz_pipeline_set_netpolicy(struct mz_pipeline *p, struct np *np);
int mz_pipeline_start(struct mz_pipeline *p) MZ_MUST_CHECK;
/* Collector side of q1: takes obs on 0; -EAGAIN when q1 is full (obs not
 * taken). Single producer. */
int mz_pipeline_push_observation(struct mz_pipeline *p, struct mz_observation *obs);
/* Inline detection (replay): matches obs and submits what fires. obs is not
 * taken. Returns the number of detections or -errno. */
int mz_pipeline_match(struct mz_pipeline *p, const struct mz_observation *obs);
/* Takes det. */
void mz_pipeline_submit_detection(struct mz_pipeline *p, struct mz_detection *det);
/* Asks the detect thread to reload recipes (SIGHUP). */
void mz_pipeline_request_reload(struct mz_pipeline *p);
/* Drains q1, the attenuator and the printers, in that order, and stops the
 * threads. */
void mz_pipeline_drain(struct mz_pipeline *p);
struct cJSON *mz_pipeline_stats_json(const struct mz_pipeline *p);
/* The printers (printers/printer.h: prn_output_net_stats for the network
 * outputs' counters), or NULL when the pipeline prints observations. */
struct prn_output;
const struct prn_output *mz_pipeline_output(const struct mz_pipeline *p);
/* The pipeline's stage threads (detect) that returned outside the shutdown
 * (pipeline/stage.h mz_stages_exited): their names in buf, their count. */
size_t mz_pipeline_stages_exited(const struct mz_pipeline *p, char *buf, size_t len);
/* Test-only (MIZAN_TEST_KILL_STAGE): stops the pipeline stage called name
 * outside the shutdown, as though its thread had died. 0, or -ENOENT. */
int mz_pipeline_stop_stage(struct mz_pipeline *p, const char *name);
void mz_pipeline_free(struct mz_pipeline *p);

/* The detect engine (NULL when the pipeline has none): for its interest
 * set (det_engine_interest), any thread. */
struct det_engine;
struct det_engine *mz_pipeline_engine(struct mz_pipeline *p);

#endif
