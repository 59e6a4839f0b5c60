#!/usr/bin/env python3
"""Runs every query of the Grafana dashboard against a Prometheus server.

Usage: dashboard_queries.py DASHBOARD_JSON PROMETHEUS_URL DEADLINE_SECONDS

Grafana's variables are replaced as Grafana would for "All": $job and
$probe by '.+', $__rate_interval by four scrape intervals. Every panel
target must parse and return at least one series; the template variables'
label_values() queries must return values; annotation queries must parse
(they are empty until something happens). A query that does not parse fails
at once; one that is still empty at the deadline fails then (rates need a
few scrapes).
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

SUBSTITUTE = {"$__rate_interval": "4s", "$job": ".+", "$probe": ".+"}


def expand(expr):
    for k, v in SUBSTITUTE.items():
        expr = expr.replace(k, v)
    return expr


def get(base, path, params):
    url = base + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def main():
    dash = json.load(open(sys.argv[1]))
    base = sys.argv[2].rstrip("/")
    deadline = time.monotonic() + float(sys.argv[3])
    queries = []  # (where, expr, must_return)
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            queries.append((f"panel {panel['id']} '{panel['title']}' {t['refId']}", t["expr"], True))
    for a in dash["annotations"]["list"]:
        queries.append((f"annotation '{a['name']}'", a["expr"], False))
    variables = []
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", v["query"]["query"])
        if not m:
            sys.exit(f"FAIL: variable {v['name']}: not a label_values() query")
        variables.append((v["name"], m.group(1), m.group(2)))

    while True:
        empty = []
        for where, expr, must_return in queries:
            r = get(base, "/api/v1/query", {"query": expand(expr)})
            if r.get("status") != "success":
                sys.exit(f"FAIL: {where}: does not run: {r.get('error')}\n  {expr}")
            if must_return and not r["data"]["result"]:
                empty.append(f"{where}: no data\n  {expand(expr)}")
        for name, selector, label in variables:
            r = get(base, f"/api/v1/label/{label}/values", {"match[]": expand(selector)})
            if r.get("status") != "success":
                sys.exit(f"FAIL: variable {name}: {r.get('error')}")
            if not r["data"]:
                empty.append(f"variable {name}: no values for {selector}")
        if not empty:
            print(f"dashboard: {len(queries)} queries and {len(variables)} variables return data")
            return
        if time.monotonic() > deadline:
            sys.exit("FAIL: still empty at the deadline:\n" + "\n".join(empty))
        time.sleep(1)


if __name__ == "__main__":
    main()
