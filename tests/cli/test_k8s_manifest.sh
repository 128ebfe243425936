#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/kubernetes/daemonset.yaml: every object is valid against the
# Kubernetes API schema (npm kubernetes-models, generated from the
# Kubernetes OpenAPI spec; installed by scripts/deps.sh into
# tests/tools/k8s), and the DaemonSet has what the daemon needs: hostPID,
# the capabilities, startup/readiness probes on /readyz and liveness on
# /healthz at the port the carried config listens on, and mounts for
# /sys/kernel/btf, /sys/fs/bpf, /var/log/mizan and /etc/mizan. The carried
# mizan.yaml and netpolicy.yaml pass `mizan check-config`.
source "$(dirname "$0")/lib.sh"
K8S=$SRC/tests/tools/k8s
M=$SRC/deploy/kubernetes/daemonset.yaml
command -v node >/dev/null || { echo "SKIP: node missing (scripts/deps.sh installs it)"; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml missing"; exit 77; }
[ -d "$K8S/node_modules/kubernetes-models" ] ||
  { echo "SKIP: kubernetes-models not installed in tests/tools/k8s (run scripts/deps.sh)"; exit 77; }

python3 - "$M" "$T" <<'PY' || fail "manifest checks"
import json, os, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
t = sys.argv[2]
json.dump(docs, open(os.path.join(t, "objects.json"), "w"))
kinds = {d["kind"]: d for d in docs}
ds, cm = kinds["DaemonSet"], kinds["ConfigMap"]
pod = ds["spec"]["template"]["spec"]
assert pod["hostPID"] is True, "hostPID"
(c,) = pod["containers"]
caps = c["securityContext"]["capabilities"]
assert caps["drop"] == ["ALL"], caps
for cap in ("BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"):
    assert cap in caps["add"], cap
assert c["securityContext"].get("privileged") is False
cfg = yaml.safe_load(cm["data"]["mizan.yaml"])
port = int(cfg["http"]["listen"].rsplit(":", 1)[1])
for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"),
                    ("livenessProbe", "/healthz")):
    g = c[probe]["httpGet"]
    assert g["path"] == path and g["port"] == port, (probe, g, port)
    # mizan listens on loopback: the probes reach it through the host network
    assert g.get("host") == "127.0.0.1" and pod.get("hostNetwork") is True, probe
mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
for path in ("/sys/kernel/btf", "/sys/fs/bpf", "/var/log/mizan"):
    assert path in mounts, path
    assert vols[mounts[path]]["hostPath"]["path"] == path, path
assert vols[mounts["/etc/mizan"]]["configMap"]["name"] == cm["metadata"]["name"]
assert cfg["collector"]["pin_dir"].startswith("/sys/fs/bpf/")
assert cfg["printers"]["varlog"]["path"].startswith("/var/log/mizan/")
# the config as check-config sees it, with the policy file beside it
os.makedirs(os.path.join(t, "etc"))
open(os.path.join(t, "etc", "netpolicy.yaml"), "w").write(cm["data"]["netpolicy.yaml"])
cfg["netpolicy"]["enabled"] = True
cfg["netpolicy"]["file"] = os.path.join(t, "etc", "netpolicy.yaml")
yaml.safe_dump(cfg, open(os.path.join(t, "etc", "mizan.yaml"), "w"))
print("manifest: %d objects; probes on port %d" % (len(docs), port))
PY
(cd "$K8S" && node validate.mjs "$T/objects.json") || fail "Kubernetes API schema"
"$MIZAN" check-config "$T/etc/mizan.yaml" || fail "the ConfigMap's mizan.yaml"
echo "ok"
