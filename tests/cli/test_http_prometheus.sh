#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: the daemon's /readyz answers "not ready" while the programs
# load and before the first scan, then 200; a real Prometheus server
# (Debian's prometheus, on loopback, its data in the test's temp dir,
# scraping every second) scrapes /metrics; through Prometheus's HTTP API the
# test reads counters its own workload must have moved: records created in
# the files map (it creates FILES new files) and detections of
# credentials_files_access (it reads /etc/shadow); `promtool check metrics`
# accepts a scrape.
source "$(dirname "$0")/live_lib.sh"
require_live
for c in prometheus promtool curl python3; do
  command -v $c >/dev/null || { echo "SKIP: $c missing (scripts/deps.sh installs prometheus)"; exit 77; }
done
FILES=300

PROM=
trap '[ -z "$PROM" ] || kill $PROM 2>/dev/null || true; stop_daemon_quiet; cleanup' EXIT

COLLECTOR=true CADENCE=200ms HTTP=true write_config
"$MIZAN" run -c "$T/mizan.yaml" >"$T/out.jsonl" 2>"$T/daemon.err" &
DAEMON_PID=$!
port=$(http_port "$T/daemon.err") || { cat "$T/daemon.err"; fail "no 'http: listening' line"; }

# 1. readiness: the first answer comes while the programs load: 503
first=
for _ in $(seq 1 300); do
  r=$(http_get "$port" /readyz)
  [ -z "$first" ] && [ "${r%% *}" != 000 ] && first=$r
  [ "${r%% *}" = 200 ] && break
  kill -0 $DAEMON_PID 2>/dev/null || { cat "$T/daemon.err"; fail "daemon died at start"; }
  sleep 0.02
done
echo "first /readyz: $first; then: $r"
case "$first" in
  "503 not ready: starting "|"503 not ready: programs not attached yet ") ;;
  *) fail "first /readyz answer was not 503 not ready: $first" ;;
esac
[ "${r%% *}" = 200 ] || fail "/readyz not 200 within 6 s: $r"
grep -q '"scans"' "$T/status.json" || fail "ready before a status with scans"
r=$(http_get "$port" /healthz); [ "$r" = "200 ok " ] || fail "/healthz: $r"

# 2. Prometheus on loopback, scraping mizan every second
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mizan
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
  --web.listen-address="127.0.0.1:$pport" >"$T/prom/log" 2>&1 &
PROM=$!
for _ in $(seq 1 150); do
  curl -sf -m 2 "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 && break
  kill -0 $PROM 2>/dev/null || { tail -20 "$T/prom/log"; fail "prometheus died"; }
  sleep 0.2
done
curl -sf -m 2 "http://127.0.0.1:$pport/-/ready" >/dev/null || fail "prometheus not ready in 30 s"

# query EXPR: the value of the instant query's single sample, or "" (none)
query() {
  curl -s -m 5 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# wait_query EXPR PYTHON-CONDITION-ON-v SECONDS
wait_query() {
  local v
  for _ in $(seq 1 $(($3 * 2))); do
    v=$(query "$1")
    if [ -n "$v" ] && python3 -c "v=float('$v'); import sys; sys.exit(0 if ($2) else 1)"; then
      echo "prometheus: $1 = $v"; return 0
    fi
    sleep 0.5
  done
  echo "prometheus: $1 = '${v}', wanted $2" >&2
  return 1
}
wait_query 'up{job="mizan"}' 'v == 1' 30 || { tail "$T/prom/log"; fail "prometheus does not scrape mizan"; }
wait_query 'mizan_collector_records_created_total{map="files"}' 'v >= 0' 30 || fail "no files map series"
before=$(query 'mizan_collector_records_created_total{map="files"}')

# 3. the workload: FILES new files in our temp dir, and a read of /etc/shadow
mkdir "$T/work"
python3 - "$T/work" "$FILES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("x")
PY
cat /etc/shadow >/dev/null
wait_query 'mizan_collector_records_created_total{map="files"}' "v >= $before + $FILES" 30 ||
  fail "records created in the files map did not grow by $FILES"
wait_query 'sum(mizan_detect_detections_total{recipe="credentials_files_access"})' 'v >= 1' 30 ||
  fail "no credentials_files_access detection counted"
wait_query 'mizan_stage_items_total{stage="detect"}' 'v > 0' 10 || fail "detect stage count"
wait_query 'mizan_ready' 'v == 1' 10 || fail "mizan_ready"

# 4. promtool on a scrape
curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/scrape.txt"
promtool check metrics <"$T/scrape.txt" || fail "promtool check metrics"
n=$(grep -c '^# TYPE ' "$T/scrape.txt")
echo "promtool: ok ($n families)"

kill $PROM; wait $PROM 2>/dev/null || true
PROM=
stop_daemon
echo "ok"
