#!/usr/bin/env bash
# The .deb, installed for real: builds it with CPack from the current build,
# lints it (no lintian error or warning), installs it with dpkg -i, checks the
# files, conffiles, default config and units (`systemd-analyze verify`
# silent, `security --offline` at most 1.5), then removes and purges it and
# checks nothing is left. Needs root; refuses to touch an already installed
# sloprobe package.
# Usage: package.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
build=$(cd "$(dirname "$1")/.." && pwd)
[ "$(id -u)" -eq 0 ] || fail "the package test installs a .deb: run it as root"
for tool in cpack lintian dpkg systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool not installed (run scripts/bootstrap.sh)"
done
if dpkg-query -W -f='${Status}' sloprobe 2>/dev/null | grep -q 'installed'; then
  fail "a sloprobe package is already installed; remove it (dpkg -P sloprobe) to run this test"
fi

(cd "$build" && cpack -G DEB -B "$E2E_DIR/pkg" >"$E2E_DIR/cpack.log" 2>&1) ||
  fail "cpack: $(tail -5 "$E2E_DIR/cpack.log")"
deb=$(ls "$E2E_DIR"/pkg/sloprobe_*.deb)
[ -f "$deb" ] || fail "no .deb in $E2E_DIR/pkg"

lint_rc=0
lint=$(lintian --fail-on error,warning "$deb" 2>&1) || lint_rc=$?
lint=$(echo "$lint" | grep -v 'running with root privileges' || true)
[ "$lint_rc" -eq 0 ] && [ -z "$lint" ] || fail "lintian (exit $lint_rc): $lint"

purge() { dpkg -P sloprobe >/dev/null 2>&1 || true; }
trap 'purge; e2e_cleanup' EXIT
dpkg -i "$deb" >"$E2E_DIR/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -5 "$E2E_DIR/dpkg.log")"

for f in /usr/bin/sloprobe /lib/systemd/system/sloprobe.service /lib/systemd/system/sloprobe.socket \
  /etc/sloprobe/sloprobe.yml /etc/default/sloprobe /usr/share/sloprobe/alerts/sloprobe.rules.yml \
  /usr/share/sloprobe/examples/prometheus.yml /usr/share/sloprobe/examples/alertmanager.yml \
  /usr/share/doc/sloprobe/copyright /usr/share/doc/sloprobe/runbooks/SloprobeDown.md \
  /usr/share/man/man1/sloprobe.1.gz /usr/share/sloprobe/dashboards/sloprobe.json \
  /usr/share/doc/sloprobe/quickstart.md; do
  [ -f "$f" ] || fail "$f not installed"
done
[ "$(stat -c %a /etc/sloprobe/credentials)" = 700 ] || fail "/etc/sloprobe/credentials is not 0700"
cmp -s /usr/share/sloprobe/alerts/sloprobe.rules.yml "$3/alerts/sloprobe.rules.yml" ||
  fail "the installed rules differ from alerts/sloprobe.rules.yml"
cmp -s /usr/share/sloprobe/dashboards/sloprobe.json "$3/docs/dashboards/sloprobe.json" ||
  fail "the installed dashboard differs from docs/dashboards/sloprobe.json"
# The man page renders without warnings and documents the one-shot mode.
man_out=$(MANWIDTH=80 man --warnings -l /usr/share/man/man1/sloprobe.1.gz 2>&1 >/dev/null) ||
  fail "man: $man_out"
[ -z "$man_out" ] || fail "man warns: $man_out"
zcat /usr/share/man/man1/sloprobe.1.gz | grep -q '^\.SS sloprobe check' ||
  fail "the man page does not document sloprobe check"
conffiles=$(dpkg-query -W -f='${Conffiles}' sloprobe)
for f in /etc/sloprobe/sloprobe.yml /etc/default/sloprobe; do
  echo "$conffiles" | grep -q " $f " || fail "$f is not a conffile: $conffiles"
done
/usr/bin/sloprobe --version | grep -q '^sloprobe ' || fail "the installed binary does not run"
/usr/bin/sloprobe --config.file /etc/sloprobe/sloprobe.yml --config.check >/dev/null ||
  fail "the default configuration does not pass --config.check"

verify=$(systemd-analyze verify /lib/systemd/system/sloprobe.service /lib/systemd/system/sloprobe.socket 2>&1) ||
  fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
score=$(systemd-analyze security --offline=true /lib/systemd/system/sloprobe.service 2>&1 |
  sed -n 's/.*Overall exposure level for sloprobe.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure score from systemd-analyze security"
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "exposure $score is above 1.5"
[ -L /etc/systemd/system/multi-user.target.wants/sloprobe.service ] ||
  fail "sloprobe.service was not enabled"

dpkg -r sloprobe >"$E2E_DIR/dpkg.log" 2>&1 || fail "dpkg -r: $(tail -5 "$E2E_DIR/dpkg.log")"
[ ! -e /usr/bin/sloprobe ] || fail "dpkg -r left /usr/bin/sloprobe"
[ -f /etc/sloprobe/sloprobe.yml ] || fail "dpkg -r removed the conffile (only purge may)"
dpkg -P sloprobe >"$E2E_DIR/dpkg.log" 2>&1 || fail "dpkg -P: $(tail -5 "$E2E_DIR/dpkg.log")"
for f in /etc/sloprobe /etc/default/sloprobe /lib/systemd/system/sloprobe.service \
  /etc/systemd/system/multi-user.target.wants/sloprobe.service \
  /etc/systemd/system/sloprobe.service /etc/systemd/system/sloprobe.socket; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "purge left $f"
done
echo "package: 1 passed, 0 failed (exposure $score)"
