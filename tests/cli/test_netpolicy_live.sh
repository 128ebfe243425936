#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live: the network policy in the kernel, against peers in a network
# namespace and a veth pair this test creates (and deletes at exit), with
# dnsmasq serving a zone inside the namespace. The policy denies only
# addresses of that namespace (default allow), so the cgroup programs at the
# root refuse nothing of other processes on the machine.
#
#   1 enforce: an allowed peer connects; a denied CIDR gets EPERM (TCP and
#     UDP, IPv4, IPv6 and v4-mapped); the longest prefix wins both ways; a
#     query for a denied domain (or a name under it) gets no answer
#   2 alert: the file changes on disk and applies within a second without
#     a restart; the denied CIDR connects, and a dropip alert names its rule
#   3 both: an address resolved (and captured by the collector) before its
#     domain was denied is refused once the rule comes; with resolve alert a
#     denied domain resolves (dropdomain alert), and the address it resolved
#     to is then refused for a direct connect, even where a CIDR rule allows it
#   4 an invalid change is rejected with file:line:col; the policy stays
#   5 SIGHUP applies a change the inotify watch did not see
source "$(dirname "$0")/live_lib.sh"
require_live
command -v ip >/dev/null || { echo "SKIP: no ip (iproute2)"; exit 77; }
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq (scripts/deps.sh installs it)"; exit 77; }
PROBE="python3 $SRC/tests/cli/np_probe.py"

# our own /24 in 10/8, one no interface of this machine uses
for _ in $(seq 1 50); do
  N=$((RANDOM % 200 + 20))
  ip -4 addr | grep -q "10\.213\.$N\." || break
done
P=10.213.$N
P6=fd00:6d7a:$N
NS=mzp$$
VH=mzph$$
VN=mzpn$$
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip link del "$VH" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$T"
  return 0
}
trap cleanup EXIT

ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "$P.1/24" dev "$VH"
ip -6 addr add "$P6::1/64" dev "$VH" nodad
ip link set "$VH" up
ip -n "$NS" link set lo up
for a in 2 8 9 5; do ip -n "$NS" addr add "$P.$a/24" dev "$VN"; done
ip -n "$NS" -6 addr add "$P6::2/64" dev "$VN" nodad
ip -n "$NS" -6 addr add "$P6::8/64" dev "$VN" nodad
ip -n "$NS" link set "$VN" up

ip netns exec "$NS" $PROBE serve 8080 &
PIDS+=($!)
ip netns exec "$NS" "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address="$P.2" --except-interface=lo --pid-file="$T/dnsmasq.pid" \
  --user=root --address=/ok.mzp.test/"$P.2" --address=/blocked.mzp.test/"$P.5" \
  --address=/late.mzp.test/"$P.9" \
  --log-facility="$T/dnsmasq.log" &
PIDS+=($!)
for _ in $(seq 1 50); do
  [ "$($PROBE connect "$P.2" 8080)" = ok ] && [ "$($PROBE query "$P.2" ok.mzp.test)" = "$P.2" ] && break
  sleep 0.1
done
[ "$($PROBE query "$P.2" ok.mzp.test)" = "$P.2" ] || fail "dnsmasq does not answer in $NS"
# without a policy every peer connects and every name resolves
[ "$($PROBE connect "$P.8" 8080)" = ok ] || fail "$P.8 unreachable before any policy"
for _ in 1 2 3; do # a loaded machine may be slower than the probe's 1 s
  r=$($PROBE query "$P.2" blocked.mzp.test)
  [ "$r" = "$P.5" ] && break
done
[ "$r" = "$P.5" ] || fail "blocked.mzp.test unresolved before any policy: $r"

# policy MODE RESOLVE_MODE [DENIED-DOMAIN...]: writes the policy file
# atomically (as editors do); the domain rules default to blocked.mzp.test
policy() {
  local cm=$1 rm=$2 d
  shift 2
  [ $# -gt 0 ] || set -- blocked.mzp.test
  local out=${OUT:-$T/netpolicy.yaml}
  cat >"$out.new" <<YAML
network_policy:
  cidr_mode: "$cm"
  cidr_policy: "allow"
  resolve_mode: "$rm"
  resolve_policy: "allow"
  rules:
    - cidr: "$P.0/24"
      policy: "allow"
    - cidr: "$P.8/29"
      policy: "deny"
    - cidr: "$P.9/32"
      policy: "allow"
    - cidr: "$P6::8/125"
      policy: "deny"
YAML
  for d in "$@"; do printf '    - domain: "%s"\n      policy: "deny"\n' "$d" >>"$out.new"; done
  mv "$out.new" "$out"
}

expect() { # WHAT EXPECTED PROBE-ARGS...
  local what=$1 want=$2; shift 2
  local got
  got=$($PROBE "$@")
  [ "$got" = "$want" ] || fail "$what: expected $want, got $got"
  echo "ok: $what: $got"
}

# --- 1: enforce -------------------------------------------------------------
policy enforce enforce
start_daemon "netpolicy:
  enabled: true
  file: $T/netpolicy.yaml"
# at exit, the daemon gets 20 s to drain, then SIGKILL: a hung daemon must
# not keep the namespace, dnsmasq and the programs past the test
stop_bounded() {
  if [ -n "$DAEMON_PID" ]; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  DAEMON_PID=
  return 0
}
trap 'stop_bounded; cleanup' EXIT
grep -q "netpolicy: .* applied" "$T/daemon.err" || { cat "$T/daemon.err"; fail "policy not applied"; }

expect "allowed peer (/24 allow)" ok connect "$P.2" 8080
expect "denied CIDR /29 beats /24" EPERM connect "$P.8" 8080
expect "allowed /32 beats denied /29" ok connect "$P.9" 8080
expect "denied CIDR over UDP (sendmsg4)" EPERM udp "$P.8" 9
expect "denied IPv6 CIDR" EPERM connect "$P6::8" 8080
expect "allowed IPv6 peer" ok connect "$P6::2" 8080
expect "v4-mapped IPv6 address of a denied CIDR" EPERM connect "::ffff:$P.8" 8080
expect "allowed domain resolves" "$P.2" query "$P.2" ok.mzp.test
r=$($PROBE query "$P.2" blocked.mzp.test)
case $r in noanswer | EPERM) echo "ok: denied domain: $r" ;; *) fail "denied domain answered: $r" ;; esac
r=$($PROBE query "$P.2" www.BLOCKED.mzp.test)
case $r in noanswer | EPERM) echo "ok: name under a denied domain: $r" ;; *) fail "www.blocked answered: $r" ;; esac
# a denied name hidden as the second question of one query
r=$($PROBE query "$P.2" ok.mzp.test blocked.mzp.test)
case $r in noanswer | EPERM) echo "ok: two questions in one query: $r" ;; *) fail "two-question query answered: $r" ;; esac
# nothing learned from a query that never left: .5 is still reachable
expect "a denied domain's address, not learned" ok connect "$P.5" 8080

# --- 2: a change applies within a second, without a restart ----------------
n0=$(grep -c "netpolicy: .*netpolicy.yaml applied" "$T/daemon.err" || true)
t0=$(date +%s%N)
policy alert bypass
for _ in $(seq 1 100); do
  [ "$($PROBE connect "$P.8" 8080)" = ok ] && break
  sleep 0.05
done
[ "$($PROBE connect "$P.8" 8080)" = ok ] || fail "the changed policy did not apply"
# when it applied: the daemon's log line (stamped after the maps switched),
# not the probes' own python start-up on a loaded machine
ms=$(python3 - "$T/daemon.err" "$t0" "$n0" <<'PY'
import datetime, re, sys
lines = [l for l in open(sys.argv[1]) if re.search(r"netpolicy: .*netpolicy.yaml applied", l)]
l = lines[int(sys.argv[3])]
t = datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int((t.timestamp() * 1e9 - int(sys.argv[2])) / 1e6))
PY
)
[ "$ms" -le 1000 ] || fail "the changed policy applied after $ms ms (more than a second)"
echo "ok: policy change applied in $ms ms"
kill -0 "$DAEMON_PID" || fail "daemon restarted?"
wait_alert dropip "a['flow']['remote']['addr'] == '$P.8' and a['flow']['rule'] == 'cidr $P.8/29 deny' \
  and 'blocked' not in a['flow']['actions'] and a['process']['pid'] > 0" 10

# --- 3: learned addresses of a denied domain --------------------------------
policy both bypass late.mzp.test
for _ in $(seq 1 40); do
  [ "$($PROBE connect "$P.8" 8080)" = EPERM ] && break
  sleep 0.05
done
expect "both: denied CIDR refused" EPERM connect "$P.8" 8080
expect "a domain without a rule resolves" "$P.5" query "$P.2" blocked.mzp.test
expect "and its address connects" ok connect "$P.5" 8080
sleep 0.5 # the collector's capture of that answer is in its map at once; be generous
policy both alert late.mzp.test blocked.mzp.test
for _ in $(seq 1 40); do
  [ "$($PROBE connect "$P.5" 8080)" = EPERM ] && break
  sleep 0.05
done
expect "once its domain is denied, the address resolved before is refused" EPERM connect "$P.5" 8080
grep -q "already resolved for denied domains are denied" "$T/daemon.err" || fail "no seeding logged"
expect "before it resolves, a denied domain's address (/32 allow) connects" ok connect "$P.9" 8080
expect "resolve alert: the denied domain resolves" "$P.9" query "$P.2" late.mzp.test
expect "its address is then refused, over the /32 allow" EPERM connect "$P.9" 8080
wait_alert dropdomain "a['flow']['domain'] == 'late.mzp.test' and \
  a['flow']['rule'] == 'domain late.mzp.test deny' and 'blocked' not in a['flow']['actions']" 10
wait_alert dropip "a['flow']['remote']['addr'] == '$P.9' and a['flow']['rule'] == 'domain late.mzp.test deny' \
  and 'blocked' in a['flow']['actions'] and a['flow']['domain'] == 'late.mzp.test'" 10
wait_alert dropip "a['flow']['remote']['addr'] == '$P.5' and a['flow']['rule'] == 'domain blocked.mzp.test deny'" 10
# a spoofed answer for a denied name (no query waits for it) is not
# delivered and teaches nothing: the allowed peer it names stays reachable
$PROBE listen "$P.1" 5353 3 >"$T/listen.out" &
LPID=$!
for _ in $(seq 1 30); do grep -q ready "$T/listen.out" 2>/dev/null && break; sleep 0.05; done
ip netns exec "$NS" $PROBE spoof "$P.9" "$P.1" 5353 blocked.mzp.test "$P.2" >/dev/null
wait $LPID || true
grep -q nothing "$T/listen.out" || fail "the spoofed answer was delivered: $(cat "$T/listen.out")"
echo "ok: spoofed answer for a denied name dropped"
expect "the peer a spoofed answer named is not learned" ok connect "$P.2" 8080
python3 -c "import json,sys; n=json.load(open('$T/status.json'))['netpolicy']; sys.exit(0 if n['dns_unmatched']>=1 and n['learned']>=1 else 1)" ||
  fail "status: netpolicy counters did not move: $(grep -A20 netpolicy "$T/status.json")"

# --- 4: an invalid change is rejected, the running policy stays ------------
printf 'network_policy:\n  cidr_mode: "enforce"\n  rules:\n    - cidr: "%s.300/8"\n      policy: deny\n' "$P" \
  >"$T/netpolicy.yaml.new"
mv "$T/netpolicy.yaml.new" "$T/netpolicy.yaml"
for _ in $(seq 1 40); do
  grep -q "keeping the running policy" "$T/daemon.err" && break
  sleep 0.05
done
grep -q "netpolicy.yaml:4:13: network_policy.rules\[0\]: .* keeping the running policy" "$T/daemon.err" ||
  { tail -5 "$T/daemon.err"; fail "the invalid change was not reported with file:line:col"; }
expect "after a rejected change, the denied CIDR is still refused" EPERM connect "$P.8" 8080
expect "and the learned address too" EPERM connect "$P.5" 8080
expect "and the allowed peer still connects" ok connect "$P.2" 8080

# --- 5: SIGHUP applies a change inotify cannot see --------------------------
# (written in place through a hard link in another directory: the watch on
# the policy's directory reports nothing)
mkdir "$T/alt"
ln "$T/netpolicy.yaml" "$T/alt/p.yaml"
OUT=$T/new.yaml policy alert bypass
cat "$T/new.yaml" >"$T/alt/p.yaml"
sleep 0.7
expect "a change inotify did not report is not applied yet" EPERM connect "$P.8" 8080
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 40); do
  [ "$($PROBE connect "$P.8" 8080)" = ok ] && break
  sleep 0.05
done
expect "SIGHUP applied it" ok connect "$P.8" 8080

stop_daemon
# the programs are detached with the daemon: nothing is refused any more
expect "after exit, the denied CIDR connects" ok connect "$P.8" 8080
echo "PASS"
