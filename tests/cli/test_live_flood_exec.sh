#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh): /etc/shadow read, then FLOOD_EXECS
# short-lived execs as fast as one process can (default 20,000: 100,000
# takes over 400 s on a loaded 2-CPU machine; FLOOD_EXECS=100000).
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_EXECS:-20000}
prog=/usr/bin/true
[ -x $prog ] || prog=/bin/true
start_flood_daemon
t0=$(date +%s.%N)
flood any exec "$N" "$prog"
pid=$FLOOD_PID
flood_alert "$pid" "$FLOOD_SECONDS"
flood_wait "$pid"
t1=$(date +%s.%N)
flood_report "exec flood, $N execs" "$(awk "BEGIN { print $t1 - $t0 }")" || fail "records lost"
stop_daemon
echo ok
