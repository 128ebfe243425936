#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# systemd's notify protocol without systemd: NOTIFY_SOCKET points at a
# datagram socket this test reads. mizan must send READY=1 once (when
# /readyz turns 200), WATCHDOG=1 about every second while healthy, no
# WATCHDOG=1 once a stage thread died (MIZAN_TEST_KILL_STAGE, so that
# systemd's watchdog restarts it), and STOPPING=1 on SIGTERM. No root
# needed: the collector is off (ready at start).
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

LISTENER=
PID=
trap '[ -z "$PID" ] || kill -TERM $PID 2>/dev/null || true; [ -z "$LISTENER" ] || kill $LISTENER 2>/dev/null || true; wait 2>/dev/null || true; cleanup' EXIT

# listen SOCKET LOG: one line "SECONDS MESSAGE" per datagram (newlines as |)
listen() {
  rm -f "$1" "$2"
  python3 - "$1" "$2" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
t0 = time.monotonic()
s.settimeout(30)
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        try:
            m = s.recv(4096).decode(errors="replace").replace("\n", "|")
        except socket.timeout:
            break
        out.write("%.2f %s\n" % (time.monotonic() - t0, m))
PY
  LISTENER=$!
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.02; done
  fail "notify listener did not start"
}

# 1. healthy: READY=1 once, then a watchdog ping per second; STOPPING=1
listen "$T/notify" "$T/notify.log"
HTTP=true write_config
NOTIFY_SOCKET=$T/notify "$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/err" &
PID=$!
sleep 3.5
port=$(http_port "$T/err") || fail "no endpoint"
[ "$(http_get "$port" /readyz | cut -d' ' -f1)" = 200 ] || fail "/readyz not 200"
kill -TERM $PID; wait $PID || fail "daemon exited $?"
PID=
sleep 0.3
kill $LISTENER 2>/dev/null || true; wait $LISTENER 2>/dev/null || true; LISTENER=
cat "$T/notify.log"
[ "$(grep -c 'READY=1' "$T/notify.log")" -eq 1 ] || fail "READY=1 not sent exactly once"
n=$(grep -c 'WATCHDOG=1' "$T/notify.log" || true)
[ "$n" -ge 2 ] || fail "$n watchdog pings in 3.5 s"
grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1 on SIGTERM"
# READY before the first ping
[ "$(grep -m1 -n 'READY=1' "$T/notify.log" | cut -d: -f1)" -le \
  "$(grep -m1 -n 'WATCHDOG=1' "$T/notify.log" | cut -d: -f1)" ] || fail "WATCHDOG=1 before READY=1"

# 2. a dead stage: the pings stop, the status says why
listen "$T/notify" "$T/notify2.log"
HTTP=true write_config
MIZAN_TEST_KILL_STAGE=detect NOTIFY_SOCKET=$T/notify "$MIZAN" run -c "$T/mizan.yaml" \
  >"$T/out.jsonl" 2>"$T/err" &
PID=$!
sleep 4.5
kill -TERM $PID; wait $PID || true
PID=
sleep 0.3
kill $LISTENER 2>/dev/null || true; wait $LISTENER 2>/dev/null || true; LISTENER=
cat "$T/notify2.log"
grep -q 'STATUS=unhealthy: stage thread exited: detect' "$T/notify2.log" ||
  fail "no unhealthy STATUS"
# the hook fires at the first tick after READY (t < 0.5 s), the next tick
# (about 1 s later) sees the dead thread: at most 2 pings, and none after
python3 - "$T/notify2.log" <<'PY' || fail "watchdog pinged while unhealthy"
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
first = next((float(t) for t, m in lines if "unhealthy" in m), None)
pings = [float(t) for t, m in lines if "WATCHDOG=1" in m]
print("unhealthy at %s s; pings at %s" % (first, pings))
sys.exit(0 if first is not None and first < 3.0 and len(pings) <= 2
         and all(p < first for p in pings) else 1)
PY
echo "ok"
