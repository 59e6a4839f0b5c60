#!/usr/bin/env bash
# Builds sloprobe and runs it against the testbed (a fake AI-agent platform)
# with config/examples/demo.yml, plus a Prometheus server scraping it.
# Runs until Ctrl-C, or for DEMO_SECONDS seconds when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# Only what the demo runs: the daemon and the testbed.
./scripts/build.sh --target sloprobe --target sloprobe-testbed

TESTBED_PORT=9002        # demo.yml points at 127.0.0.1:9002
SLOPROBE_ADDR=127.0.0.1:9479
PROMETHEUS_ADDR=127.0.0.1:9090
work=$(mktemp -d /tmp/sloprobe-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$TESTBED_PORT" "${SLOPROBE_ADDR##*:}"; do
  if port_busy "$p"; then
    echo "demo: port $p is in use; stop whatever listens there and try again" >&2
    exit 1
  fi
done

export PLATFORM_PASSWORD=probe-password
export SLOPROBE_DEMO_API_KEY=demo-api-key
export SLOPROBE_DEMO_LLM_KEY=sk-demo-llm-key
build/testbed/sloprobe-testbed --listen "127.0.0.1:$TESTBED_PORT" --port-file "$work/testbed.port" \
  --user "probe:$PLATFORM_PASSWORD" --api-key "$SLOPROBE_DEMO_API_KEY" \
  --llm-api-key "$SLOPROBE_DEMO_LLM_KEY" --stream testbed/demo-stream.yml \
  --faults testbed/demo-faults.yml >"$work/testbed.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/testbed.port" ] && break; sleep 0.1; done
[ -s "$work/testbed.port" ] || { cat "$work/testbed.log" >&2; exit 1; }

build/daemon/sloprobe --config.file config/examples/demo.yml \
  --web.listen-address "$SLOPROBE_ADDR" 2>"$work/sloprobe.log" &
pids+=($!)

prometheus_url="(not started: port ${PROMETHEUS_ADDR##*:} is in use)"
alerts_url="(no Prometheus)"
if ! port_busy "${PROMETHEUS_ADDR##*:}"; then
  cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: ["$PWD/alerts/sloprobe.rules.yml"]
scrape_configs:
  - job_name: sloprobe
    static_configs: [{targets: ["$SLOPROBE_ADDR"]}]
YAML
  prometheus --config.file "$work/prometheus.yml" --storage.tsdb.path "$work/data" \
    --web.listen-address "$PROMETHEUS_ADDR" >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  prometheus_url="http://$PROMETHEUS_ADDR/graph"
  alerts_url="http://$PROMETHEUS_ADDR/alerts (the shipped rules; objective alerts fire after ~10 min)"
fi

echo "demo: waiting for the first probe runs..."
for _ in $(seq 100); do
  curl -sf "http://$SLOPROBE_ADDR/metrics" 2>/dev/null | grep -q '^sloprobe_probe_runs_total{probe="list-agents"} [1-9]' && break
  sleep 0.1
done

cat <<MSG

sloprobe is running against the testbed (/agents has 30-70 ms of injected
latency and 5 % errors, so 'list-agents' breaches its objectives).

  status page  http://$SLOPROBE_ADDR/
  metrics      http://$SLOPROBE_ADDR/metrics
  health       http://$SLOPROBE_ADDR/-/healthy
  prometheus   $prometheus_url
  alerts       $alerts_url
  config       config/examples/demo.yml
  logs         $work/sloprobe.log

Try in Prometheus:
  fraction of runs slower than the objective (exact, the threshold is a bucket):
    1 - sloprobe_probe_duration_seconds_bucket{le="0.05",probe="list-agents"}
        / ignoring(le) sloprobe_probe_duration_seconds_count{probe="list-agents"}
  p95 per probe:
    histogram_quantile(0.95, rate(sloprobe_probe_duration_seconds_bucket[1m]))
  time to first byte by probe:
    histogram_quantile(0.5, rate(sloprobe_http_phase_duration_seconds_bucket{phase="ttfb"}[1m]))
  p95 of each step of the agents flow, and where it fails:
    histogram_quantile(0.95, sum by (step, le) (rate(sloprobe_step_duration_seconds_bucket{probe="agents-flow"}[1m])))
    sum by (step, reason) (sloprobe_probe_failures_total{probe="agents-flow"}) > 0
  logins reused from the cache vs. sent:
    sloprobe_scenario_logins_total
  WebSocket round trips, p95:
    histogram_quantile(0.95, sum by (probe, le) (rate(sloprobe_websocket_round_trip_seconds_bucket[1m])))
  LLM streams: p95 time to first token and mean gap between chunks, per API:
    histogram_quantile(0.95, sum by (probe, api, le) (rate(sloprobe_llm_time_to_first_token_seconds_bucket[1m])))
    rate(sloprobe_llm_inter_chunk_seconds_sum[1m]) / rate(sloprobe_llm_inter_chunk_seconds_count[1m])

A one-shot check of the same objectives, as a deploy gate would run it (with
the demo's secrets in the environment, as exported at the top of this script):
  build/daemon/sloprobe check --config.file config/examples/demo.yml --runs 20

Grafana: import docs/dashboards/sloprobe.json with a Prometheus data source
at http://$PROMETHEUS_ADDR.

MSG
summary() {
  curl -sf "http://$SLOPROBE_ADDR/metrics" | awk '
    /^sloprobe_probe_runs_total/ { match($0, /probe="[^"]*"/); p = substr($0, RSTART+7, RLENGTH-8); runs[p] = $2 }
    /^sloprobe_probe_failures_total/ && $2 > 0 { match($0, /probe="[^"]*"/); p = substr($0, RSTART+7, RLENGTH-8); fail[p] += $2 }
    /^sloprobe_probe_success/ { match($0, /probe="[^"]*"/); p = substr($0, RSTART+7, RLENGTH-8); ok[p] = $2 }
    END { printf "%-28s %6s %9s %s\n", "probe", "runs", "failures", "last run";
          for (p in runs) printf "%-28s %6d %9d %s\n", p, runs[p], fail[p], runs[p] == 0 ? "pending" : (ok[p] == 1 ? "ok" : "FAILED") }'
}
summary
if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
  echo
  summary
  exit 0
fi
echo "Press Ctrl-C to stop."
while sleep 30; do echo; summary; done
