#!/usr/bin/env bash
# CPU time per HTTP probe and scheduler lag at RATE probes/s, sloprobe and
# blackbox_exporter side by side, against the same nginx, in one run.
#
# Each sloprobe run opens a new connection and GETs /health. blackbox_exporter
# is driven at the same rate through its /probe endpoint (module http_2xx, a
# new connection per probe too) by a second sloprobe over keep-alive
# connections; only the exporter's own CPU is counted.
#
# Usage: bench/cpu_per_probe.sh [BUILD_DIR] [RATE] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rate=${2:-1000}
seconds=${3:-20}
. "$root/bench/lib.sh"
sloprobe=$build/daemon/sloprobe
probes=100
interval_ms=$((probes * 1000 / rate))

start_nginx

# probes_config URL_PREFIX KEEP_ALIVE: $probes probes, $rate runs/s in all.
probes_config() {
  echo "global: {interval: ${interval_ms}ms, timeout: 2s}"
  echo "probes:"
  for i in $(seq "$probes"); do
    echo "  - {name: p$i, type: http, request: {url: \"$1\", keep_alive: $2}}"
  done
}

# measure PID PORT_OF_COUNTING_SLOPROBE: CPU seconds of PID and runs counted
# over the measurement window, after a warm-up.
measure() {
  local pid=$1 port=$2
  sleep 3
  local cpu0 runs0 cpu1 runs1 sys0 sys1
  cpu0=$(cpu_seconds "$pid")
  sys0=$(cpu_system_seconds "$pid")
  runs0=$(sum_metric "$port" sloprobe_probe_runs_total)
  sleep "$seconds"
  cpu1=$(cpu_seconds "$pid")
  sys1=$(cpu_system_seconds "$pid")
  runs1=$(sum_metric "$port" sloprobe_probe_runs_total)
  echo "$cpu0 $cpu1 $runs0 $runs1 $sys0 $sys1"
}

# sloprobe probing nginx directly.
probes_config "http://127.0.0.1:$NGINX_PORT/health" false >"$E2E_DIR/direct.yml"
start_sloprobe "$sloprobe" "$E2E_DIR/direct.yml"
direct_pid=$SLOPROBE_PID
direct_port=$SLOPROBE_PORT
lag0=$(curl -sf "http://127.0.0.1:$direct_port/metrics" | grep '^sloprobe_scheduler_lag_seconds_bucket')
read -r c0 c1 r0 r1 y0 y1 < <(measure "$direct_pid" "$direct_port")
lag1=$(curl -sf "http://127.0.0.1:$direct_port/metrics" | grep '^sloprobe_scheduler_lag_seconds_bucket')
failures=$(sum_metric "$direct_port" sloprobe_probe_failures_total)
rss=$(rss_bytes "$direct_pid")
kill "$direct_pid"
wait "$direct_pid" 2>/dev/null || true

# blackbox_exporter probing nginx, driven by sloprobe.
start_blackbox
bb_port=$BB_PORT
bb_pid=$BB_PID
probes_config "http://127.0.0.1:$bb_port/probe?module=http_2xx&target=http://127.0.0.1:$NGINX_PORT/health" true \
  >"$E2E_DIR/driver.yml"
start_sloprobe "$sloprobe" "$E2E_DIR/driver.yml"
read -r b0 b1 s0 s1 z0 z1 < <(measure "$bb_pid" "$SLOPROBE_PORT")
bb_rss=$(rss_bytes "$bb_pid")
# The exporter answers 200 even when its probe fails; check it succeeded.
curl -sf "http://127.0.0.1:$bb_port/probe?module=http_2xx&target=http://127.0.0.1:$NGINX_PORT/health" |
  grep -q '^probe_success 1' || fail "blackbox_exporter probes are failing"

python3 - "$c0" "$c1" "$r0" "$r1" "$b0" "$b1" "$s0" "$s1" "$failures" "$rss" "$bb_rss" "$seconds" "$lag0" "$lag1" "$y0" "$y1" "$z0" "$z1" <<'PY'
import sys, re
c0, c1, r0, r1, b0, b1, s0, s1 = map(float, sys.argv[1:9])
failures, rss, bb_rss, seconds = map(float, sys.argv[9:13])
def buckets(text):
    out = {}
    for line in text.splitlines():
        m = re.search(r'le="([^"]+)"\} (\S+)', line)
        if m: out[float(m.group(1))] = float(m.group(2))
    return out
l0, l1 = buckets(sys.argv[13]), buckets(sys.argv[14])
y0, y1, z0, z1 = map(float, sys.argv[15:19])
bounds = sorted(l1)
delta = [(b, l1[b] - l0.get(b, 0)) for b in bounds]
total = delta[-1][1]
def quantile(q):
    # The smallest bucket bound holding at least q of the samples.
    for b, n in delta:
        if n >= q * total: return b
    return float("inf")
ours = (c1 - c0) / (r1 - r0) * 1e6
theirs = (b1 - b0) / (s1 - s0) * 1e6
print(f"| measure | sloprobe | blackbox_exporter | ratio |")
print(f"|---|---|---|---|")
print(f"| probes/s achieved | {(r1 - r0) / seconds:.0f} | {(s1 - s0) / seconds:.0f} | |")
print(f"| CPU per probe (µs) | {ours:.1f} | {theirs:.1f} | {theirs / ours:.1f}x less |")
print(f"| of which in the kernel (µs) | {(y1 - y0) / (r1 - r0) * 1e6:.1f} | {(z1 - z0) / (s1 - s0) * 1e6:.1f} | |")
print(f"| RSS (MB) | {rss / 1e6:.1f} | {bb_rss / 1e6:.1f} | |")
print(f"| failed runs | {failures:.0f} | | |")
print(f"| scheduler lag p50 / p99 (bucket bound) | ≤ {quantile(0.5) * 1e3:g} ms / ≤ {quantile(0.99) * 1e3:g} ms | n/a | |")
print(f"| runs with lag ≤ 1 ms / ≤ 2 ms | {dict(delta)[0.001] / total:.2%} / {dict(delta)[0.002] / total:.2%} | | |")
PY
