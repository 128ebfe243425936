#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# mizan replay through the attenuator against the fixture model server:
# 10,000 alerts over 20 distinct (recipe, artifact) pairs cost exactly 20
# model calls and every input is printed exactly once; the sqlite cache
# survives a restart (no call at all the second time); a password and an API
# key in the command lines reach neither the server nor the cache file;
# reason mode adds the reason; a garbage cache file is logged, switched off,
# and changes nothing else. At the end of its input replay waits for the
# model (--model-wait, default 1h) instead of half of drain_timeout.
source "$(dirname "$0")/att_lib.sh"

start_fixture --behaviour normal --delay-ms 5
att_config amend
gen 10000 20 >"$T/in.jsonl"
replay_att "$T/in.jsonl"
read -r printed withheld < <(exactly_once 10000) || fail "exactly once"
[ "$printed" -eq 10000 ] && [ "$withheld" -eq 0 ] || fail "printed $printed withheld $withheld"
[ "$(requests)" -eq 20 ] || fail "$(requests) model calls for 20 pairs, want 20"
python3 - "$T/out.jsonl" <<'PY' || fail "attenuation fields"
import json, sys
st = {}
for l in open(sys.argv[1]):
    a = json.loads(l)["attenuation"]
    st[a["status"]] = st.get(a["status"], 0) + 1
    assert a["status"] in ("verdict", "cached"), a
    assert a["verdict"] == "false_positive" and a["model"] == "fixture-model", a
    assert "reason" not in a, "reason in amend mode"
    assert a["cache_hit"] == (a["status"] == "cached"), a
assert st.get("cached", 0) > 0, st
PY

# a restart on the same cache file asks nothing
gen 500 20 >"$T/in2.jsonl"
start_fixture --behaviour normal
att_config amend
replay_att "$T/in2.jsonl"
exactly_once 500 >/dev/null || fail "exactly once after restart"
[ "$(requests)" -eq 0 ] || fail "$(requests) model calls with a warm cache, want 0"
grep -q '"status":"cached"' "$T/out.jsonl" || fail "no cached verdicts"

# reason mode adds the model's reason (another mode: another cache key)
att_config reason
replay_att "$T/in2.jsonl"
exactly_once 500 >/dev/null || fail "exactly once (reason)"
[ "$(requests)" -eq 20 ] || fail "$(requests) model calls in reason mode, want 20"
python3 - "$T/out.jsonl" <<'PY' || fail "reason mode"
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)["attenuation"]
    assert a["reason"] == "fixture verdict", a
PY

# secrets stay on the host
rm -f "$T"/verdicts.db*
gen 200 10 secrets >"$T/secrets.jsonl"
start_fixture --behaviour normal
att_config amend
replay_att "$T/secrets.jsonl"
exactly_once 200 >/dev/null || fail "exactly once (secrets)"
[ "$(requests)" -ge 1 ] || fail "the model was not asked"
grep -q 'REDACTED' "$T/req.jsonl" || fail "no redaction marker in the requests"
for s in Hunter2Secret ABCDEF0123456789abcdef; do
  ! grep -q "$s" "$T/req.jsonl" || fail "secret $s reached the model server"
  for f in "$T"/verdicts.db*; do
    ! grep -aq "$s" "$f" || fail "secret $s stored in $f"
  done
done

# a garbage cache file: logged, cache off, everything still printed once
rm -f "$T"/verdicts.db*
head -c 65536 /dev/urandom >"$T/verdicts.db"
start_fixture --behaviour normal
att_config amend
gen 300 10 >"$T/in3.jsonl"
replay_att "$T/in3.jsonl"
exactly_once 300 >/dev/null || fail "exactly once (garbage cache)"
grep -q 'verdict cache.*running without a cache' "$T/err.log" || { cat "$T/err.log"; fail "cache failure not logged"; }
[ "$(requests)" -ge 10 ] || fail "the model was not asked without a cache"
# the end of the input is not a shutdown: a model answering in 400 ms, one
# call at a time, 10 pairs (4 s) against a drain_timeout of 2 s
rm -f "$T"/verdicts.db*
start_fixture --behaviour normal --delay-ms 400
att_config amend "  concurrency: 1"
sed -i 's/drain_timeout: 4s/drain_timeout: 2s/' "$T/mizan.yaml"
gen 100 10 >"$T/wait.jsonl"
replay_att "$T/wait.jsonl"
exactly_once 100 >/dev/null || fail "exactly once (model wait)"
! grep -q '"why":"shutdown"' "$T/out.jsonl" || fail "replay bypassed queued model calls at the end of its input"
[ "$(requests)" -eq 10 ] || fail "$(requests) model calls for 10 pairs"
# and its own limit cuts them short
rm -f "$T"/verdicts.db*
start_fixture --behaviour normal --delay-ms 400
att_config amend "  concurrency: 1"
replay_att "$T/wait.jsonl" --model-wait 500ms
exactly_once 100 >/dev/null || fail "exactly once (--model-wait 500ms)"
grep -q '"why":"shutdown"' "$T/out.jsonl" || fail "--model-wait 500ms did not cut the model short"
echo ok
