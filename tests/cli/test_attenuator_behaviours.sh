#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every scripted fixture behaviour (normal, slow, 429 with Retry-After, 500,
# 503 "Loading model", garbage, truncated JSON, finish_reason length, a
# schema-breaking answer, json_schema rejected with a 400, ...) through mizan
# replay in block mode: every input alert is printed or audited exactly once,
# failures are bypassed with a why and never withheld. Then a 30 s model
# with a small queue: replay is not held up, the overflow is bypassed as
# overload, and past --model-wait the drain cuts the rest short as shutdown.
source "$(dirname "$0")/att_lib.sh"

behaviours="normal obey_injection slow 429 500 503 garbage truncated length bad_schema
  reject_json_schema reject_structured huge drop"
gen 60 12 >"$T/in.jsonl"
for b in $behaviours; do
  rm -f "$T"/verdicts.db*
  start_fixture --behaviour "$b" --slow-ms 300 --retry-after 0
  att_config block
  replay_att "$T/in.jsonl"
  read -r printed withheld < <(exactly_once 60) || fail "$b: exactly once"
  python3 - "$b" "$T/out.jsonl" <<'PY' || fail "$b: statuses"
import json, sys
b = sys.argv[1]
works = b in ("normal", "obey_injection", "slow", "reject_json_schema", "reject_structured")
for l in open(sys.argv[2]):
    a = json.loads(l)["attenuation"]
    if works:
        assert a["status"] in ("verdict", "cached"), (b, a)
    else:
        assert a["status"] == "bypassed" and a.get("why"), (b, a)
PY
  echo "$b: printed $printed withheld $withheld requests $(requests)"
done

# a model that takes 30 s per answer, a queue of 4
start_fixture --behaviour slow --slow-ms 30000
att_config amend "  queue: 4
  concurrency: 1"
sed -i 's/drain_timeout: 4s/drain_timeout: 2s/; s/^  timeout: 5s/  timeout: 60s/' "$T/mizan.yaml"
python3 - <<'PY' >"$T/slow.jsonl"
import json
for i in range(200):
    print(json.dumps({"recipe": {"id": "r", "importance": "low"}, "kind": "file",
        "process": {"pid": i, "comm": "w", "exe": "/usr/bin/w", "args": "w --n %d" % i},
        "file": {"path": "/tmp/x", "actions": ["open"]}}))
PY
start=$(date +%s)
replay_att "$T/slow.jsonl" --model-wait 1s
took=$(( $(date +%s) - start ))
[ "$took" -lt 15 ] || fail "replay took $took s with a 30 s model"
exactly_once 200 >/dev/null || fail "exactly once (slow)"
python3 - "$T/out.jsonl" <<'PY' || fail "slow: bypass reasons"
import json, sys
why = {}
for l in open(sys.argv[1]):
    a = json.loads(l)["attenuation"]
    assert a["status"] == "bypassed", a
    why[a["why"]] = why.get(a["why"], 0) + 1
assert why.get("overload", 0) >= 195, why
assert set(why) <= {"overload", "shutdown"}, why
PY
echo ok
