#!/usr/bin/env bash
# Run every fuzz target for a bounded time, one after another (not part of CI).
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 120 s, every target
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain RUSTC_BOOTSTRAP=1
# lets cargo-fuzz use the nightly-only flags it needs. No sanitizer (the crate forbids
# unsafe; panics, overflows in debug assertions, timeouts and OOMs are what we look for).
# Crashes land in fuzz/artifacts/<target>/; turn each into a regression unit test.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(dist_filename pages archive policy headers)
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
./seeds.py
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t for ${secs}s"
    cargo fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
done
