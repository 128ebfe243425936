#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: a stuck queue fails /healthz. The daemon's stdout is a FIFO
# (4 KiB) that nobody reads, so the stdout printer blocks and its queue
# holds alerts without progress; past http.stuck_after (2 s) /healthz says
# `queue printer_stdout stuck`. Then the test reads the FIFO: the queue
# drains, /healthz is OK again, and SIGTERM exits 0 with nothing lost.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

HOLDER=
READER=
trap '[ -z "$READER" ] || kill $READER 2>/dev/null || true; [ -z "$HOLDER" ] || kill $HOLDER 2>/dev/null || true; stop_daemon_quiet; cleanup' EXIT

mkfifo "$T/stdout.fifo"
# holds the FIFO open for reading (so the daemon's open does not block and
# its writes do not fail) and shrinks it to 4 KiB, never reading
python3 - "$T/stdout.fifo" <<'PY' &
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
open(sys.argv[1] + ".held", "w").close()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
time.sleep(120)
PY
HOLDER=$!
for _ in $(seq 100); do [ -e "$T/stdout.fifo.held" ] && break; sleep 0.05; done
[ -e "$T/stdout.fifo.held" ] || fail "FIFO holder did not start"

COLLECTOR=true CADENCE=200ms HTTP=true HTTP_STUCK_AFTER=2s write_config
"$MIZAN" run -c "$T/mizan.yaml" --format json >"$T/stdout.fifo" 2>"$T/daemon.err" &
DAEMON_PID=$!
port=$(http_port "$T/daemon.err") || { cat "$T/daemon.err"; fail "no 'http: listening' line"; }
for _ in $(seq 1 150); do
  [ "$(http_get "$port" /readyz | cut -d' ' -f1)" = 200 ] && break
  sleep 0.1
done
r=$(http_get "$port" /healthz); [ "$r" = "200 ok " ] || fail "/healthz before the workload: $r"

# alerts: /etc/shadow read by 40 copies of cat (each its own executable)
mkdir "$T/bin"
for i in $(seq 1 40); do
  cp /bin/cat "$T/bin/cat$i"
  "$T/bin/cat$i" /etc/shadow >/dev/null
done
stuck=
for _ in $(seq 1 150); do
  r=$(http_get "$port" /healthz)
  case "$r" in "503 unhealthy: queue printer_stdout stuck"*) stuck=$r; break ;; esac
  sleep 0.1
done
[ -n "$stuck" ] || { tail -5 "$T/daemon.err"; fail "/healthz did not report the stuck stdout queue: $r"; }
echo "while stuck: $stuck"
m=$(curl -s -m 5 "http://127.0.0.1:$port/metrics")
grep -qx 'mizan_healthy 0' <<<"$m" || fail "mizan_healthy not 0"
depth=$(awk '$1 == "mizan_queue_depth{queue=\"printer_stdout\"}" {print $2}' <<<"$m")
[ "${depth:-0}" -gt 0 ] || fail "printer_stdout depth ${depth:-?}"

# someone reads: the queue drains and the daemon is healthy again
cat "$T/stdout.fifo" >"$T/out.jsonl" &
READER=$!
ok=
for _ in $(seq 1 100); do
  r=$(http_get "$port" /healthz)
  [ "$r" = "200 ok " ] && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "/healthz not OK again after the reader came: $r"
stop_daemon
kill $HOLDER 2>/dev/null || true; wait $HOLDER 2>/dev/null || true; HOLDER=
wait $READER 2>/dev/null || true; READER=
n=$(grep -c '"credentials_files_access"' "$T/out.jsonl" || true)
echo "printed after the reader came: $n credentials_files_access alerts (queue depth was $depth)"
[ "$n" -ge 1 ] || fail "no alert came through"
echo "ok"
