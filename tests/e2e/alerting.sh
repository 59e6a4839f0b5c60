#!/usr/bin/env bash
# The shipped alert rules end to end: testbed <- sloprobe <- Prometheus (the
# rules, 1 s evaluation) -> Alertmanager -> a webhook this test runs.
# Injected latency makes SloprobeLatencyObjectiveBreached arrive, firing then
# resolved, for the right probe and with its runbook; injected errors do the
# same for SloprobeErrorRateHigh.
#
# The rules are the shipped file rewritten, not a copy: 5-minute windows
# become 10 s, every "for" 2 s, group intervals 1 s.
# Usage: alerting.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2 source=$3
command -v prometheus >/dev/null || fail "prometheus not installed (run scripts/bootstrap.sh)"
command -v prometheus-alertmanager >/dev/null ||
  fail "prometheus-alertmanager not installed (run scripts/bootstrap.sh)"

# --- rules, derived from the shipped file
rules="$E2E_DIR/sloprobe.rules.yml"
sed -E -e 's/\[5m\]/[10s]/g' \
  -e 's/^( *)for: .*/\1for: 2s/' \
  -e 's/^( *)interval: .*/\1interval: 1s/' \
  "$source/alerts/sloprobe.rules.yml" >"$rules"
# The rewrite must have hit what it aims at, or the test would wait on the
# real 5-minute windows and prove nothing.
[ "$(grep -c "\[10s\]" "$rules")" -ge 3 ] || fail "no 5m windows rewritten in $rules"
! grep -Eq 'for: [^2]|\[5m\]' "$rules" || fail "rewrite left a long window or for in $rules"
promtool check rules "$rules" >/dev/null || fail "rewritten rules do not load: $(promtool check rules "$rules" 2>&1)"

# --- testbed and sloprobe
start_testbed "$testbed"
cat >"$E2E_DIR/sloprobe.yml" <<YAML
global: {interval: 200ms, timeout: 2s}
probes:
  - name: latency
    type: http
    request: {url: "http://127.0.0.1:$TESTBED_PORT/health"}
    objectives: {latency: {quantile: 0.9, threshold: 50ms}}
  - name: errors
    type: http
    request: {url: "http://127.0.0.1:$TESTBED_PORT/echo"}
    objectives: {error_ratio: 0.05}
YAML
start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"

# --- webhook receiver (exits by itself after 5 minutes)
notifications="$E2E_DIR/notifications.jsonl"
python3 "$(dirname "$0")/webhook_receiver.py" "$E2E_DIR/webhook.port" "$notifications" 300 \
  >"$E2E_DIR/webhook.log" 2>&1 &
E2E_PIDS+=($!)
wait_until 10 test -s "$E2E_DIR/webhook.port" || fail "webhook receiver did not start: $(cat "$E2E_DIR/webhook.log")"
webhook_port=$(cat "$E2E_DIR/webhook.port")

# --- Alertmanager: every alert to the webhook at once, resolved ones too
cat >"$E2E_DIR/alertmanager.yml" <<YAML
route:
  receiver: webhook
  group_by: [alertname, probe]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: "http://127.0.0.1:$webhook_port/"
        send_resolved: true
YAML
# Neither server can report a port it picked itself: try a few free ones.
for attempt in 1 2 3; do
  am_port=$(free_port)
  prometheus-alertmanager --config.file "$E2E_DIR/alertmanager.yml" \
    --storage.path "$E2E_DIR/alertmanager" --web.listen-address "127.0.0.1:$am_port" \
    --cluster.listen-address= >"$E2E_DIR/alertmanager.log" 2>&1 &
  am_pid=$!
  E2E_PIDS+=($am_pid)
  if wait_until 20 curl -sf "http://127.0.0.1:$am_port/-/ready"; then break; fi
  kill "$am_pid" 2>/dev/null || true
  [ "$attempt" -lt 3 ] || fail "alertmanager did not start: $(tail -5 "$E2E_DIR/alertmanager.log")"
done

# --- Prometheus with the rules, sending to that Alertmanager
cat >"$E2E_DIR/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$rules"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$am_port"]}]
scrape_configs:
  - job_name: sloprobe
    static_configs: [{targets: ["127.0.0.1:$SLOPROBE_PORT"]}]
YAML
for attempt in 1 2 3; do
  prom_port=$(free_port)
  prometheus --config.file "$E2E_DIR/prometheus.yml" --storage.tsdb.path "$E2E_DIR/data" \
    --web.listen-address "127.0.0.1:$prom_port" --rules.alert.resend-delay 1s \
    >"$E2E_DIR/prometheus.log" 2>&1 &
  prom_pid=$!
  E2E_PIDS+=($prom_pid)
  if wait_until 30 curl -sf "http://127.0.0.1:$prom_port/-/ready"; then break; fi
  kill "$prom_pid" 2>/dev/null || true
  [ "$attempt" -lt 3 ] || fail "prometheus did not start: $(tail -5 "$E2E_DIR/prometheus.log")"
done

received() { python3 "$(dirname "$0")/alert_received.py" "$notifications" "$@"; }
explain() {
  echo "--- notifications:"; cat "$notifications" 2>/dev/null || true
  echo "--- active alerts:"; curl -s "http://127.0.0.1:$prom_port/api/v1/alerts" || true
}
faults() { curl -sf -X PUT --data-binary "$1" "http://127.0.0.1:$TESTBED_PORT/admin/faults" >/dev/null; }
clear_faults() { curl -sf -X DELETE "http://127.0.0.1:$TESTBED_PORT/admin/faults" >/dev/null; }

query() {
  curl -sf --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"
}
# Healthy first: once both probes have enough runs in the window for the
# alerts to be able to fire, neither is firing or even pending.
enough_runs() {
  query 'count(sloprobe:probe_runs:increase5m{probe=~"latency|errors"} >= 10) == 2' |
    grep -q '"value":\['
}
wait_until 60 enough_runs || { explain; fail "the probes never had 10 runs in a window"; }
# The objective alerts are evaluated in their own group: read their state
# from an evaluation that started a second after the runs were there.
since=$(($(date +%s) + 1))
states() { python3 "$(dirname "$0")/rule_states.py" "http://127.0.0.1:$prom_port" sloprobe-objectives "$since"; }
wait_until 30 states || fail "the objective rules were not evaluated"
states | grep -v ' inactive$' && fail "an objective alert is pending or firing before any fault"

# --- latency: every /health answer 120 ms late against a 50 ms objective
faults '- {route: /health, delay: 120ms}'
wait_until 60 received SloprobeLatencyObjectiveBreached latency firing ||
  { explain; fail "SloprobeLatencyObjectiveBreached did not arrive firing"; }
clear_faults
wait_until 60 received SloprobeLatencyObjectiveBreached latency resolved ||
  { explain; fail "SloprobeLatencyObjectiveBreached did not arrive resolved"; }

# --- errors: every /echo answers 503 against a 5 % objective
faults '- {route: /echo, error_ratio: 1, error_status: 503}'
wait_until 60 received SloprobeErrorRateHigh errors firing ||
  { explain; fail "SloprobeErrorRateHigh did not arrive firing"; }
clear_faults
wait_until 60 received SloprobeErrorRateHigh errors resolved ||
  { explain; fail "SloprobeErrorRateHigh did not arrive resolved"; }

echo "alerting: 1 passed, 0 failed"
