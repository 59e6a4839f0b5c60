#!/usr/bin/env bash
# The shipped Grafana dashboard (docs/dashboards/sloprobe.json) against a
# real Prometheus scraping sloprobe, which probes every kind of target the
# panels show: every panel query must parse and return data.
# Usage: dashboard.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2 source_dir=$3
command -v prometheus >/dev/null || fail "prometheus not installed (run scripts/bootstrap.sh)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$source_dir/docs/dashboards/sloprobe.json" ||
  fail "the dashboard is not valid JSON"

start_testbed "$testbed" --user probe:probe-password
base="http://127.0.0.1:$TESTBED_PORT"
cat >"$E2E_DIR/sloprobe.yml" <<YAML
global: {interval: 250ms, timeout: 2s}
probes:
  - name: health
    type: http
    request: {url: "$base/health"}
    objectives: {latency: {quantile: 0.95, threshold: 100ms}, error_ratio: 0.01}
  - name: broken
    type: http
    request: {url: "$base/status/503"}
  - name: flow
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "$base/auth/login", json: {username: probe, password: probe-password}}
        extract: {token: {json: /access_token}}
      - name: list_agents
        request: {url: "$base/agents", headers: {Authorization: "Bearer \${token}"}}
  - name: chat
    type: llm_stream
    api: openai
    url: "$base/v1/chat/completions"
    model: test-model
    prompt: hello
    objectives: {ttft: {quantile: 0.95, threshold: 500ms}}
  - name: events
    type: websocket
    request: {url: "ws://127.0.0.1:$TESTBED_PORT/ws/echo"}
    websocket: {send: ping}
    objectives: {round_trip: {quantile: 0.95, threshold: 100ms}}
YAML
start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"
start_prometheus_for_sloprobe
python3 "$(dirname "$0")/dashboard_queries.py" "$source_dir/docs/dashboards/sloprobe.json" \
  "http://127.0.0.1:$PROM_PORT" 60 || fail "dashboard queries (see above)"
echo "dashboard: 1 passed, 0 failed"
