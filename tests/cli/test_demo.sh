#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: `mizan demo` tells its story (an alert with the model's
# verdict, the same alert from the verdict cache, a withheld alert with the
# audit.log path and line that hold it, and the counter that counted it) and
# leaves nothing behind: no daemon, no temp directory, no pins, no programs.
# Then --keep: the audit.log line it named is that withheld alert. Then a
# SIGINT in the middle: the same cleanup.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v bpftool >/dev/null || { echo "SKIP: no bpftool (scripts/deps.sh installs it)"; exit 77; }

# bpffs apart from other tests' own temp pin dirs, and mizan's default pin dir
pins() { { ls /sys/fs/bpf | grep -v '^mizan-test-' || true; ls -R /sys/fs/bpf/mizan 2>/dev/null || true; } | sort; }
left_behind() { # OUTPUT-FILE
  local dpid dir
  dpid=$(sed -n 's/^daemon pid \([0-9]*\):.*/\1/p' "$1")
  dir=$(sed -n 's/^everything it writes is in \(\/tmp\/mizan-demo\.[A-Za-z0-9]*\).*/\1/p' "$1")
  [ -n "$dpid" ] && [ -n "$dir" ] || { cat "$1"; fail "no daemon pid or temp dir in the output"; }
  ! kill -0 "$dpid" 2>/dev/null || fail "the demo's daemon $dpid still runs"
  ! bpftool prog show 2>/dev/null | grep -q "mizan($dpid)" || fail "programs of $dpid still loaded"
  [ "$(pins)" = "$PINS0" ] || fail "bpffs changed: $(diff <(echo "$PINS0") <(pins) || true)"
  echo "$dir"
}

PINS0=$(pins)
set +e
timeout 120 "$MIZAN" demo >"$T/demo.out" 2>"$T/demo.err"
rc=$?
set -e
cat "$T/demo.out"
[ "$rc" -eq 0 ] || { cat "$T/demo.err"; fail "mizan demo exited $rc"; }
python3 - "$T/demo.out" <<'PY' || fail "the demo's output misses a step"
import re, sys
out = open(sys.argv[1]).read()
steps = out.split("\n[")
s1, s2, s3 = steps[1], steps[2], steps[3]
assert "ALERT credentials_files_access" in s1 and "verdict   true_positive, confidence 0.90" in s1, s1
assert "from      the model" in s1, s1
assert "ALERT credentials_files_access" in s2 and "from      the verdict cache" in s2, s2
assert "WITHHELD security_software_discovery" in s3 and "verdict   false_positive" in s3, s3
m = re.search(r"(/tmp/mizan-demo\.\w+/log/audit\.log), line (\d+):", s3)
assert m, s3
assert '"withheld":true' in s3 and '"id":"security_software_discovery"' in s3, s3
assert re.search(r"withhold = 1|^  \S*" + "withheld" + r"\S* 1", s3, re.M), s3
assert "removed." in out, out
PY
dir=$(left_behind "$T/demo.out")
[ ! -e "$dir" ] || fail "$dir is left behind"
echo "ok: the demo's steps, and nothing left behind"

# --keep: the named audit.log line is the withheld alert
timeout 120 "$MIZAN" demo --keep >"$T/keep.out" 2>&1 || { cat "$T/keep.out"; fail "demo --keep"; }
dir=$(left_behind "$T/keep.out")
read -r audit line < <(sed -n 's/^ *\(\/tmp\/mizan-demo\.[A-Za-z0-9]*\/log\/audit\.log\), line \([0-9]*\):$/\1 \2/p' "$T/keep.out")
pid=$(sed -n 's/.*WITHHELD security_software_discovery .* pid \([0-9]*\) .*/\1/p' "$T/keep.out")
[ -f "$audit" ] || fail "no audit.log at $audit"
sed -n "${line}p" "$audit" | python3 -c "
import json, sys
a = json.loads(sys.stdin.read())
assert a['recipe']['id'] == 'security_software_discovery' and a['process']['pid'] == $pid, a
assert a['attenuation']['withheld'] is True and a['attenuation']['verdict'] == 'false_positive', a
" || fail "line $line of $audit is not the withheld alert"
rm -rf "$dir"
echo "ok: $audit line $line is the withheld alert"

# SIGINT once the daemon scans: the same cleanup, exit 130
"$MIZAN" demo >"$T/int.out" 2>&1 &
demo=$!
for _ in $(seq 1 300); do grep -q "attached and scanning" "$T/int.out" && break; sleep 0.1; done
kill -INT "$demo"
set +e
wait "$demo"
rc=$?
set -e
[ "$rc" -eq 130 ] || { cat "$T/int.out"; fail "interrupted demo exited $rc"; }
dir=$(left_behind "$T/int.out")
[ ! -e "$dir" ] || fail "$dir is left behind after SIGINT"
grep -q "interrupted: cleaning up" "$T/int.out" || fail "no interruption message"
echo "PASS"
