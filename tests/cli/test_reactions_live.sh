#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live: recipes' reactions (reactions/), on alerts of processes this test
# starts, with the fixture recipes of tests/fixtures/reactions/ (modelled
# on Jibril's public reaction tests, jibril-wahy jibril/tests/):
#   1 a shell reaction writes a file from $REACTION_DATA (and stdin), in a
#     fresh temporary directory that is gone afterwards
#   2 js: logging, metadata, uuid, the globals, file.file; no require
#   3 js KillCurrent kills the process that triggered the alert (SIGKILL);
#     KillProcess kills the ancestor named kill_process.sh from
#     background.ancestry; KillParent kills the parent of a process that
#     already exited; KillProcess refuses PID 1, mizan and its parent
#   4 the data store helpers, from js and from a shell through `mizan react`
#   5 file helpers: WriteFile 0600, ReadFile, Stat, no symlink followed,
#     CreateTempDir / RemoveDir only under /tmp
#   6 a js and a shell reaction that loop forever are killed at their
#     timeout (4 s) while alerts keep flowing; a full reaction queue is counted
#     and logged and its alerts are printed all the same
source "$(dirname "$0")/live_lib.sh"
require_live
source "$(dirname "$0")/rx_lib.sh"

rx_recipes shell.yaml basics.yaml kill.yaml datastore.yaml fileops.yaml
for f in shell logging kill_current kill_process kill_parent kill_refused datastore fileops tmpdir loop; do
  echo "trigger" >"$T/$f.txt"
done
echo -n "jibril is awesome" >"$T/fileops.test"
ln -s /etc/hostname "$T/link"
echo $$ >"$T/parent.pid"
start_daemon "detect:
  builtin: false
  dirs: [$T/rec]
reactions:
  socket: $T/react.sock
  timeout: 4s
  workers: 2
  queue: 2
  allow_emergency: false"
echo "$DAEMON_PID" >"$T/mizan.pid"
wait_log "reactions: 12 reaction(s) loaded" 5
R="mizan info:"

# --- 1: shell ----------------------------------------------------------------
cat "$T/shell.txt" >/dev/null &
CP=$!
wait $CP
wait_log "reaction reactions_shell_write#0: shell reaction ran in /tmp/mizan-reaction-" 10
python3 - "$T" "$CP" <<'PY'
import json, sys
t, pid = sys.argv[1], int(sys.argv[2])
env = json.load(open(t + "/shell-env.json"))
stdin = json.load(open(t + "/shell-stdin.json"))
assert env == stdin, "stdin and $REACTION_DATA differ"
assert env["recipe"]["id"] == "reactions_shell_write", env["recipe"]
assert env["metadata"] == {**env["metadata"], "kind": "reactions_shell", "name": "reactions_shell_write"}
assert env["process"]["pid"] == pid, (env["process"]["pid"], pid)
assert env["file"]["file"] == t + "/shell.txt", env["file"]
assert len(env["uuid"]) == 36 and env["uuid"].count("-") == 4, env["uuid"]
assert env["background"]["ancestry"][-1]["pid"] == pid
PY
d=$(cat "$T/shell-pwd.txt")
case $d in /tmp/mizan-reaction-*) ;; *) fail "shell ran in $d" ;; esac
for _ in $(seq 1 20); do [ ! -e "$d" ] && break; sleep 0.1; done
[ ! -e "$d" ] || fail "the reaction's temporary directory $d is still there"
echo "ok: shell reaction wrote \$REACTION_DATA and stdin, in $d (removed)"

# --- 2: js basics --------------------------------------------------------------
cat "$T/logging.txt" >/dev/null
L="reaction reactions_basics_logging#0:"
wait_log "$L sandbox: undefined undefined" 10
for want in "$R $L reactions_basics" "$R $L reactions_basics_logging" "$R $L info" \
  "mizan warn: $L warn" "mizan error: $L error" "$L globalKind: reactions_basics" \
  "$L globalName: reactions_basics_logging" "$L globalData: true" "$L metaKind: reactions_basics" \
  "$L file: $T/logging.txt" "$L recipe: reactions_basics_logging pid"; do
  grep -qF -- "$want" "$T/daemon.err" || fail "no log line: $want"
done
u=$(python3 -c "import json,sys
for l in open('$T/out.jsonl'):
    a=json.loads(l)
    if a['recipe']['id']=='reactions_basics_logging': print(a['id'][-6:]); break")
grep -qF "$R $L $u" "$T/daemon.err" || fail "uuid.slice(-6) ($u) not logged"
grep -qF "$L globalUUID: " "$T/daemon.err" || fail "no global uuid"
echo "ok: js logging, metadata, uuid and globals"

# --- 3: kill -------------------------------------------------------------------
sleep 30 <"$T/kill_current.txt" &
VP=$!
set +e; wait $VP; rc=$?; set -e
[ "$rc" -eq 137 ] || fail "the triggering process exited $rc, not by SIGKILL (137)"
wait_log "reaction reactions_kill_current#0: killed pid $VP" 5
wait_log "reaction reactions_kill_current#0: killed" 5
echo "ok: KillCurrent killed the triggering process $VP by SIGKILL"

printf '#!/bin/sh\ncat "%s/kill_process.txt" >/dev/null\nsleep 30\n' "$T" >"$T/kill_process.sh"
chmod +x "$T/kill_process.sh"
"$T/kill_process.sh" &
KP=$!
set +e; wait $KP; rc=$?; set -e
[ "$rc" -eq 137 ] || fail "kill_process.sh exited $rc, not by SIGKILL (137)"
wait_log "reaction reactions_kill_process#0: ok $KP" 5
echo "ok: KillProcess killed the ancestor kill_process.sh ($KP) found in background.ancestry"

printf '#!/bin/sh\ncat "%s/kill_parent.txt" >/dev/null\nsleep 30\n' "$T" >"$T/kill_parent.sh"
chmod +x "$T/kill_parent.sh"
"$T/kill_parent.sh" &
PP=$!
set +e; wait $PP; rc=$?; set -e
[ "$rc" -eq 137 ] || fail "kill_parent.sh exited $rc, not by SIGKILL (137)"
wait_log "reaction reactions_tests_kill_parent#0: killed pid $PP" 5
echo "ok: KillParent killed the parent ($PP) of the process that had already exited"

cat "$T/kill_refused.txt" >/dev/null
K="reaction reactions_kill_refused#0: refused"
wait_log "$K parent" 10
grep -qF "$K pid1 -1 EPERM: refused to kill pid 1" "$T/daemon.err" || fail "PID 1 not refused"
grep -qF "$K mizan -1 EPERM: refused to kill mizan itself (pid $DAEMON_PID)" "$T/daemon.err" ||
  fail "mizan not refused"
grep -qF "$K parent -1 EPERM: refused to kill mizan's parent (pid $$)" "$T/daemon.err" ||
  fail "mizan's parent not refused"
kill -0 "$DAEMON_PID" || fail "mizan died"
echo "ok: KillProcess refused PID 1, mizan and its parent"

# --- 4: the data store -----------------------------------------------------------
cat "$T/datastore.txt" >/dev/null
D="reaction reactions_datastore#0:"
wait_log "$D datastore done" 10
wait_log "reaction reactions_datastore#1: shell datastore done" 10
if grep -F "mizan error: $D" "$T/daemon.err"; then fail "the data store reaction reported errors"; fi
for want in "$D pop world" "$D pop hello" "$D get key1: value1" "$D has key1: true" "$D has key2: false" \
  "$D has value1: true" '"key1","key2","key3"' "$D size: 3" "$D is empty: false" \
  "$D size after clear: 0" "$D is empty after clear: true"; do
  grep -qF -- "$want" "$T/daemon.err" || fail "no log line: $want"
done
printf 'get=blue\nhas=true\nsize=1\npop=two\nkeys=["color"]\nafter=\n' >"$T/want.out"
diff "$T/want.out" "$T/shell-datastore.out" || fail "shell data store results differ"
# outside a reaction (no token), `mizan react` is refused
set +e
MIZAN_REACTION_SOCKET=$T/react.sock MIZAN_REACTION_TOKEN=0123456789abcdef0123456789abcdef \
  "$MIZAN" react DataSet a b >/dev/null 2>"$T/react.err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "ESRCH: no running reaction has this token" "$T/react.err" ||
  fail "a made-up token was accepted (rc $rc): $(cat "$T/react.err")"
[ "$(stat -c %a "$T/react.sock")" = 600 ] || fail "socket mode $(stat -c %a "$T/react.sock")"
if command -v setpriv >/dev/null; then
  # a copy nobody may run (the build dir may sit in a 0700 directory)
  ubin=$(mktemp /tmp/mizan-react-bin.XXXXXX)
  cp "$MIZAN" "$ubin" && chmod 755 "$ubin"
  set +e
  setpriv --reuid=65534 --regid=65534 --clear-groups env MIZAN_REACTION_SOCKET=$T/react.sock \
    MIZAN_REACTION_TOKEN=0123456789abcdef0123456789abcdef "$ubin" react DataSize >/dev/null 2>&1
  rc=$?
  set -e
  rm -f "$ubin"
  [ "$rc" -eq 3 ] || fail "an unprivileged user reached the reaction socket (rc $rc)"
fi
echo "ok: data store helpers from js and from \`mizan react\`; the socket is root-only"

# --- 5: files ----------------------------------------------------------------------
cat "$T/fileops.txt" >/dev/null
F="reaction reactions_fileops_writefile#0:"
wait_log "$F symlink read" 10
for want in "$F wf 0" "$F rf ok" "$F sz 13" "$F mode -rw-------" "$F dir false" "$F tr ok" \
  "$F symlink write -1 ELOOP" "$F symlink read '' ELOOP"; do
  grep -qF -- "$want" "$T/daemon.err" || fail "no log line: $want"
done
[ "$(stat -c %a "$T/jibril_testfile")" = 600 ] || fail "WriteFile mode $(stat -c %a "$T/jibril_testfile")"
[ "$(cat /etc/hostname)" != x ] || fail "WriteFile followed the symlink"
cat "$T/tmpdir.txt" >/dev/null
F="reaction reactions_fileops_tmpdir#0:"
wait_log "$F tmp pattern" 10
for want in "$F tmp /tmp/reaction-" "$F w 0" "$F r ok" "$F rm 0" "$F gone true" \
  "$F rm outside /tmp -1 EPERM" "$F tmp pattern  EINVAL"; do
  grep -qF -- "$want" "$T/daemon.err" || fail "no log line: $want"
done
echo "ok: file helpers"

# --- 6: runaway reactions, alerts keep flowing, a full queue -----------------------
t0=$(date +%s%N)
cat "$T/loop.txt" >/dev/null
wait_log "reaction reactions_loop_forever#0: looping" 10
wait_log "reaction reactions_loop_forever#1: shell looping" 10
# both workers are stuck now: these alerts queue their reactions (2 fit)
# or overflow the queue, and every one of them is printed at once
PIDS=()
for i in 1 2 3 4 5; do
  cat "$T/logging.txt" >/dev/null &
  PIDS+=($!)
  wait $!
done
python3 - "$T/out.jsonl" "${PIDS[@]}" <<'PY' || fail "alerts were not printed while the reactions ran"
import json, sys, time
want = set(int(p) for p in sys.argv[2:])
deadline = time.time() + 3
while time.time() < deadline:
    seen = set()
    for l in open(sys.argv[1]):
        a = json.loads(l)
        if a["recipe"]["id"] == "reactions_basics_logging":
            seen.add(a["process"]["pid"])
    if want <= seen:
        sys.exit(0)
    time.sleep(0.1)
print("missing alerts of", want - seen, file=sys.stderr)
sys.exit(1)
PY
grep -qF "reaction reactions_loop_forever#0: timed out" "$T/daemon.err" &&
  fail "the alerts came only after the timeout"
echo "ok: 5 alerts printed while both workers were stuck"
wait_log "reaction reactions_loop_forever#0: timed out after" 8
wait_log "reaction reactions_loop_forever#1: timed out after" 8
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 3900 ] || fail "the loops were stopped after ${ms}ms, before their 4 s timeout"
wait_log "reactions: queue full (reactions.queue 2)" 2
# what was queued runs once the workers are free again
wait_log "mizan info: reaction reactions_basics_logging#0: sandbox" 10
sleep 1.5 # a status write
python3 - "$T/status.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["pipeline"]["reactions"]
assert r["timed_out"] >= 2, r
assert r["queue_full"] >= 1, r
assert r["worker_starts"] >= 2, r
print("ok: status:", r)
PY
kill -0 "$DAEMON_PID" || fail "the daemon died"
stop_daemon
echo "PASS"
