#!/usr/bin/env python3
"""uv's resolve step against the REAL upstream: `uv pip compile` of a realistic requirement
set, straight from the upstream the local pip is configured with vs through pipgate (cold:
a fresh data directory; warm: the same pipgate again), uv's cache off, interleaved rounds,
medians and ratios in one run.

Usage: bench/resolve_real.py [--rounds=3] [--reqs="fastapi[standard] pandas ..."]
       [--builds=before=OLD_PIPGATE_BINARY[=OLD_POLICY],...]   (older builds, same rounds)
       [--prescan-off-too]   (this build with --prescan off as well)

PIPGATE_BIN or CARGO_TARGET_DIR choose the build (release). pipgate starts without
--upstream, so it asks pip like a user's would, and prints the upstream it chose; the direct
runs use that same URL. The repo's policy.yaml is used with the cooldown set to zero, so both
sides resolve the same versions (a cooldown hold would pick older ones). No registry host
name is written here.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
ROUNDS = int(ARGS.get("rounds", "3"))
REQS = ARGS.get("reqs", "fastapi[standard] pandas boto3 pytest sqlalchemy requests rich").split()
BINARY = os.environ.get("PIPGATE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "pipgate")


def policy_text(path):
    return re.sub(r"min_age: \S+", "min_age: 0", open(path).read())


class Gate:
    """One `pipgate serve` with a fresh data directory (cold until first used)."""

    def __init__(self, binary, policy, flags=()):
        self.work = tempfile.mkdtemp(prefix="pipgate-resolve")
        path = os.path.join(self.work, "policy.yaml")
        open(path, "w").write(policy)
        env = dict(os.environ, PIPGATE_LOG="pipgate=info")
        self.log = open(os.path.join(self.work, "pipgate.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--policy", path,
             "--data-dir", os.path.join(self.work, "data"), *flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        self.url = next(w for w in line.split() if w.startswith("http://"))
        m = re.search(r"\(upstream (\S+),", line)
        self.upstream = m.group(1) if m else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


def compile_(index):
    """Seconds for one `uv pip compile` against `index`, uv's cache off, machine config ignored."""
    with tempfile.TemporaryDirectory() as d:
        reqs = os.path.join(d, "requirements.in")
        open(reqs, "w").write("\n".join(REQS) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
        env.update(UV_NO_CONFIG="1", UV_NO_PROGRESS="1", NO_COLOR="1", UV_PYTHON_DOWNLOADS="never")
        cmd = [sys.executable, "-m", "uv", "pip", "compile", "--no-cache", "--quiet", "--index-url", index,
               "--python", sys.executable, reqs, "-o", os.path.join(d, "out.txt")]
        t = time.monotonic()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        secs = time.monotonic() - t
        if r.returncode != 0:
            sys.exit(f"uv pip compile failed against {index}:\n{r.stderr[-3000:]}")
        pins = [l for l in open(os.path.join(d, "out.txt")) if l and l[0].isalnum()]
        return secs, len(pins)


def main():
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "uv"], check=True)
    here = policy_text(os.path.join(ROOT, "policy.yaml"))
    builds = []
    for b in filter(None, ARGS.get("builds", "").split(",")):
        label, binary, *policy = b.split("=", 2)
        builds.append((label, binary, policy_text(policy[0]) if policy else here, ()))
    builds.append(("pipgate", BINARY, here, ()))
    if "--prescan-off-too" in sys.argv:
        builds.append(("no pre-scan", BINARY, here, ("--prescan", "off")))
    times, pins = {}, {}
    upstream = None
    for rnd in range(ROUNDS):
        for label, binary, policy, flags in builds:
            gate = Gate(binary, policy, flags)
            upstream = upstream or gate.upstream
            try:
                for state in ("cold", "warm", "warm"):
                    secs, n = compile_(gate.url)
                    times.setdefault(f"{label} {state}", []).append(secs)
                    pins[f"{label} {state}"] = n
            finally:
                gate.stop()
            secs, n = compile_(upstream)
            times.setdefault("direct", []).append(secs)
            pins["direct"] = n
        print(f"round {rnd + 1} of {ROUNDS} done", file=sys.stderr)
    direct = statistics.median(times["direct"])
    print(f"\nuv pip compile of {' '.join(REQS)} (uv {uv_version()}), --no-cache, "
          f"{ROUNDS} rounds (warm: two runs per round), median seconds")
    print(f"{'mode':<16} {'median':>8} {'min':>7} {'max':>7} {'vs direct':>10} {'pins':>5}")
    for mode in ["direct"] + [f"{b[0]} {s}" for b in builds for s in ("cold", "warm")]:
        runs = times[mode]
        m = statistics.median(runs)
        print(f"{mode:<16} {m:>8.2f} {min(runs):>7.2f} {max(runs):>7.2f} {m / direct:>9.2f}x {pins[mode]:>5}")


def uv_version():
    r = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, text=True)
    return r.stdout.split()[1] if r.stdout else "?"


if __name__ == "__main__":
    main()
