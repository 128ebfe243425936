#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh): /etc/shadow read, then FLOOD_EXECS
# short-lived execs as fast as one process can: 100,000 (issue 9) in the
# plain build, 20,000 under a sanitizer. Every exec is a record a recipe
# could alert on: none may be lost.
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_EXECS:-$(flood_size 100000 20000)}
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
