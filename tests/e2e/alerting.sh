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
serve_on_free_port alertmanager prometheus-alertmanager \
  --config.file "$E2E_DIR/alertmanager.yml" --storage.path "$E2E_DIR/alertmanager" \
  --web.listen-address "127.0.0.1:@PORT@" --cluster.listen-address=
am_port=$PORT

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
start_prometheus "$E2E_DIR/prometheus.yml" --rules.alert.resend-delay 1s
prom_port=$PROM_PORT

received() { python3 "$(dirname "$0")/alert_received.py" "$notifications" "$@"; }
explain() {
  echo "--- notifications:"; cat "$notifications" 2>/dev/null || true
  echo "--- active alerts:"; curl -s "http://127.0.0.1:$prom_port/api/v1/alerts" || true
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

# fire_and_resolve ALERTNAME PROBE FAULTS: with FAULTS in the testbed the
# alert reaches the webhook firing for PROBE; without them, resolved.
fire_and_resolve() {
  local alert=$1 probe=$2
  curl -sf -X PUT --data-binary "$3" "http://127.0.0.1:$TESTBED_PORT/admin/faults" >/dev/null
  wait_until 60 received "$alert" "$probe" firing || { explain; fail "$alert did not arrive firing"; }
  curl -sf -X DELETE "http://127.0.0.1:$TESTBED_PORT/admin/faults" >/dev/null
  wait_until 60 received "$alert" "$probe" resolved || { explain; fail "$alert did not arrive resolved"; }
}
# Every /health answer 120 ms late against a 50 ms objective.
fire_and_resolve SloprobeLatencyObjectiveBreached latency '- {route: /health, delay: 120ms}'
# Every /echo answers 503 against a 5 % objective.
fire_and_resolve SloprobeErrorRateHigh errors '- {route: /echo, error_ratio: 1, error_status: 503}'

echo "alerting: 1 passed, 0 failed"
