#!/usr/bin/env bash
# LLM streaming benchmarks, side by side with curl on this machine:
#  1. timing error of TTFB, TTFT and every inter-chunk gap against the
#     testbed's record of each write (sloprobe-bench-llm timing), and curl's
#     TTFB error on the same endpoint;
#  2. SSE parser and full decoder throughput (sloprobe-bench-llm parse),
#     with `grep -c '^data:'` over the same file as a line-scanning floor;
#  3. CPU of 100 concurrent streams at 1,000 chunks/s each: sloprobe (100
#     llm_stream probes) against 100 curl processes reading the same streams.
#
# Usage: bench/llm_stream.sh [BUILD_DIR] [RUNS] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${2:-300}
secs=${3:-20}
. "$root/bench/lib.sh"

echo "### Timing error against ground truth ($runs streams of 20 chunks, 2-10 ms gaps)"
"$build/bench/sloprobe-bench-llm" timing "$runs"

start_testbed "$build/testbed/sloprobe-testbed" --record-limit 100000
base="http://127.0.0.1:$TESTBED_PORT"
put_stream() { printf '%s\n' "$1" | curl -sf -X PUT --data-binary @- "$base/admin/stream" >/dev/null; }
body='{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true,"max_tokens":100000}'

put_stream '{ttfb: 2ms, first_token: 5ms, gap: 2ms, gap_random: 8ms, chunks: 20}'
curl -sf -X DELETE "$base/admin/records"
{
  printf 'request = "POST"\nheader = "Content-Type: application/json"\nheader = "Connection: close"\n'
  printf 'data = "%s"\n' "$(printf '%s' "$body" | sed 's/"/\\"/g')"
  for _ in $(seq "$runs"); do printf 'url = "%s/v1/chat/completions"\noutput = /dev/null\n' "$base"; done
} >"$E2E_DIR/curl-timing.cfg"
curl -s -N --config "$E2E_DIR/curl-timing.cfg" -w '%{time_pretransfer} %{time_starttransfer}\n' |
  awk '{ printf "%.9f\n", $2 - $1 }' >"$E2E_DIR/curl-ttfb.txt"
curl -sf "$base/admin/records" |
  python3 -c 'import json,sys; [print(r["actual_ns"] / 1e9) for r in json.load(sys.stdin)]' >"$E2E_DIR/curl-truth.txt"
paste "$E2E_DIR/curl-ttfb.txt" "$E2E_DIR/curl-truth.txt" | python3 -c '
import sys
e = sorted(abs(float(a) - float(b)) * 1000 for a, b in (l.split() for l in sys.stdin))
q = lambda p: e[int(p * (len(e) - 1))]
print("| curl TTFB (peer; cannot see tokens) | %.3f | %.3f | %.3f | %d |" % (q(0.5), q(0.99), e[-1], len(e)))'

echo
echo "### Parser throughput (64 MiB OpenAI-style stream, 16 KiB reads, best of 5)"
"$build/bench/sloprobe-bench-llm" sample "$E2E_DIR/stream.txt" 64
"$build/bench/sloprobe-bench-llm" parse "$E2E_DIR/stream.txt"
start=$(date +%s.%N)
for _ in 1 2 3 4 5; do grep -c '^data:' "$E2E_DIR/stream.txt" >/dev/null; done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "| grep -c \"^data:\" (reference, page cache) | %.0f MB/s | |\n", 5 * 64 * 1.048576 / (e - s) }'

chunks() { curl -sf "$base/admin/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["llm_chunks"])'; }
# cpu_case GAP CHUNKS: 100 concurrent one-second streams of CHUNKS chunks,
# GAP apart; sloprobe first, then curl, each measured for $secs seconds
# after a 3 s warm-up.
cpu_case() {
  put_stream "{ttfb: 0ms, first_token: $1, gap: $1, chunks: $2, role_chunk: false}"
  # sloprobe: 100 probes, each a one-second stream every second.
  {
    echo "probes:"
    for i in $(seq 100); do
      echo "  - {name: s$i, type: llm_stream, api: openai, interval: 1s, timeout: 3s, max_in_flight: 2,"
      echo "     url: \"$base/v1/chat/completions\", model: m, prompt: Hi, max_tokens: 100000}"
    done
  } >"$E2E_DIR/streams.yml"
  start_sloprobe "$build/daemon/sloprobe" "$E2E_DIR/streams.yml"
  sleep 3
  local c0 c1 k0 k1 t0 t1 rss failed
  c0=$(cpu_seconds "$SLOPROBE_PID"); k0=$(chunks); t0=$(date +%s.%N)
  sleep "$secs"
  c1=$(cpu_seconds "$SLOPROBE_PID"); k1=$(chunks); t1=$(date +%s.%N)
  rss=$(rss_bytes "$SLOPROBE_PID")
  failed=$(sum_metric "$SLOPROBE_PORT" sloprobe_probe_failures_total)
  kill "$SLOPROBE_PID"; wait "$SLOPROBE_PID" 2>/dev/null || true
  local s_row c_row
  s_row=$(awk -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" -v t0="$t0" -v t1="$t1" 'BEGIN {
    printf "%.0f|%.1f|%.2f", (k1 - k0) / (t1 - t0), 100 * (c1 - c0) / (t1 - t0), 1e6 * (c1 - c0) / (k1 - k0) }')
  local s_rss=$((rss / 1048576))

  # curl: 100 processes, each reading the same streams one after another.
  {
    printf 'request = "POST"\nheader = "Content-Type: application/json"\n'
    printf 'data = "%s"\n' "$(printf '%s' "$body" | sed 's/"/\\"/g')"
    for _ in $(seq $((secs * 3 + 30))); do printf 'url = "%s/v1/chat/completions"\noutput = /dev/null\n' "$base"; done
  } >"$E2E_DIR/curl-streams.cfg"
  local pids=()
  for _ in $(seq 100); do
    curl -s -N --config "$E2E_DIR/curl-streams.cfg" >/dev/null &
    pids+=($!)
  done
  E2E_PIDS+=("${pids[@]}")
  sleep 3
  # One awk over every process's stat: spawning one per process would take
  # seconds on a loaded machine and skew the window.
  cpu_all() {
    local files=() p
    for p in "${pids[@]}"; do files+=("/proc/$p/stat"); done
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); s += $12 + $13 } END { print s / hz }' "${files[@]}"
  }
  c0=$(cpu_all); k0=$(chunks); t0=$(date +%s.%N)
  sleep "$secs"
  c1=$(cpu_all); k1=$(chunks); t1=$(date +%s.%N)
  rss=$(rss_bytes "${pids[0]}")
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  c_row=$(awk -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" -v t0="$t0" -v t1="$t1" 'BEGIN {
    printf "%.0f|%.1f|%.2f", (k1 - k0) / (t1 - t0), 100 * (c1 - c0) / (t1 - t0), 1e6 * (c1 - c0) / (k1 - k0) }')
  local s_rate s_cpu s_per c_rate c_cpu c_per
  IFS='|' read -r s_rate s_cpu s_per <<<"$s_row"
  IFS='|' read -r c_rate c_cpu c_per <<<"$c_row"
  echo "| measure | sloprobe (100 probes, 1 process) | curl (100 processes) | ratio |"
  echo "|---|---|---|---|"
  echo "| token chunks/s received | $s_rate | $c_rate | |"
  echo "| CPU, % of one core | $s_cpu | $c_cpu | |"
  awk -v s="$s_per" -v c="$c_per" 'BEGIN { printf "| CPU per chunk (µs) | %s | %s | **%.1fx less** |\n", s, c, c / s }'
  echo "| RSS (MB) | $s_rss | $((rss / 1048576)) per process | |"
  echo "| failed runs | $failed | | |"
}

echo
echo "### CPU of 100 concurrent streams at 1,000 chunks/s each (${secs} s)"
cpu_case 1ms 1000
echo
echo "### CPU of 100 concurrent streams at 100 chunks/s each (${secs} s)"
cpu_case 10ms 100
