#!/usr/bin/env bash
# `sloprobe check`, the one-shot gate a pipeline runs: its table, its JSON,
# its exit codes (0 met, 1 breached, 2 cannot run) and that it keeps
# secrets out of what it prints.
# Usage: oneshot_check.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2

cat >"$E2E_DIR/faults.yml" <<'YAML'
- route: "GET /echo"
  delay: 30ms
YAML
start_testbed "$testbed" --faults "$E2E_DIR/faults.yml"
base="http://127.0.0.1:$TESTBED_PORT"
export CHECK_TOKEN="tok-$RANDOM$RANDOM-secret"
cat >"$E2E_DIR/check.yml" <<YAML
secrets:
  token: {env: CHECK_TOKEN}
probes:
  - name: health
    type: http
    request: {url: "$base/health"}
    objectives: {latency: {quantile: 0.95, threshold: 500ms}, error_ratio: 0.01}
  - name: slow
    type: http
    request: {url: "$base/echo"}
    objectives: {latency: {quantile: 0.9, threshold: 10ms}, error_ratio: 0.5}
  - name: leaky
    type: http
    request: {url: "$base/echo", headers: {Authorization: "Bearer \${secrets.token}"}}
    expect: {json: [{pointer: /headers/Authorization, equals: "Bearer nothing"}]}
  - name: chat
    type: llm_stream
    api: openai
    url: "$base/v1/chat/completions"
    model: m
    prompt: hello
    objectives: {ttft: {quantile: 0.95, threshold: 2s}}
YAML
passed=0
ok() { passed=$((passed + 1)); }
run() { timeout 60 "$sloprobe" check --config.file "$E2E_DIR/check.yml" "$@"; }

# The table: every probe, a breach, exit 1.
set +e
run --runs 4 >"$E2E_DIR/table.txt" 2>"$E2E_DIR/table.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a breach must exit 1, got $rc: $(cat "$E2E_DIR/table.txt" "$E2E_DIR/table.err")"
grep -Eq '^health +http +4 +0\.0% .* PASS$' "$E2E_DIR/table.txt" || fail "health row: $(cat "$E2E_DIR/table.txt")"
grep -Eq '^slow +http +4 +0\.0% .* FAIL$' "$E2E_DIR/table.txt" || fail "slow row: $(cat "$E2E_DIR/table.txt")"
grep -q 'BREACH  latency p90 <= 10ms' "$E2E_DIR/table.txt" || fail "slow breach: $(cat "$E2E_DIR/table.txt")"
grep -Eq '^chat +llm_stream +4 .* PASS$' "$E2E_DIR/table.txt" || fail "chat row: $(cat "$E2E_DIR/table.txt")"
grep -q 'ok      ttft p95 <= 2s' "$E2E_DIR/table.txt" || fail "chat ttft: $(cat "$E2E_DIR/table.txt")"
grep -q 'last failure: expectation' "$E2E_DIR/table.txt" || fail "leaky failure: $(cat "$E2E_DIR/table.txt")"
grep -q '^2 of 4 probes met their objectives$' "$E2E_DIR/table.txt" || fail "summary: $(cat "$E2E_DIR/table.txt")"
ok
# The target echoes the token back and the failure quotes it: redacted.
grep -q 'is "Bearer <redacted>"' "$E2E_DIR/table.txt" || fail "leaky detail: $(grep 'last failure' "$E2E_DIR/table.txt")"
if grep -q "$CHECK_TOKEN" "$E2E_DIR/table.txt" "$E2E_DIR/table.err"; then
  fail "the secret is in the report: $(grep "$CHECK_TOKEN" "$E2E_DIR/table.txt")"
fi
ok

# JSON for one probe that meets its objectives: exit 0.
run --runs 3 --probe health --output json >"$E2E_DIR/health.json" || fail "health alone must pass"
python3 - "$E2E_DIR/health.json" <<'PY' || fail "health JSON: $(cat "$E2E_DIR/health.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is True, r
[p] = r["probes"]
assert p["name"] == "health" and p["runs"] == 3 and p["failures"] == 0, p
d = p["duration_seconds"]
assert 0 < d["p50"] <= d["p95"] <= d["p99"] < 0.5, d
assert [o["objective"] for o in p["objectives"]] == ["latency", "error_ratio"], p["objectives"]
assert all(o["met"] for o in p["objectives"]), p["objectives"]
PY
ok

# JSON of a breach: the measured quantile and share of slow runs.
set +e
run --runs 3 --probe slow --output json >"$E2E_DIR/slow.json"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "slow alone must exit 1, got $rc"
python3 - "$E2E_DIR/slow.json" <<'PY' || fail "slow JSON: $(cat "$E2E_DIR/slow.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is False, r
latency = r["probes"][0]["objectives"][0]
assert latency["objective"] == "latency" and latency["met"] is False, latency
assert latency["observed"] >= 0.03 and latency["slow_ratio"] == 1.0, latency
PY
ok

# --duration: runs until the time is up, --pause apart (about 5 in 1 s).
run --duration 1s --pause 200ms --probe health --output json >"$E2E_DIR/duration.json" || fail "duration run failed"
runs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["probes"][0]["runs"])' "$E2E_DIR/duration.json")
[ "$runs" -ge 3 ] && [ "$runs" -le 7 ] || fail "--duration 1s --pause 200ms made $runs runs"
ok

# Cannot run: exit 2 with a located error.
printf 'probes:\n  - name: x\n    type: http\n    intervl: 1s\n' >"$E2E_DIR/bad.yml"
set +e
timeout 30 "$sloprobe" check --config.file "$E2E_DIR/bad.yml" >/dev/null 2>"$E2E_DIR/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a bad config must exit 2, got $rc"
grep -q "bad.yml:4:5: unknown key 'intervl'" "$E2E_DIR/bad.err" || fail "bad config error: $(cat "$E2E_DIR/bad.err")"
set +e
run --probe nosuch >/dev/null 2>"$E2E_DIR/nosuch.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an unknown probe must exit 2, got $rc"
grep -q "no probe named 'nosuch'" "$E2E_DIR/nosuch.err" || fail "unknown probe error: $(cat "$E2E_DIR/nosuch.err")"
ok

echo "oneshot_check: $passed passed, 0 failed"
