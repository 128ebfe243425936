/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - the long-running and batch modes behind the CLI. Each returns
 * the process exit status: 0 success, 1 completed with problems (e.g.
 * skipped replay lines), 2 bad usage or configuration, 3 a runtime failure.
 */
#ifndef MIZAN_DAEMON_DAEMON_H
#define MIZAN_DAEMON_DAEMON_H

#include <stdbool.h>

#include "config/config.h"

/* Loads BPF, scans at the cadence, runs the pipeline until SIGTERM/SIGINT,
 * then drains every queue and flushes every printer. SIGHUP reloads recipes
 * and the log level. observations: print observations, detect nothing. */
int mz_run(struct mz_config *cfg, const char *cfg_path, bool observations);

/* Feeds a JSONL file ("-": stdin) of detection and observation lines through
 * the same detect -> attenuate -> print path as live ones. */
/* model_wait_ms: how long the end of input waits for queued model calls. */
#define MZ_REPLAY_MODEL_WAIT_MS (3600ull * 1000)
int mz_replay(struct mz_config *cfg, const char *path, uint64_t model_wait_ms);

/* Prints a running daemon's status file. */
int mz_status(const struct mz_config *cfg, bool raw);

/* Removes the pins in collector.pin_dir (the programs detach) and the
 * delivery cursor. 3 while a daemon runs on that pin_dir. */
int mz_uninstall(const struct mz_config *cfg);

#endif
