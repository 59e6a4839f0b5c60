#!/usr/bin/env bash
# Soak: sloprobe at about 1,000 probe runs/s for SECONDS against the testbed
# with a mix of faults (healthy checks, 503s, resets, garbage, refused
# connections, stalls, scenario logins, LLM streams). Samples the daemon's
# RSS, open fds, run rate and scheduler lag every few seconds; after a
# warm-up (a fifth of the run, at least 20 s) it requires
#   - RSS growth under 2 MiB,
#   - the fd count flat (second half's mean within 10 % + 5 of the first's),
#   - the scheduler lag flat (second half's mean at most 1.5 x the first's + 1 ms),
#   - the run rate at 90 % of the target or more.
# Exits 1 if any fails. The 30-minute run is in docs/benchmarks.md; a
# 2-minute one runs in the test suite (soak.2min).
#
# Usage: bench/soak.sh [BUILD_DIR] [SECONDS] [RATE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${2:-1800}
rate=${3:-1000}
. "$root/bench/lib.sh"
sloprobe=$build/daemon/sloprobe
testbed=$build/testbed/sloprobe-testbed

cat >"$E2E_DIR/faults.yml" <<'YAML'
- {route: /agents, delay: 5ms, delay_random: 10ms, error_ratio: 0.05, error_status: 503}
- {route: /soak/reset, action: reset_mid_body}
- {route: /soak/garbage, action: garbage_status}
- {route: /soak/stall, action: stall, stall_max: 2s}
- {route: /soak/slow, action: slow_body, slow_interval: 50ms, body_bytes: 100}
YAML
cat >"$E2E_DIR/stream.yml" <<'YAML'
{ttfb: 2ms, first_token: 5ms, gap: 2ms, chunks: 8}
YAML
start_testbed "$testbed" --faults "$E2E_DIR/faults.yml" --stream "$E2E_DIR/stream.yml" \
  --api-key soak-key --login-rate 0 --token-ttl 1h
base="http://127.0.0.1:$TESTBED_PORT"

# 100 probes at one run per 100 ms each is 1,000 runs/s; RATE scales the
# interval.
interval_ms=$((100 * 1000 / rate))
{
  echo "global: {interval: ${interval_ms}ms, timeout: 300ms}"
  echo "secrets: {key: {env: SOAK_API_KEY}}"
  echo "probes:"
  probe() { echo "  - {name: $1, type: http, request: {url: \"$2\"$3}}"; }
  for i in $(seq 60); do probe "health-$i" "$base/health" ""; done
  for i in $(seq 20); do
    probe "agents-$i" "$base/agents" ", headers: {Authorization: \"Bearer \${secrets.key}\"}"
  done
  for i in $(seq 4); do probe "reset-$i" "$base/soak/reset" ""; done
  for i in $(seq 4); do probe "garbage-$i" "$base/soak/garbage" ""; done
  for i in $(seq 4); do probe "refused-$i" "http://127.0.0.1:1/" ""; done
  for i in $(seq 2); do probe "stall-$i" "$base/soak/stall" ""; done
  for i in $(seq 2); do probe "slow-$i" "$base/soak/slow" ""; done
  for i in $(seq 2); do
    cat <<YAML
  - name: chat-$i
    type: llm_stream
    api: openai
    url: "$base/v1/chat/completions"
    model: soak
    prompt: hi
YAML
  done
  for i in $(seq 2); do
    cat <<YAML
  - name: flow-$i
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "$base/auth/login", json: {username: probe, password: probe-password}}
        extract: {token: {json: /access_token}}
        cache: {ttl: 10m}
      - name: list
        request: {url: "$base/agents", headers: {Authorization: "Bearer \${token}"}}
YAML
  done
} >"$E2E_DIR/soak.yml"
chmod 0600 "$E2E_DIR/soak.yml"
SOAK_API_KEY=soak-key start_sloprobe "$sloprobe" "$E2E_DIR/soak.yml"
pid=$SLOPROBE_PID

step=$((seconds >= 600 ? 30 : 5))
samples=$E2E_DIR/samples.tsv
printf 't\trss_kib\tfds\truns\tlag_sum\tlag_count\n' >"$samples"
sample() {
  local metrics
  metrics=$(curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics") || fail "no /metrics from sloprobe"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(($(rss_bytes "$pid") / 1024))" \
    "$(ls "/proc/$pid/fd" | wc -l)" \
    "$(echo "$metrics" | awk 'index($1, "sloprobe_probe_runs_total{") == 1 { s += $2 } END { printf "%.0f", s }')" \
    "$(echo "$metrics" | awk '$1 == "sloprobe_scheduler_lag_seconds_sum" { print $2 }')" \
    "$(echo "$metrics" | awk '$1 == "sloprobe_scheduler_lag_seconds_count" { print $2 }')" >>"$samples"
}
start=$(date +%s)
elapsed=0
sample 0
while [ "$elapsed" -lt "$seconds" ]; do
  sleep "$step"
  elapsed=$(($(date +%s) - start))
  kill -0 "$pid" 2>/dev/null || fail "sloprobe exited: $(tail -5 "$E2E_DIR/sloprobe.log")"
  sample "$elapsed"
done

python3 - "$samples" "$rate" "$seconds" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])][1:]
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
t, rss, fds, runs, lag_sum, lag_count = (list(map(float, col)) for col in zip(*rows))
warm = next(i for i, x in enumerate(t) if x >= max(20, seconds / 5))
after = range(warm, len(t))
half = warm + (len(t) - warm) // 2
def mean(xs): return sum(xs) / len(xs)
def window_lag(a, b):  # mean scheduler lag between samples a and b, seconds
    n = lag_count[b] - lag_count[a]
    return (lag_sum[b] - lag_sum[a]) / n if n else 0.0
rss_growth = max(rss[i] for i in after) - rss[warm]
fds_first, fds_second = mean(fds[warm:half + 1]), mean(fds[half:])
lag_first, lag_second = window_lag(warm, half), window_lag(half, len(t) - 1)
achieved = (runs[-1] - runs[warm]) / (t[-1] - t[warm])
print(f"| duration | {t[-1]:.0f} s (warm-up {t[warm]:.0f} s) |")
print(f"| runs/s (target {rate:.0f}) | {achieved:.0f} |")
print(f"| RSS after warm-up -> peak -> end | {rss[warm]/1024:.1f} -> {max(rss[i] for i in after)/1024:.1f} -> {rss[-1]/1024:.1f} MiB (growth {rss_growth:.0f} KiB) |")
print(f"| open fds, first half -> second half (mean) | {fds_first:.1f} -> {fds_second:.1f} (range {min(fds[i] for i in after):.0f}-{max(fds[i] for i in after):.0f}) |")
print(f"| scheduler lag, first half -> second half (mean) | {lag_first*1000:.3f} -> {lag_second*1000:.3f} ms |")
failed = []
if rss_growth >= 2048: failed.append(f"RSS grew {rss_growth:.0f} KiB after warm-up")
if abs(fds_second - fds_first) > 0.1 * fds_first + 5: failed.append("fd count not flat")
if lag_second > 1.5 * lag_first + 0.001: failed.append("scheduler lag grew")
if achieved < 0.9 * rate: failed.append(f"only {achieved:.0f} runs/s")
for f in failed: print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failed else 0)
PY
echo "soak: samples in $samples (removed on exit)"
