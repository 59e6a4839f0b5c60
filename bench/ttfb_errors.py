"""TTFB errors against the testbed's ground truth, shared by the benches.

A run NAME leaves NAME-records.json (the testbed's /admin/records: per
request, the time from reading it to writing the first response byte) and
NAME-ttfb.txt (one measured TTFB in seconds per line, in request order).
"""
import json


def errors(directory, name):
    """Measured minus true TTFB of each /health request, in ms, sorted."""
    truth = [r["actual_ns"] / 1e9 for r in json.load(open(f"{directory}/{name}-records.json"))
             if r["path"] == "/health"]
    measured = [float(x) for x in open(f"{directory}/{name}-ttfb.txt")]
    k = min(len(truth), len(measured))
    return sorted((m - t) * 1e3 for m, t in zip(measured[:k], truth[:k]))


def quantile(xs, p):
    """The p-quantile of sorted `xs` (the nearest rank at or below)."""
    return xs[min(len(xs) - 1, int(p * len(xs)))]
