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
  libsqlite3-dev sqlite3 libcmocka-dev libmicrohttpd-dev libcap-ng-dev
  iproute2 python3 bpftrace dnsmasq
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
