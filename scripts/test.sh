#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit and
# integration suites under AddressSanitizer and UndefinedBehaviorSanitizer
# (clang, the tree the libFuzzer targets are built in), the multi-threaded
# integration suites under ThreadSanitizer, the libFuzzer targets for a
# bounded time, then every test
# (unit, integration on loopback, end to end with promtool, Prometheus,
# Alertmanager, the .deb) in a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/check-format.sh
./scripts/check-boundaries.sh

echo "== sanitizers (address, undefined) with clang: unit and integration tests, fuzzers"
# One tree for both: the fuzzers need clang's coverage instrumentation, and
# the suites run on the same objects instead of a second compile of
# everything.
CC=clang CXX=clang++ ./scripts/configure.sh build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLOPROBE_WERROR=ON -DSLOPROBE_SANITIZE=address,undefined -DSLOPROBE_FUZZ=ON \
  -DSLOPROBE_FUZZ_SECONDS=30
cmake --build build-fuzz -j"$(nproc)" --target sloprobe_unit_tests sloprobe_integration_tests fuzzers
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-fuzz --output-on-failure --timeout 300 -E '^(e2e|alerts|soak|fuzz)\.'

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
ctest --test-dir build-fuzz --output-on-failure -R '^fuzz\.'

echo "== release build: every test"
./scripts/build.sh
# Serial on purpose: timing assertions must not compete for the two cores.
ctest --test-dir build --output-on-failure --timeout 300
