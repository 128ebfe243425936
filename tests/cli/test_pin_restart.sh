#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: the kernel side keeps recording while the daemon is down.
# Start the daemon (pins in a directory of this test's own), kill -9 it; while
# it is down, read /etc/shadow and do ten other actions the built-in recipes
# alert on; start it again: each alert is in varlog exactly once, and the
# restarted daemon's own loading (bpf() by a pid the old programs do not
# know) raised none. Then SIGTERM keeps the pins, `run --fresh` replaces
# them, and `mizan uninstall` removes them.
source "$(dirname "$0")/pin_lib.sh"
require_live
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
command -v perl >/dev/null || { echo "SKIP: perl missing"; exit 77; }
trap 'pin_cleanup' EXIT

pin_start_daemon
[ -e "$PIN_DIR/maps/pin_meta" ] || fail "no pin_meta pinned in $PIN_DIR"
[ -n "$(ls "$PIN_DIR/links")" ] || fail "no link pinned in $PIN_DIR/links"
wait_scans 3 || fail "daemon does not scan"
sleep 1.2 # a cursor written
first=$DAEMON_PID
kill_daemon
[ -n "$(ls "$PIN_DIR/links")" ] || fail "the links went with the daemon"

pin_actions # while no daemon runs

restart_daemon
second=$DAEMON_PID
grep -q "pin: adopted the maps pinned in $PIN_DIR" "$T/daemon.err" 2>/dev/null ||
  sleep 1
for _ in $(seq 1 150); do
  check_once "$T/log/alerts.log" >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || { tail "$T/daemon.err"; fail "restarted daemon died"; }
  sleep 0.1
done
wait_scans 5 || fail "restarted daemon does not scan" # room for a duplicate to show
grep -q "pin: adopted the maps pinned in $PIN_DIR" "$T/daemon.err" || fail "pins not adopted"
stop_daemon
check_once "$T/log/alerts.log" || fail "an action done while the daemon was down is not in varlog exactly once"
python3 - "$T/log/alerts.log" "$second" <<'PY' || fail "the restarted daemon alerted on itself"
import json, sys
own = [a for a in map(json.loads, open(sys.argv[1])) if a["process"]["pid"] == int(sys.argv[2])]
for a in own:
    print(a["recipe"]["id"], a.get("tamper"), file=sys.stderr)
sys.exit(1 if own else 0)
PY
python3 - "$T/log/alerts.log" <<'PY' || fail "an alert id is in varlog twice"
import json, sys, collections
c = collections.Counter(json.loads(l)["id"] for l in open(sys.argv[1]))
d = [k for k, v in c.items() if v > 1]
print("duplicate ids:", d[:5], file=sys.stderr) if d else None
sys.exit(1 if d else 0)
PY
echo "ok: 11 actions done while down, each once after the restart (pids $first -> $second)"

# SIGTERM kept the pins; --fresh replaces them; uninstall removes them
[ -n "$(ls "$PIN_DIR/links")" ] || fail "SIGTERM removed the pins"
"$MIZAN" run -c "$T/mizan.yaml" --fresh >/dev/null 2>"$T/fresh.err" &
DAEMON_PID=$!
for _ in $(seq 1 100); do grep -q "mizan running" "$T/fresh.err" && break; sleep 0.1; done
grep -q "removed [0-9]* pins from $PIN_DIR" "$T/fresh.err" || { cat "$T/fresh.err"; fail "--fresh did not replace the pins"; }
grep -q "adopted" "$T/fresh.err" && fail "--fresh adopted the old pins"
"$MIZAN" uninstall -c "$T/mizan.yaml" >"$T/un.out" 2>&1 && fail "uninstall while a daemon runs succeeded"
stop_daemon
"$MIZAN" uninstall -c "$T/mizan.yaml" >"$T/un.out" 2>&1 || { cat "$T/un.out"; fail "uninstall failed"; }
[ ! -e "$PIN_DIR" ] || fail "uninstall left $PIN_DIR"
[ ! -e "$T/cursor.json" ] || fail "uninstall left the cursor"
echo "ok: SIGTERM keeps the pins, --fresh replaces them, uninstall removes them"
