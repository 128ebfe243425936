#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what mizan needs to build, run and test on Debian 12, and nothing
# that is already there. Idempotent: a second run only checks.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  clang llvm libclang-rt-14-dev clang-format
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev libpcre2-dev
  # the network outputs (printers/prn_*.c) and their tests: Kafka client
  # with its mock cluster, rsyslog as the syslog receiver, openssl for the
  # webhook test's CA
  librdkafka-dev rsyslog
  libsqlite3-dev sqlite3 libcmocka-dev libmicrohttpd-dev libsystemd-dev libcap-ng-dev
  # the HTTP endpoint's test scrapes with a real Prometheus (and promtool)
  prometheus
  # the install test: systemd-analyze verify on the unit, man on the man page
  systemd man-db
  # the Kubernetes manifest's check: YAML to JSON, and node for the schema
  python3-yaml nodejs
  iproute2 python3 bpftrace dnsmasq
  # reactions: js runs in node (V8, ES2020) worker processes (reactions/)
  nodejs
  # what the attack corpus (tests/attacks/) and its benign controls run
  procps util-linux e2fsprogs curl wget xxd openssl perl gawk busybox
  netcat-openbsd socat cron logrotate attr libcap2-bin openssh-client ed vim-tiny
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Kubernetes API schema for tests/cli/test_k8s_manifest.sh: npm's
# kubernetes-models (generated from the Kubernetes OpenAPI spec), pinned by
# tests/tools/k8s/package-lock.json, installed in that folder.
k8s="$(cd "$(dirname "$0")/.." && pwd)/tests/tools/k8s"
if [ ! -d "$k8s/node_modules/kubernetes-models" ]; then
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "deps.sh: npm missing (run as root to install)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "deps.sh: npm ci in $k8s" >&2
  npm ci --prefix "$k8s" --no-audit --no-fund >/dev/null
fi
