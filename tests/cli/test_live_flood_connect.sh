#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh): /etc/shadow read, then FLOOD_CONNECTS
# (default 100,000) TCP connect attempts on 127.0.0.1, each a new socket.
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_CONNECTS:-$(flood_size 100000 25000)}
start_flood_daemon
t0=$(date +%s.%N)
flood any connect "$N"
pid=$FLOOD_PID
flood_alert "$pid" "$FLOOD_SECONDS"
flood_wait "$pid"
t1=$(date +%s.%N)
flood_report "connect flood, $N attempts" "$(awk "BEGIN { print $t1 - $t0 }")" || fail "records lost"
stop_daemon
echo ok
