# SPDX-License-Identifier: Apache-2.0
# Defense evasion: clearing shell history and logs, file capabilities and
# attributes, timestomping, masquerading names, hidden paths, fileless and
# loader tricks, decoding payloads, weakening kernel settings (each written
# back with the value it had, so nothing changes on the host).

#@ id=de_history_rm src=atomic:a934276e-2be5-4a36-93fd-98adbb5bd4fc expect=shell_history_tamper
setup_de_history_rm() { backup /root/.bash_history; echo 'ls' >>/root/.bash_history; }
t_de_history_rm() { rm -f /root/.bash_history; }

#@ id=de_history_echo src=atomic:cbf506a5-dd78-43e5-be7e-a46b7c7a0a11 expect=shell_history_tamper
setup_de_history_echo() { backup /root/.bash_history; echo 'ls' >>/root/.bash_history; }
t_de_history_echo() { echo "" >/root/.bash_history; }

#@ id=de_history_devnull src=atomic:b1251c35-dcd3-4ea1-86da-36d27b54f31f expect=shell_history_tamper
setup_de_history_devnull() { backup /root/.bash_history; echo 'ls' >>/root/.bash_history; }
t_de_history_devnull() { cat /dev/null >/root/.bash_history; }

#@ id=de_history_ln src=atomic:23d348f3-cc5c-4ba9-bd0a-ae09069f0914 expect=shell_history_tamper
setup_de_history_ln() { backup /root/.bash_history; }
t_de_history_ln() { ln -sf /dev/null /root/.bash_history; }

#@ id=de_history_truncate src=atomic:47966a1d-df4f-4078-af65-db6d9aa20739 expect=shell_history_tamper
setup_de_history_truncate() { backup /root/.bash_history; echo 'ls' >>/root/.bash_history; }
t_de_history_truncate() { truncate -s 0 /root/.bash_history; }

#@ id=de_history_many src=atomic:7e6721df-5f08-4370-9255-f06d8a77af4c expect=shell_history_tamper
setup_de_history_many() {
  backup /root/.zsh_history /root/.sh_history /root/.local/share/fish
  echo ls >/root/.zsh_history; echo ls >/root/.sh_history
}
t_de_history_many() {
  "$PY" - <<'PY'
import os
for p in ("~/.zsh_history", "~/.sh_history"):
    os.remove(os.path.expanduser(p))
PY
}

#@ id=de_history_shred src=atomic:039b4b10-2900-404b-b67f-4b6d49aa6499 expect=shell_history_tamper
setup_de_history_shred() { backup /root/.bash_history; echo 'ls' >>/root/.bash_history; }
t_de_history_shred() { shred -u -n 1 /root/.bash_history; }

#@ id=de_wtmp_truncate src=atomic:d304b2dc-90b4-4465-a650-16ddd503f7b5 expect=auth_logs_tamper
setup_de_wtmp_truncate() { backup /var/log/wtmp; [ -e /var/log/wtmp ] || : >/var/log/wtmp; }
t_de_wtmp_truncate() { : >/var/log/wtmp; }

#@ id=de_authlog_python src=falco:ClearLogActivities expect=auth_logs_tamper
setup_de_authlog_python() { backup /var/log/auth.log; [ -e /var/log/auth.log ] || echo 'sshd: corpus' >/var/log/auth.log; }
t_de_authlog_python() { echo 'open("/var/log/auth.log", "w").close()' >"$W/a.py" && "$PY" "$W/a.py"; }

#@ id=de_syslog_rm src=atomic:989cc1b1-3642-4260-a809-54f9dd559683 expect=log_files_tamper
setup_de_syslog_rm() { backup /var/log/syslog; [ -e /var/log/syslog ] || echo 'corpus' >/var/log/syslog; }
t_de_syslog_rm() { rm -f /var/log/syslog; }

#@ id=de_messages_sed src=atomic:12e5551c-8d5c-408e-b3e4-63f53b03379f expect=log_files_tamper
setup_de_messages_sed() { backup /var/log/messages; printf 'a\nmzcorpus b\n' >>/var/log/messages; }
t_de_messages_sed() { sed -i '/mzcorpus/d' /var/log/messages; }

#@ id=de_journal_rm src=atomic:ca50dd85-81ff-48ca-92e1-61f119cb1dcf expect=log_files_tamper
setup_de_journal_rm() {
  backup /var/log/journal/mizan-corpus
  mkdir -p /var/log/journal/mizan-corpus && echo x >/var/log/journal/mizan-corpus/system.journal
}
t_de_journal_rm() { rm -f /var/log/journal/mizan-corpus/system.journal; }

#@ id=de_audit_log_truncate src=atomic:14033063-ee04-4eaf-8f5d-ba07ca7a097c expect=log_files_tamper
setup_de_audit_log_truncate() { backup /var/log/audit; mkdir -p /var/log/audit; echo 'type=corpus' >>/var/log/audit/audit.log; }
t_de_audit_log_truncate() { truncate -s0 /var/log/audit/audit.log; }

#@ id=de_setcap_setuid src=atomic:1ac3272f-9bcf-443a-9888-4b1d3de785c1 expect=file_capabilities_set
t_de_setcap_setuid() { cp /usr/bin/true "$W/pyx" && setcap cap_setuid+ep "$W/pyx"; }

#@ id=de_setcap_renamed src=atomic:db53959c-207d-4000-9e7a-cd8eb417e072 expect=file_capabilities_set
t_de_setcap_renamed() {
  local s
  s=$(drop /usr/sbin/setcap bin/fixperm)
  cp /usr/bin/true "$W/t2" && "$s" 'cap_dac_read_search=ep' "$W/t2"
}

#@ id=de_setcap_python_xattr src=atomic:db53959c-207d-4000-9e7a-cd8eb417e072 expect=file_capabilities_set needs=xattr-syscalls
t_de_setcap_python_xattr() {
  cp /usr/bin/true "$W/t3"
  # a v2 security.capability value: cap_net_raw effective and permitted
  "$PY" - "$W/t3" <<'PY'
import os, struct, sys
os.setxattr(sys.argv[1], "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0))
PY
}

#@ id=de_setfattr src=atomic:e7469fe2-ad41-4382-8965-99b94dd3c13f expect=file_attribute_change
t_de_setfattr() { echo x >"$W/f" && setfattr -n user.mizan -v corpus "$W/f"; }

#@ id=de_chattr_immutable src=atomic:e7469fe2-ad41-4382-8965-99b94dd3c13f expect=file_attribute_change
t_de_chattr_immutable() { echo x >"$W/g" && { chattr +i "$W/g" 2>/dev/null; chattr -i "$W/g" 2>/dev/null; true; }; }

#@ id=de_timestomp_t src=atomic:20ef1523-8758-4898-b5a2-d026cc3d2c52 expect=timestomp
t_de_timestomp_t() { echo x >"$W/h" && touch -m -t 201901010000 "$W/h"; }

#@ id=de_timestomp_access src=atomic:5f9113d5-ed75-47ed-ba23-ea3573d05810 expect=timestomp
t_de_timestomp_access() { echo x >"$W/h" && touch -a --date='2019-02-03 04:05' "$W/h"; }

#@ id=de_timestomp_ref src=atomic:631ea661-d661-44b0-abdb-7a7f3fc08e50 expect=timestomp
t_de_timestomp_ref() { echo x >"$W/h" && touch -r /etc/hostname "$W/h"; }

#@ id=de_timestomp_python src=atomic:8164a4a6-f99c-4661-ac4f-80f5e4e78d2b expect=timestomp needs=utimensat
t_de_timestomp_python() { echo x >"$W/h" && echo 'import os, sys; os.utime(sys.argv[1], (0, 0))' >"$W/u.py" && "$PY" "$W/u.py" "$W/h"; }

#@ id=de_masq_crond_tmp src=atomic:a315bfff-7a98-403b-b442-2ea1b255e556 expect=system_daemon_name_outside_system_dirs
t_de_masq_crond_tmp() {
  local b
  b=$(drop /usr/bin/sleep crond)
  "$b" 0.1
}

#@ id=de_masq_sshd_tmp src=atomic:a315bfff-7a98-403b-b442-2ea1b255e556 expect=system_daemon_name_outside_system_dirs
t_de_masq_sshd_tmp() {
  local b
  b=$(drop /usr/bin/true sbin/sshd)
  "$b" -D
}

#@ id=de_masq_kworker_devshm src=falco:ExecutionFromDevShm expect=system_daemon_name_outside_system_dirs,exec_from_unusual_dir
t_de_masq_kworker_devshm() {
  cp /usr/bin/true "/dev/shm/kworker-$$" && chmod +x "/dev/shm/kworker-$$"
  "/dev/shm/kworker-$$"; rm -f "/dev/shm/kworker-$$"
}

#@ id=de_masq_systemd_journald src=atomic:6fec8560-ff64-4bbf-bc79-734fea48f7ca expect=system_daemon_name_outside_system_dirs
t_de_masq_systemd_journald() {
  local b
  b=$(drop /usr/bin/true .cache/systemd-journald)
  "$b"
}

#@ id=de_masq_extension src=atomic:26cde240-0112-4806-8c97-bdde43dab298 expect=masquerading_extension
t_de_masq_extension() {
  local b
  b=$(drop /usr/bin/true invoice.pdf)
  "$b"
}

#@ id=de_masq_space src=atomic:b95ce2eb-a093-4cd8-938d-5258cef656ea expect=masquerading_extension
t_de_masq_space() {
  cp /usr/bin/true "$W/report.txt " && chmod +x "$W/report.txt "
  "$W/report.txt "
}

#@ id=de_masq_comm_prctl src=atomic:f0e3aaea-5cd9-4db6-a077-631dd19b27a8 expect=kernel_thread_name_masquerade needs=comm-after-prctl
t_de_masq_comm_prctl() {
  "$PY" - "$W/x" <<'PY'
import ctypes, sys
ctypes.CDLL(None).prctl(15, b"kworker/0:1", 0, 0, 0)   # PR_SET_NAME
open(sys.argv[1], "w").write("masked\n")
open("/etc/hostname").read()
PY
}

#@ id=de_hidden_dir_tmp src=atomic:61a782e5-9a19-40b5-8ba4-69a4b9f3d7be expect=exec_from_hidden_dir
t_de_hidden_dir_tmp() {
  local b
  b=$(drop /usr/bin/true .hidden/.sub/agent)
  "$b"
}

#@ id=de_hidden_dir_home src=falco:CreateHiddenFilesOrDirectories expect=exec_from_hidden_dir
setup_de_hidden_dir_home() { backup /root/.mizan-corpus; }
t_de_hidden_dir_home() {
  mkdir -p /root/.mizan-corpus/bin && cp /usr/bin/true /root/.mizan-corpus/bin/update && /root/.mizan-corpus/bin/update
}

#@ id=de_hidden_file src=atomic:61a782e5-9a19-40b5-8ba4-69a4b9f3d7be expect=hidden_elf_exec
t_de_hidden_file() {
  local b
  b=$(drop /usr/bin/true .x)
  "$b"
}

#@ id=de_devshm_exec src=falco:ExecutionFromDevShm expect=exec_from_unusual_dir
t_de_devshm_exec() { cp /usr/bin/true "/dev/shm/mz-$$" && "/dev/shm/mz-$$"; rm -f "/dev/shm/mz-$$"; }

#@ id=de_var_tmp_exec src=falco:DropAndExecuteNewBinaryInContainer expect=exec_from_unusual_dir
t_de_var_tmp_exec() { cp /usr/bin/true "/var/tmp/mz-$$" && chmod +x "/var/tmp/mz-$$" && "/var/tmp/mz-$$"; rm -f "/var/tmp/mz-$$"; }

#@ id=de_memfd_exec src=falco:FilelessExecutionViaMemfdCreate expect=exec_from_unusual_dir
t_de_memfd_exec() {
  "$PY" - <<'PY'
import os
fd = os.memfd_create("payload")
os.write(fd, open("/usr/bin/true", "rb").read())
pid = os.fork()
if pid == 0:
    os.execv("/proc/self/fd/%d" % fd, ["payload"])
os.waitpid(pid, 0)
PY
}

#@ id=de_self_delete src=atomic:562d737f-2fc6-4b09-8c2a-7f8ff0828480 expect=binary_self_deletion
t_de_self_delete() {
  local b
  b=$(drop /usr/bin/rm stage/cleanup)
  "$b" -f "$b"
}

#@ id=de_loader_exec src=falco:DropAndExecuteNewBinaryInContainer expect=binary_executed_by_loader
t_de_loader_exec() {
  cp /usr/bin/true "$W/noexec-tool" && chmod -x "$W/noexec-tool"
  local ld
  ld=$(ls /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 2>/dev/null | head -1)
  "$ld" "$W/noexec-tool"
}

#@ id=de_base64_sh src=atomic:f45df6be-2e1e-4136-a384-8f18ab3826fb expect=data_encoder_exec
t_de_base64_sh() { echo 'ZWNobyBtaXphbi1jb3JwdXMK' | base64 -d | sh; }

#@ id=de_base64_shebang src=atomic:3a15c372-67c1-4430-ac8e-ec06d641ce4d expect=data_encoder_exec
t_de_base64_shebang() { printf '%s' 'IyEvYmluL3NoCmVjaG8gY29ycHVzCg==' | base64 --decode | bash; }

#@ id=de_xxd_hex src=atomic:005943f9-8dd5-4349-8b46-0313c0a9f973 expect=data_encoder_exec
t_de_xxd_hex() { echo '6563686f206d697a616e0a' | xxd -r -p | sh; }

#@ id=de_python_b64 src=atomic:356dc0e8-684f-4428-bb94-9313998ad608 expect=code_on_the_fly
t_de_python_b64() { "$PY" -c 'import base64,subprocess; subprocess.run(base64.b64decode("ZWNobyBjb3JwdXM=").decode(), shell=True)'; }

#@ id=de_perl_b64 src=atomic:6604d964-b9f6-4d4b-8ce8-499829a14d0a expect=code_on_the_fly
t_de_perl_b64() { perl -MMIME::Base64 -e 'print decode_base64("ZWNobyBjb3JwdXMK")' | sh; }

#@ id=de_python_xor src=atomic:c3b65cd5-ee51-4e98-b6a3-6cbdec138efc expect=code_on_the_fly
t_de_python_xor() { "$PY" -I -c 'k=7; print("".join(chr(ord(c) ^ k) for c in "bdoh"))' >/dev/null; }

#@ id=de_aslr_sysctl src=atomic:ac333fe1-ce2b-400b-a117-538634427439 expect=kernel_hardening_change
t_de_aslr_sysctl() { local v; v=$(cat /proc/sys/kernel/randomize_va_space); echo "$v" >/proc/sys/kernel/randomize_va_space; }

#@ id=de_kptr_restrict_sysctl src=atomic:ac333fe1-ce2b-400b-a117-538634427439 expect=kernel_hardening_change
t_de_kptr_restrict_sysctl() {
  local f=/proc/sys/kernel/kptr_restrict v
  v=$(cat "$f")
  echo 'import sys; open(sys.argv[1], "w").write(sys.argv[2])' >"$W/k.py" && "$PY" "$W/k.py" "$f" "$v"
}

#@ id=de_unpriv_bpf src=atomic:ac333fe1-ce2b-400b-a117-538634427439 expect=unprivileged_bpf_config_access
t_de_unpriv_bpf() { local v; v=$(cat /proc/sys/kernel/unprivileged_bpf_disabled); (echo "$v" >/proc/sys/kernel/unprivileged_bpf_disabled) 2>/dev/null || true; }

#@ id=de_ca_store_update src=atomic:53bcf8a0-1549-4b85-b919-010c56d724ff expect=ca_store_modification
setup_de_ca_store_update() {
  backup /usr/local/share/ca-certificates/mizan-corpus.crt
  mkdir -p /usr/local/share/ca-certificates
  openssl req -x509 -newkey rsa:1024 -nodes -keyout "$W/ca.key" -out "$W/ca.crt" -subj /CN=mizan-corpus -days 1 2>/dev/null
}
t_de_ca_store_update() { cp "$W/ca.crt" /usr/local/share/ca-certificates/mizan-corpus.crt; }

#@ id=de_ca_bundle_append src=atomic:9c096ec4-fd42-419d-a762-d64cc950627e expect=ca_store_modification
setup_de_ca_bundle_append() {
  backup /etc/ssl/certs/ca-certificates.crt
  mkdir -p /etc/ssl/certs
}
t_de_ca_bundle_append() { printf '# mizan corpus\n' >>/etc/ssl/certs/ca-certificates.crt; }

#@ id=de_bind_mount_proc src=atomic:ad4b73c2-d6e2-4d8b-9868-4c6f55906e01 expect=proc_hide_bind_mount
setup_de_bind_mount_proc() { sleep 20 & echo $! >"$W/victim"; _MZ_KILL+=($!); }
t_de_bind_mount_proc() {
  mkdir -p "$W/empty"
  unshare -m sh -c "mount --bind '$W/empty' /proc/$(cat "$W/victim") && ls /proc/$(cat "$W/victim") | wc -l"
}
