#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: an exec does not rewrite who acted. Every record names the
# process image that did the action, as it was then:
#  - python3 reads /etc/shadow, then execs /usr/sbin/unix_chkpwd (a program
#    credentials_files_access excludes): the alert still fires and names
#    python3 and its arguments;
#  - cat reads /etc/shadow and exits before any scan: the alert has the
#    full process (exe, args, comm, parent);
#  - a three-level exec chain (bash -> python3 -> perl) in one process: each
#    level's read stays on its own image, each with the process's parent.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v python3 >/dev/null || fail "python3 missing (scripts/deps.sh installs it)"
command -v perl >/dev/null || fail "perl missing"
[ -x /usr/sbin/unix_chkpwd ] || fail "/usr/sbin/unix_chkpwd missing (libpam-modules-bin)"

D=$T/work
mkdir -p "$D"
for f in a b c; do echo "$f" >"$D/$f"; done

# --- alerts ---------------------------------------------------------------
CADENCE=2s start_daemon
mark=attrib$$
python3 - "$mark" <<'PY'
import os, sys
open("/etc/shadow").read()
os.execv("/usr/sbin/unix_chkpwd", ["unix_chkpwd", "root", "chkexpiry"])
PY
true
sh -c 'exec cat /etc/shadow' >/dev/null
wait_alert credentials_files_access \
  "'python3' in a['process']['exe'] and '$mark' in (a['process']['args'] or '')" 15 \
  || { grep credentials_files_access "$T/out.jsonl" | head -3; fail "shadow read before exec not charged to python3"; }
wait_alert credentials_files_access \
  "a['process']['exe'] == '/usr/bin/cat' and a['process']['args'] == 'cat /etc/shadow' and a['process']['comm'] == 'cat' and a['process']['ppid'] > 0" 15 \
  || fail "exited reader lacks its process details"
python3 - "$T/out.jsonl" <<'PY' || fail "an alert names unix_chkpwd"
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a.get("recipe", {}).get("id") == "credentials_files_access":
        assert "unix_chkpwd" not in (a["process"]["exe"] or ""), a["process"]
PY
stop_daemon

# --- observations: a three-level exec chain --------------------------------
COLLECTOR=true CADENCE=200ms write_config
rm -f "$T/status.json" # the first daemon's
"$MIZAN" run -c "$T/mizan.yaml" --observations >"$T/obs.jsonl" 2>"$T/daemon.err" &
DAEMON_PID=$!
trap 'stop_daemon_quiet; cleanup' EXIT
for _ in $(seq 1 100); do
  [ -s "$T/status.json" ] && grep -q '"scans"' "$T/status.json" &&
    ! grep -q '"scans": 0' "$T/status.json" && break
  sleep 0.1
done
cat >"$D/l2.py" <<'PY'
import os, sys
open(sys.argv[1] + "/b").read()
os.execv("/usr/bin/perl", ["perl", sys.argv[1] + "/l3.pl", sys.argv[1]])
PY
cat >"$D/l3.pl" <<'PL'
open(my $f, "<", $ARGV[0] . "/c") or die "c: $!";
my $x = <$f>;
PL
bash -c 'read -r x <"$1/a"; exec python3 "$1/l2.py" "$1"' chain "$D"
python3 - "$T/obs.jsonl" "$D" <<'PY' || { tail -5 "$T/daemon.err"; fail "exec chain attribution"; }
import json, sys, time
path, d = sys.argv[1], sys.argv[2]
want = {d + "/a": "bash", d + "/b": "python3", d + "/c": "perl"}
deadline = time.time() + 10
got = {}
while time.time() < deadline and len(got) < 3:
    for line in open(path):
        if not line.endswith("\n"):
            break
        o = json.loads(line)
        if o["kind"] == "file" and o["file"]["path"] in want:
            got[o["file"]["path"]] = o["process"]
    time.sleep(0.1)
assert len(got) == 3, "observed only %s" % sorted(got)
pids = {p["pid"] for p in got.values()}
assert len(pids) == 1, "one process, three images: %s" % pids
for f, comm in want.items():
    p = got[f]
    exe = p["exe"] or ""
    assert comm in exe, "%s charged to %s (%s), want %s" % (f, exe, p["comm"], comm)
    print("%s -> %s %s" % (f, exe, p["args"]))
# every image has the process's parent (the test's shell) as its parent
for f in want:
    anc = got[f]["ancestry"] or [""]
    assert anc[0].endswith("/bash"), (f, anc)
PY
stop_daemon
echo ok
