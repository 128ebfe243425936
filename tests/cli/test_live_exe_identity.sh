#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: an executable is named by what it is, as files are (see
# test_live_file_identity.sh). A test recipe names one program by its exact
# path; that program run through a bind mount of its directory and through a
# hard link raises the recipe, the alert naming the recipe's path as
# process.exe (and file.path), with process.exe_seen_as the path that was
# run. A chrooted process's exe is reported by its path in the initial mount
# namespace, exe_seen_as the chroot-relative name it was run by. A program
# that renames itself after exec and puts another file at its old path, then
# exits before a scan (the daemon is stopped meanwhile), gets exe_sha256 null
# with identity_mismatch: the replacement is never hashed as what ran.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v unshare >/dev/null || fail "unshare missing (util-linux)"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

P=$T/bin/mz-exe-prog # the recipe's path
Q=$T/q/mz-exe-swap   # renamed and replaced after exec
mkdir -p "$T/bin" "$T/q" "$T/hl" "$T/bm" "$T/recipes"
cp /usr/bin/true "$P"
cp /bin/bash "$Q"
cat >"$T/recipes/exe.yaml" <<YAML
- kind: mizan_test_exe_identity
  name: mizan_test_exe_identity
  description: the test program ran (test recipe)
  mechanism: execution
  tactic: execution
  technique: none
  importance: low
  file_actions: [execve]
  file_actions_how: any
  bases:
    - dir: $T/bin
      base: mz-exe-prog
    - dir: $T/q
      base: mz-exe-swap
YAML
start_daemon "detect:
  dirs: [$T/recipes]
  global_max_per_minute: 0"
trap 'kill -CONT "$DAEMON_PID" 2>/dev/null || true; stop_daemon_quiet; cleanup' EXIT

# 1. through a bind mount of the program's directory (a mount namespace of
#    its own)
unshare -m --propagation private sh -c "mount --bind '$T/bin' '$T/bm' && '$T/bm/mz-exe-prog'"
wait_alert mizan_test_exe_identity \
  "a['process']['exe'] == '$P' and a['process'].get('exe_seen_as') == '$T/bm/mz-exe-prog' and a['file']['path'] == '$P' and a['file'].get('seen_as') == '$T/bm/mz-exe-prog'" 10 \
  || { grep -h mizan_test_exe "$T/out.jsonl" | head -3; fail "bind mount exec not named $P"; }

# 2. through a hard link (same filesystem)
ln "$P" "$T/hl/other-name"
"$T/hl/other-name"
wait_alert mizan_test_exe_identity \
  "a['process']['exe'] == '$P' and a['process'].get('exe_seen_as') == '$T/hl/other-name'" 10 \
  || fail "hard link exec not named $P"

# the program run by its own path: no seen_as
"$P"
wait_alert mizan_test_exe_identity \
  "a['process']['exe'] == '$P' and 'exe_seen_as' not in a['process'] and 'seen_as' not in a['file']" 10 \
  || fail "direct exec"

# 3. a chroot: the exe by its global path, seen_as the name used inside
R=$T/root
mkdir -p "$R/etc" "$R/usr"
for l in bin lib lib64 sbin; do [ -L /$l ] && ln -s "usr/$l" "$R/$l"; done
unshare -m --propagation private sh -c \
  "mount --bind /etc '$R/etc' && mount --rbind /usr '$R/usr' && chroot '$R' /usr/bin/cat /etc/shadow >/dev/null"
wait_alert credentials_files_access \
  "a['file']['path'] == '/etc/shadow' and a['process']['exe'] == '$R/usr/bin/cat' and a['process'].get('exe_seen_as') == '/usr/bin/cat'" 10 \
  || { grep -h credentials "$T/out.jsonl" | tail -3; fail "chrooted exe not reported by its global path"; }

# 4. renamed after exec and replaced, exited before any scan: the daemon is
#    stopped from before the exec to after the exit. Under a loaded machine
#    the check may not finish within an observation's wait ("pending"): a
#    few attempts, each with a fresh copy; the replacement must never be
#    hashed as what ran.
REPL_SHA=$(sha256sum /usr/bin/true | cut -d' ' -f1)
SWAP_PIDS=()
ok=0
for attempt in 1 2 3; do
  rm -f "$Q" "$Q.old"
  cp /bin/bash "$Q"
  kill -STOP "$DAEMON_PID"
  "$Q" -c 'mv "$0" "$0.old" && cp /usr/bin/true "$0" && read -r _ </etc/shadow; echo $$ >"$1"' "$Q" "$T/swap.pid"
  kill -CONT "$DAEMON_PID"
  SWAP_PID=$(cat "$T/swap.pid")
  SWAP_PIDS+=("$SWAP_PID")
  [ "$(sha256sum "$Q" | cut -d' ' -f1)" = "$REPL_SHA" ] || fail "the replacement is not in place"
  if wait_alert mizan_test_exe_identity \
    "a['process']['pid'] == $SWAP_PID and a['process'].get('exe_sha256') is None and a['process'].get('exe_sha256_why') == 'identity_mismatch'" 15; then
    ok=1
    break
  fi
  grep -h "\"pid\":$SWAP_PID" "$T/out.jsonl" | head -2
done
[ "$ok" = 1 ] || fail "replaced exe: no identity_mismatch"
sleep 1 # the processes' other alerts (their reads of /etc/shadow)
python3 - "$T/out.jsonl" "$REPL_SHA" "${SWAP_PIDS[@]}" <<'PY' || fail "the replacement was hashed as the exe that ran"
import json, sys
repl, pids = sys.argv[2], {int(p) for p in sys.argv[3:]}
for line in open(sys.argv[1]):
    a = json.loads(line)
    p = a.get("process", {})
    if p.get("pid") in pids and p.get("exe_sha256") == repl:
        sys.exit(1)
PY
stop_daemon
echo ok
