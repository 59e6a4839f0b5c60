#!/usr/bin/env python3
"""sloprobe speaks systemd's notify protocol (sd_notify) in the right order.

Binds an AF_UNIX datagram socket it owns, starts sloprobe with NOTIFY_SOCKET
pointing at it and WATCHDOG_USEC set, and asserts the sequence: READY=1 with
a STATUS, WATCHDOG=1 pings at about half the watchdog period, RELOADING=1 with
a current MONOTONIC_USEC then READY=1 on SIGHUP (good and bad config), then
STOPPING=1 on SIGTERM and exit 0 within 2 seconds while a run waits on a
target that never answers. Every wait is bounded.

Usage: notify_protocol.py SLOPROBE WORK_DIR
"""
import os
import signal
import re
import socket
import subprocess
import sys
import time

from e2e_support import fail, one_probe_config

WATCHDOG_USEC = 400_000  # pings expected every 200 ms


def main():
    sloprobe, work = sys.argv[1], sys.argv[2]
    config = os.path.join(work, "sloprobe.yml")
    # A target that takes the connection (the kernel's backlog) and never
    # answers: at SIGTERM a run is in flight with 10 s of timeout left.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    good = one_probe_config(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout="10s")
    with open(config, "w", encoding="utf-8") as f:
        f.write(good)
    path = os.path.join(work, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sloprobe, "--config.file", config, "--web.listen-address", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(work, "sloprobe.log"), "w", encoding="utf-8"),
    )
    messages = []  # (monotonic seconds, {field: value})

    def receive(until, want):
        """Reads messages until one has all fields in `want`; returns it."""
        deadline = time.monotonic() + until
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(4096)
            except socket.timeout:
                break
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            messages.append((time.monotonic(), fields))
            if all(fields.get(k) == v if v is not None else k in fields for k, v in want.items()):
                return fields
        return None

    try:
        ready = receive(5, {"READY": "1"})
        if ready is None:
            fail(f"no READY=1; got {messages}")
        if not re.match(r"^(1 probe|\d+ probes) running$", ready.get("STATUS", "")):
            fail(f"READY=1 without a useful STATUS: {ready}")
        if any("WATCHDOG" in m for _, m in messages[:-1]):
            fail(f"a watchdog ping came before READY=1: {messages}")

        # Watchdog pings at about half of WATCHDOG_USEC.
        start = len(messages)
        for _ in range(4):
            if receive(1, {"WATCHDOG": "1"}) is None:
                fail(f"missing watchdog ping; got {messages[start:]}")
        pings = [t for t, m in messages[start:] if m.get("WATCHDOG") == "1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        half = WATCHDOG_USEC / 2 / 1e6
        if not all(half * 0.5 < g < half * 1.5 for g in gaps):
            fail(f"watchdog gaps {gaps} are not about {half} s")

        # Reload: RELOADING=1 with a current MONOTONIC_USEC, then READY=1.
        for content, status in ((good.replace("100ms", "200ms"), "reloaded"),
                                ("probes: [\n", "failed")):
            with open(config, "w", encoding="utf-8") as f:
                f.write(content)
            before = time.monotonic()
            proc.send_signal(signal.SIGHUP)
            reloading = receive(5, {"RELOADING": "1"})
            if reloading is None:
                fail(f"no RELOADING=1 after SIGHUP; got {messages[-5:]}")
            stamp = int(reloading.get("MONOTONIC_USEC", "0")) / 1e6
            if not before - 0.01 <= stamp <= time.monotonic() + 0.01:
                fail(f"MONOTONIC_USEC {stamp} is not the current CLOCK_MONOTONIC ({before})")
            after = receive(5, {"READY": "1"})
            if after is None:
                fail(f"no READY=1 after RELOADING=1; got {messages[-5:]}")
            if status not in after.get("STATUS", ""):
                fail(f"STATUS after a {status} reload: {after}")

        # Stop with a run in flight: STOPPING=1, exit 0 within 2 s.
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        if receive(2, {"STOPPING": "1"}) is None:
            fail(f"no STOPPING=1 after SIGTERM; got {messages[-5:]}")
        try:
            code = proc.wait(timeout=max(0.1, 2 - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            fail("sloprobe did not exit within 2 s of SIGTERM")
        if code != 0:
            fail(f"exit code {code}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("notify: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
