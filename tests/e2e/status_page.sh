#!/usr/bin/env bash
# The status page at / rendered by a real browser (Debian's chromium,
# headless): one row per probe with the state, numbers, objectives, last
# failure and sparkline its runs call for. A screenshot is left in
# ARTIFACT_DIR for a person to look at.
# Usage: status_page.sh SLOPROBE TESTBED SOURCE_DIR ARTIFACT_DIR
. "$(dirname "$0")/lib.sh"
sloprobe=$1 testbed=$2 source_dir=$3 artifacts=$4
command -v chromium >/dev/null || fail "chromium not installed (run scripts/bootstrap.sh)"
mkdir -p "$artifacts"

# /slow answers in 5 ms or more: its 1 ms objective cannot be met although
# every run passes.
cat >"$E2E_DIR/faults.yml" <<'YAML'
- route: "GET /echo"
  delay: 5ms
YAML
start_testbed "$testbed" --faults "$E2E_DIR/faults.yml"
base="http://127.0.0.1:$TESTBED_PORT"
cat >"$E2E_DIR/sloprobe.yml" <<YAML
global: {interval: 200ms, timeout: 1s}
probes:
  - name: health
    type: http
    request: {url: "$base/health"}
    objectives: {latency: {quantile: 0.95, threshold: 500ms}, error_ratio: 0.01}
  - name: slow
    type: http
    request: {url: "$base/echo"}
    objectives: {latency: {quantile: 0.95, threshold: 1ms}}
  - name: broken
    type: http
    request: {url: "$base/status/503"}
    objectives: {error_ratio: 0.05}
  - name: flow
    type: scenario
    steps:
      - {name: first, request: {url: "$base/health"}}
      - {name: second, request: {url: "$base/status/500"}}
  - name: not-yet
    type: http
    interval: 1h
    request: {url: "$base/health"}
YAML
start_sloprobe "$sloprobe" "$E2E_DIR/sloprobe.yml"
page="http://127.0.0.1:$SLOPROBE_PORT/"

# Enough runs for each probe's row to have numbers (bounded wait).
ran_enough() {
  local count
  for p in health slow broken flow; do
    count=$(metric_value "sloprobe_probe_runs_total{probe=\"$p\"}")
    [ "${count%.*}" -ge 5 ] 2>/dev/null || return 1
  done
}
wait_until 30 ran_enough || fail "probes did not run: $(curl -s "http://127.0.0.1:$SLOPROBE_PORT/metrics" | grep runs_total)"

browse() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$E2E_DIR/chromium" --hide-scrollbars "$@" 2>>"$E2E_DIR/chromium.log"
}
browse --dump-dom "$page" >"$E2E_DIR/dom.html" || fail "chromium could not load $page: $(tail -5 "$E2E_DIR/chromium.log")"
browse --screenshot="$artifacts/status-page.png" --window-size=1400,700 "$page" >/dev/null ||
  fail "no screenshot: $(tail -5 "$E2E_DIR/chromium.log")"
[ -s "$artifacts/status-page.png" ] || fail "empty screenshot"

python3 - "$E2E_DIR/dom.html" <<'PY'
import sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    """Collects each <tr data-probe> with the text of its cells by class."""
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.depth = {}, None, None, 0
        self.refresh = None
        self.external = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("http-equiv") == "refresh":
            self.refresh = a.get("content")
        if tag in ("script", "link", "img", "iframe") or (tag != "a" and "src" in a):
            self.external.append(tag)
        if tag == "tr" and "data-probe" in a:
            self.row = {"state": a["data-state"], "cells": {}, "svg": [], "objectives": []}
            self.rows[a["data-probe"]] = self.row
        elif self.row is not None:
            if tag == "td":
                self.cell = ((a.get("class") or "").split() or [""])[-1]
                self.row["cells"][self.cell] = ""
            elif tag in ("polyline", "circle", "line"):
                self.row["svg"].append((tag, a.get("class")))
            elif tag == "li" and "data-objective" in a:
                self.row["objectives"].append((a["data-objective"], a["class"]))
    def handle_endtag(self, tag):
        if tag == "tr":
            self.row, self.cell = None, None
        elif tag == "td":
            self.cell = None
    def handle_data(self, data):
        if self.row is not None and self.cell:
            self.row["cells"][self.cell] += data

p = Rows()
p.feed(open(sys.argv[1], encoding="utf-8").read())
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)

check(p.refresh == "10", f"auto-refresh: {p.refresh}")
check(not p.external, f"external assets: {p.external}")
check(set(p.rows) == {"health", "slow", "broken", "flow", "not-yet"}, f"rows: {sorted(p.rows)}")
order = list(p.rows)
check(order[:2] == ["broken", "flow"] or order[:2] == ["flow", "broken"], f"failing first: {order}")
check(order[2] == "slow" and set(order[3:]) == {"not-yet", "health"}, f"order: {order}")

h = p.rows.get("health", {})
check(h.get("state") == "ok", f"health state {h.get('state')}")
check(h["cells"]["p50"].endswith(("ms", "µs")) and h["cells"]["p95"].endswith(("ms", "µs")), f"health quantiles {h['cells']}")
check(int(h["cells"]["runs"]) >= 5, f"health runs {h['cells']['runs']}")
check(h["cells"]["errors"] == "0.0%", f"health errors {h['cells']['errors']}")
check(("latency", "met") in h["objectives"] and ("error_ratio", "met") in h["objectives"], f"health objectives {h['objectives']}")
check(("polyline", "latency") in h["svg"] and ("line", "threshold") in h["svg"], f"health sparkline {h['svg']}")
check(("circle", "failure") not in h["svg"], "health has failure dots")
check(h["cells"]["failure"].strip() == "–", f"health failure {h['cells']['failure']}")

s = p.rows.get("slow", {})
check(s.get("state") == "breaching", f"slow state {s.get('state')}")
check(("latency", "unmet") in s["objectives"], f"slow objectives {s['objectives']}")
check("✗ latency p95 <= 1ms" in s["cells"]["objectives"], f"slow objective text {s['cells']['objectives']}")

b = p.rows.get("broken", {})
check(b.get("state") == "failing", f"broken state {b.get('state')}")
check(b["cells"]["errors"] == "100.0%", f"broken errors {b['cells']['errors']}")
check(("error_ratio", "unmet") in b["objectives"], f"broken objectives {b['objectives']}")
check("http_status" in b["cells"]["failure"] and "503" in b["cells"]["failure"], f"broken failure {b['cells']['failure']}")
check(("circle", "failure") in b["svg"], f"broken sparkline {b['svg']}")

f = p.rows.get("flow", {})
check(f.get("state") == "failing", f"flow state {f.get('state')}")
check("at step second" in f["cells"]["failure"], f"flow failure {f['cells']['failure']}")

n = p.rows.get("not-yet", {})
check(n.get("state") in ("pending", "ok"), f"not-yet state {n.get('state')}")

if errors:
    print("FAIL: status page:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
PY
echo "status_page: 1 passed, 0 failed (screenshot: $artifacts/status-page.png)"
