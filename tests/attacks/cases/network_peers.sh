# SPDX-License-Identifier: Apache-2.0
# Network peers. Everything talks to 127.0.0.1 or to addresses inside a
# network namespace the case creates (its own loopback holds the metadata
# address or the fake DNS server): no packet leaves the host.

# metadata address on a namespace's loopback, a listener on port 80
_metadata_ns() {
  local ns
  ns=$(netns_new)
  ip -n "$ns" addr add 169.254.169.254/32 dev lo
  ip netns exec "$ns" "$PY" - "$W/ready" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("169.254.169.254", 80)); s.listen(8); s.settimeout(0.5)
open(sys.argv[1], "w").close()
end = time.time() + 20
while time.time() < end:
    try:
        c, _ = s.accept(); c.recv(1024); c.sendall(b"HTTP/1.0 200 OK\r\n\r\nrole\n"); c.close()
    except OSError:
        pass
PY
  _MZ_KILL+=($!)
  wait_file "$W/ready"
  echo "$ns" >"$W/ns"
}

#@ id=net_metadata_curl src=atomic:c9aa1ca4-04df-4623-adac-1f199ca5ce42 expect=cloud_metadata_access
setup_net_metadata_curl() { _metadata_ns; }
t_net_metadata_curl() { ip netns exec "$(cat "$W/ns")" curl -s -m 2 http://169.254.169.254/latest/meta-data/iam/security-credentials/ >/dev/null || true; }

#@ id=net_metadata_python src=falco:ContactEc2InstanceMetadataServiceFromContainer expect=cloud_metadata_access
setup_net_metadata_python() { _metadata_ns; }
t_net_metadata_python() {
  ip netns exec "$(cat "$W/ns")" "$PY" - <<'PY'
import urllib.request
r = urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT",
                           headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
try: urllib.request.urlopen(r, timeout=2).read()
except Exception: pass
PY
}

#@ id=net_metadata_refused src=atomic:c9aa1ca4-04df-4623-adac-1f199ca5ce42 expect=cloud_metadata_access
setup_net_metadata_refused() {
  local ns
  ns=$(netns_new); ip -n "$ns" addr add 169.254.169.254/32 dev lo; echo "$ns" >"$W/ns"
}
t_net_metadata_refused() { ip netns exec "$(cat "$W/ns")" bash -c 'exec 3<>/dev/tcp/169.254.169.254/8775' 2>/dev/null || true; }

# a namespace with a peer address 10.200.0.1 and a TCP listener on PORT
_peer_ns() { # PORT
  local ns
  ns=$(netns_new)
  ip -n "$ns" addr add 10.200.0.1/32 dev lo
  ip netns exec "$ns" "$PY" - "$1" "$W/ready" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(0.5)
open(sys.argv[2], "w").close()
end = time.time() + 20
while time.time() < end:
    try:
        c, _ = s.accept(); c.sendall(b"220 corpus\r\n"); time.sleep(0.2); c.close()
    except OSError:
        pass
PY
  _MZ_KILL+=($!)
  wait_file "$W/ready"
  echo "$ns" >"$W/ns"
}

#@ id=net_ftp_plaintext src=atomic:1d1abbd6-a3d3-4b2e-bef5-c59293f46eff expect=plaintext_communication
setup_net_ftp_plaintext() { _peer_ns 21; }
t_net_ftp_plaintext() {
  ip netns exec "$(cat "$W/ns")" "$PY" - <<'PY'
import ftplib
try: ftplib.FTP("10.200.0.1", timeout=2).quit()
except Exception: pass
PY
}

#@ id=net_telnet_plaintext src=atomic:5db21e1d-dd9c-4a50-b885-b1e748912767 expect=plaintext_communication
setup_net_telnet_plaintext() { _peer_ns 23; }
t_net_telnet_plaintext() { ip netns exec "$(cat "$W/ns")" timeout 1 nc 10.200.0.1 23 </dev/null >/dev/null 2>&1 || true; }

#@ id=net_irc_plaintext src=atomic:5db21e1d-dd9c-4a50-b885-b1e748912767 expect=plaintext_communication
setup_net_irc_plaintext() { _peer_ns 6667; }
t_net_irc_plaintext() {
  ip netns exec "$(cat "$W/ns")" "$PY" - <<'PY'
import socket
s = socket.create_connection(("10.200.0.1", 6667), timeout=2); s.sendall(b"NICK corpus\r\n"); s.close()
PY
}

#@ id=net_shell_port_scan src=atomic:68e907da-2539-48f6-9fc9-257a78c05540 expect=shell_network_connection
t_net_shell_port_scan() {
  local p
  for p in 1 7 9 13 19; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || true; done
}

#@ id=net_socat_relay src=atomic:0ac21132-4485-4212-a681-349e8a6637cd expect=net_suspicious_tool_exec
t_net_socat_relay() { timeout 1 socat TCP-LISTEN:0,bind=127.0.0.1 TCP:127.0.0.1:9 2>/dev/null || true; }

#@ id=net_dga_domain src=atomic:cc367493-3a00-4c4a-a685-16b73339167c expect=algorithmic_domains
setup_net_dga_domain() {
  local ns
  ns=$(netns_new)
  [ -d /etc/netns ] || touch "$W/made-etc-netns"
  mkdir -p "/etc/netns/$ns"
  echo 'nameserver 127.0.0.1' >"/etc/netns/$ns/resolv.conf"
  echo "$ns" >"$W/ns"
  # a DNS server that answers every A question with 127.0.0.2, and a web
  # listener there
  ip netns exec "$ns" "$PY" - "$W/ready" <<'PY' &
import socket, struct, sys, time, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 53)); u.settimeout(0.5)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.2", 80)); t.listen(8); t.settimeout(0.5)
def web():
    end = time.time() + 20
    while time.time() < end:
        try:
            c, _ = t.accept(); c.recv(512); c.sendall(b"HTTP/1.0 200 OK\r\n\r\n"); c.close()
        except OSError:
            pass
threading.Thread(target=web, daemon=True).start()
open(sys.argv[1], "w").close()
end = time.time() + 20
while time.time() < end:
    try:
        q, a = u.recvfrom(512)
    except OSError:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i = 12
    while q[i]:
        i += q[i] + 1
    question = q[12:i + 5]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    answers = b""
    n = 0
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.2")
        n = 1
    u.sendto(struct.pack(">HHHHHH", qid, 0x8180, 1, n, 0, 0) + question + answers, a)
PY
  _MZ_KILL+=($!)
  wait_file "$W/ready"
}
t_net_dga_domain() { ip netns exec "$(cat "$W/ns")" curl -s -m 2 http://xkqjzvbwpt3h9fq.com/ >/dev/null || true; }
teardown_net_dga_domain() {
  rm -rf "/etc/netns/$(cat "$W/ns")"
  [ ! -e "$W/made-etc-netns" ] || rmdir /etc/netns 2>/dev/null || true
}
