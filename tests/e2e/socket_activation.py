#!/usr/bin/env python3
"""--web.systemd-socket serves on the socket systemd passes (sd_listen_fds).

Does what systemd does for sloprobe.socket: binds and listens on 127.0.0.1:0,
starts sloprobe with that socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to
sloprobe's pid, then scrapes /metrics through it. Without a passed socket the
flag must fail at start with a clear error. Every wait is bounded.

Usage: socket_activation.py SLOPROBE WORK_DIR
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request

from e2e_support import fail, one_probe_config


def main():
    sloprobe, work = sys.argv[1], sys.argv[2]
    config = os.path.join(work, "sloprobe.yml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(one_probe_config("http://127.0.0.1:9/"))
    args = [sloprobe, "--config.file", config, "--web.systemd-socket"]

    # Nothing passed: a clear error, exit 78 (the unit does not restart).
    plain = subprocess.run(args, capture_output=True, text=True, timeout=10,
                           env={k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")})
    if plain.returncode != 78 or "exactly one socket" not in plain.stderr:
        fail(f"without a socket: exit {plain.returncode}, {plain.stderr!r}")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]

    # bash puts the socket at fd 3 and sets LISTEN_PID to its own pid, which
    # exec keeps for sloprobe.
    fd = listener.fileno()
    move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
    proc = subprocess.Popen(
        ["bash", "-c", f'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"{move}', "bash"] + args,
        pass_fds=(fd,),
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(work, "sloprobe.log"), "w", encoding="utf-8"),
    )
    listener.close()  # sloprobe owns it now
    try:
        body = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                if proc.poll() is not None:
                    fail("sloprobe exited: " + open(os.path.join(work, "sloprobe.log")).read())
                time.sleep(0.1)
        if body is None or "sloprobe_build_info" not in body:
            fail(f"no metrics on the passed socket: {body!r}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print("socket_activation: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
