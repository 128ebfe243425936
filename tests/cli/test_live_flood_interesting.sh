#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh) of records a recipe could alert on: flooder
# A opens FLOOD_HOME_OPENS distinct files (1,000,000 in the plain build,
# 25,000 under a sanitizer) in a directory under /home, which the built-in
# credential recipes watch (a pattern like /home/*/.aws/credentials makes
# every path under /home interesting to the kernel). While it runs, flooder
# B reads /etc/shadow and opens 20,000 files of its own. Both shadow reads
# are delivered: a path a recipe names exactly keeps the overflow ring's
# last part, which A's flood cannot take (bpf/helpers/interest.h); A, past
# its budget of the ring, has the rest of its records aggregated and is
# named by a record_flood alert; 0 records are lost. Without the tiers,
# 1,000,000 such opens lost 12,452 path records and made 12,417 join
# misses.
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_HOME_OPENS:-$(flood_size 1000000 25000)}
HOMEDIR=$(mktemp -d /home/mizan-flood.XXXXXX)
flood_home_cleanup() { rm -rf "$HOMEDIR"; flood_cleanup; }
trap flood_home_cleanup EXIT
CADENCE=500ms start_daemon
trap flood_home_cleanup EXIT
t0=$(date +%s.%N)
flood 0 open "$N" "$HOMEDIR"
a=$FLOOD_PID
sleep 1
[ "$(nproc)" -ge 2 ] && cpu=1 || cpu=any
flood "$cpu" open 20000 "$SHM"
b=$FLOOD_PID
flood_alert "$a" "$FLOOD_SECONDS"
flood_alert "$b" "$FLOOD_SECONDS"
flood_wait "$a"
flood_wait "$b"
t1=$(date +%s.%N)
flood_report "interesting flood, $N files under /home" "$(awk "BEGIN { print $t1 - $t0 }")" ||
  fail "records lost"
# the flood itself is named (when it outran the budget: it does at the
# plain build's size; a sanitizer's daemon may keep up with 25,000)
if [ "$N" -ge 200000 ]; then
  wait_alert record_flood "a['process']['ppid'] == $a and a['tamper']['kind'] == 'record_flood' and '$HOMEDIR/' in a['tamper']['detail']" 30 ||
    fail "no record_flood alert for flooder $a"
fi
stop_daemon
echo ok
