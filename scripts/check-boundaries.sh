#!/usr/bin/env bash
# Fails if code reaches across the boundaries docs/architecture.md draws:
# config knows nothing of probes, the daemon or metrics; probes know nothing
# of the daemon or metrics; nothing outside probes/ (but tests and
# benchmarks) includes a probe kind's own folder: the daemon sees kinds only
# through probes/kinds.hpp and the shared probes/common/, which includes no
# kind.
set -euo pipefail
cd "$(dirname "$0")/.."
git rev-parse --is-inside-work-tree >/dev/null  # git grep needs a checkout
bad=0
forbid() {  # forbid DESCRIPTION PATTERN DIRS...
  local what=$1 pattern=$2
  shift 2
  local hits
  # git grep exits 1 when nothing matches; anything else is an error.
  hits=$(git grep -nE "$pattern" -- "$@") || [ $? -eq 1 ] || exit 2
  if [ -n "$hits" ]; then
    echo "boundary: $what:" >&2
    echo "$hits" | sed 's/^/  /' >&2
    bad=1
  fi
}
forbid "config includes probes/ or daemon/" '^#include "(probes|daemon)/' config
forbid "config or probes include the metrics library" '^#include <prometheus/' config probes
forbid "probes include daemon/" '^#include "daemon/' probes
forbid "a probe kind's folder is included outside probes/" \
  '^#include "probes/(http|scenario|llm_stream|websocket)/' daemon config testbed
forbid "the shared library includes a probe kind" \
  '^#include "probes/(kinds.hpp|http/|scenario/|llm_stream/|websocket/)' probes/common
exit $bad
