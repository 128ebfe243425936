# SPDX-License-Identifier: Apache-2.0
# Container-escape signals, built with unshare: the kernel knobs a
# container breakout writes (core_pattern, cgroup release_agent, sysrq),
# entering the host's namespaces, raw filesystem access. Every knob gets back
# the value it had.

#@ id=ce_core_pattern src=falco:DetectReleaseAgentFileContainerEscapes expect=core_pattern_access
t_ce_core_pattern() { local v; v=$(cat /proc/sys/kernel/core_pattern); printf '%s\n' "$v" >/proc/sys/kernel/core_pattern; }

#@ id=ce_core_pattern_ns src=falco:DetectReleaseAgentFileContainerEscapes expect=core_pattern_access
t_ce_core_pattern_ns() {
  unshare -m -p -n -u --fork sh -c 'v=$(cat /proc/sys/kernel/core_pattern); printf "%s\n" "$v" > /proc/sys/kernel/core_pattern'
}

#@ id=ce_release_agent src=falco:DetectReleaseAgentFileContainerEscapes expect=cgroup_release_agent_write
t_ce_release_agent() {
  mkdir -p "$W/cg"
  # a named cgroup v1 hierarchy of our own, mounted in a mount namespace of
  # our own; its release_agent gets the (empty) value it has
  unshare -m sh -c "mount -t cgroup -o none,name=mzcorpus$$ cgroup '$W/cg' &&
    cat '$W/cg/release_agent' > '$W/ra' && cat '$W/ra' > '$W/cg/release_agent' &&
    echo 0 > '$W/cg/notify_on_release'" 2>/dev/null || true
}

#@ id=ce_nsenter_host src=falco:ChangeThreadNamespace expect=namespace_escape_tool
t_ce_nsenter_host() { nsenter -t 1 -m -u -i -n -p true; }

#@ id=ce_unshare_map_root src=falco:ChangeNamespacePrivilegesViaUnshare expect=namespace_escape_tool
t_ce_unshare_map_root() { unshare -Ur id -u >/dev/null 2>&1 || true; }

#@ id=ce_sysrq_setting src=atomic:6e76f56f-2373-4a6c-a63f-98b7b72761f1 expect=sysrq_access
t_ce_sysrq_setting() {
  [ -e /proc/sys/kernel/sysrq ] || exit 77 # not on this kernel: not applicable
  local v; v=$(cat /proc/sys/kernel/sysrq); echo "$v" >/proc/sys/kernel/sysrq
}

#@ id=ce_debugfs_image src=falco:DebugfsLaunchedInPrivilegedContainer expect=raw_disk_access_tool
setup_ce_debugfs_image() { truncate -s 4M "$W/disk.img" && mkfs.ext4 -q -F "$W/disk.img"; }
t_ce_debugfs_image() { debugfs -R 'ls -l /' "$W/disk.img" >/dev/null 2>&1 || true; }

#@ id=ce_host_root_shadow_ns src=falco:ReadSensitiveFileUntrusted expect=credentials_files_access
t_ce_host_root_shadow_ns() { unshare -m -p --fork --mount-proc sh -c 'wc -c /proc/1/root/etc/shadow' >/dev/null 2>&1; }

#@ id=ce_mount_host_disk src=falco:MountLaunchedInPrivilegedContainer expect=host_filesystem_mount
t_ce_mount_host_disk() {
  mkdir -p "$W/host"
  unshare -m sh -c "mount --rbind / '$W/host' && ls '$W/host/etc' >/dev/null" 2>/dev/null || true
}
