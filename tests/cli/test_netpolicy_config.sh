#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The network policy file through the CLI (no root needed): check-config
# accepts the shipped example and Jibril's documented file, names
# file:line:column and the key of a broken policy and exits 2; run refuses
# to start on one (nothing is loaded).
source "$(dirname "$0")/lib.sh"
write_config "netpolicy:
  enabled: true
  file: $T/netpolicy.yaml"
cp "$SRC/config/netpolicy.yaml" "$T/netpolicy.yaml"
"$MIZAN" check-config "$T/mizan.yaml" >/dev/null || fail "the shipped example policy was rejected"

cat >"$T/netpolicy.yaml" <<'YAML'
network_policy:
  cidr_mode: "both"
  cidr_policy: "allow"
  resolve_mode: "bypass"
  resolve_policy: "allow"
  rules:
    - cidr: "127.0.0.0/8"
      policy: "allow"
    - cidr: "::1/128"
      policy: "allow"
    - domain: "aol.com"
      policy: "deny"
YAML
"$MIZAN" check-config "$T/mizan.yaml" >/dev/null || fail "Jibril's documented policy was rejected"

cat >"$T/netpolicy.yaml" <<'YAML'
network_policy:
  cidr_mode: "both"
  rules:
    - cidr: "10.0.0.0/8"
      policy: "alow"
YAML
set +e
"$MIZAN" check-config "$T/mizan.yaml" 2>"$T/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "check-config exited $rc on a bad policy, want 2"
grep -q "netpolicy.yaml:5:15: network_policy.rules\[0\]: expected allow or deny, got \"alow\"" "$T/err" ||
  { cat "$T/err"; fail "the policy error does not name file:line:column and key"; }
set +e
"$MIZAN" run -c "$T/mizan.yaml" >/dev/null 2>"$T/err2"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "run on a bad policy exited $rc, want 2"
grep -q "netpolicy.yaml:5:15" "$T/err2" || { cat "$T/err2"; fail "run did not name the policy error"; }

rm "$T/netpolicy.yaml"
set +e
"$MIZAN" check-config "$T/mizan.yaml" 2>"$T/err3"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "check-config exited $rc on a missing policy, want 2"
grep -q "netpolicy.yaml: No such file" "$T/err3" || { cat "$T/err3"; fail "missing file message"; }
# disabled: the file is not read
write_config
"$MIZAN" check-config "$T/mizan.yaml" >/dev/null || fail "a disabled policy was read"
echo PASS
