# SPDX-License-Identifier: Apache-2.0
# Benign controls: what an operator does every day. None may alert.

#@ id=ctl_dpkg_install_remove src=control:package-install expect=none
setup_ctl_dpkg_install_remove() {
  mkdir -p "$W/pkg/DEBIAN" "$W/pkg/usr/share/doc/mizan-corpus-hello" "$W/pkg/usr/bin"
  cat >"$W/pkg/DEBIAN/control" <<'EOF'
Package: mizan-corpus-hello
Version: 1.0
Architecture: all
Maintainer: mizan corpus <corpus@127.0.0.1>
Description: a package the mizan attack corpus installs and removes
EOF
  printf '#!/bin/sh\necho hello\n' >"$W/pkg/usr/bin/mizan-corpus-hello"
  chmod 755 "$W/pkg/usr/bin/mizan-corpus-hello"
  echo 'hello' >"$W/pkg/usr/share/doc/mizan-corpus-hello/README"
  dpkg-deb --build --root-owner-group "$W/pkg" "$W/hello.deb" >/dev/null
}
t_ctl_dpkg_install_remove() {
  dpkg -i "$W/hello.deb" >/dev/null
  mizan-corpus-hello >/dev/null
  dpkg -r mizan-corpus-hello >/dev/null
}
teardown_ctl_dpkg_install_remove() { dpkg -P mizan-corpus-hello >/dev/null 2>&1 || true; }

#@ id=ctl_dpkg_build src=control:package-build expect=none
t_ctl_dpkg_build() {
  mkdir -p "$W/p/DEBIAN" "$W/p/opt/x"
  printf 'Package: x\nVersion: 1\nArchitecture: all\nMaintainer: m <m@127.0.0.1>\nDescription: x\n' >"$W/p/DEBIAN/control"
  echo x >"$W/p/opt/x/f"
  dpkg-deb --build "$W/p" "$W/x.deb" >/dev/null && dpkg-deb -c "$W/x.deb" >/dev/null && dpkg -l >/dev/null
}

#@ id=ctl_git_workflow src=control:git expect=none
t_ctl_git_workflow() {
  mkdir -p "$W/repo" && cd "$W/repo"
  git init -q . && git config user.email ops@127.0.0.1 && git config user.name ops
  echo 'int main(void) { return 0; }' >main.c
  git add main.c && git commit -qm 'first'
  git checkout -qb feature && echo '/* x */' >>main.c && git commit -qam 'second'
  git log --oneline >/dev/null && git diff HEAD~1 >/dev/null && git checkout -q - && git merge -q feature
  git gc -q
}

#@ id=ctl_git_grep_identifiers src=control:grep-source expect=none
t_ctl_git_grep_identifiers() {
  cd "$MIZAN_SOURCE_DIR"
  grep credentials_files_access -r detect/ >/dev/null
  grep -rn 'password_brute_force\|reading_of_ssh_keys' detect/recipes >/dev/null
  grep -rn 'token_file' config/ >/dev/null
  git grep -n 'api_key_header\|secret_len' >/dev/null || true
}

#@ id=ctl_grep_logs src=control:grep-logs expect=none
t_ctl_grep_logs() { grep -rh -i 'error\|warn' /var/log/dpkg.log /var/log/apt 2>/dev/null | tail -5 >/dev/null || true; }

#@ id=ctl_compile_c src=control:compile expect=none
t_ctl_compile_c() {
  printf '#include <stdio.h>\nint main(int c, char **v) { puts(c > 1 ? v[1] : "ok"); return 0; }\n' >"$W/hello.c"
  gcc -O2 -Wall -o "$W/hello" "$W/hello.c" && "$W/hello" >/dev/null
}

#@ id=ctl_make_project src=control:make expect=none
t_ctl_make_project() {
  mkdir -p "$W/proj" && cd "$W/proj"
  printf 'int add(int a, int b) { return a + b; }\n' >lib.c
  printf 'int add(int, int);\nint main(void) { return add(1, -1); }\n' >main.c
  printf 'all: app\nlib.a: lib.o\n\tar rcs $@ $^\napp: main.o lib.a\n\tcc -o $@ main.o lib.a\nclean:\n\trm -f *.o *.a app\n' >Makefile
  make -s && ./app && make -s clean
}

#@ id=ctl_tmp_build_run src=control:build-in-tmp expect=none
t_ctl_tmp_build_run() {
  local d
  d=$(mktemp -d /tmp/build.XXXXXX)
  printf 'int main(void) { return 0; }\n' >"$d/t.c" && cc -o "$d/a.out" "$d/t.c" && "$d/a.out"
  rm -rf "$d"
}

#@ id=ctl_logrotate src=control:logrotate expect=none
t_ctl_logrotate() {
  mkdir -p "$W/logs"
  seq 1 2000 >"$W/logs/app.log"
  printf '%s/logs/app.log {\n  rotate 3\n  size 1\n  compress\n  missingok\n}\n' "$W" >"$W/logrotate.conf"
  logrotate -s "$W/logrotate.state" "$W/logrotate.conf"
  logrotate -f -s "$W/logrotate.state" "$W/logrotate.conf"
}

#@ id=ctl_ssh_keygen_user src=control:ssh-keygen expect=none
setup_ctl_ssh_keygen_user() { mkdir -p "$W/home/.ssh" && chown -R 65534:65534 "$W/home" && chmod 755 "$W"; }
t_ctl_ssh_keygen_user() {
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$W/home" \
    ssh-keygen -q -t ed25519 -N '' -C deploy@127.0.0.1 -f "$W/home/.ssh/id_ed25519"
  ssh-keygen -l -f "$W/home/.ssh/id_ed25519.pub" >/dev/null
}

#@ id=ctl_ssh_keygen_root src=control:ssh-keygen expect=none
setup_ctl_ssh_keygen_root() { mkdir -p /root/.ssh; backup /root/.ssh/id_mizanctl /root/.ssh/id_mizanctl.pub; }
t_ctl_ssh_keygen_root() {
  ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_mizanctl
  ssh-keygen -y -f /root/.ssh/id_mizanctl >/dev/null
}

#@ id=ctl_edit_etc_ed src=control:edit-etc expect=none
setup_ctl_edit_etc_ed() { backup /etc/mizan-corpus.conf; printf 'listen 127.0.0.1\nworkers 2\n' >/etc/mizan-corpus.conf; }
t_ctl_edit_etc_ed() { printf '/workers/s/2/4/\nw\nq\n' | ed -s /etc/mizan-corpus.conf; }

#@ id=ctl_edit_etc_vi src=control:edit-etc expect=none
setup_ctl_edit_etc_vi() { backup /etc/mizan-corpus.conf; printf 'listen 127.0.0.1\nworkers 2\n' >/etc/mizan-corpus.conf; }
t_ctl_edit_etc_vi() { HOME="$W" vi -Nu NONE -i NONE -es -c '%s/workers 2/workers 8/' -c 'wq' /etc/mizan-corpus.conf </dev/null; }

#@ id=ctl_edit_etc_sed src=control:edit-etc expect=none
setup_ctl_edit_etc_sed() { backup /etc/mizan-corpus.conf; printf 'listen 127.0.0.1\nworkers 2\n' >/etc/mizan-corpus.conf; }
t_ctl_edit_etc_sed() { sed -i.bak 's/workers 2/workers 3/' /etc/mizan-corpus.conf && rm -f /etc/mizan-corpus.conf.bak; }

#@ id=ctl_cron_daily_jobs src=control:cron-jobs expect=none
# what cron runs every day, as its crontab line does (cd / && run-parts):
# the dpkg status backup, and the jobs of a cron.daily of our own
t_ctl_cron_daily_jobs() {
  mkdir -p "$W/cron.daily"
  printf '#!/bin/sh\nfind %s -name "*.tmp" -mtime +7 -delete\n' "$W" >"$W/cron.daily/cleanup"
  printf '#!/bin/sh\ngzip -c /etc/hostname > %s/hostname.gz\n' "$W" >"$W/cron.daily/archive"
  chmod +x "$W/cron.daily/"*
  (cd / && run-parts --report "$W/cron.daily")
  [ -x /etc/cron.daily/dpkg ] && (cd / && /etc/cron.daily/dpkg) || true
}

#@ id=ctl_crontab_list src=control:cron-jobs expect=none
t_ctl_crontab_list() { crontab -l >/dev/null 2>&1 || true; ls /etc/cron.d >/dev/null; }

#@ id=ctl_web_server src=control:web-server expect=none
t_ctl_web_server() {
  mkdir -p "$W/www" && echo 'hello' >"$W/www/index.html"
  busybox httpd -f -p 127.0.0.1:18731 -h "$W/www" &
  local s=$!
  local i
  for i in $(seq 1 30); do curl -fsS -o /dev/null http://127.0.0.1:18731/index.html 2>/dev/null && break; sleep 0.1; done
  curl -fsS http://127.0.0.1:18731/index.html >/dev/null || true
  kill "$s"; wait "$s" 2>/dev/null || true
}

#@ id=ctl_python_http_client src=control:web-client expect=none
t_ctl_python_http_client() {
  cat >"$W/srv.py" <<'PY'
import http.server, threading, urllib.request
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=srv.handle_request, daemon=True).start()
urllib.request.urlopen("http://127.0.0.1:%d/" % srv.server_port, timeout=5).read()
PY
  "$PY" "$W/srv.py" 2>/dev/null
}

#@ id=ctl_health_check src=control:health-check expect=none
t_ctl_health_check() {
  uptime >/dev/null; free -m >/dev/null; df -h >/dev/null; uname -a >/dev/null
  ps aux >/dev/null; top -b -n 1 >/dev/null; ip addr >/dev/null; ss -tln >/dev/null
  cat /etc/os-release /proc/loadavg >/dev/null; lscpu >/dev/null 2>&1 || true
  findmnt >/dev/null 2>&1 || true; dmesg 2>/dev/null | tail -1 >/dev/null || true
}

#@ id=ctl_user_lookup src=control:accounts expect=none
t_ctl_user_lookup() { id root >/dev/null; getent passwd root >/dev/null; getent group sudo >/dev/null || true; who >/dev/null; last -n 3 >/dev/null 2>&1 || true; }

#@ id=ctl_interactive_shell src=control:shell-session expect=none
# an account with a history (a brand new one alerts shell_history_tamper
# once, when its first history is written: see docs/recipes.md)
setup_ctl_interactive_shell() { backup /root/.bash_history; [ -e /root/.bash_history ] || echo 'ls' >/root/.bash_history; }
t_ctl_interactive_shell() { printf 'cd /tmp\nls >/dev/null\necho done\nexit\n' | HISTFILE=/root/.bash_history bash -i >/dev/null 2>&1; }

#@ id=ctl_login_shell src=control:shell-session expect=none
t_ctl_login_shell() { bash -lc 'echo $PATH >/dev/null'; sh -c 'true'; }

#@ id=ctl_tar_backup src=control:backup expect=none
t_ctl_tar_backup() { tar -czf "$W/apt-conf.tgz" -C /etc apt 2>/dev/null; tar -tzf "$W/apt-conf.tgz" >/dev/null; }

#@ id=ctl_gzip_logs src=control:logs expect=none
t_ctl_gzip_logs() { seq 1 10000 >"$W/app.log" && gzip -9 "$W/app.log" && zcat "$W/app.log.gz" | tail -1 >/dev/null; }

#@ id=ctl_find_old_files src=control:housekeeping expect=none
t_ctl_find_old_files() { find /var/log -name '*.gz' -mtime +30 2>/dev/null | head >/dev/null; find /tmp -maxdepth 1 -type f -mtime +10 2>/dev/null | wc -l >/dev/null; }

#@ id=ctl_ldconfig src=control:libraries expect=none
t_ctl_ldconfig() { ldconfig && ldconfig -p | grep -c libc >/dev/null; }

#@ id=ctl_awk_report src=control:awk expect=none
t_ctl_awk_report() {
  seq 1 100 >"$W/n"
  awk '{ s += $1 } END { print s }' "$W/n" >/dev/null
  awk '{ print $1 % 7 | "sort -n | uniq -c" }' "$W/n" >/dev/null
  awk 'BEGIN { "date +%s" | getline t; close("date +%s") }'
}

#@ id=ctl_touch_files src=control:make expect=none
t_ctl_touch_files() { touch "$W/stamp" && touch -c "$W/stamp" && touch "$W/a" "$W/b"; }

#@ id=ctl_chmod_deploy src=control:deploy expect=none
t_ctl_chmod_deploy() {
  mkdir -p "$W/opt/app/bin"
  printf '#!/bin/sh\necho deployed\n' >"$W/opt/app/bin/deploy.sh"
  chmod 755 "$W/opt/app/bin/deploy.sh" && "$W/opt/app/bin/deploy.sh" >/dev/null
}

#@ id=ctl_python_script src=control:scripting expect=none
t_ctl_python_script() {
  cat >"$W/report.py" <<'PY'
import json, os, platform
info = {"cpus": os.cpu_count(), "load": os.getloadavg(), "kernel": platform.release()}
with open("/proc/meminfo") as f:
    info["mem"] = f.readline().split()[1]
print(json.dumps(info))
PY
  "$PY" "$W/report.py" >/dev/null
}

#@ id=ctl_openssl_verify src=control:tls expect=none
t_ctl_openssl_verify() {
  openssl req -x509 -newkey rsa:1024 -nodes -keyout "$W/k" -out "$W/c" -subj /CN=127.0.0.1 -days 1 2>/dev/null
  openssl x509 -in "$W/c" -noout -subject >/dev/null
  openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt "$W/c" >/dev/null 2>&1 || true
}

#@ id=ctl_systemd_unit_read src=control:services expect=none
t_ctl_systemd_unit_read() { ls /lib/systemd/system >/dev/null 2>&1; cat /lib/systemd/system/*.service 2>/dev/null | grep -c ExecStart >/dev/null || true; }
