#!/usr/bin/env bash
# `sloprobe reload`, the unit's ExecReload=, against a daemon started as
# systemd starts it ($RUNTIME_DIRECTORY set): exit 0 with a summary for a good
# file, exit 1 with the located errors for a bad one while the running
# configuration keeps serving, exit 2 without sending anything for a process
# that is not a sloprobe reporting there.
# Usage: reload_client.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1
runtime="$E2E_DIR/run"
mkdir -m 0700 "$runtime"
cat >"$E2E_DIR/sloprobe.yml" <<'YAML'
probes:
  - {name: self, type: http, interval: 1s, request: {url: "http://127.0.0.1:1/"}}
YAML
RUNTIME_DIRECTORY=$runtime start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"
wait_until 10 test -s "$runtime/reload.json" || fail "no $runtime/reload.json after start"

reload() {
  set +e
  RUNTIME_DIRECTORY=$runtime "$sloprobe" reload --pid "$1" --timeout 10s >"$E2E_DIR/out" 2>"$E2E_DIR/err"
  rc=$?
  set -e
}

cat >>"$E2E_DIR/sloprobe.yml" <<'YAML'
  - {name: second, type: http, interval: 1s, request: {url: "http://127.0.0.1:1/"}}
YAML
reload "$SLOPROBE_PID"
[ "$rc" -eq 0 ] || fail "good reload: exit $rc: $(cat "$E2E_DIR/err")"
grep -qx 'configuration reloaded: 1 unchanged, 0 changed, 1 added, 0 removed' "$E2E_DIR/out" ||
  fail "good reload printed: $(cat "$E2E_DIR/out")"

printf 'probes:\n  - name: broken\n    type: http\n    intervl: 1s\n' >"$E2E_DIR/sloprobe.yml"
reload "$SLOPROBE_PID"
[ "$rc" -eq 1 ] || fail "bad reload: exit $rc, want 1"
grep -qF "$E2E_DIR/sloprobe.yml:4:5: unknown key 'intervl'" "$E2E_DIR/err" ||
  fail "bad reload does not say where: $(cat "$E2E_DIR/err")"
grep -qF 'the running configuration is unchanged' "$E2E_DIR/err" || fail "$(cat "$E2E_DIR/err")"
[ "$(metric_value 'sloprobe_config_last_reload_successful')" = 0 ] || fail "reload not marked failed"
curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics" | grep -q 'sloprobe_probe_runs_total{probe="second"}' ||
  fail "the running configuration was not kept"

# A process that is not sloprobe is never signalled.
sleep 600 &
other=$!
E2E_PIDS+=($other)
reload "$other"
[ "$rc" -eq 2 ] || fail "reload of another process: exit $rc, want 2"
kill -0 "$other" || fail "the other process was signalled"
reload 999999999
[ "$rc" -eq 2 ] || fail "reload of no process: exit $rc, want 2"
echo "reload_client: 1 passed, 0 failed"
