#!/usr/bin/env python3
"""The scan benchmark corpus (bench/scan-corpus.txt): fetch it, compare two builds' scan
speed on it, and check that two builds find the same things.

  bench/scan_corpus.py fetch [--from-data-dir DIR]
      Put every corpus artifact in bench/corpus/ (sha256 checked). Taken from a pipgate
      data directory when given (its content-addressed artifacts/ cache), else downloaded
      with this machine's own pip configuration (`pip download --no-deps --only-binary
      :all:`, with the wheel's platform tags for binary wheels). No host is named here.

  bench/scan_corpus.py compare BASE_BENCH NEW_BENCH [--rounds N] [--set pure|binary|all|issue10]
      Runs two builds of examples/scan_bench alternately (base, new, new, base, ...), each
      round a fresh process over the whole set with `--tsv --rounds 2` (its first pass warms up
      the lazily compiled regexes), keeps every file's best floor
      and best scan time per build, and prints scan speed as a share of the inflate floor:
      per wheel (min, median) and whole set, base and new side by side. `--set issue10` is issue
      10's older corpus (bench/scan-corpus-issue10.txt: 24 wheels and 2 sdists), which `fetch` and
      `check` include too. The floor is the
      same code in both builds, so each file's floor is the best over both.

  bench/scan_corpus.py check BASE_BENCH NEW_BENCH [--recall tuning|all]
      Dumps the findings of both builds (`scan_bench --dump`) over the corpus and over the
      recall samples (bench/recall.py and bench/recall_heldout.py, built as packages) and
      lists every file whose findings differ. Exit status 1 when any does. `--recall tuning`
      leaves out the held-out samples (for whoever must not run them); the default is all.

Build a baseline bench binary from another revision's library with this example:
  git archive REV | tar -x -C /tmp/base && cp examples/scan_bench.rs /tmp/base/examples/
  (cd /tmp/base && cargo build --release --example scan_bench)
"""
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "bench", "scan-corpus.txt")
# Issue 10's older corpus (the wheels and sdists of bench/scan_corpus.sh), pinned: `--set issue10`.
LIST_ISSUE10 = os.path.join(ROOT, "bench", "scan-corpus-issue10.txt")
CORPUS = os.path.join(ROOT, "bench", "corpus")


def entries(which="all"):
    """(set, project, filename, sha256) per corpus line; `which` "issue10" reads issue 10's list."""
    out = []
    for line in open(LIST_ISSUE10 if which == "issue10" else LIST):
        line = line.strip()
        if line and not line.startswith("#"):
            kind, project, filename, sha = line.split()
            out.append((kind, project, filename, sha))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pip_download(project, filename, dest):
    """Download exactly `filename` (same version and tags) with the local pip configuration."""
    if filename.endswith(".tar.gz"):
        version = filename[: -len(".tar.gz")].rsplit("-", 1)[1]
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "-d", dest, f"{project}=={version}"]
        subprocess.run(cmd, check=True)
        return
    parts = filename[:-4].split("-")
    version, py, abi, plat = parts[1], parts[-3], parts[-2], parts[-1]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
           "-d", dest, f"{project}=={version}"]
    if plat == "any":
        # A project that also ships compiled wheels (charset-normalizer) would otherwise
        # be fetched as this machine's compiled wheel, not the pure one listed.
        cmd += ["--platform", "any", "--implementation", "py", "--abi", "none"]
    else:
        cmd += ["--abi", abi.split(".")[0], "--implementation", "cp"]
        cmd += [a for p in plat.split(".") for a in ("--platform", p)]
        pyver = py.split(".")[0]
        cmd += ["--python-version", pyver[2:3] + "." + pyver[3:]]
    subprocess.run(cmd, check=True)


def fetch(data_dir):
    os.makedirs(CORPUS, exist_ok=True)
    for _, project, filename, sha in entries() + entries("issue10"):
        path = os.path.join(CORPUS, filename)
        if os.path.exists(path) and sha256(path) == sha:
            continue
        cached = data_dir and os.path.join(data_dir, "artifacts", sha[:2], sha)
        if cached and os.path.exists(cached):
            shutil.copyfile(cached, path)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                pip_download(project, filename, tmp)
                shutil.move(os.path.join(tmp, filename), path)
        if sha256(path) != sha:
            os.remove(path)
            sys.exit(f"{filename}: sha256 differs from the corpus list")
        print(f"fetched {filename}")


def corpus_files(which):
    files = [(kind, os.path.join(CORPUS, fn)) for kind, _, fn, _ in entries(which) if which in ("all", "issue10", kind)]
    missing = [p for _, p in files if not os.path.exists(p)]
    if missing:
        sys.exit(f"{len(missing)} corpus file(s) missing (first: {missing[0]}); run: bench/scan_corpus.py fetch")
    return files


def run_bench(binary, paths):
    # Two rounds in the process: the first pays the one-time set-up (regexes compiled on
    # first use, the popular-name table), which would otherwise land on the first files.
    out = subprocess.run([binary, "--rounds", "2", "--threads", "1", "--tsv", *paths],
                         check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        path, nbytes, floor, scan, findings = line.split("\t")
        rows[path] = (int(nbytes), int(floor), int(scan), int(findings))
    return rows


def compare(base, new, rounds, which):
    files = corpus_files(which)
    paths = [p for _, p in files]
    floor, scan, nbytes = {}, {"base": {}, "new": {}}, {}
    for r in range(rounds):
        order = [("base", base), ("new", new)] if r % 2 == 0 else [("new", new), ("base", base)]
        for label, binary in order:
            for path, (b, f, s, _) in run_bench(binary, paths).items():
                nbytes[path] = b
                floor[path] = min(floor.get(path, f), f)
                scan[label][path] = min(scan[label].get(path, s), s)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    print(f"scan speed as a share of the inflate floor; best of {rounds} alternating round(s) per build, one thread")
    print(f"{'set':8} {'files':>5} {'MB':>7} | {'base min':>8} {'median':>7} {'whole':>6} | "
          f"{'new min':>8} {'median':>7} {'whole':>6}")
    for kind in ("pure", "binary", "sdist", "all"):
        mine = [p for k, p in files if kind in ("all", k)]
        if not mine:
            continue
        cells = []
        for label in ("base", "new"):
            per = [floor[p] / scan[label][p] for p in mine]
            whole = sum(floor[p] for p in mine) / sum(scan[label][p] for p in mine)
            cells.append(f"{100 * min(per):>7.0f}% {100 * statistics.median(per):>6.0f}% {100 * whole:>5.0f}%")
        mb = sum(nbytes[p] for p in mine) / 1e6
        print(f"{kind:8} {len(mine):>5} {mb:>7.1f} | {cells[0]} | {cells[1]}")
    print("\nslowest five files (new build), share of floor: base -> new")
    worst = sorted(paths, key=lambda p: floor[p] / scan["new"][p])[:5]
    for p in worst:
        print(f"  {os.path.basename(p):60} {100 * floor[p] / scan['base'][p]:4.0f}% -> "
              f"{100 * floor[p] / scan['new'][p]:4.0f}%")


def recall_samples(tmp, which):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import recall
    out = []
    for _, name, kind, files, *_ in recall.samples(which):
        email = "x1f9@guerrillamail.com" if name == "demo-disposable" else None
        out.append(recall.build(tmp, name, kind, files, email))
    return out


def check(base, new, recall_set):
    with tempfile.TemporaryDirectory() as tmp:
        samples = os.path.join(tmp, "samples")
        os.makedirs(samples)
        corpus = [p for _, p in corpus_files("all")]
        corpus += [p for _, p in corpus_files("issue10") if p not in corpus]
        paths = corpus + recall_samples(samples, recall_set)
        for label, binary in (("base", base), ("new", new)):
            subprocess.run([binary, "--threads", "1", "--dump", os.path.join(tmp, label), *paths], check=True)
        differ = []
        for p in paths:
            name = os.path.basename(p) + ".json"
            a = open(os.path.join(tmp, "base", name)).read()
            b = open(os.path.join(tmp, "new", name)).read()
            if a != b:
                differ.append(name)
                print(f"DIFFERS: {name}")
        print(f"{len(paths)} artifacts ({len(paths) - len(differ)} identical findings, {len(differ)} differ)")
        return 1 if differ else 0


def main():
    args = sys.argv[1:]
    opt = lambda name, default: args[args.index(name) + 1] if name in args else default  # noqa: E731
    if args[:1] == ["fetch"]:
        fetch(opt("--from-data-dir", None))
    elif args[:1] == ["compare"] and len(args) >= 3:
        compare(args[1], args[2], int(opt("--rounds", "3")), opt("--set", "all"))
    elif args[:1] == ["check"] and len(args) >= 3:
        which = opt("--recall", "all")
        if which not in ("tuning", "all"):
            sys.exit("--recall is tuning or all")
        sys.exit(check(args[1], args[2], which))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
