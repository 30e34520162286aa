#!/usr/bin/env bash
# Dump the scan report of every corpus file (minus scanner_version) into OUTDIR, to
# check that a performance change does not change what is found:
#
#   bench/findings_dump.sh /tmp/before   # on the old tree
#   bench/findings_dump.sh /tmp/after    # on the new tree
#   diff -r /tmp/before /tmp/after
set -euo pipefail
out=${1:?usage: bench/findings_dump.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
cargo build --quiet --release --bin pipgate
for f in bench/corpus/*; do
    ./target/release/pipgate scan --format json "$f" 2>/dev/null | jq -S 'del(.scanner_version)' >"$out/$(basename "$f").json"
done
