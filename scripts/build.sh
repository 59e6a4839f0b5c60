#!/usr/bin/env bash
# Configures and builds sloprobe into build/ (warnings are errors).
# Usage: scripts/build.sh [--target NAME]... [cmake configure arguments...]
# Without --target it builds everything, tests and benchmarks included.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
configure=()
while [ $# -gt 0 ]; do
  if [ "$1" = --target ] && [ $# -ge 2 ]; then
    targets+=(--target "$2")
    shift 2
  else
    configure+=("$1")
    shift
  fi
done
./scripts/configure.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLOPROBE_WERROR=ON "${configure[@]}"
cmake --build build -j"$(nproc)" "${targets[@]}"
