#!/usr/bin/env python3
"""Exit 0 when OUT_FILE (one webhook notification per line) holds an alert
named ALERTNAME with label probe=PROBE in state STATUS (firing | resolved),
whose runbook_url annotation is docs/runbooks/ALERTNAME.md; else exit 1.

Usage: alert_received.py OUT_FILE ALERTNAME PROBE STATUS
"""
import json
import sys


def main():
    out_file, name, probe, status = sys.argv[1:5]
    try:
        with open(out_file, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return 1
    for line in lines:
        for alert in json.loads(line).get("alerts", []):
            labels = alert.get("labels", {})
            if (
                labels.get("alertname") == name
                and labels.get("probe") == probe
                and alert.get("status") == status
                and alert.get("annotations", {}).get("runbook_url")
                == f"docs/runbooks/{name}.md"
            ):
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
