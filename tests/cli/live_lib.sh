#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for live tests: they need root and a BTF kernel, and skip (exit 77)
# with a clear line otherwise. start_daemon runs build/mizan with the
# collector on a short cadence, printing JSON alerts to $T/out.jsonl.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_live() {
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root to load eBPF programs"; exit 77; fi
  if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIP: no BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
}

DAEMON_PID=
start_daemon() { # [extra yaml]
  COLLECTOR=true CADENCE=${CADENCE:-200ms} write_config "$@"
  "$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/daemon.err" &
  DAEMON_PID=$!
  trap 'stop_daemon_quiet; cleanup' EXIT
  for _ in $(seq 1 100); do
    if [ -s "$T/status.json" ] && grep -q '"scans"' "$T/status.json" &&
       ! grep -q '"scans": 0' "$T/status.json"; then
      return 0
    fi
    kill -0 $DAEMON_PID 2>/dev/null || { cat "$T/daemon.err"; fail "daemon died at start"; }
    sleep 0.1
  done
  cat "$T/daemon.err"; fail "daemon did not scan within 10 s"
}

# for EXIT traps: never fails (set -e applies inside traps too)
stop_daemon_quiet() {
  if [ -n "$DAEMON_PID" ]; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  DAEMON_PID=
  return 0
}

# stop_daemon: SIGTERM, expect exit 0
stop_daemon() {
  kill -TERM "$DAEMON_PID"
  set +e; wait "$DAEMON_PID"; local rc=$?; set -e
  DAEMON_PID=
  [ "$rc" -eq 0 ] || { tail -20 "$T/daemon.err"; fail "daemon exited $rc after SIGTERM"; }
}

# wait_alert RECIPE PYTHON-EXPR [SECONDS]: waits for an alert of RECIPE on
# stdout for which EXPR (over `a`, the alert) is true.
wait_alert() {
  local recipe=$1 expr=$2 secs=${3:-10}
  python3 - "$T/out.jsonl" "$recipe" "$expr" "$secs" <<'PY'
import json, sys, time
path, recipe, expr, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
deadline = time.time() + secs
while True:
    with open(path) as f:
        for line in f:
            try:
                a = json.loads(line)
            except ValueError:
                continue
            if a.get("recipe", {}).get("id") == recipe and eval(expr, {"a": a}):
                print("found %s: %s" % (recipe, json.dumps(a.get("file") or a.get("flow"))))
                sys.exit(0)
    if time.time() > deadline:
        print("no %s alert matching %s within %.0fs" % (recipe, expr, secs), file=sys.stderr)
        sys.exit(1)
    time.sleep(0.2)
PY
}
