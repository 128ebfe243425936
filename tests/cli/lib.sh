#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the CLI tests: a temp dir with a config whose varlog,
# audit log, cache and status file live inside it.
set -euo pipefail
MIZAN=${MIZAN:?path to build/mizan}
SRC=${MIZAN_SOURCE_DIR:?}
T=$(mktemp -d /tmp/mizan-test.XXXXXX)
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$T"; return 0; }
trap cleanup EXIT

# write_config [extra yaml appended]; COLLECTOR=true turns the eBPF collector
# on (live tests), at CADENCE (default 500ms). The HTTP endpoint is off
# unless HTTP=true (then on HTTP_LISTEN, default any free loopback port:
# http_port reads which from the daemon's log; HTTP_STUCK_AFTER, default 60s).
write_config() {
  cat >"$T/mizan.yaml" <<YAML
log_level: info
status_file: $T/status.json
collector:
  enabled: ${COLLECTOR:-false}
  cadence: ${CADENCE:-500ms}
  pin_dir: ${PIN_DIR:-}
http:
  enabled: ${HTTP:-false}
  listen: ${HTTP_LISTEN:-127.0.0.1:0}
  stuck_after: ${HTTP_STUCK_AFTER:-60s}
attenuator:
  enabled: false
  cache:
    path: $T/verdicts.db
printers:
  stdout:
    format: json
  varlog:
    path: $T/log/alerts.log
    fsync: ${VARLOG_FSYNC:-never}
YAML
  if [ $# -gt 0 ]; then printf '%s\n' "$1" >>"$T/mizan.yaml"; fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# http_port LOGFILE [SECONDS]: the port the daemon's endpoint bound, from its
# "http: listening on ... (port N)" log line; fails after SECONDS (10).
http_port() {
  local log=$1 secs=${2:-10} p
  for _ in $(seq 1 $((secs * 50))); do
    p=$(sed -n 's/.*http: listening on .* (port \([0-9]*\)).*/\1/p' "$log" | head -1)
    if [ -n "$p" ]; then echo "$p"; return 0; fi
    sleep 0.02
  done
  return 1
}

# http_get PORT PATH: prints "CODE BODY" (body on one line)
http_get() {
  curl -s -m 5 -o "$T/.http_body" -w '%{http_code}' "http://127.0.0.1:$1$2" || true
  printf ' '
  tr '\n' ' ' <"$T/.http_body" 2>/dev/null || true
  echo
}

# count_json_lines FILE: number of lines, failing if any is not a JSON object
count_json_lines() {
  python3 - "$1" <<'PY'
import json, sys
n = 0
with open(sys.argv[1], "rb") as f:
    data = f.read()
if data and not data.endswith(b"\n"):
    print("torn last line", file=sys.stderr); sys.exit(1)
for i, line in enumerate(data.splitlines(), 1):
    try:
        o = json.loads(line)
    except Exception as e:
        print("line %d is not JSON: %s" % (i, e), file=sys.stderr); sys.exit(1)
    if not isinstance(o, dict):
        print("line %d is not an object" % i, file=sys.stderr); sys.exit(1)
    n += 1
print(n)
PY
}
