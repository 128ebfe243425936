#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: the attenuator's figures on /metrics move with a real
# alert. The daemon runs in block mode against the fixture model (every
# answer false_positive 0.95); the test runs `grep -i vmware /dev/null`
# (vm_sandbox_detection_exec, importance medium), which block mode withholds
# to audit.log. /metrics must then count it: mizan_attenuator_withheld_total,
# mizan_attenuator_verdicts_total{verdict="false_positive"},
# mizan_attenuator_filter_total{filter="mode",outcome="withheld"}, a model
# call, and the latency histogram.
source "$(dirname "$0")/live_lib.sh"
require_live
FX="${MIZAN_BUILD_DIR:?}/tests/fixture_model"
[ -x "$FX" ] || { echo "SKIP: $FX not built"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

FX_PID=
trap '[ -z "$FX_PID" ] || kill $FX_PID 2>/dev/null || true; stop_daemon_quiet; cleanup' EXIT
"$FX" --port 0 --port-file "$T/fxport" >"$T/fx.out" 2>"$T/fx.err" &
FX_PID=$!
for _ in $(seq 200); do [ -s "$T/fxport" ] && break; sleep 0.05; done
[ -s "$T/fxport" ] || { cat "$T/fx.err"; fail "fixture_model did not start"; }

cat >"$T/mizan.yaml" <<YAML
log_level: info
status_file: $T/status.json
collector:
  enabled: true
  cadence: 200ms
  pin_dir:
http:
  enabled: true
  listen: 127.0.0.1:0
attenuator:
  enabled: true
  mode: block
  url: http://127.0.0.1:$(cat "$T/fxport")/v1
  model: fixture-model
  timeout: 5s
  breaker_failures: 1000
  cache:
    path: $T/verdicts.db
printers:
  stdout:
    format: json
  varlog:
    path: $T/log/alerts.log
    fsync: never
YAML
"$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/daemon.err" &
DAEMON_PID=$!
port=$(http_port "$T/daemon.err") || { cat "$T/daemon.err"; fail "no 'http: listening' line"; }
for _ in $(seq 1 150); do
  [ "$(http_get "$port" /readyz | cut -d' ' -f1)" = 200 ] && break
  sleep 0.1
done

grep -i vmware /dev/null || true

# metric NAME{LABELS}: its value in a fresh scrape, or empty
metric() {
  curl -s -m 5 "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
ok=
for _ in $(seq 1 100); do
  w=$(metric mizan_attenuator_withheld_total)
  [ -n "$w" ] && [ "$w" -ge 1 ] && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || { tail -5 "$T/daemon.err"; fail "mizan_attenuator_withheld_total did not move (got '${w:-}')"; }
python3 - "$T/log/audit.log" <<'PY' || fail "the withheld alert is not in audit.log"
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if a["recipe"]["id"] == "vm_sandbox_detection_exec" and a["attenuation"].get("withheld"):
        print("audit.log: withheld %s (%s)" % (a["recipe"]["id"], a["process"]["args"]))
        sys.exit(0)
sys.exit(1)
PY
curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/scrape.txt"
for want in 'mizan_attenuator_verdicts_total{verdict="false_positive"}' \
            'mizan_attenuator_filter_total{filter="mode",outcome="withheld"}' \
            'mizan_attenuator_model_calls_total' 'mizan_attenuator_latency_seconds_count'; do
  v=$(awk -v k="$want" '$1 == k { print $2 }' "$T/scrape.txt")
  [ -n "$v" ] && [ "$v" -ge 1 ] || fail "$want = '${v:-}', want >= 1"
  echo "$want $v"
done
grep "^mizan_attenuator_withheld_total " "$T/scrape.txt"
if command -v promtool >/dev/null; then promtool check metrics <"$T/scrape.txt" || fail "promtool"; fi
stop_daemon
echo "ok"
