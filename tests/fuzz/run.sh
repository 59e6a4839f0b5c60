#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS from its seed corpus (left
# unchanged: new inputs go to a scratch directory). A crash, leak, timeout or
# sanitizer report fails the test; the input that caused it is kept in
# $FUZZ_ARTIFACTS (default /tmp) and named in the output.
# Usage: run.sh FUZZER SEED_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=${FUZZ_ARTIFACTS:-/tmp}/$(basename "$fuzzer")-
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts" "$scratch" "$seeds" 2>&1 | tail -n 25
