#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reads a ctest JUnit file (ctest --output-junit) and prints one line per
test that did not simply pass: each skip with its reason (the first "SKIP:"
line of its output), each failure. A test that passed but printed "SKIP:"
lines skipped part of itself: it is counted as skipped, with its reasons.

Prints "COUNTS passed failed skipped" as its last line, for scripts/test.sh.
Exit status 0, or 2 when the file cannot be read (the caller counts that as
a failure)."""
import sys
import xml.etree.ElementTree as ET


def skip_reasons(text):
    out = []
    for line in (text or "").splitlines():
        i = line.find("SKIP:")
        if i >= 0:
            out.append(line[i:].strip())
    return out


def main():
    if len(sys.argv) != 3:
        print("usage: ctest_summary.py JUNIT.xml LABEL", file=sys.stderr)
        return 2
    path, label = sys.argv[1], sys.argv[2]
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"=== {label}: cannot read {path}: {e}")
        return 2
    passed = failed = skipped = 0
    for tc in root.iter("testcase"):
        name = tc.get("name", "?")
        status = tc.get("status", "")
        out = "".join(x.text or "" for x in tc.iter("system-out"))
        reasons = skip_reasons(out)
        sk = tc.find("skipped")
        if status in ("notrun", "disabled") or sk is not None:
            skipped += 1
            why = reasons[0] if reasons else (sk.get("message") if sk is not None else status)
            print(f"SKIPPED {label}: {name}: {why}")
        elif status == "fail" or tc.find("failure") is not None:
            failed += 1
            print(f"FAILED {label}: {name}")
        elif reasons:
            skipped += 1
            for r in reasons:
                print(f"SKIPPED (part) {label}: {name}: {r}")
        else:
            passed += 1
    print(f"COUNTS {passed} {failed} {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
