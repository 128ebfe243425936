#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for the reaction tests: the fixture recipes of
# tests/fixtures/reactions/ with @DIR@ set to the test's own $T, and a
# wait on the daemon's log. Sourced after live_lib.sh.
command -v node >/dev/null || { echo "SKIP: no node (scripts/deps.sh installs nodejs)"; exit 77; }

# rx_recipes FIXTURE...: copies them into $T/rec with @DIR@ -> $T
rx_recipes() {
  mkdir -p "$T/rec"
  local f
  for f in "$@"; do sed "s#@DIR@#$T#g" "$SRC/tests/fixtures/reactions/$f" >"$T/rec/$f"; done
}

# wait_log FIXED-STRING [SECONDS]: waits for a line of the daemon's log
wait_log() {
  local want=$1 secs=${2:-10} i
  for i in $(seq 1 $((secs * 10))); do
    grep -qF -- "$want" "$T/daemon.err" && return 0
    sleep 0.1
  done
  tail -30 "$T/daemon.err" >&2
  fail "no log line with: $want (within ${secs}s)"
}
