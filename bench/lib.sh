# Helpers shared by the benchmarks: the end-to-end test helpers plus CPU
# accounting from /proc.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/lib.sh"

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# CPU seconds spent in the kernel on behalf of a process so far.
cpu_system_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print $13 / hz }' "/proc/$1/stat"
}

# Resident memory of a process in bytes.
rss_bytes() {
  awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"
}

# sum_metric PORT NAME: the sum of every sample called NAME on /metrics.
sum_metric() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($1, m "{") == 1 || $1 == m { s += $2 } END { printf "%.0f\n", s }'
}

# nginx_requests: requests nginx has served so far.
nginx_requests() {
  curl -sf "http://127.0.0.1:$NGINX_PORT/nginx_status" | awk 'NR == 3 { print $3 }'
}

# start_nginx: a minimal nginx answering GET /health with 200 "ok" on a free
# port, and taking POST /v1/metrics of any size as an OTLP sink (200, body
# discarded); room for 30,000 connections; /nginx_status counts requests
# (nginx_requests); files put in $E2E_DIR/nginx/static are served under
# /static/. Sets NGINX_PORT.
start_nginx() {
  NGINX_PORT=$(free_port)
  mkdir -p "$E2E_DIR/nginx/static"
  # Run as root, nginx's workers are `nobody`: they may pass through to the
  # files it serves, and read nothing else of the run's directory.
  chmod o+x "$E2E_DIR" "$E2E_DIR/nginx" "$E2E_DIR/nginx/static"
  cat >"$E2E_DIR/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 65536;
pid $E2E_DIR/nginx/nginx.pid;
error_log $E2E_DIR/nginx/error.log;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $E2E_DIR/nginx;
  proxy_temp_path $E2E_DIR/nginx;
  fastcgi_temp_path $E2E_DIR/nginx;
  uwsgi_temp_path $E2E_DIR/nginx;
  scgi_temp_path $E2E_DIR/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
    location /health { return 200 "ok\n"; }
    location /v1/metrics { client_max_body_size 0; return 200; }
    location = /nginx_status { stub_status; }
    location /static/ { alias $E2E_DIR/nginx/static/; }
  }
}
CONF
  nginx -c "$E2E_DIR/nginx/nginx.conf" -g 'daemon off;' &
  E2E_PIDS+=($!)
  wait_until 10 curl -sf "http://127.0.0.1:$NGINX_PORT/health" || fail "nginx did not start"
}

# start_blackbox: prometheus-blackbox-exporter with one module, http_2xx (a
# GET on a new connection per probe, 2 s timeout), on a free port; sets
# BB_PORT and BB_PID.
start_blackbox() {
  BB_PORT=$(free_port)
  cat >"$E2E_DIR/blackbox.yml" <<YAML
modules:
  http_2xx: {prober: http, timeout: 2s, http: {method: GET}}
YAML
  prometheus-blackbox-exporter --config.file "$E2E_DIR/blackbox.yml" \
    --web.listen-address "127.0.0.1:$BB_PORT" --log.level error >"$E2E_DIR/blackbox.log" 2>&1 &
  BB_PID=$!
  E2E_PIDS+=($BB_PID)
  wait_until 10 curl -sf "http://127.0.0.1:$BB_PORT/-/healthy" || fail "blackbox_exporter did not start"
}
