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
#    final address with the name the client asked, alias.mzd.test, and
#    lists the chain's names (flow.domain_names: alias, mid, target);
#  - one process resolves two names to one address (within one scan): its
#    flow lists both, without a conflict, and carries the last answer's
#    query id (a fixed one) and the network namespace of the process
#    (flow.resolution); a process in the test's namespace gets that
#    namespace's inode;
#  - a 60-address answer of about 1,000 bytes (EDNS0): the flow to the
#    last address of the answer is named;
#  - a recipe listing the chain's target (target.mzd.test) alerts on the
#    flow named alias.mzd.test, its matched part naming domain_names[2];
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
for a in 2 3 7 8 9 10; do ip -n "$NS" addr add "$P.$a/24" dev "$VN"; done
# the 60 addresses of the large answer, P.128 to P.187: local to the
# namespace (a connect to them is refused, which records the flow)
ip -n "$NS" route add local "$P.128/26" dev lo
BIG=()
for a in $(seq 128 187); do BIG+=(--host-record=big.mzd.test,"$P.$a"); done
ip -n "$NS" link set "$VN" up

LONG=$(python3 -c 'print(".".join(["a" * 63, "b" * 63, "c" * 60]) + ".mzd.test")')
[ ${#LONG} -gt 190 ] || fail "long name is ${#LONG} bytes"
common=(--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces
  --except-interface=lo --user=root)
ip netns exec "$NS" "$DNSMASQ" "${common[@]}" --listen-address="$P.2" --pid-file="$T/d1.pid" \
  --address=/good.mzd.test/"$P.7" --address=/"$LONG"/"$P.8" \
  --host-record=target.mzd.test,"$P.9" --cname=mid.mzd.test,target.mzd.test \
  --cname=alias.mzd.test,mid.mzd.test --address=/two-a.mzd.test/"$P.10" \
  --address=/two-b.mzd.test/"$P.10" "${BIG[@]}" &
PIDS+=($!)
ip netns exec "$NS" "$DNSMASQ" "${common[@]}" --listen-address="$P.3" --pid-file="$T/d2.pid" \
  --address=/evil.mzd.test/"$P.7" &
PIDS+=($!)

# client SERVER NAMES [ID [EDNS [last]]]: resolves each of the
# comma-separated NAMES at SERVER (message id ID, 0: random; an EDNS0
# buffer of EDNS bytes; "last": the answer's last address), then connects
# to the last answer (port 9: refused, which still records the flow): one
# process does both. Prints the address, its pid and the inode of its
# network namespace.
cat >"$T/client.py" <<'PY'
import os, socket, sys
sys.path.insert(0, sys.argv[1])
import np_probe
txid = int(sys.argv[4]) if len(sys.argv) > 4 and int(sys.argv[4]) else None
edns = int(sys.argv[5]) if len(sys.argv) > 5 else 0
last = len(sys.argv) > 6 and sys.argv[6] == "last"
for name in sys.argv[3].split(","):
    addr = np_probe.query(sys.argv[2], name, txid=txid, edns=edns, last=last)
    if addr.count(".") != 3:
        print("resolve failed:", addr); sys.exit(1)
port = int(os.environ.get("PORT", "9"))
s = socket.socket(); s.settimeout(1)
try:
    s.connect((addr, port))
except OSError:
    pass
print(addr, os.getpid(), os.stat("/proc/self/ns/net").st_ino, flush=True)
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
read -r addr _ _ < <(client "$P.2" alias.mzd.test)
[ "$addr" = "$P.9" ] || fail "the CNAME chain did not resolve"
client "$P.2" two-a.mzd.test,two-b.mzd.test 4242 >"$T/two" || fail "two names"
read -r addr TWO_PID TWO_NETNS <"$T/two"
[ "$addr" = "$P.10" ] || fail "two names: $addr"
PORT=11 ip netns exec "$NS" python3 "$T/client.py" "$SRC/tests/cli" "$P.2" good.mzd.test 777 \
  >"$T/inns" || fail "the client in the namespace"
read -r _ INNS_PID INNS_NETNS <"$T/inns"
[ "$INNS_NETNS" != "$TWO_NETNS" ] || fail "the namespace has the host's inode"
client "$P.2" big.mzd.test 0 4096 last >"$T/big" || fail "the large answer"
read -r BIG_ADDR _ _ <"$T/big"
# the answer's last address, past byte 512 of the message (the first is P.128)
[ "$BIG_ADDR" != "$P.128" ] || fail "the large answer's last address is its first"
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

python3 - "$T/obs.jsonl" "$P" "$LONG" "$TWO_PID" "$TWO_NETNS" "$BIG_ADDR" "$INNS_PID" "$INNS_NETNS" <<'PY' ||
import json, sys, time
path, p, long = sys.argv[1], sys.argv[2], sys.argv[3]
two_pid, two_netns, big_addr = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
inns_pid, inns_netns = int(sys.argv[7]), int(sys.argv[8])
deadline = time.time() + 10
def flows():
    out = []
    for line in open(path):
        if not line.endswith("\n"):
            break
        o = json.loads(line)
        if o["kind"] == "flow" and o["flow"]["remote"]["addr"] in (p + ".7", p + ".8", p + ".9",
                                                                   p + ".10", big_addr) \
                and o["flow"]["remote"]["port"] in (9, 10, 11):
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
    two = [o for o in f if o["flow"]["remote"]["addr"] == p + ".10"]
    big = [o for o in f if o["flow"]["remote"]["addr"] == big_addr]
    inns = [o for o in f if o["flow"]["remote"]["port"] == 11]
    if (longs and a3 and evil and cname and two and big and inns) or time.time() > deadline:
        break
    time.sleep(0.2)
assert longs, "no flow to the long name's address"
assert longs[0]["flow"]["domain"] == long, longs[0]["flow"].get("domain")
assert cname, "no flow to the CNAME chain's address"
assert cname[0]["flow"].get("domain") == "alias.mzd.test", cname[0]["flow"]
assert cname[0]["flow"].get("domain_names") == ["alias.mzd.test", "mid.mzd.test",
                                                "target.mzd.test"], cname[0]["flow"]
assert two, "no flow to the address of two names"
ft = two[0]["flow"]
assert two[0]["process"]["pid"] == two_pid, two[0]["process"]
assert ft.get("domain") == "two-b.mzd.test", ft
assert ft.get("domain_names") == ["two-b.mzd.test", "two-a.mzd.test"], ft
assert not ft.get("domain_conflict"), ft
assert ft.get("resolution") == {"qid": 4242, "netns": two_netns, "own": True}, ft
assert inns, "no flow of the client in the namespace"
fi = inns[0]["flow"]
assert inns[0]["process"]["pid"] == inns_pid, inns[0]["process"]
assert fi.get("resolution") == {"qid": 777, "netns": inns_netns, "own": True}, fi
assert big, "no flow to the large answer's last address " + big_addr
assert big[0]["flow"].get("domain") == "big.mzd.test", big[0]["flow"]
assert a3, "no flow of A after the forged answer"
fa = a3[0]["flow"]
assert fa["domain"] == "good.mzd.test", fa
assert fa.get("domain_conflict") is True and fa.get("domain_other") == "evil.mzd.test", fa
assert evil, "the forger's own flow is not named by its own answer"
print("long:", len(long), "bytes named; A after forgery:", fa["domain"], "other:", fa["domain_other"])
print("chain:", cname[0]["flow"]["domain_names"], "two:", ft["domain_names"], ft["resolution"],
      "large answer's last address:", big_addr)
PY
  { tail -5 "$T/daemon.err"; fail "flow domains"; }
stop_daemon

# a recipe listing the chain's target alerts on the flow named alias.mzd.test
# (replayed from the observation the daemon printed); the part names the
# entry of domain_names that matched
mkdir -p "$T/recipes"
cat >"$T/recipes/cname.yaml" <<'YAML'
- kind: cname_target
  name: cname_target
  description: a listed CNAME target
  mechanism: network_peers
  importance: low
  remote_domains: [target.mzd.test]
YAML
python3 - "$T/obs.jsonl" "$P" >"$T/cname.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["kind"] == "flow" and o["flow"]["remote"]["addr"] == sys.argv[2] + ".9":
        print(line, end="")
        break
PY
[ -s "$T/cname.jsonl" ] || fail "no CNAME flow to replay"
write_config "detect:
  builtin: false
  dirs: [$T/recipes]"
"$MIZAN" replay -c "$T/mizan.yaml" "$T/cname.jsonl" >"$T/alerts.jsonl" 2>"$T/replay.err" ||
  { cat "$T/replay.err"; fail "replay"; }
python3 - "$T/alerts.jsonl" <<'PY' || { cat "$T/replay.err"; fail "the CNAME target did not alert"; }
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a = [x for x in alerts if x.get("recipe", {}).get("id") == "cname_target"]
assert a, alerts
m = a[0].get("matched")
assert m and m[0]["field"] == "domain_names" and m[0]["index"] == 2 and \
    m[0]["pattern"] == "target.mzd.test", m
print("alert on the chain's target:", m[0])
PY
echo ok
