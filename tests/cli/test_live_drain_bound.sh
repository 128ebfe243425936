#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: SIGTERM during a stall still exits within drain_timeout.
# The daemon prints observations to a pipe that is held open but never read:
# once the pipe is full the detect thread blocks in its write, q1 fills, and
# the collector's last scan waits for room. The drain can never finish; the
# shutdown bound must end the daemon at drain_timeout (2 s here), exit 1 and
# log what was left.
source "$(dirname "$0")/live_lib.sh"
require_live
COLLECTOR=true CADENCE=100ms write_config "queues:
  observations: 64
  drain_timeout: 2s"
mkfifo "$T/out"
exec 3<>"$T/out" # a reader that never reads
"$MIZAN" run -c "$T/mizan.yaml" --observations >"$T/out" 2>"$T/daemon.err" &
DAEMON_PID=$!
trap 'kill -KILL $DAEMON_PID 2>/dev/null || true; exec 3>&-; cleanup' EXIT

# make observations until the pipe and q1 are full (the status says so)
full() {
  python3 - "$T/status.json" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
q = s.get("pipeline", {}).get("q1", {})
sys.exit(0 if q.get("full_events", 0) > 0 else 1)
PY
}
for i in $(seq 1 300); do
  for j in $(seq 1 20); do cat /etc/hostname >/dev/null; done
  full && break
  kill -0 $DAEMON_PID 2>/dev/null || { cat "$T/daemon.err"; fail "daemon died"; }
  sleep 0.05
done
full || { cat "$T/status.json"; fail "q1 never filled: no stall to test"; }

t0=$(date +%s%N)
kill -TERM $DAEMON_PID
for _ in $(seq 1 150); do kill -0 $DAEMON_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $DAEMON_PID 2>/dev/null && fail "SIGTERM during a stall: still running after 15 s (drain_timeout 2 s)"
set +e; wait $DAEMON_PID; rc=$?; set -e
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "exited $rc after ${ms} ms"
[ "$rc" -eq 1 ] || { tail -5 "$T/daemon.err"; fail "expected exit 1 (drain cut short), got $rc"; }
[ "$ms" -lt 8000 ] || fail "took ${ms} ms with drain_timeout 2 s"
grep -q "drain_timeout (2000 ms) passed with work left" "$T/daemon.err" ||
  { tail -5 "$T/daemon.err"; fail "no log of what was left"; }
grep -q '"q1":{"size":' "$T/daemon.err" || fail "the log does not say what q1 held"
grep -q "still running: 1: collector" "$T/daemon.err" || fail "the log does not name the stuck collector"
echo ok
