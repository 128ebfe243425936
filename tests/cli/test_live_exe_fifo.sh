#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: a program that puts a FIFO at its own exe path, reads
# /etc/shadow and exits. The collector meets the FIFO when it enriches that
# process (it has exited: the recorded path is all there is); it must neither
# block on it (a plain open waits for a writer for ever: scans stop and
# SIGTERM no longer exits) nor hash it. Checks: the alert comes, with
# exe_sha256 null and a reason; the collector goes on scanning and alerting;
# SIGTERM exits 0 within a few seconds.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
start_daemon "detect:
  global_max_per_minute: 0"
D=$(mktemp -d /dev/shm/mizan-fifo.XXXXXX)
trap 'rm -rf "$D"; stop_daemon_quiet; cleanup' EXIT

scans() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scans"])' "$T/status.json"; }

cp /bin/bash "$D/sh"
# $0 is the copy's own path: unlink it, put a FIFO there, read /etc/shadow
"$D/sh" -c 'rm -f "$0"; mkfifo "$0"; read -r _ </etc/shadow || true' "$D/sh"
[ -p "$D/sh" ] || fail "no FIFO at the exe path"
wait_alert credentials_files_access \
  "a['process']['exe'] == '$D/sh' and (a['process'].get('exe_sha256') or a['process'].get('exe_sha256_why') in ('not_regular', 'pending'))" 15 \
  || { tail -5 "$T/daemon.err"; fail "no alert for the process whose exe path is a FIFO"; }
python3 - "$T/out.jsonl" "$D/sh" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    p = a.get("process", {})
    if p.get("exe") == sys.argv[2]:
        print("exe_sha256=%s why=%s trusted=%s (%s)" % (p.get("exe_sha256"), p.get("exe_sha256_why"),
              p.get("exe_trusted"), p.get("exe_trust_why")))
        assert p.get("exe_trusted") is False, "a FIFO copy is not a trusted system binary"
        break
PY

# the collector is not frozen: scans go on, and a later read alerts
s0=$(scans)
for _ in $(seq 1 50); do [ "$(scans)" -ge $((s0 + 5)) ] && break; sleep 0.2; done
[ "$(scans)" -ge $((s0 + 5)) ] || fail "scans stopped at $(scans) after the FIFO (was $s0)"
cp /bin/cat "$D/cat2"
"$D/cat2" /etc/shadow >/dev/null
wait_alert credentials_files_access "a['process']['exe'] == '$D/cat2'" 10 \
  || fail "no alert after the FIFO: the collector is stuck"

# SIGTERM exits 0, in time
kill -TERM "$DAEMON_PID"
for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
  kill -KILL "$DAEMON_PID"; fail "SIGTERM did not end the daemon within 10 s"
fi
set +e; wait "$DAEMON_PID"; rc=$?; set -e
DAEMON_PID=
[ "$rc" -eq 0 ] || { tail -20 "$T/daemon.err"; fail "daemon exited $rc after SIGTERM"; }
echo ok
