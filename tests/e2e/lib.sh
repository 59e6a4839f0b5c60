# Shared helpers for the end-to-end tests. Every process started here is
# killed on exit; every wait is bounded.
set -euo pipefail

E2E_DIR=$(mktemp -d /tmp/sloprobe-e2e.XXXXXX)
E2E_PIDS=()

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$E2E_DIR"
}
trap e2e_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_rc COMMAND...: runs COMMAND and sets RC to its exit status, which
# may be anything (set -e stays on for the rest).
run_rc() {
  RC=0
  "$@" || RC=$?
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds.
wait_until() {
  local limit=$1
  shift
  local tries=$((limit * 5))
  while [ "$tries" -gt 0 ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
    tries=$((tries - 1))
  done
  return 1
}

# A port that was free a moment ago, for third-party servers that cannot
# report the port they bound when given port 0.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# serve_on_free_port NAME COMMAND...: for third-party servers that cannot
# report a port they picked themselves. Runs COMMAND with every "@PORT@"
# replaced by a free port until http://127.0.0.1:PORT/-/ready answers, trying
# three ports at most; sets PORT. Output goes to $E2E_DIR/NAME.log.
serve_on_free_port() {
  local name=$1
  shift
  local attempt pid
  for attempt in 1 2 3; do
    PORT=$(free_port)
    "${@//@PORT@/$PORT}" >"$E2E_DIR/$name.log" 2>&1 &
    pid=$!
    E2E_PIDS+=($pid)
    if wait_until 30 curl -sf "http://127.0.0.1:$PORT/-/ready"; then return 0; fi
    kill "$pid" 2>/dev/null || true
  done
  fail "$name did not start: $(tail -5 "$E2E_DIR/$name.log")"
}

# start_prometheus CONFIG [ARGS...]: a Prometheus server with its data in
# $E2E_DIR/data, on a free port; sets PROM_PORT.
start_prometheus() {
  local config=$1
  shift
  serve_on_free_port prometheus prometheus --config.file "$config" \
    --storage.tsdb.path "$E2E_DIR/data" --web.listen-address "127.0.0.1:@PORT@" "$@"
  PROM_PORT=$PORT
}

# start_prometheus_for_sloprobe: a Prometheus server scraping the sloprobe
# that start_sloprobe started (job "sloprobe") every second; sets PROM_PORT.
start_prometheus_for_sloprobe() {
  cat >"$E2E_DIR/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: sloprobe
    static_configs: [{targets: ["127.0.0.1:$SLOPROBE_PORT"]}]
YAML
  start_prometheus "$E2E_DIR/prometheus.yml"
}

# query PROMQL: the JSON answer of an instant query to that server.
query() {
  curl -sf --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}

# start_testbed BINARY [ARGS...]: sets TESTBED_PORT.
start_testbed() {
  local bin=$1
  shift
  "$bin" --listen 127.0.0.1:0 --port-file "$E2E_DIR/testbed.port" "$@" >"$E2E_DIR/testbed.log" 2>&1 &
  E2E_PIDS+=($!)
  wait_until 10 test -s "$E2E_DIR/testbed.port" || fail "testbed did not start: $(cat "$E2E_DIR/testbed.log")"
  TESTBED_PORT=$(cat "$E2E_DIR/testbed.port")
}

# start_sloprobe BINARY CONFIG [ARGS...]: listens on 127.0.0.1:0 and sets
# SLOPROBE_PORT from its "listening" log line.
start_sloprobe() {
  local bin=$1 config=$2
  shift 2
  "$bin" --config.file "$config" --web.listen-address 127.0.0.1:0 "$@" >"$E2E_DIR/sloprobe.log" 2>&1 &
  SLOPROBE_PID=$!
  E2E_PIDS+=($SLOPROBE_PID)
  wait_until 10 grep -q 'msg=listening' "$E2E_DIR/sloprobe.log" ||
    fail "sloprobe did not start: $(cat "$E2E_DIR/sloprobe.log")"
  SLOPROBE_PORT=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$E2E_DIR/sloprobe.log" | head -n1)
  [ -n "$SLOPROBE_PORT" ] || fail "no port in: $(cat "$E2E_DIR/sloprobe.log")"
}

# metric_value NAME_AND_LABELS: the value of one sample on sloprobe's /metrics.
metric_value() {
  curl -sf "http://127.0.0.1:$SLOPROBE_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
