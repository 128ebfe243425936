#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` into a staging directory (DESTDIR, prefix /usr) gives the
# documented layout: the binary, the man page made from --help, the systemd
# unit (Type=notify, a watchdog, Restart=on-failure, hardening), and
# /etc/mizan/{mizan.yaml,netpolicy.yaml,lists/}; a second install keeps an
# edited mizan.yaml and puts the shipped one beside it as .dist.
# `systemd-analyze verify` accepts the unit (with no warning at all).
source "$(dirname "$0")/lib.sh"
BUILD=${MIZAN_BUILD_DIR:?}
for c in cmake systemd-analyze man; do
  command -v $c >/dev/null || { echo "SKIP: $c missing"; exit 77; }
done
S=$T/stage
DESTDIR=$S cmake --install "$BUILD" --prefix /usr >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install"; }

for f in usr/bin/mizan usr/share/man/man8/mizan.8 usr/lib/systemd/system/mizan.service \
         etc/mizan/mizan.yaml etc/mizan/netpolicy.yaml; do
  [ -f "$S/$f" ] || fail "missing /$f"
done
[ -x "$S/usr/bin/mizan" ] || fail "mizan not executable"
cmp -s "$S/etc/mizan/mizan.yaml" "$SRC/config/mizan.yaml" || fail "mizan.yaml differs"
cmp -s "$S/etc/mizan/netpolicy.yaml" "$SRC/config/netpolicy.yaml" || fail "netpolicy.yaml differs"
for l in "$SRC"/detect/lists/*; do
  cmp -s "$l" "$S/etc/mizan/lists/$(basename "$l")" || fail "list $(basename "$l") not installed"
done
"$S/usr/bin/mizan" check-config "$S/etc/mizan/mizan.yaml" >/dev/null || fail "installed config invalid"

# the man page: renders, and holds every usage line of --help
MANWIDTH=200 man -l "$S/usr/share/man/man8/mizan.8" >"$T/man.txt" 2>"$T/man.err" ||
  { cat "$T/man.err"; fail "man -l"; }
[ ! -s "$T/man.err" ] || { cat "$T/man.err"; fail "man page warnings"; }
grep -q '^NAME' "$T/man.txt" || fail "man page has no NAME"
n=0
while IFS= read -r u; do
  u=${u#  }
  grep -qF -- "$u" "$T/man.txt" || fail "man page lacks the usage line: $u"
  n=$((n + 1))
done < <("$S/usr/bin/mizan" --help | sed -n '/^Usage:/,/^$/p' | grep '^  mizan')
[ "$n" -ge 5 ] || fail "only $n usage lines in --help"
grep -q 'Exit status' "$T/man.txt" || fail "man page without exit statuses"

# the unit
u=$S/usr/lib/systemd/system/mizan.service
for want in '^Type=notify$' '^WatchdogSec=' '^Restart=on-failure$' '^NoNewPrivileges=yes$' \
            '^ProtectSystem=strict$' '^CapabilityBoundingSet=.*CAP_BPF' \
            '^ExecStart=/usr/bin/mizan run -c /etc/mizan/mizan.yaml$' \
            '^SystemCallFilter=@system-service bpf perf_event_open$'; do
  grep -q -- "$want" "$u" || fail "unit lacks $want"
done
# verify checks that ExecStart exists: point it at the staged binary
mkdir "$T/verify"
sed "s|^ExecStart=/usr/bin/mizan|ExecStart=$S/usr/bin/mizan|" "$u" >"$T/verify/mizan.service"
MANPATH=$S/usr/share/man systemd-analyze verify "$T/verify/mizan.service" >"$T/verify.out" 2>&1 ||
  { cat "$T/verify.out"; fail "systemd-analyze verify failed"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify warned"; }

# a second install keeps the operator's edited config
echo "# edited" >>"$S/etc/mizan/mizan.yaml"
DESTDIR=$S cmake --install "$BUILD" --prefix /usr >"$T/install2.log" 2>&1 || fail "second install"
grep -q '^# edited' "$S/etc/mizan/mizan.yaml" || fail "an edited mizan.yaml was overwritten"
cmp -s "$S/etc/mizan/mizan.yaml.dist" "$SRC/config/mizan.yaml" || fail "no mizan.yaml.dist"
echo "ok: $(find "$S" -type f | wc -l) files installed; unit verified"
