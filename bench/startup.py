#!/usr/bin/env python3
"""Start-up time of `pipgate serve`: seconds from spawn to the "listening" line.

Usage: python3 bench/startup.py BINARY [BINARY ...] [--runs N]

Each binary is started with no upstream configured (so the local pip's index is used, the
case that asks pip), on 127.0.0.1:0, with a fresh data directory for the first (cold) run
that the following (warm) runs reuse. It never sends a request: only start-up is timed.
With two binaries, the ratio first/second of the warm medians is printed.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def one(binary, policy, data_dir):
    t0 = time.monotonic()
    p = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--policy", policy, "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        for line in p.stdout:
            if "listening" in line:
                return time.monotonic() - t0
        raise SystemExit(f"{binary} exited without a listening line")
    finally:
        p.terminate()
        p.wait()


def measure(binary, runs):
    with tempfile.TemporaryDirectory() as tmp:
        policy = os.path.join(tmp, "policy.yaml")
        with open(policy, "w") as f:
            f.write("# start-up benchmark\n")
        data = os.path.join(tmp, "data")
        cold = one(binary, policy, data)
        warm = [one(binary, policy, data) for _ in range(runs)]
    return cold, statistics.median(warm)


def main():
    args = sys.argv[1:]
    runs = 5
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    if not args:
        raise SystemExit(__doc__)
    results = []
    for b in args:
        cold, warm = measure(b, runs)
        results.append(warm)
        print(f"{b}: cold {cold:.3f} s, warm median of {runs} {warm:.3f} s")
    if len(results) == 2:
        print(f"ratio (warm, first/second): {results[0] / results[1]:.1f}x")


if __name__ == "__main__":
    main()
