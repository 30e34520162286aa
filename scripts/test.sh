#!/usr/bin/env bash
# The test command (README quick start; .ci/run calls it): installs uv for the end-to-end
# tests, moto for the shared-artifact tests, PostgreSQL for the replica tests and chromium
# for the browser test, then runs every test: unit, protocol, and end to end with real pip
# and real uv.
# With cargo-nextest installed it runs `cargo nextest run --release`; without it, plain
# `cargo test --release` (installing cargo-nextest builds hundreds of crates from source:
# on a busy 2-core machine, more than 16 minutes without finishing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check uv
python3 -m uv --version
# The shared-artifact tests (tests/objstore.rs) start moto, an S3-compatible server, from PyPI.
if ! python3 -c "import moto.server" >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi
# The PostgreSQL tests start a real server (initdb + pg_ctl in a temp dir): install Debian's
# postgresql when neither PATH nor /usr/lib/postgresql/*/bin has initdb.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "initdb not found: installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
# The browser test (tests/browser.rs) drives headless chromium; on CI it must run.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing and cannot be installed here (not root, no sudo): the browser test will be skipped" >&2
    fi
fi
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --release
else
    echo "cargo-nextest is not installed: running the suite with cargo test" >&2
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    # Doc tests are left out (there are none); the last line totals every test binary.
    cargo test --release --lib --bins --tests 2>&1 | tee "$log"
    awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
fi
