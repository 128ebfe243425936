#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live flood (see flood_lib.sh) of records a recipe could alert on, while
# the daemon cannot drain anything (it is stopped, as a starved daemon
# would be; maps of 4,096 entries and a 1 MiB ring): flooder A reads
# /etc/shadow and then opens FLOOD_HOME_OPENS distinct files (200,000;
# 25,000 under a sanitizer) in a directory under /home, which the built-in
# credential recipes watch (a pattern like /home/*/.aws/credentials makes
# every path under /home interesting to the kernel). Then flooder B reads
# /etc/shadow, with the maps full and the ring past half. After the daemon
# resumes: both shadow reads are delivered (a path a recipe names exactly
# keeps the overflow ring's last part, which A's flood cannot take:
# bpf/helpers/interest.h); A, past its budget of the ring, has the rest of
# its records aggregated and is named by a record_flood alert; 0 records
# are lost. Run against the daemon before the tiers (1421802~1), B's shadow
# alert never came: its read found the ring full of A's flood.
source "$(dirname "$0")/flood_lib.sh"
N=${FLOOD_HOME_OPENS:-$(flood_size 200000 25000)}
HOMEDIR=$(mktemp -d /home/mizan-flood.XXXXXX)
flood_home_cleanup() {
  [ -n "${DAEMON_PID:-}" ] && kill -CONT "$DAEMON_PID" 2>/dev/null
  rm -rf "$HOMEDIR"
  flood_cleanup
}
trap flood_home_cleanup EXIT
CADENCE=500ms start_daemon "$(printf 'cache:\n  file_links: 4096\n  files: 4096\n  overflow: 1048576')"
trap flood_home_cleanup EXIT
t0=$(date +%s.%N)
kill -STOP "$DAEMON_PID"
flood 0 open "$N" "$HOMEDIR"
a=$FLOOD_PID
flood_wait "$a"
[ "$(nproc)" -ge 2 ] && cpu=1 || cpu=any
flood "$cpu" open 2000 "$SHM"
b=$FLOOD_PID
flood_wait "$b"
kill -CONT "$DAEMON_PID"
flood_alert "$a" "$FLOOD_SECONDS"
flood_alert "$b" "$FLOOD_SECONDS"
t1=$(date +%s.%N)
flood_report "interesting flood, $N files under /home, daemon stopped" \
  "$(awk "BEGIN { print $t1 - $t0 }")" || fail "records lost"
wait_alert record_flood "a['process']['ppid'] == $a and a['tamper']['kind'] == 'record_flood' and '$HOMEDIR/' in a['tamper']['detail']" 30 ||
  fail "no record_flood alert for flooder $a"
python3 - "$T/status.json" <<'PY' || fail "the flood was not aggregated"
import json, sys
c = json.load(open(sys.argv[1]))["collector"]
agg = c["maps"]["links"].get("aggregated", 0)
print("links aggregated:", agg)
sys.exit(0 if agg > 0 else 1)
PY
stop_daemon
echo ok
