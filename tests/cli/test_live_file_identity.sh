#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live, as root: a file is named by what it is, not by the way it was
# reached. /etc/shadow read through a bind mount, through a hard link, and
# from a chroot whose root holds a bind mount of /etc: each raises
# credentials_files_access naming /etc/shadow, with file.seen_as the path
# the process used, and the file's identity (dev, inode) on the alert. The
# mounts live in private mount namespaces the test creates.
source "$(dirname "$0")/live_lib.sh"
require_live
command -v unshare >/dev/null || fail "unshare missing (util-linux)"

# the hard link must be on /etc's filesystem; it is removed at exit
HLDIR=$(mktemp -d /var/tmp/mizan-ident.XXXXXX)
HL=$HLDIR/not-a-secret
cleanup_links() { rm -rf "$HLDIR"; stop_daemon_quiet; cleanup; }

CADENCE=200ms start_daemon
trap cleanup_links EXIT
read -r SHDEV SHINO < <(stat -c '%Hd:%Ld %i' /etc/shadow)

# 1. a bind mount of /etc
mkdir -p "$T/e"
unshare -m --propagation private sh -c "mount --bind /etc '$T/e' && cat '$T/e/shadow' >/dev/null"

# 2. a hard link (same filesystem)
if ln /etc/shadow "$HL" 2>"$T/ln.err"; then
  cat "$HL" >/dev/null
  rm -f "$HL"
  have_hl=1
else
  have_hl=0
  [ "${CI:-}" = true ] && { cat "$T/ln.err"; fail "cannot hard link /etc/shadow on this filesystem"; }
  echo "SKIP: hard link case: $(cat "$T/ln.err")"
fi

# 3. a chroot whose root holds a bind mount of /etc
R=$T/root
mkdir -p "$R/etc" "$R/usr"
for l in bin lib lib64 sbin; do [ -L /$l ] && ln -s "usr/$l" "$R/$l"; done
unshare -m --propagation private sh -c \
  "mount --bind /etc '$R/etc' && mount --rbind /usr '$R/usr' && chroot '$R' /usr/bin/cat /etc/shadow >/dev/null"

want() { # SEEN_AS
  wait_alert credentials_files_access \
    "a['file']['path'] == '/etc/shadow' and a['file'].get('seen_as') == '$1' and a['file'].get('inode') == $SHINO and a['file'].get('dev') == '$SHDEV'" 10
}
want "$T/e/shadow" || { grep -h credentials "$T/out.jsonl" | head -3; fail "bind mount read not named /etc/shadow"; }
[ "$have_hl" = 1 ] && { want "$HL" || fail "hard link read not named /etc/shadow"; }
want "$R/etc/shadow" || fail "chroot read not named /etc/shadow"
# a direct read has no seen_as
cat /etc/shadow >/dev/null
wait_alert credentials_files_access "a['file']['path'] == '/etc/shadow' and 'seen_as' not in a['file'] and a['process']['pid'] > 0" 10 \
  || fail "direct read"
stop_daemon
echo ok
