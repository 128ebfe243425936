#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh): /etc/shadow read, then FLOOD_OPENS distinct
# files opened as fast as one process can: 1,000,000 (issue 9) in the plain
# build, 25,000 under a sanitizer. Past the maps and the ring's free half,
# the files no recipe looks at are aggregated (collector.aggregated, not a
# loss); the read before them is delivered, and 0 records are lost.
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_OPENS:-$(flood_size 1000000 25000)}
start_flood_daemon
t0=$(date +%s.%N)
flood any open "$N" "$SHM"
pid=$FLOOD_PID
flood_alert "$pid" "$FLOOD_SECONDS"
flood_wait "$pid"
t1=$(date +%s.%N)
flood_report "open flood, $N files" "$(awk "BEGIN { print $t1 - $t0 }")" || fail "records lost"
stop_daemon
echo ok
