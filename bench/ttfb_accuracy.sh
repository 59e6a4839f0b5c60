#!/usr/bin/env bash
# Timing accuracy: sloprobe's ttfb, curl's (time_starttransfer -
# time_pretransfer) and a minimal raw-socket client's (bench/raw_ttfb.py)
# against the testbed's ground truth, on the same route in one run. The testbed injects 2-10 ms before answering and records, per
# request, the time from reading the request to writing the first response
# byte; the error of a client is its ttfb minus that.
#
# Usage: bench/ttfb_accuracy.sh [BUILD_DIR] [REQUESTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-500}
. "$root/bench/lib.sh"

start_testbed "$build/testbed/sloprobe-testbed"
base="http://127.0.0.1:$TESTBED_PORT"
printf -- '- {route: /health, delay: 2ms, delay_random: 8ms}\n' |
  curl -sf -X PUT --data-binary @- "$base/admin/faults" >/dev/null

records() { curl -sf "$base/admin/records"; }

# sloprobe_case NAME KEEP_ALIVE: one probe, one run at a time, every run
# logged at debug level.
sloprobe_case() {
  curl -sf -X DELETE "$base/admin/records"
  cat >"$E2E_DIR/$1.yml" <<YAML
probes:
  - {name: acc, type: http, interval: 20ms, timeout: 1s, request: {url: "$base/health", keep_alive: $2}}
YAML
  start_sloprobe "$build/daemon/sloprobe" "$E2E_DIR/$1.yml" --log.level debug
  logged() { [ "$(grep -c 'msg="probe run" probe=acc' "$E2E_DIR/sloprobe.log")" -ge "$n" ]; }
  wait_until $((n / 20 + 30)) logged || fail "sloprobe did not finish $n runs"
  kill "$SLOPROBE_PID"
  wait "$SLOPROBE_PID" 2>/dev/null || true
  records >"$E2E_DIR/$1-records.json"
  grep 'msg="probe run" probe=acc' "$E2E_DIR/sloprobe.log" |
    sed -n 's/.*ttfb_seconds=\([0-9.]*\).*/\1/p' >"$E2E_DIR/$1-ttfb.txt"
}

# curl_case NAME EXTRA_CONFIG: the same number of requests from one curl
# process, one at a time; "Connection: close" makes each a new connection.
curl_case() {
  curl -sf -X DELETE "$base/admin/records"
  # Options in a curl config apply to every URL, so EXTRA_CONFIG goes once.
  { printf '%s' "$2"; for _ in $(seq "$n"); do printf 'url = "%s/health"\noutput = /dev/null\n' "$base"; done; } \
    >"$E2E_DIR/$1.cfg"
  curl -s --config "$E2E_DIR/$1.cfg" -w '%{time_pretransfer} %{time_starttransfer}\n' |
    awk '{ printf "%.6f\n", $2 - $1 }' >"$E2E_DIR/$1-ttfb.txt"
  records >"$E2E_DIR/$1-records.json"
}

# raw_case NAME new|reuse: the minimal reference client, same idle pattern.
raw_case() {
  curl -sf -X DELETE "$base/admin/records"
  python3 "$root/bench/raw_ttfb.py" "$TESTBED_PORT" /health "$n" "$2" >"$E2E_DIR/$1-ttfb.txt"
  records >"$E2E_DIR/$1-records.json"
}

sloprobe_case sloprobe-new false
sloprobe_case sloprobe-reuse true
curl_case curl-new $'header = "Connection: close"\n'
curl_case curl-reuse ''
raw_case raw-new new
raw_case raw-reuse reuse

python3 - "$E2E_DIR" "$root/bench" <<'PY'
import sys
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from ttfb_errors import errors, quantile as q
print("| ttfb error vs ground truth (ms) | sloprobe | curl | raw socket reference |")
print("|---|---|---|---|")
for label, kind in (("new connection per request", "new"), ("keep-alive", "reuse")):
    cols = [errors(d, f"{client}-{kind}") for client in ("sloprobe", "curl", "raw")]
    for name, p in (("p50", 0.5), ("p99", 0.99)):
        print(f"| {label}, {name} | " + " | ".join(f"{q(c, p):.3f}" for c in cols) + " |")
    print(f"| {label}, min / max | " + " | ".join(f"{c[0]:.3f} / {c[-1]:.3f}" for c in cols) + " |")
    print(f"| {label}, samples | " + " | ".join(str(len(c)) for c in cols) + " |")
PY
