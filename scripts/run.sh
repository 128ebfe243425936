#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: installs what is missing, builds build/mizan, and runs
# the daemon in the foreground (Ctrl-C drains and exits) with
# /etc/mizan/mizan.yaml when that file exists, else config/mizan.yaml (the
# documented defaults). A -c FILE among the arguments overrides both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh >&2
bash scripts/build.sh build mizan
conf=config/mizan.yaml
[ -f /etc/mizan/mizan.yaml ] && conf=/etc/mizan/mizan.yaml
for a in "$@"; do
  case $a in -c|--config|-c*|--config=*) exec ./build/mizan run "$@" ;; esac
done
echo "run.sh: config $conf" >&2
exec ./build/mizan run -c "$conf" "$@"
