# SPDX-License-Identifier: Apache-2.0
# Credential access: password hashes, SSH and TLS keys, cloud credential
# files, process memory and environments, searches for secrets.
# (Sourced by lib.sh; each t_ID is one case's body, see lib.sh.)

#@ id=cred_shadow_cat src=atomic:3723ab77-c546-403c-8fb4-bb577033b235 expect=credentials_files_access
t_cred_shadow_cat() { cat /etc/shadow >"$W/out"; }

#@ id=cred_shadow_builtin src=atomic:f5aa6543-6cb2-4fae-b9c2-b96e14721713 expect=credentials_files_access
t_cred_shadow_builtin() {
  local line n=0
  while IFS= read -r line; do n=$((n + 1)); done </etc/shadow
  echo "$n"
}

#@ id=cred_shadow_head src=atomic:df1a55ae-019d-4120-bc35-94f4bc5c4b0a expect=credentials_files_access
t_cred_shadow_head() { head -n 3 /etc/shadow | cut -d: -f1; }

#@ id=cred_shadow_python src=atomic:df1a55ae-019d-4120-bc35-94f4bc5c4b0a expect=credentials_files_access
t_cred_shadow_python() {
  cat >"$W/dump.py" <<'PY'
with open("/etc/shadow") as f:
    print(sum(1 for _ in f))
PY
  "$PY" "$W/dump.py"
}

#@ id=cred_shadow_perl src=atomic:df1a55ae-019d-4120-bc35-94f4bc5c4b0a expect=credentials_files_access
t_cred_shadow_perl() {
  printf 'open(my $f, "<", "/etc/shadow") or die; my @l = <$f>; print scalar(@l), "\\n";\n' >"$W/d.pl"
  perl "$W/d.pl"
}

#@ id=cred_shadow_awk src=atomic:df1a55ae-019d-4120-bc35-94f4bc5c4b0a expect=credentials_files_access
t_cred_shadow_awk() { awk -F: 'length($2) > 2 { n++ } END { print n }' /etc/shadow; }

#@ id=cred_shadow_renamed src=atomic:3723ab77-c546-403c-8fb4-bb577033b235 expect=credentials_files_access
t_cred_shadow_renamed() {
  local b
  b=$(drop /usr/bin/cat lib/updater)
  "$b" /etc/shadow >/dev/null
}

#@ id=cred_shadow_copy src=atomic:3723ab77-c546-403c-8fb4-bb577033b235 expect=credentials_files_access
t_cred_shadow_copy() { cp /etc/shadow "$W/s.bak"; }

#@ id=cred_gshadow_grep src=atomic:df1a55ae-019d-4120-bc35-94f4bc5c4b0a expect=credentials_files_access
t_cred_gshadow_grep() { grep -c '^root:' /etc/gshadow; }

#@ id=cred_shadow_procroot src=falco:DirectoryTraversalMonitoredFileRead expect=credentials_files_access
t_cred_shadow_procroot() { dd if=/proc/self/root/etc/shadow of=/dev/null bs=64 count=1 status=none; }

#@ id=cred_shadow_dotdot src=falco:DirectoryTraversalMonitoredFileRead expect=credentials_files_access
t_cred_shadow_dotdot() { cd /usr/share && tail -n 1 ../../etc/../etc/shadow >/dev/null; }

#@ id=cred_shadow_symlink src=falco:CreateSymlinkOverSensitiveFiles expect=credentials_files_access,sensitive_file_link
t_cred_shadow_symlink() { ln -s /etc/shadow "$W/notes.txt" && wc -l "$W/notes.txt"; }

#@ id=cred_shadow_mntns src=falco:ReadSensitiveFileUntrusted expect=credentials_files_access needs=canonical-path-through-bind-mounts
t_cred_shadow_mntns() {
  mkdir -p "$W/m"
  unshare -m sh -c "mount --bind /etc '$W/m' && od -c '$W/m/shadow' | head -1"
}

#@ id=cred_shadow_netns src=falco:ReadSensitiveFileUntrusted expect=credentials_files_access
t_cred_shadow_netns() { unshare -n sh -c 'sort /etc/shadow | wc -l'; }

#@ id=cred_aws_find src=atomic:37807632-d3da-442e-8c2e-00f44928ff8f expect=credentials_files_access,credentials_file_search
setup_cred_aws_find() {
  backup /root/.aws
  mkdir -p /root/.aws
  printf '[default]\naws_access_key_id = AKIAMIZANEXAMPLE0000\naws_secret_access_key = mizan/example\n' >/root/.aws/credentials
}
t_cred_aws_find() { find /root -maxdepth 3 -name credentials -path '*aws*' -exec cat {} \; >/dev/null; }

#@ id=cred_gcp_adc src=atomic:aa12eb29-2dbb-414e-8b20-33d34af93543 expect=cloud_credentials_read
setup_cred_gcp_adc() {
  backup /root/.config/gcloud
  mkdir -p /root/.config/gcloud
  echo '{"type": "authorized_user", "client_id": "mizan-example"}' >/root/.config/gcloud/application_default_credentials.json
}
t_cred_gcp_adc() { cp /root/.config/gcloud/application_default_credentials.json "$W/adc.json"; }

#@ id=cred_azure_tokens src=atomic:a8f6148d-478a-4f43-bc62-5efee9f931a4 expect=cloud_credentials_read
setup_cred_azure_tokens() {
  backup /root/.azure
  mkdir -p /root/.azure
  echo '{}' >/root/.azure/msal_token_cache.json
}
t_cred_azure_tokens() { cat /root/.azure/msal_token_cache.json >/dev/null; }

#@ id=cred_oci_config src=atomic:9d9c22c9-fa97-4008-a204-478cf68c40af expect=cloud_credentials_read
setup_cred_oci_config() {
  backup /root/.oci
  mkdir -p /root/.oci
  printf '[DEFAULT]\nuser=ocid1.user.oc1..mizan\nkey_file=~/.oci/key.pem\n' >/root/.oci/config
}
t_cred_oci_config() { grep -h user /root/.oci/config >/dev/null; }

#@ id=cred_github_hosts src=atomic:da4f751a-020b-40d7-b9ff-d433b7799803 expect=credentials_files_access
setup_cred_github_hosts() {
  backup /root/.config/gh /root/.git-credentials
  mkdir -p /root/.config/gh
  printf 'github.com:\n    oauth_token: gho_mizanexample\n' >/root/.config/gh/hosts.yml
  echo 'https://mizan:example@127.0.0.1' >/root/.git-credentials
}
t_cred_github_hosts() { cat /root/.config/gh/hosts.yml /root/.git-credentials >/dev/null; }

#@ id=cred_ssh_key_cp src=atomic:7c247dc7-5128-4643-907b-73a76d9135c3 expect=reading_of_ssh_keys
setup_cred_ssh_key_cp() {
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  backup /root/.ssh/id_mizanatk /root/.ssh/id_mizanatk.pub
  ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_mizanatk
}
t_cred_ssh_key_cp() { mkdir -p "$W/loot" && cp /root/.ssh/id_mizanatk "$W/loot/"; }

#@ id=cred_ssh_key_tar src=atomic:864bb0b2-6bb5-489a-b43b-a77b3a16d68a expect=reading_of_ssh_keys
setup_cred_ssh_key_tar() { setup_cred_ssh_key_cp; }
t_cred_ssh_key_tar() { tar -C /root -cf "$W/k.tar" .ssh/id_mizanatk; }

#@ id=cred_ssh_key_python src=atomic:46959285-906d-40fa-9437-5a439accd878 expect=reading_of_ssh_keys
setup_cred_ssh_key_python() { setup_cred_ssh_key_cp; }
t_cred_ssh_key_python() {
  cat >"$W/k.py" <<'PY'
import glob
for p in glob.glob("/root/.ssh/id_*"):
    if not p.endswith(".pub"):
        open(p).read()
PY
  "$PY" "$W/k.py"
}

#@ id=cred_ssh_host_key src=atomic:46959285-906d-40fa-9437-5a439accd878 expect=reading_of_ssh_keys
setup_cred_ssh_host_key() {
  backup /etc/ssh/ssh_host_mizan_key
  mkdir -p /etc/ssh
  echo '-----BEGIN OPENSSH PRIVATE KEY----- (mizan corpus placeholder)' >/etc/ssh/ssh_host_mizan_key
  chmod 600 /etc/ssh/ssh_host_mizan_key
}
t_cred_ssh_host_key() { base64 /etc/ssh/ssh_host_mizan_key >/dev/null; }

#@ id=cred_tls_key src=atomic:46959285-906d-40fa-9437-5a439accd878 expect=ssl_certificate_access
setup_cred_tls_key() {
  backup /etc/ssl/private/mizan-corpus.key
  mkdir -p /etc/ssl/private
  openssl genrsa -out /etc/ssl/private/mizan-corpus.key 1024 2>/dev/null || echo key >/etc/ssl/private/mizan-corpus.key
}
t_cred_tls_key() { openssl rsa -in /etc/ssl/private/mizan-corpus.key -noout 2>/dev/null || cat /etc/ssl/private/mizan-corpus.key >/dev/null; }

#@ id=cred_proc_mem_dd src=atomic:7e91138a-8e74-456d-a007-973d67a0bb80 expect=proc_mem_access
setup_cred_proc_mem_dd() { sleep 20 & echo $! >"$W/victim"; _MZ_KILL+=($!); }
t_cred_proc_mem_dd() {
  local v addr
  v=$(cat "$W/victim")
  addr=$(grep -m1 ' r' "/proc/$v/maps" | cut -d- -f1)
  dd if="/proc/$v/mem" of="$W/dump" bs=4096 count=1 skip=$((16#$addr / 4096)) status=none || true
}

#@ id=cred_proc_mem_python src=atomic:437b2003-a20d-4ed8-834c-4964f24eec63 expect=proc_mem_access
setup_cred_proc_mem_python() { setup_cred_proc_mem_dd; }
t_cred_proc_mem_python() {
  cat >"$W/m.py" <<'PY'
import sys
pid = open(sys.argv[1]).read().strip()
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb") as mem:
    for line in maps:
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if " r" in line:
            mem.seek(lo); mem.read(min(4096, hi - lo)); break
PY
  "$PY" "$W/m.py" "$W/victim"
}

#@ id=cred_proc_mem_write_sh src=atomic:50859b3b-b088-4c7b-973d-03a0365a9bf9 expect=code_modification_through_procfs
setup_cred_proc_mem_write_sh() { setup_cred_proc_mem_dd; }
t_cred_proc_mem_write_sh() {
  local v
  v=$(cat "$W/victim")
  # opened for writing by the shell itself; nothing is written
  exec 3>"/proc/$v/mem" && exec 3>&-
}

#@ id=cred_proc_mem_write_python src=atomic:4383bbd3-aa6c-49fd-a1a9-cf112c95982c expect=code_modification_through_procfs
setup_cred_proc_mem_write_python() { setup_cred_proc_mem_dd; }
t_cred_proc_mem_write_python() {
  printf 'import sys\nf = open("/proc/%%s/mem" %% open(sys.argv[1]).read().strip(), "r+b")\nf.close()\n' >"$W/w.py"
  "$PY" "$W/w.py" "$W/victim"
}

#@ id=cred_environ_read src=falco:ReadEnvironmentVariableFromProcFiles expect=environ_read_from_procfs
setup_cred_environ_read() { setup_cred_proc_mem_dd; }
t_cred_environ_read() { tr '\0' '\n' <"/proc/$(cat "$W/victim")/environ" | grep -c . ; }

#@ id=cred_grep_passwords src=atomic:bd4cf0d1-7646-474e-8610-78ccf5a097c4 expect=credentials_text_lookup
t_cred_grep_passwords() { grep -ri password /etc/ssh /etc/security 2>/dev/null | head -1 >/dev/null; }

#@ id=cred_grep_history src=atomic:3cfde62b-7c33-4b26-a61e-755d6131c8ce expect=credentials_text_lookup
t_cred_grep_history() { grep -E -i 'passw(or)?d|token' /root/.bash_history 2>/dev/null || true; }

#@ id=cred_grep_private_keys src=falco:SearchPrivateKeysOrPasswords expect=credentials_text_lookup
t_cred_grep_private_keys() { grep -rl 'BEGIN OPENSSH PRIVATE' /root /etc/ssh 2>/dev/null || true; }

#@ id=cred_find_ssh_keys src=atomic:46959285-906d-40fa-9437-5a439accd878 expect=credentials_file_search
t_cred_find_ssh_keys() { find / -xdev -maxdepth 4 -name 'id_rsa' -o -maxdepth 4 -name 'id_ed25519' 2>/dev/null | head -3; }

#@ id=cred_find_aws_falco src=falco:FindAwsCredentials expect=credentials_file_search
t_cred_find_aws_falco() { find /root /home -maxdepth 3 -name '.aws' 2>/dev/null || true; }

#@ id=cred_k8s_token src=atomic:788e0019-a483-45da-bcfe-96353d46820f expect=cloud_credentials_read
setup_cred_k8s_token() {
  backup /run/secrets
  mkdir -p /var/run/secrets/kubernetes.io/serviceaccount
  echo 'eyJhbGciOiJSUzI1NiJ9.mizan.example' >/var/run/secrets/kubernetes.io/serviceaccount/token
}
t_cred_k8s_token() { cat /var/run/secrets/kubernetes.io/serviceaccount/token >/dev/null; }
