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
# on (live tests), at CADENCE (default 500ms).
write_config() {
  cat >"$T/mizan.yaml" <<YAML
log_level: info
status_file: $T/status.json
collector:
  enabled: ${COLLECTOR:-false}
  cadence: ${CADENCE:-500ms}
  pin_dir: ${PIN_DIR:-}
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
