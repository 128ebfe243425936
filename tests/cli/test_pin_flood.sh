#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: kill -9 in the middle of a flood of distinct alerting
# actions, twice. Twice a process opens N/2 files of the test's directory,
# each once, in one burst; a test recipe (no rate limit) alerts on each open.
# The daemon is killed as soon as the first alert of a burst is in varlog
# (the rest read, not yet printed) and started again: varlog must hold
# exactly one alert per file, none twice and none missing. Pins in a
# directory of this test's own. varlog fsyncs every line, so that printing
# a burst takes long enough to be cut.
source "$(dirname "$0")/pin_lib.sh"
[ -n "${KEEP:-}" ] && echo "T=$T"
require_live
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
trap 'pin_cleanup' EXIT
N=${PIN_FLOOD_FILES:-3000}

mkdir -p "$T/recipes" "$T/flood"
cat >"$T/recipes/flood.yaml" <<YAML
- kind: pin_flood_open
  name: pin_flood_open
  enabled: true
  version: 1.0
  description: a file of the pin flood test opened
  breed: file_access
  mechanism: file_access
  tactic: discovery
  technique: file_and_directory_discovery
  subtechnique: none
  importance: low
  times: []
  arbitrary: []
  file_actions:
    - open
  file_actions_how: any
  bases:
    - dir: $T/flood
YAML
"$MIZAN" recipes check "$T/recipes/flood.yaml" >/dev/null || fail "test recipe rejected"
python3 - "$T/flood" "$N" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    open(os.path.join(sys.argv[1], "f%05d" % i), "w").close()
PY

# Caches: by default room for what other processes on a shared host make
# meanwhile, so that this test's records stay in their maps. PIN_FLOOD_RING=1
# (test_pin_flood_ring.sh): maps of 256, so that most of the flood's records
# go through the overflow ring and live in the daemon's memory until
# printed: the ring's journal (collector/col_journal.h) must bring back what
# the kill cut.
if [ -n "${PIN_FLOOD_RING:-}" ]; then
  caches="cache:
  files: 256
  file_links: 256"
else
  caches="cache:
  files: 1048576
  file_links: 1048576"
fi
VARLOG_FSYNC=always pin_start_daemon "detect:
  dirs: [$T/recipes]
  global_max_per_minute: 0
$caches"
# Each round a burst: one process opens its share of the files at once, so
# that one scan reads them all; the daemon is killed as soon as the first
# of their alerts is in varlog, while the rest are read but not printed.
kills=0
: >"$T/flood.pids"
per=$((N / 2))
for round in 0 1; do
  python3 - "$T/flood" $((round * per)) $(((round + 1) * per)) "$T/flood.pids" <<'PY'
import os, sys
d, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
open(sys.argv[4], "a").write("%d\n" % os.getpid())
for i in range(a, b):
    open(os.path.join(d, "f%05d" % i)).close()
PY
  python3 - "$T/log/alerts.log" "$T/flood/f" $((round * per)) "$DAEMON_PID" <<'PY' || fail "no flood alert within 20 s"
import os, signal, sys, time
log, prefix, before, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
deadline = time.time() + 20
while time.time() < deadline:
    try:
        n = open(log).read().count(prefix)
    except OSError:
        n = 0
    if n > before:  # the first alert of this round's burst is out: kill now
        os.kill(pid, signal.SIGKILL)
        print("round: killed with %d flood alerts in varlog" % n)
        sys.exit(0)
    time.sleep(0.001)
sys.exit(1)
PY
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
  kills=$((kills + 1))
  restart_daemon
  wait_scans 1 || fail "restarted daemon does not scan"
done
for _ in $(seq 1 200); do
  n=$(grep -c pin_flood_open "$T/log/alerts.log" || true)
  [ "${n:-0}" -ge "$N" ] && break
  sleep 0.1
done
wait_scans 5 || fail "daemon does not scan" # room for late duplicates
stop_daemon
if ! python3 - "$T/log/alerts.log" "$T/flood" "$N" "$T/flood.pids" <<'PY'
import collections, json, sys
log, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pids = {int(l) for l in open(sys.argv[4]) if l.strip()}
paths = collections.Counter()
ids = collections.Counter()
for line in open(log):
    a = json.loads(line)
    ids[a["id"]] += 1
    if a["recipe"]["id"] == "pin_flood_open" and a["process"]["pid"] in pids:
        paths[a["file"]["path"]] += 1
want = {"%s/f%05d" % (d, i) for i in range(n)}
missing = want - set(paths)
twice = [p for p, c in paths.items() if c > 1]
dup_ids = [i for i, c in ids.items() if c > 1]
print("flood: %d files, %d alerted, %d missing, %d twice, %d ids twice"
      % (n, len(paths), len(missing), len(twice), len(dup_ids)))
sys.exit(1 if missing or twice or dup_ids or set(paths) - want else 0)
PY
then
  # missing ones with a full links map: the LRU evicted records already
  # delivered but not yet printed (other processes fill the same maps)
  python3 -c 'import json,sys; print("links:", json.load(open(sys.argv[1]))["collector"]["maps"]["links"])' "$T/status.json" >&2 || true
  fail "the flood is not in varlog exactly once"
fi
grep -c "cursor: resuming from generation" "$T/daemon.err" | grep -qx "$kills" ||
  fail "not every restart resumed from a cursor"
if [ -n "${PIN_FLOOD_RING:-}" ]; then
  grep -q "ring journal: [0-9]* records the last daemon drained" "$T/daemon.err" ||
    fail "no restart delivered records from the ring's journal"
  grep "ring journal: [0-9]* records" "$T/daemon.err" | sed 's/.*ring journal/ring journal/'
fi
echo "ok: $N distinct alerts through $kills kill -9, each exactly once"
