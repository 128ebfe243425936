#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: domains can't be forged across processes or dropped. Two
# dnsmasq servers in a network namespace and veth pair this test creates
# (and deletes): "good" answers good.mzd.test and a 200-byte name, "forger"
# answers evil.mzd.test with the same address as good.mzd.test.
#  - a process that resolved a 200-byte name and connects to its address
#    has its flow named with the whole name;
#  - a name answered through a chain of two CNAMEs (alias -> mid ->
#    target.mzd.test, whose address "good" serves) names the flow to the
#    final address with the name the client asked, alias.mzd.test;
#  - process A resolves good.mzd.test, process B then gets the forged answer
#    for the same address; A's next connection is still named
#    good.mzd.test (marked domain_conflict, domain_other evil.mzd.test), and
#    B's is named evil.mzd.test.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v ip >/dev/null || fail "no ip (iproute2; scripts/deps.sh installs it)"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || fail "no dnsmasq (scripts/deps.sh installs it)"

for _ in $(seq 1 50); do
  N=$((RANDOM % 200 + 20))
  ip -4 addr | grep -q "10\.214\.$N\." || break
done
P=10.214.$N
NS=mzd$$
VH=mzdh$$
VN=mzdn$$
PIDS=()
cleanup_ns() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip link del "$VH" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  stop_daemon_quiet
  cleanup
}
ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "$P.1/24" dev "$VH"
ip link set "$VH" up
ip -n "$NS" link set lo up
for a in 2 3 7 8 9; do ip -n "$NS" addr add "$P.$a/24" dev "$VN"; done
ip -n "$NS" link set "$VN" up

LONG=$(python3 -c 'print(".".join(["a" * 63, "b" * 63, "c" * 60]) + ".mzd.test")')
[ ${#LONG} -gt 190 ] || fail "long name is ${#LONG} bytes"
common=(--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces
  --except-interface=lo --user=root)
ip netns exec "$NS" "$DNSMASQ" "${common[@]}" --listen-address="$P.2" --pid-file="$T/d1.pid" \
  --address=/good.mzd.test/"$P.7" --address=/"$LONG"/"$P.8" \
  --host-record=target.mzd.test,"$P.9" --cname=mid.mzd.test,target.mzd.test \
  --cname=alias.mzd.test,mid.mzd.test &
PIDS+=($!)
ip netns exec "$NS" "$DNSMASQ" "${common[@]}" --listen-address="$P.3" --pid-file="$T/d2.pid" \
  --address=/evil.mzd.test/"$P.7" &
PIDS+=($!)

# resolve NAME at SERVER, then connect to the answer twice (port 9: refused,
# which still records the flow): one process does both
cat >"$T/client.py" <<'PY'
import socket, sys
sys.path.insert(0, sys.argv[1])
import np_probe
addr = np_probe.query(sys.argv[2], sys.argv[3])
if addr.count(".") != 3:
    print("resolve failed:", addr); sys.exit(1)
s = socket.socket(); s.settimeout(1)
try:
    s.connect((addr, 9))
except OSError:
    pass
print(addr, flush=True)
PY
client() { python3 "$T/client.py" "$SRC/tests/cli" "$@"; }
for _ in $(seq 1 50); do
  [ "$(python3 "$SRC/tests/cli/np_probe.py" query "$P.2" good.mzd.test)" = "$P.7" ] &&
    [ "$(python3 "$SRC/tests/cli/np_probe.py" query "$P.3" evil.mzd.test)" = "$P.7" ] && break
  sleep 0.1
done

COLLECTOR=true CADENCE=200ms write_config
rm -f "$T/status.json"
"$MIZAN" run -c "$T/mizan.yaml" --observations >"$T/obs.jsonl" 2>"$T/daemon.err" &
DAEMON_PID=$!
trap cleanup_ns EXIT
for _ in $(seq 1 100); do
  [ -s "$T/status.json" ] && grep -q '"scans"' "$T/status.json" &&
    ! grep -q '"scans": 0' "$T/status.json" && break
  sleep 0.1
done

client "$P.2" "$LONG" >/dev/null || fail "long name"
[ "$(client "$P.2" alias.mzd.test)" = "$P.9" ] || fail "the CNAME chain did not resolve"
client "$P.2" good.mzd.test >"$T/a1" & a1=$!
wait $a1 || fail "client A"
client "$P.3" evil.mzd.test >/dev/null || fail "client B (forger)"
# A again: resolves, waits until the forger has answered B, then connects
cat >"$T/a_then.py" <<'PY'
import socket, sys, time
sys.path.insert(0, sys.argv[1])
import np_probe
addr = np_probe.query(sys.argv[2], "good.mzd.test")
open(sys.argv[3], "w").write(addr)
while not __import__("os").path.exists(sys.argv[4]):   # until the forger ran
    time.sleep(0.05)
s = socket.socket(); s.settimeout(1)
try:
    s.connect((addr, 10))
except OSError:
    pass
PY
python3 "$T/a_then.py" "$SRC/tests/cli" "$P.2" "$T/a3" "$T/forged" & a3=$!
for _ in $(seq 1 50); do [ -s "$T/a3" ] && break; sleep 0.1; done
client "$P.3" evil.mzd.test >/dev/null || fail "client B again"
touch "$T/forged"
wait $a3 || fail "client A3"

python3 - "$T/obs.jsonl" "$P" "$LONG" <<'PY' || { tail -5 "$T/daemon.err"; fail "flow domains"; }
import json, sys, time
path, p, long = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.time() + 10
def flows():
    out = []
    for line in open(path):
        if not line.endswith("\n"):
            break
        o = json.loads(line)
        if o["kind"] == "flow" and o["flow"]["remote"]["addr"] in (p + ".7", p + ".8", p + ".9") \
                and o["flow"]["remote"]["port"] in (9, 10):
            out.append(o)
    return out
while True:
    f = flows()
    by = {}
    for o in f:
        by.setdefault((o["flow"]["remote"]["addr"], o["flow"]["remote"]["port"], o["process"]["pid"]), o)
    longs = [o for o in f if o["flow"]["remote"]["addr"] == p + ".8"]
    a3 = [o for o in f if o["flow"]["remote"]["port"] == 10]
    evil = [o for o in f if o["flow"]["remote"]["addr"] == p + ".7" and o["flow"].get("domain") == "evil.mzd.test"]
    cname = [o for o in f if o["flow"]["remote"]["addr"] == p + ".9"]
    if (longs and a3 and evil and cname) or time.time() > deadline:
        break
    time.sleep(0.2)
assert longs, "no flow to the long name's address"
assert longs[0]["flow"]["domain"] == long, longs[0]["flow"].get("domain")
assert cname, "no flow to the CNAME chain's address"
assert cname[0]["flow"].get("domain") == "alias.mzd.test", cname[0]["flow"]
assert a3, "no flow of A after the forged answer"
fa = a3[0]["flow"]
assert fa["domain"] == "good.mzd.test", fa
assert fa.get("domain_conflict") is True and fa.get("domain_other") == "evil.mzd.test", fa
assert evil, "the forger's own flow is not named by its own answer"
print("long:", len(long), "bytes named; A after forgery:", fa["domain"], "other:", fa["domain_other"])
PY
stop_daemon
echo ok
