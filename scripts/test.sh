#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, integration
# (testbed on loopback) and end to end (promtool, a real Prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/check-format.sh
./scripts/build.sh
# Serial on purpose: timing assertions must not compete for the two cores.
ctest --test-dir build --output-on-failure --timeout 300
