#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit and
# integration suites under AddressSanitizer and UndefinedBehaviorSanitizer,
# the multi-threaded integration suites under ThreadSanitizer, the libFuzzer
# targets for a bounded time, then every test
# (unit, integration on loopback, end to end with promtool, Prometheus,
# Alertmanager, the .deb) in a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/check-format.sh
./scripts/check-boundaries.sh

echo "== sanitizers (address, undefined): unit and integration tests"
./scripts/configure.sh build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSLOPROBE_WERROR=ON \
  -DSLOPROBE_SANITIZE=address,undefined
cmake --build build-sanitize -j"$(nproc)" --target sloprobe_unit_tests sloprobe_integration_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure --timeout 300 -E '^(e2e|alerts|soak)\.'

echo "== thread sanitizer: the suites where threads share state"
# The OTLP exporter and the web server's bcrypt check run on threads of their
# own beside the probes'; the in-process tests add the test's thread and the
# testbeds'.
./scripts/configure.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DSLOPROBE_WERROR=ON \
  -DSLOPROBE_SANITIZE=thread
cmake --build build-tsan -j"$(nproc)" --target sloprobe_integration_tests
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ./build-tsan/tests/sloprobe_integration_tests \
  --gtest_filter='Otlp*:*OtlpPartial*:Reload*:Daemon*:Secrets*:WebServer*:SecuredServer*:FaultMatrix.Each*:WebSocketDaemon*'

echo "== fuzzing: each libFuzzer target for 30 s from its seed corpus"
# Only the fuzzers and what they link: one clang tree with every test in it
# (the suites above run on the fuzzers' objects) took 13 minutes to compile
# where this and the GCC tree above take less together.
CC=clang CXX=clang++ ./scripts/configure.sh build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLOPROBE_WERROR=ON -DSLOPROBE_SANITIZE=address,undefined -DSLOPROBE_FUZZ=ON \
  -DSLOPROBE_FUZZ_SECONDS=30 -DSLOPROBE_BUILD_TESTS=OFF
cmake --build build-fuzz -j"$(nproc)" --target fuzzers
ctest --test-dir build-fuzz --output-on-failure -R '^fuzz\.'

echo "== release build: every test"
./scripts/build.sh
# Serial on purpose: timing assertions must not compete for the two cores.
ctest --test-dir build --output-on-failure --timeout 300
