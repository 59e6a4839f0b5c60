#!/usr/bin/env bash
# Configures the build tree DIR with Ninja: usage: scripts/configure.sh DIR
# [cmake arguments...]. Ninja compiles every target's files as soon as a core
# is free, where Make waits for each library to be complete before the next
# starts; on two cores that is minutes per tree. A tree configured earlier
# with another generator is started afresh, since CMake cannot switch one in
# place.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
case "$dir" in
  build | build-*) ;;
  *)
    echo "configure.sh: the build tree must be build or build-NAME, not '$dir'" >&2
    exit 2
    ;;
esac
if [[ -f $dir/CMakeCache.txt ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; then
  echo "configure.sh: $dir was made with another generator; configuring it afresh" >&2
  rm -rf "$dir"
fi
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
