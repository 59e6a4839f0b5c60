#!/usr/bin/env bash
# Runs every benchmark against its peer on this machine and prints Markdown
# tables for docs/benchmarks.md. Builds first (Release-like, RelWithDebInfo).
# Usage: bench/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/bootstrap.sh
./scripts/build.sh
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)"
echo "sloprobe $(build/daemon/sloprobe --version | awk '{print $2}'), $(prometheus-blackbox-exporter --version 2>&1 | head -1 | awk '{print $1, $3}'), $(curl --version | head -1 | awk '{print $1, $2}'), nginx $(nginx -v 2>&1 | cut -d/ -f2)"
echo
echo "## CPU per HTTP probe and scheduler lag at 1,000 probes/s"
bench/cpu_per_probe.sh build 1000 30
echo
echo "## Scale: 100 to 10,000 probes at 5,000 probes/s"
bench/scale.sh build 20 5000
echo
echo "## TTFB accuracy against injected ground truth"
bench/ttfb_accuracy.sh build 1000
echo
echo "## LLM streams"
bench/llm_stream.sh build 300 20
