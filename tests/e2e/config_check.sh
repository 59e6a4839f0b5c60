#!/usr/bin/env bash
# `sloprobe --config.check` as a user runs it: exit codes and located errors.
# Usage: config_check.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 src=$3

export PLATFORM_PASSWORD=example SLOPROBE_DEMO_API_KEY=example SLOPROBE_DEMO_LLM_KEY=example
# platform.yml's credentials, as systemd passes them to the packaged service.
mkdir -m 0700 "$E2E_DIR/credentials"
for c in sloprobe_platform_password sloprobe_openai_key; do echo "example-$c" >"$E2E_DIR/credentials/$c"; done
for f in "$src"/config/examples/*.yml; do
  out=$(CREDENTIALS_DIRECTORY=$E2E_DIR/credentials "$sloprobe" --config.check --config.file "$f") ||
    fail "$f does not check: $out"
  echo "$out" | grep -q ': OK, ' || fail "unexpected output for $f: $out"
done

# By hand, without systemd: credentials the check cannot read are named, the
# rest is checked, and the exit status (3) says so.
set +e
out=$(env -u CREDENTIALS_DIRECTORY "$sloprobe" --config.check --config.file "$src/config/examples/platform.yml" 2>"$E2E_DIR/unchecked.err")
rc=$?
set -e
err=$(cat "$E2E_DIR/unchecked.err")
if [ -d /etc/sloprobe/credentials ]; then
  echo "config_check: /etc/sloprobe/credentials exists here; the exit-3 case is covered by e2e.systemd"
else
  [ "$rc" -eq 3 ] || fail "expected exit 3 with unreadable credentials, got $rc: $out $err"
  echo "$out" | grep -qF ': OK, 6 probes; 2 credentials could not be read and were not checked' ||
    fail "unexpected summary: $out"
  echo "$err" | grep -qF "not checked: $src/config/examples/platform.yml:19:35: secret 'platform_password': cannot read '/etc/sloprobe/credentials/platform_password'" ||
    fail "the unread credential is not named where it is used: $err"
fi
# A shard says how much of the list it runs.
out=$("$sloprobe" --config.check --config.file "$src/config/examples/fleet.yml")
echo "$out" | grep -qE ': OK, [0-9]+ of 8 probes \(shard 1 of 4\)$' || fail "no shard in: $out"

cat >"$E2E_DIR/bad.yml" <<'YAML'
probes:
  - name: health
    type: http
    intervl: 10s
    request: {url: "http://127.0.0.1:9002/health"}
  - name: health
    type: http
    timeout: -1s
    request: {url: "http://127.0.0.1:9002/health"}
YAML
set +e
err=$("$sloprobe" --config.check --config.file "$E2E_DIR/bad.yml" 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "expected exit 1 for a bad config, got $rc"
echo "$err" | grep -qF "$E2E_DIR/bad.yml:4:5: unknown key 'intervl' in probe 'health'; did you mean 'interval'?" ||
  fail "missing located typo error in: $err"
echo "$err" | grep -qF "$E2E_DIR/bad.yml:6:11: duplicate probe name 'health' (first defined at line 2)" ||
  fail "missing duplicate-name error in: $err"
echo "$err" | grep -qF "$E2E_DIR/bad.yml:8:14: invalid duration '-1s'" || fail "missing duration error in: $err"
echo "$err" | grep -qF "3 errors in" || fail "missing error count in: $err"

# The daemon refuses to start half-configured, and says why, with exit
# status 78 (EX_CONFIG), on which the unit does not restart.
set +e
"$sloprobe" --config.file "$E2E_DIR/bad.yml" --web.listen-address 127.0.0.1:0 >"$E2E_DIR/start.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 78 ] || fail "daemon with a bad config: exit $rc, want 78"
grep -q 'level=error msg="invalid configuration" error=".*bad.yml:4:5: unknown key' "$E2E_DIR/start.log" ||
  fail "daemon did not log the located error: $(cat "$E2E_DIR/start.log")"
! grep -q 'msg=listening' "$E2E_DIR/start.log" || fail "daemon listened with a bad config"

# A good config with a listener that cannot be had: say why; exit 78 for an
# address that can never work, 1 for one that is taken (it may come free).
cat >"$E2E_DIR/good.yml" <<'YAML'
probes:
  - {name: health, type: http, request: {url: "http://127.0.0.1:1/health"}}
YAML
expect_start_failure() {
  local address=$1 want=$2 message=$3 rc
  set +e
  timeout 10 "$sloprobe" --config.file "$E2E_DIR/good.yml" --web.listen-address "$address" \
    >"$E2E_DIR/listen.log" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "expected exit $want for --web.listen-address $address, got $rc"
  grep -q "level=error msg=\"cannot start\" error=\".*$message" "$E2E_DIR/listen.log" ||
    fail "no '$message' for $address: $(cat "$E2E_DIR/listen.log")"
}
expect_start_failure "nonsense" 78 "invalid --web.listen-address 'nonsense'"
# A port that is taken: the testbed holds one.
start_testbed "$2"
expect_start_failure "127.0.0.1:$TESTBED_PORT" 1 "Address already in use"

set +e
"$sloprobe" --config.check --config.file "$E2E_DIR/missing.yml" 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "expected exit 1 for a missing file, got $rc"
# Credentials written into a file every user can read: a warning that says
# where they are (never what), at --config.check and at start; none once the
# file is private.
cat >"$E2E_DIR/inline.yml" <<'YAML'
probes:
  - name: health
    type: http
    request:
      url: "http://127.0.0.1:1/health"
      basic_auth: {username: probe, password: "hunter2-inline"}
YAML
chmod 0644 "$E2E_DIR/inline.yml"
"$sloprobe" --config.check --config.file "$E2E_DIR/inline.yml" >/dev/null 2>"$E2E_DIR/inline.err" ||
  fail "a warning must not fail --config.check: $(cat "$E2E_DIR/inline.err")"
grep -q "warning: .*inline.yml can be read by every user (mode 0644) and holds credentials written into it: .*inline.yml:6:47: basic_auth password" \
  "$E2E_DIR/inline.err" || fail "no warning about the readable credentials: $(cat "$E2E_DIR/inline.err")"
grep -q hunter2 "$E2E_DIR/inline.err" && fail "the warning quoted the password"
timeout 2 "$sloprobe" --config.file "$E2E_DIR/inline.yml" --web.listen-address 127.0.0.1:0 \
  >"$E2E_DIR/inline.log" 2>&1 || true
grep -q 'level=warn msg="credentials in a file every user can read"' "$E2E_DIR/inline.log" ||
  fail "no warning at start: $(cat "$E2E_DIR/inline.log")"
chmod 0640 "$E2E_DIR/inline.yml"
"$sloprobe" --config.check --config.file "$E2E_DIR/inline.yml" >/dev/null 2>"$E2E_DIR/inline.err"
[ ! -s "$E2E_DIR/inline.err" ] || fail "a warning for a private file: $(cat "$E2E_DIR/inline.err")"

echo "config_check: 1 passed, 0 failed"
