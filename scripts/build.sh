#!/usr/bin/env bash
# Configures and builds sloprobe into build/ (warnings are errors).
# Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/configure.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLOPROBE_WERROR=ON "$@"
cmake --build build -j"$(nproc)"
