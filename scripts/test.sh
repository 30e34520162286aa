#!/usr/bin/env bash
# The test command (README quick start; .ci/run calls it): installs what the tests need on a
# fresh machine (uv for the end-to-end tests; cargo-nextest when it is missing), then runs
# every test: unit, protocol, and end to end with real pip and real uv.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check uv
python3 -m uv --version
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: installing it from crates.io" >&2
    cargo install --locked cargo-nextest
fi
cargo nextest run --release
