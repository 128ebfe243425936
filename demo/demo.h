/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demo.h - `mizan demo`: a newcomer's first minute. As root, it starts the
 * daemon (this very binary, `run`) on a configuration of its own in a temp
 * directory, with the attenuator in block mode asking the built-in fixture
 * model server (demo/fixture_server.h) on 127.0.0.1, runs three harmless
 * but suspicious actions, and prints what became of each: an alert with
 * the model's verdict, the same alert again answered from the verdict
 * cache, and one the model calls a false positive, withheld and kept in the
 * audit log (its path and line), with the counter that counted it from
 * /metrics (or from the status file when the endpoint does not answer).
 * Then it stops the daemon and removes the temp directory, also on Ctrl-C.
 * No pins are made (collector.pin_dir is empty); /etc/mizan and
 * /var/log/mizan are not touched.
 */
#ifndef MIZAN_DEMO_DEMO_H
#define MIZAN_DEMO_DEMO_H

#include <stdbool.h>

/* self: the path of the mizan binary to run as the daemon. keep: leave the
 * temp directory in place (for a look afterwards). Returns the exit status:
 * 0 every step was seen, 1 some step was not seen in time, 3 the daemon or
 * the fixture could not start (or not root). */
int mz_demo(const char *self, bool keep);

#endif
