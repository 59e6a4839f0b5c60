#!/usr/bin/env python3
"""Prints "ALERTNAME STATE" for every alerting rule of rule group GROUP on the
Prometheus at BASE_URL, once that group has been evaluated after the Unix
time SINCE; exits 1 (printing nothing) while it has not.

Usage: rule_states.py BASE_URL GROUP SINCE
"""
import datetime
import json
import re
import sys
import urllib.request


def main():
    base, group_name, since = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with urllib.request.urlopen(base + "/api/v1/rules?type=alert", timeout=5) as r:
        groups = json.load(r)["data"]["groups"]
    for group in groups:
        if group["name"] != group_name:
            continue
        # RFC 3339 with nanoseconds; Python reads microseconds.
        stamp = re.sub(r"(\.\d{6})\d*", r"\1", group["lastEvaluation"]).replace("Z", "+00:00")
        if datetime.datetime.fromisoformat(stamp).timestamp() <= since:
            return 1
        for rule in group["rules"]:
            print(rule["name"], rule["state"])
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
