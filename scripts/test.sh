#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, integration
# (testbed on loopback) and end to end (promtool, a real Prometheus); then the
# unit and integration suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/check-format.sh

echo "== sanitizers (address, undefined): unit and integration tests"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSLOPROBE_WERROR=ON \
  -DSLOPROBE_SANITIZE=address,undefined >/dev/null
cmake --build build-sanitize -j"$(nproc)" --target sloprobe_unit_tests sloprobe_integration_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure --timeout 300 -E '^(e2e|alerts)\.'

echo "== release build: every test"
./scripts/build.sh
# Serial on purpose: timing assertions must not compete for the two cores.
ctest --test-dir build --output-on-failure --timeout 300
