#!/usr/bin/env bash
# The test command (README quick start; .ci/run calls it): installs uv for the end-to-end
# tests, then runs every test: unit, protocol, and end to end with real pip and real uv.
# With cargo-nextest installed it runs `cargo nextest run --release`; without it, plain
# `cargo test --release` (installing cargo-nextest builds it from source, which took more
# than 16 minutes on a 2-core machine: longer than the test suite itself).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check uv
python3 -m uv --version
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --release
else
    echo "cargo-nextest is not installed: running the suite with cargo test" >&2
    cargo test --release
fi
