#!/usr/bin/env python3
"""False-positive survey: the latest wheel and sdist of the N most downloaded projects,
fetched THROUGH a running pipgate (which scans and gates them) from the upstream the local
pip is configured with. Prints which were blocked and the findings they carry, by detector.

Usage: bench/top100.py [N]   (needs a release build: cargo build --release)
       bench/top100.py --ranks=101-1000 --exclude-tuning [--data-dir=DIR] [--max-mb=150]
       bench/top100.py --names=FILE   (the projects listed in FILE; PIPGATE_POLICY picks the policy)
       bench/top100.py --ranks=1001-1600 --data-dir=DIR   (the second named TUNING set, see below)
       bench/top100.py --ranks=1601-2200 --data-dir=DIR   (the third named TUNING set, see below)
       bench/top100.py --ranks=2201-2800 --data-dir=DIR   (the fourth named TUNING set, see below)
       bench/top100.py --ranks=2801-3400 --data-dir=DIR   (the fifth named TUNING set, see below)
       bench/top100.py --ranks=3401-4000 --data-dir=DIR   (the sixth named TUNING set, see below)
       bench/top100.py --ranks=4001-4600 --data-dir=DIR   (the seventh named TUNING set, see below)
       bench/top100.py --ranks=4601-5200 --data-dir=DIR   (the eighth named TUNING set, see below)
       bench/top100.py --ranks=5201-5800 --data-dir=DIR   (the ninth named TUNING set, see below)
       bench/top100.py --ranks=5801-6400 --data-dir=DIR   (the tenth named set: VALIDATION, then tuning)
       bench/top100.py --ranks=6401-7000 --data-dir=DIR   (the eleventh named set: VALIDATION, then tuning)
       bench/top100.py --ranks=7001-7600 --data-dir=DIR   (the twelfth named set: VALIDATION, then tuning)
       bench/top100.py --ranks=101-1000 --exclude-tuning --data-dir=DIR --warm-only

--ranks picks a rank range instead of the top N (ranks 101-1,000 are the HELD-OUT precision set:
detectors are tuned on the top 100 and on the projects listed in bench/tuning-projects.txt,
which --exclude-tuning leaves out, and on ranks 1,001-1,600, 1,601-2,200, 2,201-2,800,
2,801-3,400, 3,401-4,000, 4,001-4,600, 4,601-5,200 and 5,201-5,800: a second, a third, a
fourth, a fifth, a sixth, a seventh, an eighth and a ninth tuning set,
named here so that nobody mistakes them for held-out data). Ranks 5,801-6,400 are the tenth
set: a VALIDATION set first (measured before and after a round's rules, which were designed
from the earlier sets' aggregate without looking at its blocks), a tuning set after that
(its remaining blocks may then be read and fixed; the README says when that happened). Ranks
6,401-7,000 are the eleventh set, used the same way (validation for the twelfth round, tuning
after it); ranks 7,001-7,600 are the twelfth set, likewise (validation for the thirteenth
round, tuning after it). --data-dir keeps
pipgate's cache between runs, so a second run (a new build) rescans without downloading
again. A re-run judges the same files as a fresh run: the survey's policy copy marks blocked
files yanked instead of hiding them, and `pick` counts a file pipgate yanked (its `_pipgate`
decision is block) as listed, so a version blocked earlier (the store remembers its verdict)
or by the page's wait for the prescan is still the latest picked and judged again, never
silently replaced by an older version; only records this run appended to the audit log
count. Artifacts larger than --max-mb are not fetched (counted and listed). PIPGATE_BIN or
CARGO_TARGET_DIR choose the build.
--warm-only downloads into --data-dir through a pipgate that blocks nothing and prints only
how many files it fetched: a held-out set can be downloaded early without anyone seeing a
verdict (the measured run later reads only its own decisions from the audit log).

PIPGATE_POLICY=FILE judges with another policy (e.g. policy.yaml without its `established:`
section, to measure the block rate without that rule in the same session).
The repo's policy.yaml is used as is, except the cooldown, which is set to zero so that
releases from the last days are judged on their findings (a cooldown hold is policy, not
a scanner false positive). No registry host name is written here: pipgate asks pip.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pip._vendor.packaging.version import InvalidVersion, Version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(next((a for a in sys.argv[1:] if a.isdigit()), 100))
ARGS = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
RANKS = tuple(int(x) for x in ARGS["ranks"].split("-")) if "ranks" in ARGS else (1, N)
MAX_BYTES = int(float(ARGS.get("max-mb", "150")) * 1e6)
BINARY = os.environ.get("PIPGATE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "pipgate")
TOP = os.path.join(ROOT, "..", "shared", "data", "top-pypi-packages.tsv")
if not os.path.exists(TOP):
    TOP = os.path.join(ROOT, "data", "top-pypi-packages.tsv")


def tuning_projects():
    path = os.path.join(ROOT, "bench", "tuning-projects.txt")
    if not os.path.exists(path):
        return set()
    return {canon(l.strip()) for l in open(path) if l.strip() and not l.startswith("#")}


def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def top_names(first, last):
    if "names" in ARGS:  # --names=FILE: an explicit list (e.g. a tuning set) instead of ranks
        return [l.strip() for l in open(ARGS["names"]) if l.strip() and not l.startswith("#")]
    names = []
    for line in open(TOP):
        parts = line.strip().split("\t")
        if len(parts) == 2 and parts[0].isdigit():
            names.append(parts[1])
    names = names[first - 1:last]
    if "--exclude-tuning" in sys.argv:
        skip = tuning_projects()
        names = [n for n in names if canon(n) not in skip]
    return names


WARM_ONLY = "--warm-only" in sys.argv
# Serves whatever was scanned (no rules, every severity allowed): verdicts are not the point.
SERVE_ALL = """defaults:
  action: allow
  severity: { critical: allow, high: allow, medium: allow, low: allow, info: allow }
rules: []
"""


def start_pipgate(work):
    policy = open(os.environ.get("PIPGATE_POLICY") or os.path.join(ROOT, "policy.yaml")).read()
    policy = re.sub(r"min_age: \S+", "min_age: 0", policy)
    # Blocked files stay listed (marked yanked by pipgate) so `pick` sees what upstream lists.
    policy = re.sub(r"\bindex: hide\b", "index: yank", policy)
    if WARM_ONLY:
        policy = SERVE_ALL
    path = os.path.join(work, "policy.yaml")
    open(path, "w").write(policy)
    data = ARGS.get("data-dir") or os.path.join(work, "data")
    proc = subprocess.Popen(
        [BINARY, "serve", "--listen", "127.0.0.1:0", "--policy", path, "--data-dir", data],
        stdout=subprocess.PIPE, stderr=open(os.path.join(work, "pipgate.log"), "w"), text=True)
    line = proc.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    return proc, url, data


def yanked_by_pipgate(f):
    """A file pipgate marked yanked because it blocked it (upstream lists it as installable).
    Without this, a re-run over a kept --data-dir (the store remembers the verdict) or a page
    that waited for the prescan of the newest release would skip the blocked latest version,
    pick an older one and under-count blocks."""
    reason = f.get("yanked")
    return (f.get("_pipgate") or {}).get("decision") == "block" and isinstance(reason, str) \
        and reason.startswith("blocked by pipgate")


def pick(files):
    """The latest version's sdist and one wheel (pure, or CPython 3.11 manylinux x86_64)."""
    by_version = {}
    for f in files:
        if f.get("yanked") and not yanked_by_pipgate(f):
            continue
        m = re.match(r"^(.+?)-(\d[^-]*?)(?:-.*\.whl|\.tar\.gz|\.zip)$", f["filename"])
        if not m:
            continue
        try:
            v = Version(m.group(2))
        except InvalidVersion:
            continue
        if v.is_prerelease:
            continue
        by_version.setdefault(v, []).append(f)
    if not by_version:
        return []
    latest = by_version[max(by_version)]
    sdists = [f for f in latest if f["filename"].endswith((".tar.gz", ".zip"))]
    wheels = [f for f in latest if f["filename"].endswith(".whl")]

    def score(f):
        n = f["filename"]
        if "none-any" in n:
            return 0
        if "cp311" in n and "manylinux" in n and "x86_64" in n:
            return 1
        if "abi3" in n and "manylinux" in n and "x86_64" in n:
            return 2
        return 9

    wheels.sort(key=score)
    chosen = sdists[:1]
    if wheels and score(wheels[0]) < 9:
        chosen.append(wheels[0])
    return chosen


def fetch(gate, name):
    page_url = f"{gate}{name}/"
    req = urllib.request.Request(page_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        page = json.load(urllib.request.urlopen(req, timeout=120))
    except Exception as e:  # noqa: BLE001
        return [(name, "-", f"page error: {e}")]
    out = []
    for f in pick(page["files"]):
        if (f.get("size") or 0) > MAX_BYTES:
            out.append((name, f["filename"], f"skipped: {f['size'] // 1000000} MB over --max-mb"))
            continue
        url = urllib.request.urljoin(page_url, f["url"])
        try:
            with urllib.request.urlopen(url, timeout=600) as r:
                while r.read(1 << 20):
                    pass
            out.append((name, f["filename"], "served"))
        except urllib.error.HTTPError as e:
            out.append((name, f["filename"], f"HTTP {e.code} {e.reason}"))
        except Exception as e:  # noqa: BLE001
            out.append((name, f["filename"], f"error: {e}"))
    return out


def blocking_reasons(rec):
    """The reasons of a blocked decision that block (a rule or severity default whose action
    is block, a fail-closed scan), not the annotate/allow reasons listed beside them."""
    def blocks(x):
        return x["code"].startswith("fail-closed") or re.match(
            r"^(rule \S+|severity default for \w+): block\b", x.get("message", ""))
    return [x for x in rec["reasons"] if blocks(x)] or rec["reasons"][:1]


def main():
    work = tempfile.mkdtemp(prefix="pipgate-top")
    proc, gate, data = start_pipgate(work)
    log = os.path.join(data, "audit", "audit.jsonl")
    # Earlier runs' records end here. pipgate rotates the log (audit-<n>.jsonl) when it grows,
    # possibly on this run's first write: the file is known by its inode, not its name.
    before = os.stat(log) if os.path.exists(log) else None
    t0 = time.time()
    names = top_names(*RANKS)
    seen = set(canon(n) for n in names)
    try:
        with ThreadPoolExecutor(4) as pool:
            results = [r for rs in pool.map(lambda n: fetch(gate, n), names) for r in rs]
    finally:
        proc.terminate()
    secs = time.time() - t0
    if WARM_ONLY:
        fetched = sum(1 for r in results if r[2] == "served")
        print(f"warmed {data}: {fetched} of {len(results)} files of {len(names)} projects fetched in {secs:.0f}s")
        return
    audit = []
    logs = [os.path.join(data, "audit", n) for n in os.listdir(os.path.join(data, "audit")) if n.endswith(".jsonl")]
    for path in sorted(logs, key=os.path.getmtime):
        st = os.stat(path)
        if before is not None and st.st_ino == before.st_ino:
            skip = before.st_size  # the log as it was at start: only what this run appended
        elif st.st_mtime >= t0 - 1:
            skip = 0  # rotated or created during this run
        else:
            continue  # an earlier run's rotated log
        with open(path, "rb") as f:
            f.seek(skip)
            audit += [json.loads(l) for l in f if l.strip()]
    # Only this run's records (a kept data dir's log holds earlier runs): the last decision per file.
    fetched = {r[1] for r in results}
    latest = {}
    for rec in audit:
        if rec.get("request") == "file" and rec.get("filename") in fetched and canon(rec.get("project", "")) in seen:
            latest[rec["filename"]] = rec
    audit = list(latest.values())
    by_detector, blocked, annotated = {}, [], []
    for rec in audit:
        if rec["decision"] == "annotate":
            annotated.append(rec)
        for d in set(rec["findings"]):
            by_detector.setdefault(d, set()).add(rec["filename"])
        if rec["decision"] == "block":
            blocked.append(rec)
    served = sum(1 for r in results if r[2] == "served")
    skipped = [r for r in results if r[2].startswith("skipped")]
    measured = len(results) - len(skipped)
    blocked_projects = {canon(r["project"]) for r in blocked}
    print(f"\n{measured} artifacts of {len(names)} projects (ranks {RANKS[0]}-{RANKS[1]}) in {secs:.0f}s: "
          f"{served} served ({len(annotated)} annotated), {len(blocked)} blocked "
          f"({100 * len(blocked) / max(measured, 1):.2f}% of artifacts, {len(blocked_projects)} projects), "
          f"{measured - served - len(blocked)} other; {len(skipped)} over {MAX_BYTES // 1000000} MB not fetched")
    # `established:` (docs/policy.md#established-behaviour): blocks lowered because the
    # project's baseline release shipped the same evidence (counted, not listed).
    lowered = [r for r in audit if any(x.get("code") == "established" for x in r["reasons"])]
    print(f"  established: {len(lowered)} artifacts ({len({canon(r['project']) for r in lowered})} projects) "
          f"annotated instead of blocked (the baseline shipped the same evidence)")
    blocking = {}
    for rec in blocked:
        for x in blocking_reasons(rec):
            for d in x.get("findings") or [x["code"]]:
                blocking.setdefault(d, set()).add(rec["filename"])
    for d, files in sorted(blocking.items(), key=lambda kv: -len(kv[1])):
        print(f"  blocking {len(files):3d}  {d}")
    for r in results:
        if r[2] != "served" and not r[2].startswith("skipped"):
            print(f"  NOT SERVED {r[1]}: {r[2]}")
    for rec in blocked:
        why = "; ".join(f"{x['code']}: {x['message']}" for x in rec["reasons"][:2])
        print(f"  BLOCKED {rec['filename']}: {why}")
    print("\nfindings by detector (artifacts carrying each):")
    for d, files in sorted(by_detector.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(files):4d}  {d}")
    print(f"\nwork dir (log, audit, cache): {work}")


if __name__ == "__main__":
    main()
