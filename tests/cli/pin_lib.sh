#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for the pinning tests (test_pin_*.sh): a pin directory of the
# test's own (never the default /sys/fs/bpf/mizan), removed at exit, and a
# set of actions the built-in recipes alert on, each marked so that its
# alert can be told from other processes' (the machine is shared).
source "$(dirname "${BASH_SOURCE[0]}")/live_lib.sh"

export PIN_DIR=/sys/fs/bpf/mizan-test-$$-$RANDOM

# for EXIT traps: stop the daemon, remove the pins, the temp dir
pin_cleanup() {
  stop_daemon_quiet
  "$MIZAN" uninstall -c "$T/mizan.yaml" >/dev/null 2>&1 || true
  [ -d "$PIN_DIR" ] && rm -rf "$PIN_DIR" 2>/dev/null
  rm -f /etc/sudoers.d/mizan-pin-$$ /etc/pam.d/mizan-pin-$$ /etc/profile.d/mizan-pin-$$.sh \
    /etc/ld.so.conf.d/mizan-pin-$$.conf /dev/shm/mizan-pin-$$ 2>/dev/null
  cleanup
  return 0
}

# pin_start_daemon [extra yaml]: start_daemon, keeping pin_cleanup as the
# EXIT trap (start_daemon sets its own)
pin_start_daemon() {
  start_daemon "$@"
  trap 'pin_cleanup' EXIT
}

# kill_daemon: kill -9, no drain
kill_daemon() {
  kill -9 "$DAEMON_PID"
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
}

# restart_daemon: the same config and outputs, appended to
restart_daemon() {
  "$MIZAN" run -c "$T/mizan.yaml" >>"$T/out.jsonl" 2>>"$T/daemon.err" &
  DAEMON_PID=$!
}

# wait_scans N: until the daemon's status says N more scans than now
wait_scans() {
  python3 - "$T/status.json" "$DAEMON_PID" "$1" <<'PY'
import json, os, sys, time
path, pid, more = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def scans():
    try:
        s = json.load(open(path))
        return s["scans"] if s.get("pid") == pid else None
    except (OSError, ValueError, KeyError):
        return None
deadline = time.time() + 30
start = None
while time.time() < deadline:
    n = scans()
    if n is not None:
        if start is None:
            start = n
        elif n >= start + more:
            sys.exit(0)
    time.sleep(0.1)
print("daemon did not scan", file=sys.stderr); sys.exit(1)
PY
}

# pin_actions: eleven actions the built-in recipes alert on, each once;
# writes $T/expect (recipe, python test over the alert `a`) one per line.
pin_actions() {
  local m=mizan-pin-$$ d=$T/act
  mkdir -p "$d"
  : >"$T/expect"
  expect() { printf '%s\t%s\n' "$1" "$2" >>"$T/expect"; }

  sh -c 'echo $$ >"$1"; exec cat /etc/shadow' sh "$d/shadow.pid" >/dev/null
  expect credentials_files_access "a['file']['path'] == '/etc/shadow' and a['process']['pid'] == $(cat "$d/shadow.pid")"

  local made=
  [ -d /etc/sudoers.d ] || { mkdir -m 0750 /etc/sudoers.d; made=1; }
  echo "# $m" >/etc/sudoers.d/$m; rm -f /etc/sudoers.d/$m
  [ -n "$made" ] && rmdir /etc/sudoers.d
  expect sudoers_modification "a['file']['path'] == '/etc/sudoers.d/$m' and 'write' in a['file']['actions']"

  echo "# $m" >/etc/pam.d/$m; rm -f /etc/pam.d/$m
  expect pam_config_modification "a['file']['path'] == '/etc/pam.d/$m' and 'write' in a['file']['actions']"

  echo "# $m" >/etc/profile.d/$m.sh; rm -f /etc/profile.d/$m.sh
  expect shell_config_modification "a['file']['path'] == '/etc/profile.d/$m.sh' and 'write' in a['file']['actions']"

  echo "# $m" >/etc/ld.so.conf.d/$m.conf; rm -f /etc/ld.so.conf.d/$m.conf
  expect global_shlib_modification "a['file']['path'] == '/etc/ld.so.conf.d/$m.conf' and 'write' in a['file']['actions']"

  cp /bin/true /dev/shm/$m; /dev/shm/$m; rm -f /dev/shm/$m
  expect exec_from_unusual_dir "a['kind'] == 'exec' and a['process']['exe'] == '/dev/shm/$m'"

  cp /bin/true "$d/.$m"; "$d/.$m"
  expect hidden_elf_exec "a['kind'] == 'exec' and a['process']['exe'] == '$d/.$m'"

  python3 -c 'import pty, sys; pty.spawn(["/bin/sh", "-c", "exit 0 # " + sys.argv[1]])' "$m" </dev/null >/dev/null 2>&1 || true
  expect interpreter_shell_spawn "'$m' in (a['process']['args'] or '')"

  echo 'ZWNobyBtaXphbgo=' >"$d/enc"
  base64 -d "$d/enc" >/dev/null
  expect data_encoder_exec "a['process']['args'] == 'base64 -d $d/enc'"

  grep -s password "$d/$m-none" || true
  expect credentials_text_lookup "a['process']['args'] == 'grep -s password $d/$m-none'"

  perl -e 1 "$m"
  expect code_on_the_fly "a['kind'] == 'exec' and a['process']['args'] == 'perl -e 1 $m'"
}

# check_once FILE: every expectation of $T/expect matches exactly one alert
check_once() {
  python3 - "$1" "$T/expect" <<'PY'
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = 0
for line in open(sys.argv[2]):
    recipe, expr = line.rstrip("\n").split("\t")
    n = sum(1 for a in alerts if a["recipe"]["id"] == recipe and eval(expr, {"a": a}))
    print("%-28s %d" % (recipe, n))
    if n != 1:
        bad += 1
sys.exit(1 if bad else 0)
PY
}
