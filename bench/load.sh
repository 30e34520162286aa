#!/usr/bin/env bash
# Load benchmark (issue 16): pipgate vs nginx serving the same bytes on loopback, in one run.
#   - wrk --latency against a cached index page and a cached 100 KiB artifact: req/s, p99, ratios;
#   - 500 clients at once on one uncached artifact: upstream downloads and scans counted;
#   - 200 concurrent downloads of a cached 500 MiB artifact: pipgate's peak RSS, time vs nginx.
# Installs wrk and nginx (Debian) when missing. Knobs: BENCH_SECS, BENCH_ROUNDS, BENCH_CONNS,
# BENCH_THREADS, BENCH_PIN=1 (servers on CPU 1, wrk on CPU 0), BENCH_COLD_CLIENTS,
# BENCH_BIG_MIB, BENCH_BIG_CLIENTS, PIPGATE_BIN (another build), BENCH_BEFORE_BIN (a second build
# measured in the same wrk rounds: before/after; label=path,label=path for several); see
# tests/bench_load.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk nginx >/dev/null
fi
# More connections than the default descriptor limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo test --release --test bench_load -- --ignored --nocapture
