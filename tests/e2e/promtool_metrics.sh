#!/usr/bin/env bash
# promtool lints the live /metrics of a daemon probing the testbed, with
# passing and failing probes and every histogram populated.
# Usage: promtool_metrics.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2
command -v promtool >/dev/null || fail "promtool not installed (run scripts/bootstrap.sh)"

start_testbed "$testbed" --api-key e2e-key
cat >"$E2E_DIR/faults.yml" <<'YAML'
- {route: /loop, error_ratio: 1, error_status: 503}
YAML
curl -sf -X PUT --data-binary @"$E2E_DIR/faults.yml" "http://127.0.0.1:$TESTBED_PORT/admin/faults" >/dev/null
cat >"$E2E_DIR/sloprobe.yml" <<YAML
global: {interval: 100ms, timeout: 1s}
probes:
  - name: health
    type: http
    request: {url: "http://127.0.0.1:$TESTBED_PORT/health"}
    objectives: {latency: {quantile: 0.95, threshold: 20ms}, error_ratio: 0.01}
  - name: failing
    type: http
    request: {url: "http://127.0.0.1:$TESTBED_PORT/loop"}
  - name: chat
    type: llm_stream
    api: openai
    url: "http://127.0.0.1:$TESTBED_PORT/v1/chat/completions"
    model: e2e-model
    prompt: Hi
    objectives: {ttft: {threshold: 250ms}, inter_chunk: {threshold: 50ms}, e2e: {threshold: 900ms}}
  - name: flow
    type: scenario
    steps:
      - name: login
        request:
          method: POST
          url: "http://127.0.0.1:$TESTBED_PORT/auth/login"
          json: {username: probe, password: probe-password}
        extract: {token: {json: /access_token}}
        cache: {ttl: 1m}
      - name: create
        request:
          method: POST
          url: "http://127.0.0.1:$TESTBED_PORT/agents"
          headers: {Authorization: "Bearer \${token}"}
          json: {name: e2e}
        extract: {id: {json: /id}}
      - name: broken
        request: {url: "http://127.0.0.1:$TESTBED_PORT/loop"}
      - name: delete
        always: true
        request:
          method: DELETE
          url: "http://127.0.0.1:$TESTBED_PORT/agents/\${id}"
          headers: {Authorization: "Bearer \${token}"}
YAML
start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"
have_runs() { [ "$(metric_value 'sloprobe_probe_runs_total{probe="failing"}')" != "" ] &&
  [ "$(metric_value 'sloprobe_probe_runs_total{probe="failing"}')" -ge 3 ]; }
wait_until 20 have_runs || fail "no runs recorded"

curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics" >"$E2E_DIR/metrics.txt"
if ! lint=$(promtool check metrics <"$E2E_DIR/metrics.txt" 2>&1); then
  fail "promtool check metrics: $lint"
fi
[ -z "$lint" ] || fail "promtool check metrics reported: $lint"
grep -q '^sloprobe_probe_failures_total{probe="failing",reason="http_status",step="request"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "failing probe not counted"
grep -q '^sloprobe_probe_failures_total{probe="flow",reason="http_status",step="broken"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "scenario failure not counted on its step"
grep -q '^sloprobe_step_duration_seconds_count{probe="flow",step="delete"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "cleanup step not measured"
grep -q '^sloprobe_scenario_logins_total{probe="flow",result="reused",step="login"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "cached login not reused"
grep -q '^sloprobe_llm_time_to_first_token_seconds_bucket{api="openai",model="e2e-model",probe="chat",le="0.25"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "LLM stream not measured, or its objective not a bucket bound"
grep -q '^sloprobe_llm_inter_chunk_seconds_count{api="openai",model="e2e-model",probe="chat"} [1-9]' "$E2E_DIR/metrics.txt" ||
  fail "LLM inter-chunk gaps not measured"
echo "promtool_metrics: 1 passed, 0 failed"
