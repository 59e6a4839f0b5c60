#!/usr/bin/env bash
# The example prometheus.yml and alertmanager.yml in alerts/examples are
# valid for the real tools, load the shipped rules, and route each severity
# where their comments say.
# Usage: example_configs.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
source=$(cd "$3" && pwd)
examples="$source/alerts/examples"
command -v promtool >/dev/null || fail "promtool not installed (run scripts/bootstrap.sh)"
command -v amtool >/dev/null || fail "amtool not installed (run scripts/bootstrap.sh)"

# The example points at where an operator copies the rules; point it at the
# shipped file so promtool checks the rules it loads too.
sed "s|/etc/prometheus/rules/sloprobe.rules.yml|$source/alerts/sloprobe.rules.yml|" \
  "$examples/prometheus.yml" >"$E2E_DIR/prometheus.yml"
grep -q "$source/alerts/sloprobe.rules.yml" "$E2E_DIR/prometheus.yml" || fail "rule_files path not found in the example"
out=$(promtool check config "$E2E_DIR/prometheus.yml" 2>&1) || fail "example prometheus.yml: $out"
echo "$out" | grep -q "SUCCESS: [0-9]* rules found" || fail "example prometheus.yml loaded no rules: $out"

out=$(amtool check-config "$examples/alertmanager.yml" 2>&1) || fail "example alertmanager.yml: $out"

# The example scrapes sloprobe where it listens by default (--help says
# where), under the job name SloprobeDown looks for.
port=$("$1" --help | sed -n 's/^ *--web.listen-address TEXT=:\([0-9]*\)$/\1/p')
[ -n "$port" ] || fail "no default port in sloprobe --help"
targets=$(awk '/job_name: sloprobe$/ { job = 1 } job && /targets:/ { print; exit }' "$examples/prometheus.yml")
echo "$targets" | grep -qE "\[\"[^\"]+:$port\"\]" ||
  fail "the example's sloprobe job scrapes $targets, not sloprobe's default port $port"
grep -qF "[{targets: [\"localhost:$port\"]}]" "$source/docs/alerting.md" ||
  fail "docs/alerting.md does not scrape sloprobe's default port $port"
# The quick start's prometheus.yml, as written but for where the rules are.
python3 "$(dirname "$0")/doc_blocks.py" "$source/docs/quickstart.md" quickstart-prometheus |
  sed "s|/usr/share/sloprobe/alerts/sloprobe.rules.yml|$source/alerts/sloprobe.rules.yml|" \
    >"$E2E_DIR/quickstart-prometheus.yml"
out=$(promtool check config "$E2E_DIR/quickstart-prometheus.yml" 2>&1) || fail "quickstart.md's prometheus.yml: $out"
echo "$out" | grep -q "SUCCESS: [0-9]* rules found" || fail "quickstart.md's prometheus.yml loads no rules: $out"
grep -qE "targets: \[\"[^\"]+:$port\"\]" "$E2E_DIR/quickstart-prometheus.yml" ||
  fail "quickstart.md's prometheus.yml does not scrape sloprobe's default port $port"

route() {
  amtool config routes test --config.file "$examples/alertmanager.yml" "$@" 2>/dev/null
}
expect_route() {
  local want=$1
  shift
  local got
  got=$(route "$@")
  [ "$got" = "$want" ] || fail "labels $* route to '$got', want '$want'"
}
expect_route on-call-pager alertname=SloprobeErrorBudgetBurnFast severity=critical probe=login
expect_route on-call-pager alertname=SloprobeDown severity=critical
expect_route slo-tickets alertname=SloprobeErrorBudgetBurnSlow severity=warning probe=login
expect_route slo-tickets alertname=SloprobeLatencyObjectiveBreached severity=warning probe=health
expect_route slo-channel alertname=SloprobeLatencyRegression severity=info probe=health
echo "example_configs: 1 passed, 0 failed"
