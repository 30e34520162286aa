#!/usr/bin/env bash
# Install benchmark: 20 packages with pip and uv, direct vs through pipgate (cold/warm).
# Prints medians and ratios; BENCH_ROUNDS=N for more rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet uv
cargo test --release --test bench_install -- --ignored --nocapture
