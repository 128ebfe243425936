#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh): two flooders at once, one on each of the
# first two CPUs: FLOOD_TWO_OPENS distinct opens and FLOOD_TWO_CONNECTS
# connect attempts (100,000 each in the plain build, 15,000 under a
# sanitizer), each after its own /etc/shadow read: both alerts, 0 records
# lost.
source "$(dirname "$0")/flood_lib.sh"
[ "$(nproc)" -ge 2 ] || { echo "SKIP: needs two CPUs"; exit 77; }
start_flood_daemon
t0=$(date +%s.%N)
flood 0 open "${FLOOD_TWO_OPENS:-$(flood_size 100000 15000)}" "$SHM"
a=$FLOOD_PID
flood 1 connect "${FLOOD_TWO_CONNECTS:-$(flood_size 100000 15000)}"
b=$FLOOD_PID
flood_alert "$a" "$FLOOD_SECONDS"
flood_alert "$b" "$FLOOD_SECONDS"
flood_wait "$a"
flood_wait "$b"
t1=$(date +%s.%N)
flood_report "two floods" "$(awk "BEGIN { print $t1 - $t0 }")" || fail "records lost"
stop_daemon
echo ok
