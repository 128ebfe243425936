#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: kill -9 in the middle of a flood of distinct alerting
# actions, twice. One process opens N files of its own directory, each once,
# paced over a few seconds; a test recipe (no rate limit) alerts on each
# open. The daemon is killed while alerts are being printed and started
# again, twice: varlog must hold exactly one alert per file, none twice and
# none missing. Pins in a directory of this test's own.
source "$(dirname "$0")/pin_lib.sh"
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

start_daemon "detect:
  dirs: [$T/recipes]
  global_max_per_minute: 0"
# the flooder: each file once, N over about 4 s
python3 - "$T/flood" "$N" "$T/flood.pid" <<'PY' &
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
open(sys.argv[3], "w").write(str(os.getpid()))
t0 = time.time()
for i in range(n):
    open(os.path.join(d, "f%05d" % i)).close()
    ahead = t0 + 4.0 * (i + 1) / n - time.time()
    if ahead > 0:
        time.sleep(ahead)
PY
flooder=$!
kills=0
for round in 1 2; do
  # kill once some of the flood is printed
  for _ in $(seq 1 100); do
    n=$(grep -c pin_flood_open "$T/log/alerts.log" 2>/dev/null || true)
    [ "${n:-0}" -gt $((round * N / 5)) ] && break
    sleep 0.05
  done
  kill_daemon
  kills=$((kills + 1))
  sleep 0.3
  restart_daemon
  wait_scans 1 || fail "restarted daemon does not scan"
done
wait "$flooder" || fail "flooder failed"
flood_pid=$(cat "$T/flood.pid")
for _ in $(seq 1 200); do
  n=$(grep -c pin_flood_open "$T/log/alerts.log" || true)
  [ "${n:-0}" -ge "$N" ] && break
  sleep 0.1
done
wait_scans 5 || fail "daemon does not scan" # room for late duplicates
stop_daemon
python3 - "$T/log/alerts.log" "$T/flood" "$N" "$flood_pid" <<'PY' || fail "the flood is not in varlog exactly once"
import collections, json, sys
log, d, n, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
paths = collections.Counter()
ids = collections.Counter()
for line in open(log):
    a = json.loads(line)
    ids[a["id"]] += 1
    if a["recipe"]["id"] == "pin_flood_open" and a["process"]["pid"] == pid:
        paths[a["file"]["path"]] += 1
want = {"%s/f%05d" % (d, i) for i in range(n)}
missing = want - set(paths)
twice = [p for p, c in paths.items() if c > 1]
dup_ids = [i for i, c in ids.items() if c > 1]
print("flood: %d files, %d alerted, %d missing, %d twice, %d ids twice"
      % (n, len(paths), len(missing), len(twice), len(dup_ids)))
sys.exit(1 if missing or twice or dup_ids or set(paths) - want else 0)
PY
grep -c "cursor: resuming from generation" "$T/daemon.err" | grep -qx "$kills" ||
  fail "not every restart resumed from a cursor"
echo "ok: $N distinct alerts through $kills kill -9, each exactly once"
