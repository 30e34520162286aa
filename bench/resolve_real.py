#!/usr/bin/env python3
"""uv's resolve step against the REAL upstream: `uv pip compile` of a realistic requirement
set, straight from the upstream the local pip is configured with vs through pipgate (cold:
a fresh data directory; warm: the same pipgate again), uv's cache off, interleaved rounds,
medians and ratios in one run.

Rows, per build (each round starts a fresh pipgate and runs four compiles through it, in order):
  cold        the first compile: every page fetched, every file uv reads downloaded and scanned
  warm 1      the second compile, started the moment the cold one ends: the pre-scans of older
              versions the cold compile started are still running and making verdicts known
  warm 2      the third compile, right after the second
  warm        warm 1 and warm 2 together (the figure earlier README tables call "warm")
  warm idle   the fourth compile, started once pipgate is idle: every pre-scan the log says
              started has said done (or failed) and the log has been still for 2 s (at most
              --idle-wait seconds, default 120)
The goal (issue 15) is judged on every warm row. A second table sums the access log per
compile (medians over rounds): the project-page requests, their total and slowest ms, the
pages rendered (a cache miss) and their total ms (from the `page rendered` lines, when the
build logs them), and the pre-scans that finished during that compile.

Usage: bench/resolve_real.py [--rounds=3] [--reqs="fastapi[standard] pandas ..."]
       [--builds=before=OLD_PIPGATE_BINARY[=OLD_POLICY],...]   (older builds, same rounds)
       [--prescan-off-too]   (this build with --prescan off as well)
       [--keep-logs=DIR]     (copy each pipgate's log to DIR/<build>-<round>.log)
       [--idle-wait=120]

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
IDLE_WAIT = float(ARGS.get("idle-wait", "120"))
KEEP_LOGS = ARGS.get("keep-logs")
STATES = ("cold", "warm 1", "warm 2", "warm idle")
REQUEST = re.compile(r"pipgate::server::finish: request .* path=(\S+) status=\d+ .* ms=(\d+) ")
RENDERED = re.compile(r"page rendered .*\bms=(\d+)")
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
        env = dict(os.environ, PIPGATE_LOG="pipgate=info,pipgate::server::page=debug")
        self.log_path = os.path.join(self.work, "pipgate.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--policy", path,
             "--data-dir", os.path.join(self.work, "data"), *flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        self.url = next(w for w in line.split() if w.startswith("http://"))
        m = re.search(r"\(upstream (\S+),", line)
        self.upstream = m.group(1) if m else None

    def log_size(self):
        self.log.flush()
        return os.path.getsize(self.log_path)

    def log_since(self, offset):
        with open(self.log_path, errors="replace") as f:
            f.seek(offset)
            return f.read()

    def wait_idle(self):
        """Until every pre-scan started has finished and the log has been still for 2 s."""
        deadline, last, still = time.monotonic() + IDLE_WAIT, -1, 0.0
        while time.monotonic() < deadline:
            text = self.log_since(0)
            size = len(text)
            started = text.count("pre-scan started")
            ended = text.count("pre-scan done") + text.count("pre-scan failed") + text.count("pre-scan abandoned")
            still = still + 0.5 if size == last else 0.0
            if started <= ended and still >= 2.0:
                return
            last = size
            time.sleep(0.5)

    def stop(self, keep_as=None):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()
        if keep_as:
            os.makedirs(KEEP_LOGS, exist_ok=True)
            shutil.copy(self.log_path, os.path.join(KEEP_LOGS, keep_as))
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
    times, pins, logs = {}, {}, {}
    upstream = None
    for rnd in range(ROUNDS):
        for label, binary, policy, flags in builds:
            gate = Gate(binary, policy, flags)
            upstream = upstream or gate.upstream
            try:
                for state in STATES:
                    if state == "warm idle":
                        gate.wait_idle()
                    offset = gate.log_size()
                    secs, n = compile_(gate.url)
                    for mode in [f"{label} {state}"] + ([f"{label} warm"] if state in ("warm 1", "warm 2") else []):
                        times.setdefault(mode, []).append(secs)
                        pins[mode] = n
                    logs.setdefault(f"{label} {state}", []).append(log_summary(gate.log_since(offset)))
            finally:
                gate.stop(f"{label.replace(' ', '-')}-{rnd + 1}.log" if KEEP_LOGS else None)
            secs, n = compile_(upstream)
            times.setdefault("direct", []).append(secs)
            pins["direct"] = n
        print(f"round {rnd + 1} of {ROUNDS} done", file=sys.stderr)
    direct = statistics.median(times["direct"])
    print(f"\nuv pip compile of {' '.join(REQS)} (uv {uv_version()}), --no-cache, "
          f"{ROUNDS} rounds (warm = warm 1 and warm 2), median seconds")
    print(f"{'mode':<22} {'median':>8} {'min':>7} {'max':>7} {'vs direct':>10} {'pins':>5}")
    rows = ("cold", "warm 1", "warm 2", "warm", "warm idle")
    for mode in ["direct"] + [f"{b[0]} {s}" for b in builds for s in rows]:
        runs = times[mode]
        m = statistics.median(runs)
        print(f"{mode:<22} {m:>8.2f} {min(runs):>7.2f} {max(runs):>7.2f} {m / direct:>9.2f}x {pins[mode]:>5}")
    print("\nper compile, from pipgate's log (medians over rounds): project pages asked, their total and "
          "slowest ms; pages rendered and their total ms; pre-scans finished during the compile")
    print(f"{'mode':<22} {'pages':>6} {'page ms':>8} {'max ms':>7} {'renders':>8} {'render ms':>10} {'pre-scans':>10}")
    for mode in [f"{b[0]} {s}" for b in builds for s in STATES]:
        cols = list(zip(*logs[mode]))
        med = [statistics.median(c) for c in cols]
        print(f"{mode:<22} {med[0]:>6.0f} {med[1]:>8.0f} {med[2]:>7.0f} {med[3]:>8.0f} {med[4]:>10.0f} {med[5]:>10.0f}")


def log_summary(text):
    """(pages, page ms, slowest page ms, renders, render ms, pre-scans done) in a log excerpt."""
    pages = [int(m.group(2)) for m in REQUEST.finditer(text) if m.group(1).startswith("/simple/")]
    renders = [int(m.group(1)) for m in RENDERED.finditer(text)]
    done = text.count("pre-scan done") + text.count("pre-scan failed")
    return (len(pages), sum(pages), max(pages, default=0), len(renders), sum(renders), done)


def uv_version():
    r = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, text=True)
    return r.stdout.split()[1] if r.stdout else "?"


if __name__ == "__main__":
    main()
