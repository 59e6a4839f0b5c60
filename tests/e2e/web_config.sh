#!/usr/bin/env bash
# --web.config.file: TLS, client certificates and basic authentication on
# sloprobe's own endpoints, driven with curl. blackbox_exporter reads the same
# file (the exporter-toolkit format) and must answer every case the same way;
# a real Prometheus scrapes over TLS with basic auth; certificates rotate
# without a restart; a bad file is refused with its location.
# Usage: web_config.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1
for tool in openssl curl prometheus-blackbox-exporter prometheus python3; do
  command -v "$tool" >/dev/null || fail "$tool not installed (run scripts/bootstrap.sh)"
done
d=$E2E_DIR
passed=0

# --- certificates: two CAs, a server certificate for 127.0.0.1, client
# certificates with and without the allowed SAN, and one from the other CA.
ca() { # NAME
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$d/$1.key" -out "$d/$1.crt" 2>/dev/null
}
leaf() { # NAME CA SAN [EKU]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "${4:-serverAuth,clientAuth}" >"$d/$1.ext"
  openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" -CAcreateserial \
    -days 1 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
}
ca ca-a
ca ca-b
leaf server ca-a "IP:127.0.0.1,DNS:localhost"
leaf server-b ca-b "IP:127.0.0.1,DNS:localhost"
leaf client-ok ca-a "URI:spiffe://monitoring/prometheus"
leaf client-other-san ca-a "URI:spiffe://monitoring/someone-else"
leaf client-other-ca ca-b "URI:spiffe://monitoring/prometheus"

hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("scrape-pw-4f1e", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')

# Relative paths: resolved against the file's own directory.
cat >"$d/web-auth.yml" <<YAML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: $hash
YAML
# Its own copy of the server certificate: the one above gets rotated.
cp "$d/server.crt" "$d/mtls.crt" && cp "$d/server.key" "$d/mtls.key"
cat >"$d/web-mtls.yml" <<YAML
tls_server_config:
  cert_file: $d/mtls.crt
  key_file: $d/mtls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $d/ca-a.crt
  min_version: TLS13
YAML
# Newer than the exporter-toolkit in Debian's blackbox_exporter: sloprobe only.
cat "$d/web-mtls.yml" - >"$d/web-sans.yml" <<YAML
  client_allowed_sans: ["spiffe://monitoring/prometheus"]
YAML
cat >"$d/sloprobe.yml" <<YAML
global: {interval: 1s, timeout: 200ms}
probes:
  - {name: refused, type: http, request: {url: "http://127.0.0.1:1/"}}
YAML
cat >"$d/blackbox.yml" <<YAML
modules:
  http_2xx: {prober: http}
YAML

# start_web NAME WEBCONFIG: sloprobe with a web configuration; sets S_PORT.
start_web() {
  local name=$1 web=$2
  "$sloprobe" --config.file "$d/sloprobe.yml" --web.listen-address 127.0.0.1:0 \
    --web.config.file "$web" >"$d/sloprobe-$name.log" 2>&1 &
  E2E_PIDS+=($!)
  wait_until 10 grep -q 'msg=listening' "$d/sloprobe-$name.log" ||
    fail "sloprobe did not start with $web: $(cat "$d/sloprobe-$name.log")"
  S_PORT=$(sed -n 's/.*msg=listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/sloprobe-$name.log")
}

# start_pair NAME WEBCONFIG: sloprobe and blackbox_exporter with the same web
# configuration; sets S_PORT and B_PORT.
start_pair() {
  local name=$1 web=$2 attempt pid
  start_web "$name" "$web"
  for attempt in 1 2 3; do
    B_PORT=$(free_port)
    prometheus-blackbox-exporter --config.file "$d/blackbox.yml" \
      --web.listen-address "127.0.0.1:$B_PORT" --web.config.file "$web" \
      >"$d/blackbox-$name.log" 2>&1 &
    pid=$!
    E2E_PIDS+=($pid)
    if wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$B_PORT"; then return 0; fi
    kill "$pid" 2>/dev/null || true
  done
  fail "blackbox_exporter did not start: $(tail -5 "$d/blackbox-$name.log")"
}

# code PORT PATH CURL_ARGS...: the HTTP status, or 000 when the connection
# or the handshake failed.
code() {
  local port=$1 path=$2
  shift 2
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "https://127.0.0.1:$port$path" || true
}

# same NAME EXPECTED CURL_ARGS...: both servers answer EXPECTED.
same() {
  local name=$1 want=$2
  shift 2
  local s b
  s=$(code "$S_PORT" /metrics "$@")
  b=$(code "$B_PORT" /metrics "$@")
  [ "$s" = "$want" ] || fail "$name: sloprobe answered $s, want $want"
  [ "$b" = "$want" ] || fail "$name: blackbox_exporter answered $b, want $want (the reference)"
  passed=$((passed + 1))
}

# --- TLS with basic authentication
start_pair auth "$d/web-auth.yml"
ca_a=(--cacert "$d/ca-a.crt")
same "right user and password" 200 "${ca_a[@]}" -u prometheus:scrape-pw-4f1e
same "no credentials" 401 "${ca_a[@]}"
same "wrong password" 401 "${ca_a[@]}" -u prometheus:wrong
same "unknown user" 401 "${ca_a[@]}" -u nobody:scrape-pw-4f1e
same "empty password" 401 "${ca_a[@]}" -u prometheus:
same "not base64" 401 "${ca_a[@]}" -H 'Authorization: Basic !!!not-base64'
same "no colon" 401 "${ca_a[@]}" -H "Authorization: Basic $(printf prometheus | base64)"
same "bearer instead of basic" 401 "${ca_a[@]}" -H 'Authorization: Bearer scrape-pw-4f1e'
same "a CA that did not sign the server" 000 --cacert "$d/ca-b.crt" -u prometheus:scrape-pw-4f1e

# Details only sloprobe is checked for.
headers=$(curl -s -D - -o /dev/null "${ca_a[@]}" "https://127.0.0.1:$S_PORT/metrics")
echo "$headers" | grep -qi '^www-authenticate: Basic' || fail "401 without a Basic challenge: $headers"
echo "$headers" | grep -qi '^x-content-type-options: nosniff' || fail "configured header missing: $headers"
body=$(curl -s -u prometheus:scrape-pw-4f1e "${ca_a[@]}" "https://127.0.0.1:$S_PORT/metrics")
echo "$body" | grep -q '^sloprobe_probe_runs_total{probe="refused"}' || fail "no metrics over TLS: $body"
# HTTP/1.0 has no chunks: the end of the connection ends the body, so the
# server must end TLS with close_notify or a client could not tell a whole
# body from a cut-off one (Python raises on an end without it here).
ended=$(python3 - "$S_PORT" "$d/ca-a.crt" "$(printf prometheus:scrape-pw-4f1e | base64)" <<'PY'
import socket, ssl, sys
port, ca, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                     server_hostname="127.0.0.1", suppress_ragged_eofs=False) as s:
    s.sendall(f"GET /metrics HTTP/1.0\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ssl.SSLEOFError:
        print("no close_notify")
        sys.exit()
print("whole" if b'\nsloprobe_probe_runs_total{probe="refused"}' in data and data.endswith(b"\n") else "short")
PY
)
[ "$ended" = whole ] || fail "HTTP/1.0 scrape over TLS: $ended"
plain=$(curl -s --max-time 5 "http://127.0.0.1:$S_PORT/metrics" || true)
echo "$plain" | grep -q 'HTTP request to an HTTPS server' || fail "plain HTTP to the TLS port: '$plain'"
[ "$(code "$S_PORT" /-/reload "${ca_a[@]}" -X POST)" = 401 ] || fail "lifecycle endpoint without credentials"
[ "$(code "$S_PORT" /-/reload "${ca_a[@]}" -u prometheus:scrape-pw-4f1e -X POST)" = 403 ] ||
  fail "lifecycle endpoint without --web.enable-lifecycle"
big_header=$(head -c 20000 /dev/zero | tr '\0' a)
[ "$(code "$S_PORT" /metrics "${ca_a[@]}" -H "X-Big: $big_header")" = 431 ] || fail "oversized header"
head -c 100000 /dev/zero >"$d/big.body"
got=$(code "$S_PORT" /-/reload "${ca_a[@]}" --data-binary @"$d/big.body"); [ "$got" = 413 ] || fail "oversized body: $got"
passed=$((passed + 7))
grep -q 'scrape-pw-4f1e' "$d/sloprobe-auth.log" && fail "the password reached the log"

# --- a real Prometheus scrapes over TLS with basic authentication
cat >"$d/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: sloprobe
    scheme: https
    tls_config: {ca_file: $d/ca-a.crt}
    basic_auth: {username: prometheus, password: scrape-pw-4f1e}
    static_configs: [{targets: ["127.0.0.1:$S_PORT"]}]
YAML
start_prometheus "$d/prometheus.yml"
up_is_one() { query 'up{job="sloprobe"}' | grep -q '"value":\[[0-9.]*,"1"\]'; }
wait_until 30 up_is_one || fail "Prometheus could not scrape over TLS with basic auth"
passed=$((passed + 1))

# --- certificates rotate without a restart; a broken file keeps the last good one
cp "$d/server-b.crt" "$d/server.crt.new" && cp "$d/server-b.key" "$d/server.key.new"
mv "$d/server.key.new" "$d/server.key" && mv "$d/server.crt.new" "$d/server.crt"
rotated() { [ "$(code "$S_PORT" /metrics --cacert "$d/ca-b.crt" -u prometheus:scrape-pw-4f1e)" = 200 ]; }
wait_until 10 rotated || fail "the new certificate was not picked up"
[ "$(code "$S_PORT" /metrics "${ca_a[@]}" -u prometheus:scrape-pw-4f1e)" = 000 ] ||
  fail "the old certificate is still served"
cp "$d/web-auth.yml" "$d/web-auth.good"
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n' >"$d/web-auth.yml"
[ "$(code "$S_PORT" /metrics --cacert "$d/ca-b.crt" -u prometheus:scrape-pw-4f1e)" = 200 ] ||
  fail "a broken web configuration replaced the good one"
grep -q "web-auth.yml:4:16: unknown 'min_version' 'TLS9'" "$d/sloprobe-auth.log" ||
  fail "the broken web configuration was not reported with its location: $(tail -3 "$d/sloprobe-auth.log")"
passed=$((passed + 3))

# --- client certificates
start_pair mtls "$d/web-mtls.yml"
same "allowed client certificate" 200 "${ca_a[@]}" --cert "$d/client-ok.crt" --key "$d/client-ok.key"
same "no client certificate" 000 "${ca_a[@]}"
same "a client certificate from another CA" 000 "${ca_a[@]}" --cert "$d/client-other-ca.crt" --key "$d/client-other-ca.key"
same "TLS 1.2 below min_version" 000 "${ca_a[@]}" --cert "$d/client-ok.crt" --key "$d/client-ok.key" --tls-max 1.2
start_web sans "$d/web-sans.yml"
[ "$(code "$S_PORT" /metrics "${ca_a[@]}" --cert "$d/client-ok.crt" --key "$d/client-ok.key")" = 200 ] ||
  fail "a client certificate with the allowed SAN was refused"
[ "$(code "$S_PORT" /metrics "${ca_a[@]}" --cert "$d/client-other-san.crt" --key "$d/client-other-san.key")" = 000 ] ||
  fail "a client certificate without the allowed SAN was let in"
passed=$((passed + 2))

# --- a bad file is refused at start and by --config.check, with its location
printf 'basic_auth_users:\n  alice: hunter2\n' >"$d/web-bad.yml"
if "$sloprobe" --config.file "$d/sloprobe.yml" --config.check --web.config.file "$d/web-bad.yml" >"$d/check.out" 2>&1; then
  fail "--config.check accepted a plain-text password"
fi
grep -q "web-bad.yml:2:10: the password of user 'alice' is not a bcrypt hash" "$d/check.out" ||
  fail "no located error: $(cat "$d/check.out")"
grep -q hunter2 "$d/check.out" && fail "the error quoted the password"
if timeout 10 "$sloprobe" --config.file "$d/sloprobe.yml" --web.listen-address 127.0.0.1:0 \
  --web.config.file "$d/web-bad.yml" >"$d/bad-start.log" 2>&1; then
  fail "sloprobe started with a bad web configuration"
fi
grep -q 'web-bad.yml:2:10' "$d/bad-start.log" || fail "no located error at start: $(cat "$d/bad-start.log")"
passed=$((passed + 2))

echo "web_config: $passed passed, 0 failed"
