#!/usr/bin/env bash
# A real Prometheus server scrapes sloprobe: the target is up and the probe
# histograms come back from a query.
# Usage: prometheus_scrape.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2
command -v prometheus >/dev/null || fail "prometheus not installed (run scripts/bootstrap.sh)"

start_testbed "$testbed"
cat >"$E2E_DIR/sloprobe.yml" <<YAML
global: {interval: 200ms, timeout: 1s}
probes:
  - name: health
    type: http
    request: {url: "http://127.0.0.1:$TESTBED_PORT/health"}
    objectives: {latency: {quantile: 0.95, threshold: 20ms}}
YAML
start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"

start_prometheus_for_sloprobe
up_is_one() { query 'up{job="sloprobe"}' | grep -q '"value":\[[0-9.]*,"1"\]'; }
wait_until 30 up_is_one || fail "up{job=\"sloprobe\"} is not 1: $(query 'up')"
has_count() { query 'sloprobe_probe_duration_seconds_count{job="sloprobe",probe="health"} > 0' | grep -q '"probe":"health"'; }
wait_until 30 has_count || fail "no sloprobe_probe_duration_seconds_count: $(query 'sloprobe_probe_duration_seconds_count')"
# The threshold is a bucket boundary, so this ratio is exact at 20 ms.
ratio=$(query 'sloprobe_probe_duration_seconds_bucket{probe="health",le="0.02"} / ignoring(le) sloprobe_probe_duration_seconds_count{probe="health"}')
echo "$ratio" | grep -q '"value":\[' || fail "no le=0.02 bucket: $ratio"
echo "prometheus_scrape: 1 passed, 0 failed"
