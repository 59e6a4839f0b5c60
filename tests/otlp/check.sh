#!/usr/bin/env bash
# Writes a metrics snapshot as /metrics text and OTLP (protobuf and JSON) with
# sloprobe-otlp-dump, then decodes and compares them with the official OTLP
# schema (tests/otlp/check.js).
# Usage: check.sh SLOPROBE_OTLP_DUMP TESTS_OTLP_DIR
set -euo pipefail
dump=$1 here=$2
command -v node >/dev/null || { echo "FAIL: node not installed (run scripts/bootstrap.sh)" >&2; exit 1; }
[ -d "$here/node_modules/@opentelemetry/otlp-transformer" ] ||
  { echo "FAIL: $here/node_modules missing (run scripts/bootstrap.sh)" >&2; exit 1; }
out=$(mktemp -d /tmp/sloprobe-otlp.XXXXXX)
trap 'rm -rf "$out"' EXIT
"$dump" "$out"
node "$here/check.js" "$out"
