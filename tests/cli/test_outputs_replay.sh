#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The network outputs wired into the daemon: `mizan replay` of 1,000 recorded
# detections with outputs.syslog (TCP) into an rsyslogd this test starts on a
# free loopback port (its own config, output in the temp dir), and
# outputs.webhook pointed at a port where nothing listens. stdout and varlog
# get all 1,000 at once; rsyslog receives 1,000 RFC 5424 messages; the
# webhook's 1,000 wait in its spool, and a second run (a restart) finds them
# there and adds its own: nothing is lost while the endpoint is down.
source "$(dirname "$0")/lib.sh"
RSYSLOGD=/usr/sbin/rsyslogd
if [ ! -x "$RSYSLOGD" ]; then
  echo "SKIP: $RSYSLOGD is not installed (scripts/deps.sh installs rsyslog)"
  exit 77
fi

read -r tcp dead < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
cat >"$T/rsyslog.conf" <<EOC
global(workDirectory="$T" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$tcp")
template(name="f" type="string" string="%syslogfacility%|%app-name%|%msgid%|%structured-data%|%msg%\n")
*.* action(type="omfile" file="$T/syslog.out" template="f")
EOC
"$RSYSLOGD" -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" &
rs=$!
trap 'kill $rs 2>/dev/null; wait $rs 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$tcp") 2>/dev/null && break
  sleep 0.1
done

write_config "outputs:
  syslog:
    enabled: true
    transport: tcp
    port: $tcp
    spool_dir: $T/spool/syslog
  webhook:
    enabled: true
    url: https://127.0.0.1:$dead/alerts
    spool_dir: $T/spool/webhook
    drain_wait: 500ms"

"$MIZAN" replay -c "$T/mizan.yaml" "$SRC/tests/fixtures/detections-1000.jsonl" \
  >"$T/out.jsonl" 2>"$T/err.log" || { cat "$T/err.log"; fail "replay exited $?"; }
[ "$(count_json_lines "$T/out.jsonl")" -eq 1000 ] || fail "stdout lost alerts"
[ "$(count_json_lines "$T/log/alerts.log")" -eq 1000 ] || fail "varlog lost alerts"
grep -q "webhook: 1000 alert(s) wait in the spool" "$T/err.log" ||
  { cat "$T/err.log"; fail "the webhook's alerts are not all spooled"; }

for _ in $(seq 200); do
  [ -f "$T/syslog.out" ] && [ "$(wc -l <"$T/syslog.out")" -ge 1000 ] && break
  sleep 0.1
done
python3 - "$T/syslog.out" "$T/out.jsonl" <<'PY' || fail "syslog messages"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
alerts = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == 1000, len(lines)
got = []
for l in lines:
    fac, app, msgid, sd, msg = l.split("|", 4)
    a = json.loads(msg)
    assert fac == "13" and app == "mizan", l[:80]
    assert msgid == a["recipe"]["id"][:32], (msgid, a["recipe"]["id"])
    assert sd.startswith('[mizan@32473 id="%s"' % a["id"]), sd
    got.append(a["id"])
assert got == [a["id"] for a in alerts], "syslog order differs from stdout's"
PY

# a restart with the endpoint still down: the spool is kept and grows
"$MIZAN" replay -c "$T/mizan.yaml" "$SRC/tests/fixtures/detections-1000.jsonl" \
  >/dev/null 2>"$T/err2.log" || { cat "$T/err2.log"; fail "second replay exited $?"; }
grep -q "1000 record(s) .* left from an earlier run" "$T/err2.log" ||
  { cat "$T/err2.log"; fail "the spool was not found at the restart"; }
grep -q "webhook: 2000 alert(s) wait in the spool" "$T/err2.log" ||
  { cat "$T/err2.log"; fail "the restart lost spooled alerts"; }
echo "PASS: outputs wired: syslog got 1000 in order, the webhook spooled 1000 then 2000"
