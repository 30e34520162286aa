#!/usr/bin/env bash
# Download a corpus of real wheels (and a few sdists) with this machine's own pip
# configuration, then run the scan benchmark over them.
#
#   bench/scan_corpus.sh            # download (if missing) and benchmark
#   ROUNDS=5 bench/scan_corpus.sh   # more rounds
#
# The index is whatever pip is configured to use; no host is named here.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=bench/corpus
mkdir -p "$corpus"

wheels=(numpy pandas botocore django requests setuptools cryptography sqlalchemy
        pip urllib3 certifi idna charset-normalizer pyyaml jinja2 markupsafe
        click attrs pygments boto3 s3transfer pytz six packaging)
sdists=(requests six)

if [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$corpus" "${wheels[@]}"
    python3 -m pip download --quiet --no-deps --no-binary=:all: -d "$corpus" "${sdists[@]}" || true
fi

cargo run --quiet --release --example scan_bench -- --rounds "${ROUNDS:-3}" "$corpus"/*
