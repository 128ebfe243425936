#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The attack corpus' planner and judge (run.sh calls it).

plan CASEFILE...    reads the `#@ id=... src=... expect=...` lines, checks
                    them, spreads the cases over batches (at most one case
                    per expected recipe in a batch) and prints the plan:
                    batch, file, id, category, expect, needs, src
report ...          attributes alerts to cases by fork events, prints the
                    per-case lines, the per-category table and the summary
"""
import argparse
import collections
import datetime
import json
import os
import re
import sys

HEADER = re.compile(r"^#@\s+(.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")
FORK = re.compile(r"\s(\d+\.\d+): sched_process_fork: comm=.* pid=(\d+) child_comm=.* child_pid=(\d+)")
EXIT = re.compile(r"\s(\d+\.\d+): sched_process_exit: comm=.* pid=(\d+) prio=")
MARK = re.compile(r"\s(\d+\.\d+): tracing_mark_write: mzsync (\d+\.\d+)")


def read_cases(files, only=""):
    cases, seen = [], set()
    for path in files:
        cat = os.path.splitext(os.path.basename(path))[0]
        text = open(path).read()
        for n, line in enumerate(text.splitlines(), 1):
            m = HEADER.match(line)
            if not m:
                continue
            f = dict(FIELD.findall(m.group(1)))
            where = "%s:%d" % (path, n)
            for k in ("id", "src", "expect"):
                if k not in f:
                    sys.exit("%s: case without %s=" % (where, k))
            if f["id"] in seen:
                sys.exit("%s: duplicate case id %s" % (where, f["id"]))
            if not re.search(r"^t_%s\(\)" % re.escape(f["id"]), text, re.M):
                sys.exit("%s: no function t_%s" % (where, f["id"]))
            if not re.match(r"^(atomic:[0-9a-f-]{36}|falco:\w+|control:[\w-]+)$", f["src"]):
                sys.exit("%s: src must be atomic:GUID, falco:ACTION or control:WHAT" % where)
            control = f["src"].startswith("control:")
            if control != (f["expect"] == "none"):
                sys.exit("%s: controls (and only they) have expect=none" % where)
            seen.add(f["id"])
            if only and not re.search(only, f["id"]):
                continue
            cases.append(dict(f, file=path, category=cat if not control else "controls",
                              control=control, needs=f.get("needs", "-")))
    return cases


def plan(a):
    cases = read_cases(a.files, a.only)
    if a.controls_only == "1":
        cases = [c for c in cases if c["control"]]
    per = collections.Counter()
    for c in cases:
        if not c["control"]:
            c["batch"] = per[c["expect"].split(",")[0]]
            per[c["expect"].split(",")[0]] += 1
    nb = max([c["batch"] + 1 for c in cases if not c["control"]] or [1])
    i = 0
    for c in cases:
        if c["control"]:
            c["batch"] = i % nb
            i += 1
    cases.sort(key=lambda c: c["batch"])  # stable: declaration order within a batch
    for c in cases:
        print("\t".join(str(x) for x in (c["batch"], c["file"], c["id"], c["category"],
                                          c["expect"], c["needs"], c["src"])))


def rfc3339(s):
    # 2026-12-01T10:08:02.068149316Z
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", s or "")
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return t + (float("0." + m.group(2)) if m.group(2) else 0.0)


def load_forks(path):
    """fork events as (realtime, parent, child) and exits as (realtime, -1,
    pid), in order"""
    events, offset = [], None
    with open(path, errors="replace") as f:
        for line in f:
            m = FORK.search(line)
            if m:
                events.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
                continue
            m = EXIT.search(line)
            if m:
                events.append((float(m.group(1)), -1, int(m.group(2))))
                continue
            m = MARK.search(line)
            if m and offset is None:
                offset = float(m.group(2)) - float(m.group(1))
    if offset is None:
        sys.exit("no clock marker in the fork trace")
    events.sort()
    return [(t + offset, p, c) for t, p, c in events]


def owners(forks, runs):
    """pid -> [(since, run index or None, until or None)], from the fork and
    exit events in order"""
    body_of = collections.defaultdict(list)
    for i, r in enumerate(runs):
        body_of[r["body"]].append(i)
    hist = collections.defaultdict(list)
    cur = {}
    for t, parent, child in forks:
        if parent == -1:  # exit: the pid's current life ends here
            if hist.get(child) and hist[child][-1][2] is None:
                since, owner, _ = hist[child][-1]
                hist[child][-1] = (since, owner, t)
            cur.pop(child, None)
            continue
        owner = None
        for i in body_of.get(child, ()):
            if runs[i]["start"] - 0.5 <= t <= runs[i]["end"] + 0.5:
                owner = i
        if owner is None:
            owner = cur.get(parent)
        cur[child] = owner
        hist[child].append((t, owner, None))
    return hist


def owner_at(hist, pid, t):
    best = None
    for since, owner, until in hist.get(pid, ()):
        if since > t + 0.02:
            break
        # first_seen is in jiffies: a little slack on both ends
        best = owner if until is None or t <= until + 0.02 else None
    return best


def report(a):
    plan_rows = [l.rstrip("\n").split("\t") for l in open(a.plan) if l.strip()]
    cases = collections.OrderedDict()
    for batch, file, cid, cat, expect, needs, src in plan_rows:
        cases[cid] = dict(id=cid, category=cat, expect=expect.split(","), needs=needs, src=src,
                          control=src.startswith("control:"), fired=collections.Counter(), runs=0)
    runs = []
    for l in open(a.runs):
        if not l.strip():
            continue
        cid, body, s, e, rc, batch = l.rstrip("\n").split("\t")
        runs.append(dict(id=cid, body=int(body), start=float(s), end=float(e), rc=int(rc)))
        if cid not in cases:  # the soak command of --loop
            cases[cid] = dict(id=cid, category=cid, expect=["none"], needs="-", src="control:" + cid,
                              control=True, fired=collections.Counter(), runs=0)
        if cid in cases:
            cases[cid]["runs"] += 1
            cases[cid]["rc"] = int(rc)
    hist = owners(load_forks(a.forks), runs)

    seen = set()
    per_recipe = collections.Counter()
    by_source = collections.defaultdict(collections.Counter)
    harness_alerts = 0
    for path in a.alerts or []:
        for line in open(path):
            try:
                al = json.loads(line)
            except ValueError:
                continue
            rid = al.get("recipe", {}).get("id")
            p = al.get("process") or {}
            t = rfc3339(al.get("first_seen")) or rfc3339(al.get("time"))
            if not rid or "pid" not in p or t is None:
                continue
            key = (rid, p["pid"], al.get("first_seen"), json.dumps(al.get("file") or al.get("flow")))
            if key in seen:  # the same record seen by two overlapping daemons
                continue
            seen.add(key)
            i = owner_at(hist, p["pid"], t)
            if i is None:
                if hist.get(p["pid"]):
                    harness_alerts += 1
                continue
            cid = runs[i]["id"]
            if cid in cases:
                cases[cid]["fired"][rid] += 1
                per_recipe[rid] += 1
                by_source[rid]["soak" if cid == "soak" else "controls"] += 1

    # per case
    cats = collections.OrderedDict()
    det = tot = calert = ctot = pending = 0
    for c in cases.values():
        fired = c["fired"]
        hit = [r for r in c["expect"] if fired.get(r)]
        if c["control"]:
            status = "ALERTED" if fired else "quiet"
        elif not c["runs"]:
            status = "NOT-RUN"
        elif c.get("rc") == 77:
            status = "n/a"
        elif c["needs"] != "-":
            status = "pending" + (" (detected)" if hit else "")
        else:
            status = "detected" if hit else "MISSED"
        extra = ",".join("%s%s" % (r, "" if n == 1 else "x%d" % n) for r, n in sorted(fired.items()))
        if a.noise is None:
            print("%-9s %-17s %-34s expect=%s fired=%s%s%s" % (
                status.split()[0], c["category"], c["id"], ",".join(c["expect"]), extra or "-",
                "" if c["needs"] == "-" else " needs=" + c["needs"],
                "" if c.get("rc", 0) == 0 else " rc=%d" % c["rc"]))
        row = cats.setdefault(c["category"], [0, 0, 0, 0, 0])
        if c["control"]:
            ctot += 1
            row[2] += 1
            if fired:
                calert += 1
                row[3] += 1
        elif c["needs"] != "-" or c.get("rc") == 77:
            pending += 1
            row[4] += 1
        else:
            tot += 1
            row[1] += 1
            if hit:
                det += 1
                row[0] += 1

    if a.noise is not None:
        hours = max(a.noise, 1) / 3600.0
        nruns = len(runs)
        print("noise: %d runs (controls%s) in %d s, %d alerts on their processes" % (
            nruns, " and the soak command" if "soak" in cases else "", a.noise,
            sum(per_recipe.values())))
        print("%-40s %8s %10s  %s" % ("recipe", "alerts", "per hour", "from"))
        for rid, n in per_recipe.most_common():
            print("%-40s %8d %10.1f  %s" % (rid, n, n / hours, ", ".join(
                "%s %d" % kv for kv in sorted(by_source[rid].items()))))
        print("total alerts per hour: %.1f" % (sum(per_recipe.values()) / hours))
        return 0

    print()
    print("%-18s %10s %16s %8s" % ("category", "detected", "controls alerted", "pending"))
    for cat, (d, n, ca, cn, pe) in cats.items():
        print("%-18s %10s %16s %8s" % (cat, "%d/%d" % (d, n) if n else "-",
                                        "%d/%d" % (cn, ca) if ca else "-", pe or "-"))
    print()
    if harness_alerts:
        print("(%d alerts on the harness's own processes, attributed to no case)" % harness_alerts)
    if pending:
        print("(%d cases not counted: they need collector features mizan lacks, or have"
              " nothing to act on here)" % pending)
    print("detected %d/%d, controls alerted %d/%d" % (det, tot, calert, ctot))
    if a.target is not None:
        pct = 100.0 * det / tot if tot else 0.0
        if pct < a.target or calert:
            print("FAIL: %.1f%% detected (target %.0f%%), %d controls alerted" % (pct, a.target, calert))
            return 1
        print("ok: %.1f%% detected (target %.0f%%), no control alerted" % (pct, a.target))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--only", default="")
    p.add_argument("--controls-only", default="0")
    p.add_argument("files", nargs="+")
    r = sub.add_parser("report")
    r.add_argument("--plan", required=True)
    r.add_argument("--runs", required=True)
    r.add_argument("--forks", required=True)
    r.add_argument("--cases")
    r.add_argument("--alerts", action="append")
    r.add_argument("--target", type=float)
    r.add_argument("--noise", type=int)
    a = ap.parse_args()
    if a.cmd == "plan":
        plan(a)
        return 0
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
