#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The attack corpus: helpers every case file uses, and the per-case driver.
#
#   bash lib.sh run CASEFILE ID WORKDIR
#
# runs one case: sources lib.sh and CASEFILE, enters WORKDIR (the case's
# scratch directory), runs setup_ID (if defined), then the case body t_ID in
# a subshell whose pid is written to WORKDIR/.body.pid, then teardown_ID and
# every restore registered with `backup`. Only the body's processes (the
# subshell and its descendants) are the case; setup and teardown are harness
# and their actions are never attributed to the case (run.sh does that from
# the fork events it records).
#
# Case files declare each case on a line of its own:
#   #@ id=NAME src=SOURCE expect=RECIPE[,RECIPE...] [needs=FEATURE]
# SOURCE is atomic:GUID (an Atomic Red Team Linux test) or falco:ACTION (a
# Falco event-generator action) or control:WHAT (a benign operator action,
# expect=none). A case is detected when one of its expected recipes alerts
# on one of its own processes. needs= marks a case that needs a collector
# feature mizan does not have yet: it is run and shown, not counted. A body
# that exits 77 found nothing to act on here (a knob this kernel lacks): not
# applicable, shown and not counted.

# the interpreter cases use: the system's, never a version manager's shim
PY=/usr/bin/python3
export HOME=/root

# Files a case changes are backed up by setup (backup PATH...) and put back
# by the driver after the body, in reverse order; a path that did not exist
# is removed again.
_MZ_RESTORE=()
backup() {
  local p n
  for p in "$@"; do
    n=${#_MZ_RESTORE[@]}
    if [ -e "$p" ] || [ -L "$p" ]; then
      mkdir -p "$W/.backup"
      cp -a "$p" "$W/.backup/$n"
      _MZ_RESTORE+=("copy:$p")
    else
      _MZ_RESTORE+=("absent:$p")
    fi
  done
}

restore_all() {
  local i e p n
  for ((i = ${#_MZ_RESTORE[@]} - 1; i >= 0; i--)); do
    e=${_MZ_RESTORE[$i]}
    p=${e#*:}
    case $e in
      copy:*) rm -rf "$p"; cp -a "$W/.backup/$i" "$p" ;;
      absent:*) rm -rf "$p" ;;
    esac
  done
  _MZ_RESTORE=()
}

# drop SRC NAME: a copy of a system binary under the scratch dir, named NAME
# (a path relative to $W), executable; prints its path.
drop() {
  local dst="$W/$2"
  mkdir -p "$(dirname "$dst")"
  cp "$1" "$dst"
  chmod 0755 "$dst"
  printf '%s\n' "$dst"
}

# A TCP listener on 127.0.0.1 that accepts and closes connections until the
# case ends; prints the port. Harness side (setup).
_MZ_KILL=()
listen_local() {
  local ready="$W/.listen.$RANDOM"
  "$PY" - "$ready" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16); s.settimeout(0.5)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
end = time.time() + 30
while time.time() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        pass
PY
  _MZ_KILL+=($!)
  local _
  for _ in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.02; done
  cat "$ready"
}

# A network namespace of the case's own, with loopback up; removed after the
# case. Prints its name. (Usually called as ns=$(netns_new), in a subshell:
# the name is kept in a file, not a variable.)
netns_new() {
  local ns
  ns="mzatk-$$-$(wc -l <"$W/.netns" 2>/dev/null || echo 0)"
  echo "$ns" >>"$W/.netns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  printf '%s\n' "$ns"
}

# wait_file PATH [TENTHS]: until PATH exists (default 5 s)
wait_file() {
  local _
  for _ in $(seq 1 "${2:-50}"); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

_mz_cleanup() {
  local p ns
  for p in "${_MZ_KILL[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${_MZ_KILL[@]}"; do wait "$p" 2>/dev/null || true; done
  restore_all
  if [ -f "$W/.netns" ]; then
    while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$W/.netns"
  fi
}

_mz_run() {
  local file=$1 id=$2
  W=$3
  # shellcheck disable=SC1090
  source "$file"
  cd "$W"
  trap _mz_cleanup EXIT
  if declare -F "setup_$id" >/dev/null; then "setup_$id" >"$W/.setup.log" 2>&1 || echo "setup_$id failed" >&2; fi
  ("t_$id") </dev/null >"$W/.body.log" 2>&1 &
  local body=$!
  echo "$body" >"$W/.body.pid"
  local rc=0
  wait "$body" || rc=$?
  echo "$rc" >"$W/.body.rc"
  cd "$W"
  if declare -F "teardown_$id" >/dev/null; then "teardown_$id" >>"$W/.setup.log" 2>&1 || true; fi
}

if [ "${1:-}" = run ]; then
  set -u
  _mz_run "$2" "$3" "$4"
fi
