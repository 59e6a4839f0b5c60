#!/usr/bin/env bash
# config/examples/demo.yml against the testbed started as scripts/demo.sh
# starts it (on a free port): the chained scenarios (login -> streamed chat
# with the token, login -> WebSocket with the token) meet their objectives
# in `sloprobe check`, and their step series reach /metrics.
# Usage: demo_config.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2 source=$(cd "$3" && pwd)
export PLATFORM_PASSWORD=probe-password
export SLOPROBE_DEMO_API_KEY=demo-api-key
export SLOPROBE_DEMO_LLM_KEY=sk-demo-llm-key
start_testbed "$testbed" --user "probe:$PLATFORM_PASSWORD" --api-key "$SLOPROBE_DEMO_API_KEY" \
  --llm-api-key "$SLOPROBE_DEMO_LLM_KEY" --stream "$source/testbed/demo-stream.yml" \
  --faults "$source/testbed/demo-faults.yml"
sed "s|127\.0\.0\.1:9002|127.0.0.1:$TESTBED_PORT|g" "$source/config/examples/demo.yml" >"$E2E_DIR/demo.yml"
grep -q "127.0.0.1:$TESTBED_PORT/agent/v1/chat/completions" "$E2E_DIR/demo.yml" || fail "no agent chat in demo.yml"
passed=0
ok() { passed=$((passed + 1)); }

timeout 60 "$sloprobe" check --config.file "$E2E_DIR/demo.yml" --runs 3 --probe agent-chat \
  --probe agent-socket --output json >"$E2E_DIR/check.json" ||
  fail "the chained demo scenarios must pass: $(cat "$E2E_DIR/check.json")"
python3 - "$E2E_DIR/check.json" <<'PY' || fail "check JSON: $(cat "$E2E_DIR/check.json")"
import json, sys
r = json.load(open(sys.argv[1]))
probes = {p["name"]: p for p in r["probes"]}
chat, socket = probes["agent-chat"], probes["agent-socket"]
assert chat["type"] == "scenario" and chat["failures"] == 0, chat
assert [o["objective"] for o in chat["objectives"]] == ["ttft", "inter_chunk", "error_ratio"], chat
# The stream step's samples are judged: the testbed's first token takes 150-250 ms.
ttft = chat["objectives"][0]
assert ttft["met"] and 0.15 <= ttft["observed"] < 0.5, ttft
assert socket["failures"] == 0 and socket["objectives"][0]["objective"] == "round_trip", socket
assert 0.02 <= socket["objectives"][0]["observed"] < 0.1, socket
PY
ok

# The daemon exports the steps' series with their step label (that tokens
# never leak is integration.Secrets.*).
start_sloprobe "$sloprobe" "$E2E_DIR/demo.yml"
chat='api="openai",model="demo-agent",probe="agent-chat",step="chat"'
wait_until 30 sh -c "curl -sf http://127.0.0.1:$SLOPROBE_PORT/metrics |
  grep -q '^sloprobe_llm_time_to_first_token_seconds_count{$chat} [1-9]'" ||
  fail "no TTFT of the chat step: $(curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics" | grep agent-chat | head)"
wait_until 30 sh -c "curl -sf http://127.0.0.1:$SLOPROBE_PORT/metrics |
  grep -q '^sloprobe_websocket_round_trip_seconds_count{probe=\"agent-socket\",step=\"events\"} [1-9]'" ||
  fail "no round trips of the events step"
curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics" >"$E2E_DIR/metrics.txt"
grep -q "^sloprobe_objective_ttft_seconds{probe=\"agent-chat\"} 0.5$" "$E2E_DIR/metrics.txt" ||
  fail "no ttft objective for agent-chat"
ok

echo "demo_config: $passed passed, 0 failed"
