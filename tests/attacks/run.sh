#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the attack corpus (tests/attacks/cases/*.sh) against a live mizan with
# the default configuration and prints, per category, how many cases were
# detected and how many benign controls alerted, then the line
#   detected N/M, controls alerted K/C
#
#   run.sh [--target PERCENT] [--only REGEX] [--loop SECONDS]
#
# --target   exit 1 unless at least PERCENT of the counted cases are
#            detected and no control alerted (default: report only)
# --only     run the cases whose id matches REGEX
#
# Bounded: each case at most CASE_TIMEOUT (25) s, the whole corpus at most
# CORPUS_DEADLINE (420) s; cases not run by then count as missed.
# --loop     run only the controls, again and again, for SECONDS, with one
#            daemon, and print alerts per hour by recipe (the noise figure);
#            with SOAK_CMD set, that command runs in a loop alongside (e.g.
#            the project's build and unit tests) and its alerts count too
#
# Attribution. The runner records every fork of its own descendants in a
# tracefs instance of its own (sched_process_fork, filtered to this process
# tree with set_event_pid and event-fork) and their exits. Each case's body runs in a
# subshell whose pid lib.sh reports; an alert belongs to a case when its
# process descends from that body, by fork events in order (pids are
# reused, by this tree and by everything else on the machine: the alert's
# first_seen must fall between the fork that created its pid and that
# process's exit). Setup, teardown and the harness itself never count.
#
# Rate limits. Built-in recipes alert a few times per executable, parent
# and ancestry, and then stay silent (as they should on a real host). The
# corpus runs many cases of the same recipe from the same shell, so cases
# are spread over batches: a fresh daemon per batch, each batch holding at
# most one case per expected recipe. The next daemon is scanning before the
# previous one stops, so nothing runs unobserved.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$HERE/../.." && pwd)
export MIZAN=${MIZAN:-$SRC_DIR/build/mizan}
export MIZAN_SOURCE_DIR=${MIZAN_SOURCE_DIR:-$SRC_DIR}
PY=/usr/bin/python3

TARGET=
ONLY=
LOOP=0
while [ $# -gt 0 ]; do
  case $1 in
    --target) TARGET=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --loop) LOOP=$2; shift 2 ;;
    *) echo "usage: $0 [--target PERCENT] [--only REGEX] [--loop SECONDS]" >&2; exit 2 ;;
  esac
done

# shellcheck source=../cli/live_lib.sh
source "$HERE/../cli/live_lib.sh"
if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ] || [ ! -x "$PY" ]; then
  # in CI the corpus runs as root and must run: never a silent skip there
  [ "${CI:-}" = true ] && fail "CI=true but cannot run live (root, BTF, /usr/bin/python3 needed)"
  require_live
  echo "SKIP: /usr/bin/python3 missing"; exit 77
fi
BASE=$T

# --- fork recorder -------------------------------------------------------------
TR=/sys/kernel/tracing
[ -d "$TR/instances" ] || mount -t tracefs nodev "$TR" 2>/dev/null || true
[ -d "$TR/instances" ] || fail "no tracefs at $TR"
INST=$TR/instances/mizan-attacks-$$
TRACE_PID=
DAEMONS=()
finish() {
  local p
  for p in "${DAEMONS[@]}"; do stop_bounded "$p"; done
  if [ -d "$INST" ]; then
    echo 0 >"$INST/events/sched/sched_process_fork/enable" 2>/dev/null || true
    echo 0 >"$INST/events/sched/sched_process_exit/enable" 2>/dev/null || true
    [ -n "$TRACE_PID" ] && { kill "$TRACE_PID" 2>/dev/null || true; wait "$TRACE_PID" 2>/dev/null || true; }
    rmdir "$INST" 2>/dev/null || true
  fi
  T=$BASE
  cleanup
}
trap finish EXIT
mkdir "$INST"
echo mono >"$INST/trace_clock"
echo 16384 >"$INST/buffer_size_kb"
echo $$ >"$INST/set_event_pid"
echo 1 >"$INST/options/event-fork"
echo 1 >"$INST/events/sched/sched_process_fork/enable"
echo 1 >"$INST/events/sched/sched_process_exit/enable"
cat "$INST/trace_pipe" >"$BASE/forks.txt" &
TRACE_PID=$!
sync_clock() { echo "mzsync $(date +%s.%N)" >"$INST/trace_marker"; }
sync_clock

# --- the plan -------------------------------------------------------------------
"$PY" "$HERE/attribute.py" plan --only "$ONLY" --controls-only "$([ "$LOOP" -gt 0 ] && echo 1 || echo 0)" \
  "$HERE"/cases/*.sh >"$BASE/plan.tsv"
n_cases=$(wc -l <"$BASE/plan.tsv")
[ "$n_cases" -gt 0 ] || fail "no case matches"

scans() { grep -o '"scans":[[:space:]]*[0-9]*' "$1/status.json" 2>/dev/null | head -1 | grep -o '[0-9]*$' || echo 0; }

# stop_bounded PID: SIGTERM, and SIGKILL if the daemon has not drained
# within 10 s (a daemon stuck on what another test on this machine did
# must not stall the corpus; what it printed is read all the same)
stop_bounded() {
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "warning: daemon $1 did not exit 10 s after SIGTERM; killed" >&2
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}

# new_daemon DIR: a daemon writing into DIR, scanning, before the previous
# one (if any) is stopped
CUR=
new_daemon() {
  local prev=$DAEMON_PID
  mkdir -p "$1"
  T=$1
  DAEMON_PID=
  start_daemon
  trap finish EXIT
  DAEMONS+=("$DAEMON_PID")
  [ -z "$prev" ] || stop_bounded "$prev"

  CUR=$1
}

# settle: let the current daemon scan three more times, so that what the
# last case did has been read, matched and printed
# (on a machine flooded by others a scan can take seconds: up to 30 s)
settle() {
  local s0 s i
  s0=$(scans "$CUR")
  for i in $(seq 1 300); do
    s=$(scans "$CUR")
    [ "$s" -ge $((s0 + 3)) ] && { sleep 0.3; return 0; }
    sleep 0.1
  done
  echo "warning: the daemon in $CUR scanned $((s - s0)) times in 30 s (a loaded machine, or stuck)" >&2
  return 1
}

run_case() { # file id batch
  local file=$1 id=$2 w="$BASE/cases/$2" s e root body rc=0
  mkdir -p "$w"
  s=$(date +%s.%N)
  timeout -k 2 "${CASE_TIMEOUT:-25}" bash "$HERE/lib.sh" run "$file" "$id" "$w" \
    >"$w/.driver.log" 2>&1 &
  root=$!
  wait "$root" || rc=$?
  e=$(date +%s.%N)
  body=$(cat "$w/.body.pid" 2>/dev/null || echo 0)
  [ "$rc" -ne 0 ] || rc=$(cat "$w/.body.rc" 2>/dev/null || echo 0)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$body" "$s" "$e" "$rc" "$3" >>"$BASE/runs.tsv"
}

: >"$BASE/runs.tsv"
t0=$(date +%s)
if [ "$LOOP" -gt 0 ]; then
  new_daemon "$BASE/d0"
  end=$((t0 + LOOP))
  rounds=0
  if [ -n "${SOAK_CMD:-}" ]; then
    # the soak command (e.g. the project's build and unit tests) again and
    # again until the end, as one more source whose alerts are counted
    mkdir -p "$BASE/soak"
    ss=$(date +%s.%N)
    (while [ "$(date +%s)" -lt "$end" ]; do bash -c "$SOAK_CMD" >>"$BASE/soak/log" 2>&1 || true; done) &
    soak=$!
  fi
  while [ "$(date +%s)" -lt "$end" ]; do
    while IFS=$'\t' read -r batch file id _; do
      [ "$(date +%s)" -lt "$end" ] || break
      rm -rf "$BASE/cases/$id"
      run_case "$file" "$id" 0
    done <"$BASE/plan.tsv"
    rounds=$((rounds + 1))
    sync_clock
  done
  if [ -n "${SOAK_CMD:-}" ]; then
    wait "$soak" || true
    printf 'soak\t%s\t%s\t%s\t0\t0\n' "$soak" "$ss" "$(date +%s.%N)" >>"$BASE/runs.tsv"
  fi
  settle || true
  echo "loop: $rounds rounds of the controls in $(($(date +%s) - t0)) s"
else
  deadline=$((t0 + ${CORPUS_DEADLINE:-420}))
  # run_batch N: a fresh daemon, then the batch's cases; returns 1 when the
  # daemon did not get through its scans (it is then run once more)
  run_batch() {
    local batch file id tries=$2
    new_daemon "$BASE/b$1.$tries"
    sync_clock
    while IFS=$'\t' read -r batch file id _; do
      [ "$batch" = "$1" ] || continue
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "warning: corpus deadline (${CORPUS_DEADLINE:-420} s) reached: the remaining cases are not run" >&2
        return 2
      fi
      run_case "$file" "$id" "$batch"
    done <"$BASE/plan.tsv"
    settle
  }
  for b in $(cut -f1 "$BASE/plan.tsv" | uniq); do
    rc=0
    run_batch "$b" 0 || rc=$?
    [ "$rc" -eq 2 ] && break
    if [ "$rc" -eq 1 ]; then
      echo "warning: batch $b runs again with a fresh daemon" >&2
      run_batch "$b" 1 || true
    fi
  done
fi
sync_clock
stop_bounded "$DAEMON_PID"
DAEMON_PID=
DAEMONS=()
sleep 0.3
echo 0 >"$INST/events/sched/sched_process_fork/enable"
echo 0 >"$INST/events/sched/sched_process_exit/enable"
kill "$TRACE_PID" 2>/dev/null || true
wait "$TRACE_PID" 2>/dev/null || true
TRACE_PID=
echo "corpus ran in $(($(date +%s) - t0)) s ($n_cases cases and controls)"

args=(report --plan "$BASE/plan.tsv" --runs "$BASE/runs.tsv" --forks "$BASE/forks.txt"
      --cases "$BASE/cases")
[ -n "$TARGET" ] && args+=(--target "$TARGET")
[ "$LOOP" -gt 0 ] && args+=(--noise "$(($(date +%s) - t0))")
for d in "$BASE"/b* "$BASE"/d0; do [ -f "$d/out.jsonl" ] && args+=(--alerts "$d/out.jsonl"); done
set +e
"$PY" "$HERE/attribute.py" "${args[@]}"
rc=$?
set -e
[ -n "${KEEP:-}" ] && echo "kept: $BASE"
exit $rc
