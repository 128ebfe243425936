#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Floods against the running daemon with the default config (caches, the
# 500ms cadence), as root: a flooder reads /etc/shadow, then does N unique
# actions as fast as it can. The credentials_files_access alert of that read
# must be delivered with the path and the flooder's exe and args, and the
# collector must lose 0 records (every map, every reason), once it has
# caught up. Each flood is bounded in time (FLOOD_SECONDS).
source "$(dirname "${BASH_SOURCE[0]}")/live_lib.sh"
require_live
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
TOOL=${MIZAN_BUILD_DIR:?}/tests/col_work
[ -x "$TOOL" ] || fail "no workload tool at $TOOL"
FLOOD_SECONDS=${FLOOD_SECONDS:-400}

# flood_size FULL SMALL: the issue's size in the plain build; SMALL under a
# sanitizer, whose daemon runs several times slower (the sanitizer run is
# for memory and UB errors, the plain run for throughput). FLOOD_* set by
# the caller win over both.
flood_size() {
  if grep -qE '^MIZAN_SANITIZE:[A-Z]*=.+' "$MIZAN_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    echo "$2"
  else
    echo "$1"
  fi
}
# the files of the open flood: tmpfs, removed with $T
SHM=$(mktemp -d /dev/shm/mizan-flood.XXXXXX)
flood_cleanup() { rm -rf "$SHM"; stop_daemon_quiet; cleanup; }

start_flood_daemon() {
  CADENCE=500ms start_daemon
  trap flood_cleanup EXIT
}

# flood CPU ARGS...: starts the flooder on CPU (or "any"); sets FLOOD_PID.
flood() {
  local cpu=$1
  shift
  if [ "$cpu" = any ]; then
    timeout "$FLOOD_SECONDS" "$TOOL" flood "$@" &
  else
    timeout "$FLOOD_SECONDS" taskset -c "$cpu" "$TOOL" flood "$@" &
  fi
  FLOOD_PID=$!
}

# flood_wait PID: the flooder finished in time.
flood_wait() {
  set +e; wait "$1"; local rc=$?; set -e
  [ "$rc" -eq 0 ] || fail "flooder $1 exited $rc (124: not done within ${FLOOD_SECONDS}s)"
}

# The shadow alert of flooder PID (timeout runs it as a child: its pid is
# the flooder's parent), with the path, exe and args.
flood_alert() {
  wait_alert credentials_files_access \
    "a['file']['path'] == '/etc/shadow' and a['process']['ppid'] == $1 and (a['process']['exe'] or '').endswith('/col_work') and ' flood ' in ' ' + (a['process']['args'] or '') + ' '" \
    "${2:-120}" || fail "no shadow alert for flooder $1 with its exe and args"
}

# flood_report LABEL SECONDS: waits until the collector caught up (nothing
# pending, the ring drained, two scans more), prints the per-map counts and
# fails on any loss.
flood_report() {
  python3 - "$T/status.json" "$1" "$2" <<'PY'
import json, sys, time
path, label, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
def load():
    for _ in range(50):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            time.sleep(0.1)
    sys.exit("no status at " + path)
deadline = time.time() + 120
s = load()
scans0 = s["collector"]["scans"]
while True:
    s = load()
    c = s["collector"]
    if c["pending"] == 0 and c["scans"] >= scans0 + 3:
        break
    if time.time() > deadline:
        print(json.dumps(c, indent=1), file=sys.stderr)
        sys.exit("%s: the collector did not catch up within 120 s (pending %d, %d scans since)" %
                 (label, c["pending"], c["scans"] - scans0))
    time.sleep(0.5)
c = s["collector"]
print("%s: %.1f s, %d scans (%d early), %d emitted" % (label, secs, c["scans"], c["early_scans"], c["emitted"]))
for name in ("tasks", "execs", "links", "flows", "files", "args", "args_long"):
    m = c["maps"][name]
    l = m["lost"]
    print("  %-10s created %8d delivered %8d overflowed %7d aggregated %7d lost full %d read %d join %d  fill now %.2f" %
          (name, m["created"], m["delivered"], m["overflowed"], m.get("aggregated", 0), l["full"], l["read_error"], l["join_miss"], m["fill"]))
# What a flood can cost: records no map nor ring could take, and records
# delivered without what they join through. A command line the kernel could
# not read (lost.read_error on args: another process's argv page not
# present) is counted in the status like every loss, but a flood does not
# cause it, and the machine's other processes do it at random: reported,
# not failed on.
lost = sum(m["lost"]["full"] + m["lost"]["join_miss"] for m in c["maps"].values())
lost += sum(m["lost"]["read_error"] for n, m in c["maps"].items() if n != "args")
unread = c["maps"]["args"]["lost"]["read_error"] if "args" in c["maps"] else 0
if unread:
    print("  (%d command lines of other processes unreadable by the kernel: lost.read_error on args)" % unread)
if lost != 0:
    sys.exit("%s: %d records lost" % (label, lost))
PY
}
