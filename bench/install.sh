#!/usr/bin/env bash
# Install benchmark: 20 packages with pip and uv, direct from a local upstream vs through
# pipgate (cold/warm) vs through the peer caching proxy proxpi (cold/warm), all against the
# same local upstream in one run. Prints medians and ratios; BENCH_ROUNDS=N for more rounds;
# BENCH_NO_PROXPI=1 to leave proxpi out.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet uv
if [ -z "${BENCH_NO_PROXPI:-}" ]; then
  venv="${CARGO_TARGET_DIR:-target}/bench-proxpi"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet proxpi
  export PROXPI_PYTHON="$PWD/$venv/bin/python"
  case "$venv" in /*) export PROXPI_PYTHON="$venv/bin/python" ;; esac
fi
cargo test --release --test bench_install -- --ignored --nocapture
