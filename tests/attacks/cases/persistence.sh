# SPDX-License-Identifier: Apache-2.0
# Persistence: cron, systemd units and timers, init scripts, shell startup
# files, authorized_keys, the dynamic loader's preload list, PAM, sudoers,
# package sources, accounts, Python startup hooks. Every file written holds
# a comment or a job that does nothing, and is put back by the harness.

#@ id=pers_cron_d src=atomic:078e69eb-d9fb-450e-b9d0-2e118217c846 expect=cron_modification
setup_pers_cron_d() { backup /etc/cron.d/mizan-corpus; }
t_pers_cron_d() { echo '# 13 3 * * * root /bin/true  (mizan corpus)' >/etc/cron.d/mizan-corpus; }

#@ id=pers_cron_daily src=atomic:b7d42afa-9086-4c8a-b7b0-8ea3faa6ebb0 expect=cron_modification
setup_pers_cron_daily() { backup /etc/cron.daily/mizan-corpus /etc/cron.hourly/mizan-corpus; }
t_pers_cron_daily() {
  mkdir -p /etc/cron.daily /etc/cron.hourly
  printf '#!/bin/sh\n# mizan corpus\nexit 0\n' | tee /etc/cron.daily/mizan-corpus >/etc/cron.hourly/mizan-corpus
  chmod +x /etc/cron.daily/mizan-corpus
}

#@ id=pers_cron_spool src=atomic:2d943c18-e74a-44bf-936f-25ade6cccab4 expect=cron_modification
setup_pers_cron_spool() { backup /var/spool/cron; }
t_pers_cron_spool() {
  mkdir -p /var/spool/cron/crontabs
  echo '# 0 4 * * * /bin/true  (mizan corpus)' >>/var/spool/cron/crontabs/root
}

#@ id=pers_crontab_cmd src=atomic:435057fb-74b1-410e-9403-d81baf194f75 expect=cron_modification
setup_pers_crontab_cmd() { backup /var/spool/cron; mkdir -p /var/spool/cron/crontabs; }
t_pers_crontab_cmd() {
  echo '# 0 5 * * * /bin/true  (mizan corpus)' >"$W/tab"
  crontab "$W/tab"
}

#@ id=pers_crontab_sed src=atomic:435057fb-74b1-410e-9403-d81baf194f75 expect=cron_modification
setup_pers_crontab_sed() { backup /etc/crontab; [ -e /etc/crontab ] || echo '# crontab' >/etc/crontab; }
t_pers_crontab_sed() { sed -i '$a # 0 6 * * * root /bin/true  (mizan corpus)' /etc/crontab; }

#@ id=pers_cron_python src=atomic:078e69eb-d9fb-450e-b9d0-2e118217c846 expect=cron_modification
setup_pers_cron_python() { backup /etc/cron.d/.mizan-corpus-py; }
t_pers_cron_python() {
  echo 'open("/etc/cron.d/.mizan-corpus-py", "w").write("# mizan corpus\n")' >"$W/c.py"
  "$PY" "$W/c.py"
}

#@ id=pers_systemd_service src=atomic:d9e4f24f-aa67-4c6e-bcbf-85622b697a7c expect=systemd_unit_modification
setup_pers_systemd_service() { backup /etc/systemd/system/mizan-corpus.service; mkdir -p /etc/systemd/system; }
t_pers_systemd_service() {
  printf '[Unit]\nDescription=mizan corpus\n[Service]\nExecStart=/bin/true\n' >/etc/systemd/system/mizan-corpus.service
}

#@ id=pers_systemd_timer src=atomic:f4983098-bb13-44fb-9b2c-46149961807b expect=systemd_unit_modification
setup_pers_systemd_timer() { backup /etc/systemd/system/mizan-corpus.timer; mkdir -p /etc/systemd/system; }
t_pers_systemd_timer() {
  cat >/etc/systemd/system/mizan-corpus.timer <<'EOF'
[Timer]
OnCalendar=yearly
EOF
}

#@ id=pers_systemd_user src=atomic:3de33f5b-62e5-4e63-a2a0-6fd8808c80ec expect=systemd_unit_modification
setup_pers_systemd_user() { backup /root/.config/systemd; }
t_pers_systemd_user() {
  mkdir -p /root/.config/systemd/user
  printf '[Service]\nExecStart=/bin/true\n' >/root/.config/systemd/user/mizan-corpus.service
}

#@ id=pers_systemd_lib_python src=atomic:6fec8560-ff64-4bbf-bc79-734fea48f7ca expect=systemd_unit_modification
setup_pers_systemd_lib_python() { backup /usr/lib/systemd/system/mizan-corpus-dbus.service; mkdir -p /usr/lib/systemd/system; }
t_pers_systemd_lib_python() {
  "$PY" - <<'PY'
open("/usr/lib/systemd/system/mizan-corpus-dbus.service", "w").write("[Service]\nExecStart=/bin/true\n")
PY
}

#@ id=pers_systemd_dropin_sed src=atomic:6123928f-6389-4914-8d25-a5d69bd657fa expect=systemd_unit_modification
setup_pers_systemd_dropin_sed() {
  backup /etc/systemd/system/mizan-corpus-edit.service
  mkdir -p /etc/systemd/system
  printf '[Service]\nExecStart=/bin/true\n' >/etc/systemd/system/mizan-corpus-edit.service
}
t_pers_systemd_dropin_sed() { sed -i 's|/bin/true|/bin/true --corpus|' /etc/systemd/system/mizan-corpus-edit.service; }

#@ id=pers_systemd_run src=atomic:a73a886f-23c5-4e8f-b1ab-b1bbc1f5e236 expect=transient_systemd_unit
t_pers_systemd_run() {
  command -v systemd-run >/dev/null || exit 77
  systemd-run --unit=mizan-corpus --on-active=1h /bin/true 2>/dev/null || true
}

#@ id=pers_rc_local src=atomic:126f71af-e1c9-405c-94ef-26a47b16c102 expect=init_script_modification
setup_pers_rc_local() { backup /etc/rc.local; }
t_pers_rc_local() { printf '#!/bin/sh -e\n# mizan corpus\nexit 0\n' >/etc/rc.local; }

#@ id=pers_init_d src=atomic:760fe8d2-79d9-494f-905e-a239a3df86f6 expect=init_script_modification
setup_pers_init_d() { backup /etc/init.d/mizan-corpus; mkdir -p /etc/init.d; }
t_pers_init_d() { printf '#!/bin/sh\n# mizan corpus\nexit 0\n' >/etc/init.d/mizan-corpus; chmod 755 /etc/init.d/mizan-corpus; }

#@ id=pers_bashrc_append src=atomic:0a898315-4cfa-4007-bafe-33a4646d115f expect=shell_config_modification
setup_pers_bashrc_append() { backup /root/.bashrc; }
t_pers_bashrc_append() { echo '# mizan corpus: true' >>/root/.bashrc; }

#@ id=pers_bash_profile src=atomic:94500ae1-7e31-47e3-886b-c328da46872f expect=shell_config_modification
setup_pers_bash_profile() { backup /root/.bash_profile; }
t_pers_bash_profile() { printf '# mizan corpus\n' | tee -a /root/.bash_profile >/dev/null; }

#@ id=pers_bash_logout src=atomic:37ad2f24-7c53-4a50-92da-427a4ad13f58 expect=shell_config_modification
setup_pers_bash_logout() { backup /root/.bash_logout; }
t_pers_bash_logout() { echo '# mizan corpus' >>/root/.bash_logout; }

#@ id=pers_shrc src=atomic:41502021-591a-4649-8b6e-83c9192aff53 expect=shell_config_modification
setup_pers_shrc() { backup /root/.shrc; }
t_pers_shrc() { echo '# mizan corpus' >>/root/.shrc; }

#@ id=pers_profile_d src=atomic:8fe2ccfd-f079-4c03-b1a9-bd9b362b67d4 expect=shell_config_modification
setup_pers_profile_d() { backup /etc/profile.d/mizan-corpus.sh; mkdir -p /etc/profile.d; }
t_pers_profile_d() { echo '# mizan corpus' >/etc/profile.d/mizan-corpus.sh; }

#@ id=pers_etc_profile_sed src=atomic:694b3cc8-6a78-4d35-9e74-0123d009e94b expect=shell_config_modification
setup_pers_etc_profile_sed() { backup /etc/profile; [ -e /etc/profile ] || echo '# profile' >/etc/profile; }
t_pers_etc_profile_sed() { sed -i '$a # mizan corpus' /etc/profile; }

#@ id=pers_bashrc_sed src=atomic:bbdb06bc-bab6-4f5b-8232-ba3fbed51d77 expect=shell_config_modification
setup_pers_bashrc_sed() { backup /root/.bashrc; [ -e /root/.bashrc ] || echo '# bashrc' >/root/.bashrc; }
t_pers_bashrc_sed() { sed -i '$a # mizan corpus' /root/.bashrc; }

#@ id=pers_bashrc_perl src=atomic:0a898315-4cfa-4007-bafe-33a4646d115f expect=shell_config_modification
setup_pers_bashrc_perl() { backup /root/.bashrc; }
t_pers_bashrc_perl() {
  printf 'open(my $f, ">>", "/root/.bashrc") or die; print $f "# mizan corpus\\n";\n' >"$W/a.pl"
  perl "$W/a.pl"
}

#@ id=pers_zshrc_python src=falco:ModifyShellConfigurationFile expect=shell_config_modification
setup_pers_zshrc_python() { backup /root/.zshrc; }
t_pers_zshrc_python() { echo 'open("/root/.zshrc", "a").write("# mizan corpus\n")' >"$W/z.py" && "$PY" "$W/z.py"; }

#@ id=pers_authorized_keys src=atomic:342cc723-127c-4d3a-8292-9c0c6b4ecadc expect=ssh_auth_keys_modification
setup_pers_authorized_keys() { mkdir -p /root/.ssh; chmod 700 /root/.ssh; backup /root/.ssh/authorized_keys; }
t_pers_authorized_keys() { echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMizanCorpusKeyOnlyForTests mizan-corpus' >>/root/.ssh/authorized_keys; }

#@ id=pers_authorized_keys_sed src=falco:AddingSshKeysToAuthorizedKeys expect=ssh_auth_keys_modification
setup_pers_authorized_keys_sed() {
  mkdir -p /root/.ssh; chmod 700 /root/.ssh; backup /root/.ssh/authorized_keys
  [ -e /root/.ssh/authorized_keys ] || echo '# keys' >/root/.ssh/authorized_keys
}
t_pers_authorized_keys_sed() { sed -i '$a ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMizanCorpusSed mizan-corpus' /root/.ssh/authorized_keys; }

#@ id=pers_authorized_keys2_cp src=falco:AddingSshKeysToAuthorizedKeys expect=ssh_auth_keys_modification
setup_pers_authorized_keys2_cp() { mkdir -p /root/.ssh; chmod 700 /root/.ssh; backup /root/.ssh/authorized_keys2; }
t_pers_authorized_keys2_cp() {
  echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMizanCorpusCp mizan-corpus' >"$W/k"
  cp "$W/k" /root/.ssh/authorized_keys2
}

#@ id=pers_ld_so_preload src=atomic:39cb0e67-dd0d-4b74-a74b-c072db7ae991 expect=global_shlib_modification
setup_pers_ld_so_preload() { backup /etc/ld.so.preload; }
# opened for appending, nothing written: no process on the host is affected
t_pers_ld_so_preload() { : >>/etc/ld.so.preload; }

#@ id=pers_ld_so_conf_d src=atomic:39cb0e67-dd0d-4b74-a74b-c072db7ae991 expect=global_shlib_modification
setup_pers_ld_so_conf_d() { backup /etc/ld.so.conf.d/mizan-corpus.conf; mkdir -p /etc/ld.so.conf.d; }
t_pers_ld_so_conf_d() { echo '# mizan corpus' >/etc/ld.so.conf.d/mizan-corpus.conf; }

#@ id=pers_ld_preload_tmp src=atomic:bc219ff7-789f-4d51-9142-ecae3397deae expect=shlib_load_from_unusual_dir
setup_pers_ld_preload_tmp() {
  mkdir -p /var/tmp/mizan-corpus-$$
  echo "/var/tmp/mizan-corpus-$$" >"$W/libdir"
  printf 'void mizan_corpus(void) {}\n' >"$W/l.c"
  gcc -shared -fPIC -o "/var/tmp/mizan-corpus-$$/libhook.so" "$W/l.c"
}
t_pers_ld_preload_tmp() { LD_PRELOAD="$(cat "$W/libdir")/libhook.so" /bin/true; }
teardown_pers_ld_preload_tmp() { rm -rf "$(cat "$W/libdir")"; }

#@ id=pers_ld_preload_devshm src=atomic:bc219ff7-789f-4d51-9142-ecae3397deae expect=shlib_load_from_unusual_dir
setup_pers_ld_preload_devshm() {
  printf 'void mizan_corpus(void) {}\n' >"$W/l.c"
  gcc -shared -fPIC -o "/dev/shm/mizan-corpus-$$.so" "$W/l.c"
  echo "/dev/shm/mizan-corpus-$$.so" >"$W/lib"
}
t_pers_ld_preload_devshm() {
  printf 'import ctypes, sys\nctypes.CDLL(open(sys.argv[1]).read().strip())\n' >"$W/p.py"
  "$PY" "$W/p.py" "$W/lib"
}
teardown_pers_ld_preload_devshm() { rm -f "$(cat "$W/lib")"; }

#@ id=pers_sudoers_d src=atomic:a7b17659-dd5e-46f7-b7d1-e6792c91d0bc expect=sudoers_modification
setup_pers_sudoers_d() { backup /etc/sudoers.d; mkdir -p -m 0750 /etc/sudoers.d; }
t_pers_sudoers_d() { echo '# Defaults timestamp_timeout=-1  (mizan corpus)' >/etc/sudoers.d/mizan-corpus; }

#@ id=pers_pam_rule src=atomic:4b9dde80-ae22-44b1-a82a-644bf009eb9c expect=pam_config_modification
setup_pers_pam_rule() { backup /etc/pam.d/mizan-corpus; mkdir -p /etc/pam.d; }
t_pers_pam_rule() { echo '# auth sufficient pam_permit.so  (mizan corpus, not included anywhere)' >/etc/pam.d/mizan-corpus; }

#@ id=pers_apt_source src=falco:WriteBelowEtc expect=package_repo_config_modification
setup_pers_apt_source() { backup /etc/apt/sources.list.d/mizan-corpus.list; mkdir -p /etc/apt/sources.list.d; }
t_pers_apt_source() { echo '# deb http://127.0.0.1/mizan-corpus stable main' >/etc/apt/sources.list.d/mizan-corpus.list; }

#@ id=pers_passwd_append src=atomic:a1040a30-d28b-4eda-bd99-bb2861a4616c expect=account_files_modification
setup_pers_passwd_append() { backup /etc/passwd; }
t_pers_passwd_append() { echo 'mzcorpus:x:0:0:mizan corpus:/nonexistent:/usr/sbin/nologin' >>/etc/passwd; }

#@ id=pers_useradd src=atomic:40d8eabd-e394-46f6-8785-b9bfa1d011d2 expect=passwd_usage
setup_pers_useradd() { backup /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid /etc/passwd- /etc/shadow- /etc/group- /etc/gshadow- /etc/subuid- /etc/subgid-; }
t_pers_useradd() { useradd -M -N -s /usr/sbin/nologin mzcorpus$$; }
teardown_pers_useradd() { rm -f /var/mail/mzcorpus* /var/spool/mail/mzcorpus* 2>/dev/null || true; }

#@ id=pers_python_pth src=atomic:a58c066d-f2f0-42a2-ab70-30af73f89e66 expect=python_startup_hook
setup_pers_python_pth() {
  local d
  d=$("$PY" -c 'import site; print(site.getsitepackages()[0])')
  mkdir -p "$d"
  echo "$d/mizan_corpus.pth" >"$W/pth"
  backup "$d/mizan_corpus.pth"
}
t_pers_python_pth() { echo '# mizan corpus' >"$(cat "$W/pth")"; }

#@ id=pers_python_usercustomize src=atomic:6e78084a-a433-4702-a838-cc7b765d87e8 expect=python_startup_hook
setup_pers_python_usercustomize() {
  local d
  d=$("$PY" -c 'import site; print(site.getusersitepackages())')
  echo "$d" >"$W/usp"
  backup /root/.local/lib
}
t_pers_python_usercustomize() {
  local d
  d=$(cat "$W/usp")
  mkdir -p "$d" && echo '# mizan corpus' >"$d/usercustomize.py"
}
