#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP endpoint without the collector (no root needed): /healthz is OK
# while the stage threads run, and fails once the test-only hook
# MIZAN_TEST_KILL_STAGE stops the detect thread on purpose; /metrics shows
# mizan_healthy 0 and status.json says why. Unknown paths are 404, other
# methods 405. With http.enabled false no port is bound.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

PID=
trap '[ -z "$PID" ] || kill -TERM $PID 2>/dev/null || true; wait 2>/dev/null || true; cleanup' EXIT

# 1. a healthy daemon: 200 on both probes (no collector: ready at start)
HTTP=true write_config
"$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/err" &
PID=$!
port=$(http_port "$T/err") || { cat "$T/err"; fail "no 'http: listening' line"; }
ok=
for _ in $(seq 1 100); do
  r=$(http_get "$port" /readyz)
  [ "${r%% *}" = 200 ] && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "/readyz never 200 without a collector: $r"
r=$(http_get "$port" /healthz); [ "$r" = "200 ok " ] || fail "/healthz: $r"
r=$(http_get "$port" /nothing); [ "${r%% *}" = 404 ] || fail "/nothing: $r"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST --data x "http://127.0.0.1:$port/metrics")
[ "$code" = 405 ] || fail "POST /metrics: $code"
m=$(curl -s -m 5 "http://127.0.0.1:$port/metrics")
grep -qx 'mizan_healthy 1' <<<"$m" || fail "mizan_healthy 1"
kill -TERM $PID; wait $PID || fail "healthy daemon exited $?"
PID=

# 2. the detect thread stopped on purpose: /healthz fails with the reason
HTTP=true write_config
MIZAN_TEST_KILL_STAGE=detect "$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/err" &
PID=$!
port=$(http_port "$T/err") || { cat "$T/err"; fail "no 'http: listening' line"; }
bad=
for _ in $(seq 1 100); do
  r=$(http_get "$port" /healthz)
  [ "${r%% *}" = 503 ] && { bad=$r; break; }
  sleep 0.1
done
[ -n "$bad" ] || fail "/healthz still OK 10 s after the detect thread was stopped: $r"
echo "$bad" | grep -q 'unhealthy: stage thread exited: detect' || fail "/healthz body: $bad"
grep -q 'MIZAN_TEST_KILL_STAGE: stage detect stopped' "$T/err" || fail "hook not logged"
m=$(curl -s -m 5 "http://127.0.0.1:$port/metrics")
grep -qx 'mizan_healthy 0' <<<"$m" || fail "mizan_healthy 0"
python3 - "$T/status.json" <<'PY' || fail "status.json health"
import json, sys, time
for _ in range(30):
    s = json.load(open(sys.argv[1]))
    if s.get("healthy") is False:
        assert s["stages_exited"] == "detect", s["stages_exited"]
        assert "detect" in s["unhealthy_why"]
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
kill -TERM $PID; wait $PID || true
PID=

# 3. http.enabled false: no listening line, no socket
write_config
rm -f "$T/status.json"
"$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/err" &
PID=$!
for _ in $(seq 1 50); do [ -s "$T/status.json" ] && break; sleep 0.1; done
[ -s "$T/status.json" ] || fail "daemon did not start"
! grep -q 'http: listening' "$T/err" || fail "http.enabled false still listens"
! grep -q '"http"' "$T/status.json" 2>/dev/null || fail "status.json names an endpoint"
kill -TERM $PID; wait $PID || fail "daemon without http exited $?"
PID=
echo "ok"
