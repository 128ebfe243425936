#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a rate limit holds back is not lost when mizan stops: `mizan replay`
# of 7 detections of a recipe limited to 2 per exe prints the 2 alerts and,
# at drain, one summary alert with count 5, on stdout and in varlog, in the
# documented shape (README "Output": summary.count, first_seen, last_seen,
# limit, max, keys) with the first held-back detection as its sample.
source "$(dirname "$0")/lib.sh"
write_config "detect:
  builtin: false
  dirs: [$T/recipes]
  times_window: 1h"
mkdir -p "$T/recipes"
cat >"$T/recipes/limited.yaml" <<'YAML'
- kind: limited_tool
  name: limited_tool
  description: a tool limited to two alerts per exe
  mechanism: execution
  tactic: execution
  technique: command_and_scripting_interpreter
  importance: medium
  times:
    - kind: times_per_exe
      max: 2
  file_actions: execve
  bases:
    - dir: /opt/tool
      base: run
YAML
for i in 1 2 3 4 5 6 7; do
  printf '{"kind":"exec","first_seen":"2026-01-01T00:00:0%d.000000000Z","last_seen":"2026-01-01T00:00:0%d.000000000Z","process":{"pid":%d,"ppid":1,"comm":"run","exe":"/opt/tool/run","uid":1000,"ancestry":["/usr/bin/bash"]},"file":{"path":"/opt/tool/run","actions":["execve"]}}\n' "$i" "$i" "$((100 + i))"
done >"$T/in.jsonl"
"$MIZAN" replay -c "$T/mizan.yaml" "$T/in.jsonl" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "replay"; }
for f in "$T/out" "$T/log/alerts.log"; do
  python3 - "$f" <<'PY' || fail "summary in $f"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
plain = [a for a in alerts if "summary" not in a]
sums = [a for a in alerts if "summary" in a]
assert len(plain) == 2, "want 2 alerts, got %d" % len(plain)
assert len(sums) == 1, "want 1 summary, got %d" % len(sums)
s = sums[0]
assert s["recipe"]["id"] == "limited_tool", s["recipe"]
m = s["summary"]
assert m["count"] == 5, m
assert m["limit"] == "times_per_exe" and m["max"] == 2, m
assert m["keys"] == {"exe": "/opt/tool/run"}, m
assert m["first_seen"].startswith("2026-01-01T00:00:03"), m
assert m["last_seen"].startswith("2026-01-01T00:00:07"), m
assert s["process"]["pid"] == 103, s["process"]  # the first held back
PY
done
echo ok
