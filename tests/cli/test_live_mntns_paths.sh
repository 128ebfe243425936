#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: a file is named by what it is, also from another mount
# namespace. A "container" (unshare -m, then pivot_root into $T/root, the
# old root unmounted) reads /data/secret, a file under a bind mount of
# $T/other at /mnt, and one on a tmpfs only it mounts, and runs its own
# copy of busybox (/bin/busybox). The observations keep the paths the container
# saw (file.path, process.exe) and carry the initial namespace's paths
# (file.host_path, process.exe_host_path: $T/root/data/secret,
# $T/other/file, $T/root/bin/busybox) and the container's mount namespace; the
# tmpfs file has no host path. The namespace and its mounts are the test's
# own and go away with its processes.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v unshare >/dev/null || fail "unshare missing (util-linux)"
command -v pivot_root >/dev/null || fail "pivot_root missing (util-linux)"
BB=$(command -v busybox) || fail "busybox missing"

T=$(realpath "$T")
R=$T/root
mkdir -p "$R/bin" "$R/data" "$R/mnt" "$R/usr" "$R/old" "$R/scratch" "$R/proc" "$T/other"
# the libraries through a bind mount of /usr (merged /usr: /lib -> usr/lib)
for l in lib lib64 lib32 libx32; do [ -L /$l ] && ln -s "usr/$l" "$R/$l"; done
[ -d /lib ] && [ ! -L /lib ] && { mkdir -p "$R/lib"; LIBBIND="mount --rbind /lib '$R/lib' &&"; }
[ -d /lib64 ] && [ ! -L /lib64 ] && { mkdir -p "$R/lib64"; LIBBIND="${LIBBIND:-} mount --rbind /lib64 '$R/lib64' &&"; }
cp "$BB" "$R/bin/busybox"
echo secret >"$R/data/secret"
echo other >"$T/other/file"

COLLECTOR=true CADENCE=200ms write_config
"$MIZAN" run -c "$T/mizan.yaml" --observations >"$T/obs.jsonl" 2>"$T/daemon.err" &
DAEMON_PID=$!
trap 'stop_daemon_quiet; cleanup' EXIT
for _ in $(seq 1 100); do
  [ -s "$T/status.json" ] && grep -q '"scans"' "$T/status.json" &&
    ! grep -q '"scans": 0' "$T/status.json" && break
  kill -0 $DAEMON_PID 2>/dev/null || { cat "$T/daemon.err"; fail "daemon died at start"; }
  sleep 0.1
done

# The container lives a few seconds after its reads, so that the collector
# finds a process in its namespace (its mountinfo) when it maps the paths.
unshare -m --propagation private sh -c "
  set -e
  mount --bind '$R' '$R'
  mount --rbind /usr '$R/usr'
  ${LIBBIND:-}
  mount --bind '$T/other' '$R/mnt'
  mount -t tmpfs none '$R/scratch'
  echo inside >'$R/scratch/tmpfile'
  cd '$R'
  pivot_root . old
  exec /bin/busybox sh -c '
    cd /
    /bin/busybox umount -l /old
    /bin/busybox cat /data/secret /mnt/file /scratch/tmpfile >/scratch/out
    /bin/busybox sleep 3'
" || fail "the container did not run"
MNTNS_HOST=$(stat -L -c %i /proc/self/ns/mnt)

python3 - "$T/obs.jsonl" "$R" "$T/other" "$MNTNS_HOST" <<'PY' || { tail -5 "$T/daemon.err"; fail "observations"; }
import json, sys, time
path, root, other, host_ns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
want = {
    "/data/secret": root + "/data/secret",
    "/mnt/file": other + "/file",
    "/scratch/tmpfile": None,
}
deadline = time.time() + 15
found, exe_ok, ns = {}, False, None
while time.time() < deadline:
    for line in open(path):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        f, p = o.get("file") or {}, o.get("process") or {}
        if o.get("kind") == "file" and f.get("path") in want and "mnt_ns" in f:
            found[f["path"]] = f
            # the reader is the container's busybox, named both ways
            assert p.get("exe") == "/bin/busybox", p
            assert p.get("exe_host_path") == root + "/bin/busybox", p
            assert p.get("exe_mnt_ns") == f["mnt_ns"], (p, f)
        if o.get("kind") == "exec" and p.get("exe") == "/bin/busybox" and \
                p.get("exe_host_path") == root + "/bin/busybox" and \
                f.get("path") == "/bin/busybox" and f.get("host_path") == root + "/bin/busybox":
            exe_ok = True
    if len(found) == len(want) and exe_ok:
        break
    time.sleep(0.3)
for k, v in want.items():
    assert k in found, "no observation of %s with its mount namespace (got %s)" % (k, sorted(found))
    f = found[k]
    assert f["mnt_ns"] != host_ns, f
    assert f.get("host_path") == v, (k, f)
    print("%s -> %s (mnt_ns %d)" % (k, f.get("host_path"), f["mnt_ns"]))
assert len({f["mnt_ns"] for f in found.values()}) == 1, found
assert exe_ok, "no exec observation of /bin/busybox with its host path"
PY

# the same file read from the initial namespace: its path, no mnt_ns
cat "$R/data/secret" >/dev/null
python3 - "$T/obs.jsonl" "$R/data/secret" <<'PY' || fail "host read"
import json, sys, time
deadline = time.time() + 10
while time.time() < deadline:
    for line in open(sys.argv[1]):
        f = (json.loads(line).get("file") or {}) if line.startswith("{") else {}
        if f.get("path") == sys.argv[2]:
            assert "mnt_ns" not in f and "host_path" not in f, f
            sys.exit(0)
    time.sleep(0.3)
sys.exit("no observation of %s" % sys.argv[2])
PY
stop_daemon
echo ok
