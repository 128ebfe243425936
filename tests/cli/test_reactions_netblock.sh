#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live: the reactions' network helpers (tests/fixtures/reactions/
# netblock.yaml, modelled on jibril-wahy's reactions_block_ip.yaml) against
# peers in a network namespace and a veth pair this test creates (and
# deletes), the approach of test_netpolicy_live.sh. The policy allows
# everything (enforce mode): only what the reactions block is refused.
#   1 NetBlockIp() blocks the alert's peer: the next connect gets EPERM,
#     and that attempt is a dropip alert of rule "reaction block"
#   2 NetBlockIpTimer(ip, 3) blocks a peer, and the block is lifted after
#     its 3 s
#   3 NetBlockIp(ip) / NetUnblockIp(ip) return 0, then 1 when repeated
#   4 NetBlockDomain() blocks the alert's domain (served by dnsmasq in the
#     namespace): a query for it, or a name under it, then gets no answer
source "$(dirname "$0")/live_lib.sh"
require_live
source "$(dirname "$0")/rx_lib.sh"
command -v ip >/dev/null || { echo "SKIP: no ip (iproute2)"; exit 77; }
PROBE="python3 $SRC/tests/cli/np_probe.py"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "SKIP: no dnsmasq (scripts/deps.sh installs it)"; exit 77; }

for _ in $(seq 1 50); do
  N=$((RANDOM % 200 + 20))
  ip -4 addr | grep -q "10\.214\.$N\." || break
done
P=10.214.$N
NS=mzr$$
VH=mzrh$$
VN=mzrn$$
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
ip link set "$VH" up
ip -n "$NS" link set lo up
for a in 2 3 4 5; do ip -n "$NS" addr add "$P.$a/24" dev "$VN"; done
ip -n "$NS" link set "$VN" up
ip netns exec "$NS" $PROBE serve 8080 &
PIDS+=($!)
ip netns exec "$NS" "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address="$P.5" --except-interface=lo --pid-file="$T/dnsmasq.pid" \
  --user=root --address=/dom.mzr.test/"$P.5" --log-facility="$T/dnsmasq.log" &
PIDS+=($!)
for _ in $(seq 1 50); do
  [ "$($PROBE connect "$P.4" 8080)" = ok ] && [ "$($PROBE query "$P.5" dom.mzr.test)" = "$P.5" ] && break
  sleep 0.1
done

cat >"$T/netpolicy.yaml" <<YAML
network_policy:
  cidr_mode: "both"
  cidr_policy: "allow"
  resolve_mode: "both"
  resolve_policy: "allow"
  rules:
    - cidr: "$P.0/24"
      policy: "allow"
YAML
rx_recipes netblock.yaml
sed -i "s#@PEER1@#$P.2#; s#@PEER2@#$P.3#; s#@PEER3@#$P.4#; s#@DOMAIN@#dom.mzr.test#" \
  "$T/rec/netblock.yaml"
start_daemon "detect:
  builtin: true
  dirs: [$T/rec]
netpolicy:
  enabled: true
  file: $T/netpolicy.yaml
reactions:
  socket: $T/react.sock
  timeout: 5s"
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
wait_log "reactions: 4 reaction(s) loaded" 5

expect() { # WHAT EXPECTED PROBE-ARGS...
  local what=$1 want=$2; shift 2
  local got
  got=$($PROBE "$@")
  [ "$got" = "$want" ] || fail "$what: expected $want, got $got"
  echo "ok: $what: $got"
}

# --- 1: NetBlockIp() ----------------------------------------------------------
expect "the peer connects before any reaction" ok connect "$P.2" 8080
wait_log "reaction reactions_block_ip_block#0: blocking found remote CIDRs: $P.2" 10
wait_log "reaction reactions_block_ip_block#0: all good, remote CIDRs blocked" 5
expect "NetBlockIp() blocked the alert's peer" EPERM connect "$P.2" 8080
expect "another peer still connects" ok connect "$P.3" 8080
wait_alert dropip "a['flow']['remote']['addr'] == '$P.2' and a['flow']['rule'] == 'reaction block' \
  and 'blocked' in a['flow']['actions']" 10

# --- 2: NetBlockIpTimer(ip, 3) --------------------------------------------------
wait_log "reaction reactions_block_ip_timer#0: blocked remote CIDRs successfully with timer" 10
t0=$(date +%s%N)
expect "NetBlockIpTimer blocked the peer" EPERM connect "$P.3" 8080
for _ in $(seq 1 80); do
  [ "$($PROBE connect "$P.3" 8080)" = ok ] && break
  sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
expect "the timer lifted the block" ok connect "$P.3" 8080
[ "$ms" -ge 2000 ] || fail "the 3 s block was lifted after ${ms}ms"
echo "ok: block lifted about ${ms}ms after the reaction logged it"
expect "NetBlockIp() (no timer) still holds" EPERM connect "$P.2" 8080

# --- 3: NetBlockIp(ip) / NetUnblockIp(ip) ------------------------------------------
expect "the third peer connects" ok connect "$P.4" 8080
U="reaction reactions_block_ip_unblock#0:"
wait_log "$U all good, ip unblocked" 10
for want in "$U blocked ip 172.16.0.123 successfully" "$U again 1" \
  "$U unblocked ip 172.16.0.123 successfully" "$U unblock again 1" "$U bad address -1 EINVAL"; do
  grep -qF -- "$want" "$T/daemon.err" || fail "no log line: $want"
done
expect "the third peer is not blocked" ok connect "$P.4" 8080

# --- 4: NetBlockDomain() ------------------------------------------------------------
expect "the domain resolves before any reaction" "$P.5" query "$P.5" dom.mzr.test
sleep 0.5 # the collector's capture of the answer names the peer
expect "its peer connects" ok connect "$P.5" 8080
B="reaction reactions_block_domain_block#0:"
wait_log "$B all good, remote domains blocked" 10
grep -qF "$B blocking found remote domains: dom.mzr.test" "$T/daemon.err" || fail "no domain in the data"
grep -qF "$B again 1" "$T/daemon.err" || fail "a second NetBlockDomain() did not return 1"
r=$($PROBE query "$P.5" dom.mzr.test)
case $r in noanswer | EPERM) echo "ok: the blocked domain: $r" ;; *) fail "blocked domain answered: $r" ;; esac
r=$($PROBE query "$P.5" www.dom.mzr.test)
case $r in noanswer | EPERM) echo "ok: a name under it: $r" ;; *) fail "www.dom.mzr.test answered: $r" ;; esac
wait_alert dropdomain "a['flow']['domain'] == 'dom.mzr.test' and a['flow']['rule'] == 'reaction block'" 10

stop_daemon
expect "after exit, nothing is refused" ok connect "$P.2" 8080
echo "PASS"
