#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: exclusions a name can't spoof. For every built-in recipe
# that excludes programs, a copy named like an excluded program, once in
# /dev/shm and once in a home directory (a temp HOME under /home, in
# ~/.cache), does what the recipe detects, and must alert: built-in
# exclusions match only trusted system binaries (root-owned, not writable,
# under a root-only system directory, the very file that ran). A control
# shows the trusted binary itself is still excluded (pwck reading
# /etc/shadow). Everything made here is removed; the network case runs in a
# namespace of its own.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip missing"; exit 77; }
[ -d /home ] || { echo "SKIP: no /home"; exit 77; }
# a canary recipe: proves the daemon saw pwck's read of /etc/shadow (the
# control below), so that its absence from credentials_files_access means
# "excluded", not "not seen"
mkdir -p "$T/recipes"
cat >"$T/recipes/canary.yaml" <<'YAML'
- kind: mizan_test_pwck_canary
  name: mizan_test_pwck_canary
  description: pwck read a shadow file (test canary)
  mechanism: file_access
  tactic: discovery
  technique: none
  importance: low
  arbitrary:
    - how: AND
      which: pertinent
      items:
        - what: exe
          which: pertinent
          pattern: ^/usr/sbin/pwck$
  file_actions: [open, read]
  file_actions_how: any
  bases:
    - dir: /etc
      base: shadow
YAML
start_daemon "detect:
  dirs: [$T/recipes]
  global_max_per_minute: 0"

SHM=$(mktemp -d /dev/shm/mizan-excl.XXXXXX)
H=$(mktemp -d /home/mizan-home.XXXXXX)
ns=mizan-excl-$$
KEY=/etc/ssl/private/mizan-excl-$$.key
made_private=
trap 'rm -rf "$SHM" "$H"; rm -f "$KEY"; [ -n "$made_private" ] && rmdir /etc/ssl/private;
      ip netns del "$ns" 2>/dev/null || true; stop_daemon_quiet; cleanup' EXIT
mkdir -p "$H/.cache" "$H/.ssh"
echo "not a key" >"$H/.ssh/id_mizan"
[ -d /etc/ssl/private ] || { mkdir -p -m 0700 /etc/ssl/private; made_private=1; }
echo "not a key" >"$KEY"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 169.254.169.254/32 dev lo
cat >"$T/bpfload.py" <<'PY'
# loads a two-instruction socket filter (r0 = 0; exit) and closes it
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
insns = ctypes.create_string_buffer(bytes([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), 16)
lic = ctypes.create_string_buffer(b"GPL")
attr = ctypes.create_string_buffer(struct.pack("IIQQIIQI", 1, 2, ctypes.addressof(insns),
                                               ctypes.addressof(lic), 0, 0, 0, 0), 128)
fd = libc.syscall(321, 5, attr, 128)
if fd < 0:
    raise SystemExit("bpf(BPF_PROG_LOAD): errno %d" % ctypes.get_errno())
os.close(fd)
PY
[ "$(uname -m)" = x86_64 ] || echo "note: not x86_64, the bpf syscall number differs; bpf case skipped"

# The cases run from a copy of bash under $T, not from /usr/bin/bash: every
# daemon on the host sees these execs, and a budget per parent exe or per
# ancestry (exec_from_unusual_dir's, say) of another live test running at
# the same time must not be spent by this one.
cp /bin/bash "$T/runner"
cat >"$T/cases.sh" <<'CASES'
want() { echo "$1 $2" >>"$T/want"; } # RECIPE EXE
# The cases, in directory D ($1); $2 picks among the excluded names so
# that each location uses another spoofed name (su here, cron there, ...).
D=$1 i=$2 KEY=$3 H=$4 T=$5 ns=$6
cred=(su cron) log=(logrotate sudo) web=(nginx apache2) sk=(ssh git) envr=(ps top)
core=(systemd-sysctl apport) cloud=(cloud-init waagent) shim=(containerd-shim dockerd)
  # credentials_files_access
  cp /bin/bash "$D/${cred[i]}"
  "$D/${cred[i]}" -c 'read -r _ </etc/shadow || true'
  want credentials_files_access "$D/${cred[i]}"
  # ssl_certificate_access
  cp /bin/bash "$D/${web[i]}"
  "$D/${web[i]}" -c 'read -r _ <"$0" || true' "$KEY"
  want ssl_certificate_access "$D/${web[i]}"
  # reading_of_ssh_keys
  cp /bin/bash "$D/${sk[i]}"
  "$D/${sk[i]}" -c 'read -r _ <"$0" || true' "$H/.ssh/id_mizan"
  want reading_of_ssh_keys "$D/${sk[i]}"
  # environ_read_from_procfs
  cp /bin/bash "$D/${envr[i]}"
  "$D/${envr[i]}" -c 'read -r -d "" _ </proc/self/environ || true'
  want environ_read_from_procfs "$D/${envr[i]}"
  # core_pattern_access: writes back the value it read (no change)
  cp /bin/bash "$D/${core[i]}"
  "$D/${core[i]}" -c 'v=$(</proc/sys/kernel/core_pattern); printf "%s\n" "$v" >/proc/sys/kernel/core_pattern'
  want core_pattern_access "$D/${core[i]}"
  # auth_logs_tamper: opens wtmp for writing, writes nothing
  if [ -e /var/log/wtmp ]; then
    cp /bin/bash "$D/${log[i]}"
    "$D/${log[i]}" -c ': >>/var/log/wtmp'
    want auth_logs_tamper "$D/${log[i]}"
  fi
  # cloud_metadata_access: a refused connect inside our namespace
  cp /bin/bash "$D/${cloud[i]}"
  ip netns exec "$ns" "$D/${cloud[i]}" -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>/dev/null || true
  want cloud_metadata_access "$D/${cloud[i]}"
  # runc_suspicious_exec: runc started by a parent named like a runtime
  cp /bin/bash "$D/${shim[i]}"
  cp /bin/true "$D/runc"
  "$D/${shim[i]}" -c '"$0"; true' "$D/runc"
  want runc_suspicious_exec "$D/runc"
  # webserver_exec: a web server's child named like a shell
  cp /bin/bash "$D/sh"
  "$D/${web[i]}" -c '"$0" -c true; true' "$D/sh"
  want webserver_exec "$D/sh"
  # bpf_program_load by a copy named systemd
  if [ "$(uname -m)" = x86_64 ]; then
    cp /usr/bin/python3 "$D/systemd"
    "$D/systemd" "$T/bpfload.py" 2>/dev/null
    want bpf_program_load "$D/systemd"
  fi
  # the fingerprints exclude what a system binary runs or is run by: here
  # neither the reader nor its parent is one
  cp /bin/bash "$D/sshd"
  cp /bin/bash "$D/lscpu"
  "$D/sshd" -c '"$0" -c "for f in /proc/cpuinfo /proc/mounts /etc/machine-id /etc/os-release /proc/net/dev /proc/uptime; do read -r _ <\$f || true; done"; true' "$D/lscpu"
  for r in cpu_fingerprint filesystem_fingerprint machine_fingerprint os_fingerprint \
           os_network_fingerprint os_status_fingerprint; do
    want $r "$D/lscpu"
  done
CASES
: >"$T/want"
# twice: on a loaded host the collector may lose a record (it counts it);
# this test is about exclusions, so one run of each case that is seen will do
for _ in 1 2; do
  "$T/runner" "$T/cases.sh" "$SHM" 0 "$KEY" "$H" "$T" "$ns"
  "$T/runner" "$T/cases.sh" "$H/.cache" 1 "$KEY" "$H" "$T" "$ns"
done

# the trusted binary itself stays excluded
have_pwck=
if [ -x /usr/sbin/pwck ]; then
  /usr/sbin/pwck -r >/dev/null 2>&1 || true
  have_pwck=1
fi

python3 - "$T/out.jsonl" "$T/want" 40 <<'PY' || fail "spoofed exclusions"
import json, sys, time
out, want, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
need = set(tuple(l.split(" ", 1)) for l in open(want).read().splitlines() if l)
assert len(need) >= 28, "only %d cases" % len(need)
deadline = time.time() + secs
while True:
    got = set()
    for line in open(out):
        try:
            a = json.loads(line)
        except ValueError:
            continue
        got.add((a.get("recipe", {}).get("id"), a.get("process", {}).get("exe")))
    missing = need - got
    if not missing or time.time() > deadline:
        break
    time.sleep(0.5)
print("%d of %d spoofed copies alerted" % (len(need) - len(missing), len(need)))
for m in sorted(missing):
    print("MISSING: %s by %s" % m, file=sys.stderr)
sys.exit(1 if missing else 0)
PY

if [ -n "$have_pwck" ]; then
  wait_alert mizan_test_pwck_canary 'a["process"]["exe"] == "/usr/sbin/pwck"' 10 ||
    fail "the canary never saw pwck read /etc/shadow"
  sleep 1 # detections of one observation leave together; this is margin
  python3 - "$T/out.jsonl" <<'PY' || fail "/usr/sbin/pwck, a trusted system binary, was not excluded"
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a["recipe"]["id"] == "credentials_files_access" and a["process"]["exe"] == "/usr/sbin/pwck":
        print(json.dumps(a["process"]), file=sys.stderr)
        sys.exit(1)
PY
fi
stop_daemon
echo ok
