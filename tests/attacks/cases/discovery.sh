# SPDX-License-Identifier: Apache-2.0
# Discovery: OS, CPU, machine, filesystem, network and status fingerprints
# read by a dropped program, virtual machine and sandbox checks, searches
# for SUID binaries and security software.

# a dropped program (a copy of cat outside the system directories) reads FILE
_dropped_read() {
  local b
  b=$(drop /usr/bin/cat ".local/probe-$1")
  shift
  "$b" "$@" >/dev/null 2>&1 || true
}

#@ id=disc_os_release src=atomic:cccb070c-df86-4216-a5bc-9fb60c74e27c expect=os_fingerprint
t_disc_os_release() { _dropped_read os /etc/os-release /proc/version; }

#@ id=disc_cpu src=atomic:3a53734a-9e26-4f4b-ad15-059e767f5f14 expect=cpu_fingerprint
t_disc_cpu() { _dropped_read cpu /proc/cpuinfo; }

#@ id=disc_mounts src=atomic:361fe49d-0c19-46ec-a483-ccb92d38e88e expect=filesystem_fingerprint
t_disc_mounts() { _dropped_read fs /proc/self/mountinfo /proc/mounts; }

#@ id=disc_machine_id src=atomic:31dad7ad-2286-4c02-ae92-274418c85fec expect=machine_fingerprint
t_disc_machine_id() { _dropped_read machine /etc/machine-id /sys/class/dmi/id/product_uuid; }

#@ id=disc_network src=atomic:c141bbdb-7fca-4254-9fd6-f47e79447e17 expect=os_network_fingerprint
t_disc_network() { _dropped_read net /proc/net/tcp /proc/net/route; }

#@ id=disc_status src=atomic:cccb070c-df86-4216-a5bc-9fb60c74e27c expect=os_status_fingerprint
t_disc_status() { _dropped_read status /proc/uptime /proc/meminfo; }

#@ id=disc_os_python_script src=atomic:cccb070c-df86-4216-a5bc-9fb60c74e27c expect=os_fingerprint
t_disc_os_python_script() {
  # a dropped copy of the interpreter runs the survey
  local p
  p=$(drop "$(readlink -f "$PY")" .cache/pyrt)
  "$p" -c 'import platform; open("/etc/os-release").read(); print(platform.release())' >/dev/null
}

#@ id=disc_vm_dmi_cat src=atomic:31dad7ad-2286-4c02-ae92-274418c85fec expect=vm_sandbox_detection
t_disc_vm_dmi_cat() {
  [ -e /sys/class/dmi/id/sys_vendor ] || exit 77 # no DMI on this machine: not applicable
  cat /sys/class/dmi/id/product_name /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/bios_version 2>/dev/null || true
}

#@ id=disc_vm_dmi_grep src=atomic:dfbd1a21-540d-4574-9731-e852bd6fe840 expect=vm_sandbox_detection,vm_sandbox_detection_exec
t_disc_vm_dmi_grep() { grep -i -E 'vmware|virtualbox|qemu|kvm' /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null || true; }

#@ id=disc_vm_modules src=atomic:8057d484-0fae-49a4-8302-4812c4f1e64e expect=vm_sandbox_detection_exec
t_disc_vm_modules() { grep -i -E 'vboxguest|vmw_balloon|virtio' /proc/modules 2>/dev/null || true; }

#@ id=disc_vm_detect_virt src=atomic:dfbd1a21-540d-4574-9731-e852bd6fe840 expect=vm_sandbox_detection_exec
t_disc_vm_detect_virt() {
  command -v systemd-detect-virt >/dev/null || exit 77
  systemd-detect-virt 2>/dev/null || true
}

#@ id=disc_suid_find src=atomic:8e36da01-cd29-45fd-be72-8a0fcaad4481 expect=suid_binary_search
t_disc_suid_find() { find /usr/bin -perm -4000 -type f 2>/dev/null | head -3; }

#@ id=disc_sgid_find src=atomic:3fb46e17-f337-4c14-9f9a-a471946533e2 expect=suid_binary_search
t_disc_sgid_find() { find /usr/bin /usr/sbin -perm /g=s 2>/dev/null | head -3; }

#@ id=disc_getcap_recursive src=atomic:46274fc6-08a7-4956-861b-24cbbaa0503c expect=suid_binary_search
t_disc_getcap_recursive() { getcap -r /usr/bin 2>/dev/null | head -3; }

#@ id=disc_security_software src=atomic:23b91cd2-c99c-4002-9e41-317c63e024a2 expect=security_software_discovery
t_disc_security_software() { ps aux | grep -E -i 'falco|auditd|osquery|sysdig|tetragon|wazuh' || true; }

#@ id=disc_security_pgrep src=atomic:23b91cd2-c99c-4002-9e41-317c63e024a2 expect=security_software_discovery
t_disc_security_pgrep() { pgrep -l -f 'falcon-sensor|auditd|osqueryd' || true; }
