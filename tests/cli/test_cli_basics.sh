#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a newcomer types first: `mizan help` and `mizan help COMMAND` print
# usage (exit 0), an unknown one is an error (exit 2); `mizan status` against
# a stale status file prints only the warning that no daemon runs (exit 1),
# never the old counters.
source "$(dirname "$0")/lib.sh"
write_config

"$MIZAN" help >"$T/help.out" 2>&1 || fail "mizan help exited $?"
grep -q 'Usage:' "$T/help.out" || fail "mizan help printed no usage"
grep -q 'mizan status' "$T/help.out" || fail "mizan help does not list the commands"
"$MIZAN" help status >"$T/hs.out" 2>&1 || fail "mizan help status exited $?"
grep -q 'mizan status' "$T/hs.out" || fail "mizan help status: no status usage"
set +e
"$MIZAN" help no-such-thing >/dev/null 2>"$T/hn.err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "mizan help no-such-thing exited $rc, want 2"
grep -q "unknown command 'no-such-thing'" "$T/hn.err" || fail "no error naming the command"

# a status file whose pid has exited
sh -c 'exit 0' & dead=$!; wait $dead
printf '{"pid": %d, "collector": {"scans": 12345}}\n' "$dead" >"$T/status.json"
set +e
"$MIZAN" status -c "$T/mizan.yaml" >"$T/st.out" 2>"$T/st.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "stale status exited $rc, want 1"
[ ! -s "$T/st.out" ] || { cat "$T/st.out"; fail "stale status printed the old counters"; }
grep -q 'no daemon is running' "$T/st.err" || { cat "$T/st.err"; fail "no stale warning"; }
grep -q 12345 "$T/st.err" && fail "the warning carries old counters"
echo "ok"
