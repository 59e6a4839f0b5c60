"""Helpers shared by the Python end-to-end tests in this folder."""
import sys


def fail(msg):
    """Reports a failed check and ends the test with exit status 1."""
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def one_probe_config(url, interval="100ms", timeout="50ms"):
    """A configuration with one HTTP probe named "target" on `url`."""
    return (
        f"global: {{interval: {interval}, timeout: {timeout}}}\n"
        "probes:\n"
        "  - name: target\n"
        "    type: http\n"
        f'    request: {{url: "{url}"}}\n'
    )
