#!/usr/bin/env python3
"""Starts a Type=notify daemon the way systemd does and times READY=1.

Usage: bench/ready.py LOG_FILE COMMAND [ARGS...]

Creates a notification socket, starts COMMAND with NOTIFY_SOCKET pointing at
it (stdout and stderr to LOG_FILE), waits at most 60 s for a datagram holding
READY=1 and prints "PID MILLISECONDS": the time from just before the exec to
the datagram's arrival. The daemon keeps running; the caller stops it.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time


def main():
    log, command = sys.argv[1], sys.argv[2:]
    path = os.path.join(tempfile.mkdtemp(prefix="sloprobe-notify."), "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(1.0)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    with open(log, "wb") as out:
        start = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = start + 60
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            if proc.poll() is not None:
                sys.exit(f"exited with {proc.returncode} before READY=1")
            continue
        if b"READY=1" in data.split(b"\n"):
            print(proc.pid, f"{(time.monotonic() - start) * 1e3:.1f}")
            return
    proc.kill()
    sys.exit("no READY=1 within 60 s")


if __name__ == "__main__":
    main()
