#!/usr/bin/env bash
# Scale and cost: sloprobe with 100, 1,000 and 10,000 HTTP probes at the same
# total rate, blackbox_exporter driven at that rate beside it, in one run.
#
# For each size N the probes GET nginx's /health over kept-alive
# connections, all N of them every N/RATE seconds. Measured per size:
# - READY: from exec to the READY=1 notification (bench/ready.py);
# - CPU per probe (user + system from /proc over SECONDS after a warm-up of
#   one interval plus 3 s, divided by the requests nginx served meanwhile),
#   scheduler lag p50/p99 over the same window, with no scrape in it;
# - RSS under load, total and per probe;
# - /metrics: time and size of a full scrape (median of 3, curl), beside
#   nginx sending the same bytes from a file;
# - OTLP: added by a reload (SIGHUP) pointing at nginx as the sink; the
#   mean time to snapshot and encode, and to send, over two exports.
# Then, once per size, the same rate on new connections (what
# blackbox_exporter always does) and blackbox_exporter itself, driven
# through /probe by a second sloprobe whose own CPU is not counted. Then
# ttfb accuracy against the testbed's ground truth, alone and beside the
# largest size, for sloprobe and for a minimal raw-socket client.
# Last, idle RSS: 100 probes between runs.
#
# Usage: bench/scale.sh [BUILD_DIR] [SECONDS] [RATE] [SIZES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${2:-20}
rate=${3:-5000}
sizes=${4:-100 1000 10000}
. "$root/bench/lib.sh"
sloprobe=$build/daemon/sloprobe
results=$E2E_DIR/results.txt
: >"$results"

start_nginx
health="http://127.0.0.1:$NGINX_PORT/health"

# record KEY VALUE: one figure for the report.
record() { echo "$1 $2" >>"$results"; }

# probes_config N URL KEEP_ALIVE [INTERVAL_MS]: N probes, RATE runs/s in all.
probes_config() {
  local n=$1 url=$2 keep=$3 interval=${4:-$(($1 * 1000 / rate))}
  echo "global: {interval: ${interval}ms, timeout: 2s}"
  echo "probes:"
  local i
  for i in $(seq "$n"); do
    echo "  - {name: p$i, type: http, request: {url: \"$url\", keep_alive: $keep}}"
  done
}

# launch NAME CONFIG [ARGS...]: starts sloprobe through bench/ready.py; sets
# PID, PORT and records NAME.ready_ms.
launch() {
  local out name=$1 config=$2
  shift 2
  out=$(python3 "$root/bench/ready.py" "$E2E_DIR/$name.log" "$sloprobe" --config.file "$config" \
    --web.listen-address 127.0.0.1:0 "$@") || fail "$name: sloprobe did not start"
  set -- "$name"
  PID=${out% *}
  E2E_PIDS+=("$PID")
  record "$1.ready_ms" "${out#* }"
  PORT=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$E2E_DIR/$1.log" | head -n1)
  [ -n "$PORT" ] || fail "$1: no port in: $(cat "$E2E_DIR/$1.log")"
}

# stop PID: ends it and waits until it is gone (ready.py's children are not
# the shell's, so `wait` alone would not).
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  wait_until 30 test ! -e "/proc/$1" || fail "process $1 did not stop"
}

lag_buckets() { curl -sf "http://127.0.0.1:$1/metrics" | grep '^sloprobe_scheduler_lag_seconds_bucket' || true; }

# window PID KEY: CPU of PID and requests nginx served (one per probe run)
# over SECONDS; nothing scrapes meanwhile. Records KEY.cpu, KEY.sys, KEY.runs.
window() {
  local pid=$1 key=$2 c0 y0 r0
  c0=$(cpu_seconds "$pid")
  y0=$(cpu_system_seconds "$pid")
  r0=$(nginx_requests)
  sleep "$seconds"
  record "$key.cpu" "$(awk -v a="$(cpu_seconds "$pid")" -v b="$c0" 'BEGIN { print a - b }')"
  record "$key.sys" "$(awk -v a="$(cpu_system_seconds "$pid")" -v b="$y0" 'BEGIN { print a - b }')"
  record "$key.runs" "$(($(nginx_requests) - r0 - 1))"
}

# median URL: median time and size of three fetches of URL.
median() {
  local i
  for i in 1 2 3; do
    curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' "$1"
  done | sort -n | sed -n 2p
}

# scrape PORT KEY: median time and size of three full scrapes, and beside
# them the peer: nginx sending the same bytes from a file (in the page
# cache) over loopback, in the same conditions.
scrape() {
  local body=$E2E_DIR/nginx/static/metrics.txt t s
  read -r t s < <(median "http://127.0.0.1:$1/metrics")
  record "$2.scrape_s" "$t"
  record "$2.scrape_bytes" "$s"
  curl -sf -o "$body" "http://127.0.0.1:$1/metrics"
  record "$2.series" "$(grep -vc '^#' "$body")"
  read -r t s < <(median "http://127.0.0.1:$NGINX_PORT/static/metrics.txt")
  record "$2.static_s" "$t"
  rm -f "$body"
}

# otlp CONFIG PID PORT KEY: reloads CONFIG with an OTLP section and waits
# for two exports.
otlp() {
  local config=$1 pid=$2 port=$3 key=$4
  { cat "$config"
    echo "otlp: {endpoint: \"http://127.0.0.1:$NGINX_PORT/v1/metrics\", interval: 5s, timeout: 30s}"
  } >"$config.otlp"
  cp "$config.otlp" "$config"
  kill -HUP "$pid"
  exported() { [ "$(metric_at "$port" 'sloprobe_otlp_exports_total{result="success"}')" -ge 2 ]; }
  wait_until 60 exported || fail "$key: no OTLP exports"
  record "$key.otlp_snapshot_s" "$(mean "$port" sloprobe_otlp_snapshot_duration_seconds)"
  record "$key.otlp_send_s" "$(mean "$port" sloprobe_otlp_export_duration_seconds)"
}
metric_at() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { printf "%.0f\n", $2 }'; }
mean() {
  curl -sf "http://127.0.0.1:$1/metrics" |
    awk -v m="$2" '$1 == m "_sum" { s = $2 } $1 == m "_count" { c = $2 } END { print (c ? s / c : 0) }'
}

start_blackbox
bb_port=$BB_PORT
bb_pid=$BB_PID
curl -sf "http://127.0.0.1:$bb_port/probe?module=http_2xx&target=$health" |
  grep -q '^probe_success 1' || fail "blackbox_exporter probes are failing"

# Timing accuracy at full load: a probe of the testbed, which injects 2-10 ms
# and records when it wrote each first byte (as bench/ttfb_accuracy.sh), run
# alone now and, after the sizes, beside the largest one at RATE (with
# blackbox_exporter stopped); ttfb from the debug log. The peer is the
# minimal raw-socket client (bench/raw_ttfb.py) in the same two places: what
# the load costs any client on this machine, the ground truth's included.
start_testbed "$build/testbed/sloprobe-testbed"
base="http://127.0.0.1:$TESTBED_PORT"
printf -- '- {route: /health, delay: 2ms, delay_random: 8ms}\n' |
  curl -sf -X PUT --data-binary @- "$base/admin/faults" >/dev/null
accuracy() {
  local label=$1 n=$2 runs=500
  curl -sf -X DELETE "$base/admin/records"
  if [ "$n" -gt 0 ]; then probes_config "$n" "$health" true; else echo "probes:"; fi >"$E2E_DIR/$label.yml"
  echo "  - {name: acc, type: http, interval: 20ms, timeout: 1s, request: {url: \"$base/health\"}}" \
    >>"$E2E_DIR/$label.yml"
  launch "$label" "$E2E_DIR/$label.yml" --log.level debug
  logged() { [ "$(grep -c 'msg="probe run" probe=acc ' "$E2E_DIR/$label.log")" -ge "$runs" ]; }
  wait_until $((runs / 20 + 60)) logged || fail "$label: $runs runs of acc not logged"
  stop "$PID"
  curl -sf "$base/admin/records" >"$E2E_DIR/$label-records.json"
  grep 'msg="probe run" probe=acc ' "$E2E_DIR/$label.log" |
    sed -n 's/.*ttfb_seconds=\([0-9.]*\).*/\1/p' >"$E2E_DIR/$label-ttfb.txt"
}
# accuracy_raw LABEL N: the raw-socket client's 500 requests (kept alive,
# 20 ms apart) beside N probes at RATE in a sloprobe that is not measured.
accuracy_raw() {
  local label=$1 n=$2
  if [ "$n" -gt 0 ]; then
    probes_config "$n" "$health" true >"$E2E_DIR/$label.yml"
    launch "$label" "$E2E_DIR/$label.yml"
    sleep $((n / rate + 3))
  fi
  curl -sf -X DELETE "$base/admin/records"
  python3 "$root/bench/raw_ttfb.py" "$TESTBED_PORT" /health 500 reuse >"$E2E_DIR/$label-ttfb.txt"
  curl -sf "$base/admin/records" >"$E2E_DIR/$label-records.json"
  if [ "$n" -gt 0 ]; then stop "$PID"; fi
}
accuracy acc-alone 0  # first, on a quiet machine
accuracy_raw raw-alone 0

for n in $sizes; do
  warm=$((n / rate + 3))
  # Kept-alive connections.
  probes_config "$n" "$health" true >"$E2E_DIR/ka-$n.yml"
  launch "ka-$n" "$E2E_DIR/ka-$n.yml"
  sleep "$warm"
  lag_buckets "$PORT" >"$E2E_DIR/lag0-$n"
  window "$PID" "ka-$n"
  lag_buckets "$PORT" >"$E2E_DIR/lag1-$n"
  record "ka-$n.rss" "$(rss_bytes "$PID")"
  record "ka-$n.failures" "$(sum_metric "$PORT" sloprobe_probe_failures_total)"
  scrape "$PORT" "ka-$n"
  record "ka-$n.hwm" "$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$PID/status")"
  otlp "$E2E_DIR/ka-$n.yml" "$PID" "$PORT" "ka-$n"
  record "ka-$n.rss_otlp" "$(rss_bytes "$PID")"
  stop "$PID"

  # New connections, as blackbox_exporter makes them.
  probes_config "$n" "$health" false >"$E2E_DIR/new-$n.yml"
  launch "new-$n" "$E2E_DIR/new-$n.yml"
  sleep "$warm"
  window "$PID" "new-$n"
  stop "$PID"

  # blackbox_exporter at the same rate.
  probes_config "$n" "http://127.0.0.1:$bb_port/probe?module=http_2xx&target=$health" true \
    >"$E2E_DIR/bb-$n.yml"
  launch "driver-$n" "$E2E_DIR/bb-$n.yml"
  sleep "$warm"
  window "$bb_pid" "bb-$n"
  record "bb-$n.rss" "$(rss_bytes "$bb_pid")"
  stop "$PID"
done

stop "$bb_pid"
accuracy acc-loaded "${sizes##* }"
accuracy_raw raw-loaded "${sizes##* }"

# Idle: 100 probes planned once an hour, between runs.
probes_config 100 "$health" true 3600000 >"$E2E_DIR/idle.yml"
launch idle "$E2E_DIR/idle.yml"
sleep 2
record idle.rss "$(rss_bytes "$PID")"
stop "$PID"

python3 - "$root/bench" "$results" "$E2E_DIR" "$seconds" "$rate" $sizes <<'PY'
import re, sys
bench, results, d, seconds, rate, sizes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
r = {}
for line in open(results):
    k, v = line.split()
    r[k] = float(v)
def buckets(path):
    out = {}
    for line in open(path):
        m = re.search(r'le="([^"]+)"\} (\S+)', line)
        if m: out[float(m.group(1))] = float(m.group(2))
    return out
def lag(n):
    l0, l1 = buckets(f"{d}/lag0-{n}"), buckets(f"{d}/lag1-{n}")
    delta = [(b, l1[b] - l0.get(b, 0)) for b in sorted(l1)]
    total = delta[-1][1]
    def q(p):
        for b, c in delta:
            if c >= p * total: return b * 1e3
        return float("inf")
    return f"≤ {q(0.5):g} / ≤ {q(0.99):g}"
def us(key): return r[f"{key}.cpu"] / r[f"{key}.runs"] * 1e6
def sys_us(key): return r[f"{key}.sys"] / r[f"{key}.runs"] * 1e6
rows = [
    ("probes/s achieved (sloprobe, kept-alive)", lambda n: f"{r[f'ka-{n}.runs'] / seconds:.0f}"),
    ("failed runs", lambda n: f"{r[f'ka-{n}.failures']:.0f}"),
    ("READY after start (ms)", lambda n: f"{r[f'ka-{n}.ready_ms']:.0f}"),
    ("CPU per probe, kept-alive (µs)", lambda n: f"{us(f'ka-{n}'):.1f} ({sys_us(f'ka-{n}'):.1f} kernel)"),
    ("CPU per probe, new connection (µs)", lambda n: f"{us(f'new-{n}'):.1f} ({sys_us(f'new-{n}'):.1f} kernel)"),
    ("blackbox_exporter: probes/s achieved", lambda n: f"{r[f'bb-{n}.runs'] / seconds:.0f}"),
    ("blackbox_exporter: CPU per probe (µs)", lambda n: f"{us(f'bb-{n}'):.1f} ({sys_us(f'bb-{n}'):.1f} kernel)"),
    ("ratio, new connections (blackbox / sloprobe)", lambda n: f"**{us(f'bb-{n}') / us(f'new-{n}'):.1f}x**"),
    ("ratio, sloprobe kept-alive", lambda n: f"{us(f'bb-{n}') / us(f'ka-{n}'):.1f}x"),
    ("scheduler lag p50 / p99 (ms, bucket bound)", lag),
    ("RSS under load (MB)", lambda n: f"{r[f'ka-{n}.rss'] / 1e6:.1f}"),
    ("RSS per probe (KB)", lambda n: f"{r[f'ka-{n}.rss'] / int(n) / 1e3:.1f}"),
    ("RSS peak, scrapes included (MB)", lambda n: f"{r[f'ka-{n}.hwm'] / 1e6:.1f}"),
    ("RSS after OTLP exports (MB)", lambda n: f"{r[f'ka-{n}.rss_otlp'] / 1e6:.1f}"),
    ("blackbox_exporter RSS (MB)", lambda n: f"{r[f'bb-{n}.rss'] / 1e6:.1f}"),
    ("/metrics scrape (ms, median of 3)", lambda n: f"{r[f'ka-{n}.scrape_s'] * 1e3:.1f}"),
    ("nginx sending the same bytes from a file (ms, median of 3)", lambda n: f"{r[f'ka-{n}.static_s'] * 1e3:.1f}"),
    ("ratio, scrape / nginx file", lambda n: f"{r[f'ka-{n}.scrape_s'] / r[f'ka-{n}.static_s']:.1f}x"),
    ("/metrics size (MB) / samples", lambda n: f"{r[f'ka-{n}.scrape_bytes'] / 1e6:.2f} / {r[f'ka-{n}.series']:.0f}"),
    ("OTLP snapshot and encode (ms, mean)", lambda n: f"{r[f'ka-{n}.otlp_snapshot_s'] * 1e3:.1f}"),
    ("OTLP request (ms, mean)", lambda n: f"{r[f'ka-{n}.otlp_send_s'] * 1e3:.1f}"),
]
print(f"| {rate:,} probes/s in all | " + " | ".join(f"{int(n):,} probes" for n in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for label, f in rows:
    print(f"| {label} | " + " | ".join(f(n) for n in sizes) + " |")
print()
print(f"Idle RSS (100 probes, between runs): {r['idle.rss'] / 1e6:.1f} MB")
sys.path.insert(0, bench)
from ttfb_errors import errors, quantile as q
runs = [errors(d, name) for name in ("acc-alone", "raw-alone", "acc-loaded", "raw-loaded")]
beside = f"beside {int(sizes[-1]):,} probes at {rate:,}/s"
print()
print(f"| ttfb error vs ground truth (ms) | sloprobe alone | raw socket alone | sloprobe {beside} | raw socket {beside} |")
print("|---|---|---|---|---|")
for label, p in (("p50", 0.5), ("p99", 0.99)):
    print(f"| {label} | " + " | ".join(f"{q(xs, p):.3f}" for xs in runs) + " |")
print("| min / max | " + " | ".join(f"{xs[0]:.3f} / {xs[-1]:.3f}" for xs in runs) + " |")
print("| samples | " + " | ".join(str(len(xs)) for xs in runs) + " |")
PY
