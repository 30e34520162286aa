#!/usr/bin/env bash
# Install benchmark: 20 packages with pip and uv, direct from a local upstream vs through
# pipgate (cold with and without scanning, warm) vs through the peer caching proxy proxpi
# (cold/warm), all against the same local upstream in one run. Prints medians and ratios to
# the direct install and to proxpi, and for uv the medians of its own phase timings per mode
# ("Resolved / Prepared / Installed ... in"), which say which phase a ratio comes from.
#   BENCH_ROUNDS=N         rounds (default 3; the machine is noisy, take 3 or more)
#   BENCH_CLIENTS=pip,uv   which clients
#   BENCH_NO_PROXPI=1      leave proxpi out
#   BENCH_BUILDS=before=BIN[=POLICY],...  older pipgate builds measured in the same rounds
#   BENCH_PAGE_TTL=S       pipgate's --page-ttl (default 600, as `serve` starts; 0 revalidates
#                          every page with the upstream)
#   BENCH_UPSTREAM_METADATA=1  the upstream advertises PEP 658 core metadata (as the public
#                          index does: the like-for-like comparison); by default it advertises none
#                          and only pipgate's pages do; `both` measures both in the same rounds
#   PIPGATE_BIN=PATH       measure another build instead of this checkout's
#   BENCH_TRACE=DIR        keep pip's own -v log per install (connections, requests, ms) and
#                          each pipgate install's log (access lines with per-request ms)
#                          in DIR and print pipgate's CPU ticks and voluntary context
#                          switches per install (from /proc)
#   BENCH_LOG=FILTER       pipgate's PIPGATE_LOG (default pipgate=info; pipgate=debug adds
#                          each page's wait for its pre-scan to the BENCH_TRACE logs)
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
