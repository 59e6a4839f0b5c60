#!/usr/bin/env python3
"""A minimal HTTP client for timing references: stamps CLOCK_MONOTONIC right
before send() and right after the recv() that returns the first response
byte, nothing in between. Prints one TTFB in seconds per request.

Usage: raw_ttfb.py PORT PATH COUNT new|reuse
"""
import socket
import sys
import time


def read_response(sock, first):
    data = first
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)


def main():
    port, path, count, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    keep = mode == "reuse"
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n").encode()
    sock = None
    for _ in range(count):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic_ns()
        sock.sendall(request)
        first = sock.recv(65536)
        t1 = time.monotonic_ns()
        read_response(sock, first)
        print(f"{(t1 - t0) / 1e9:.9f}")
        if not keep:
            sock.close()
            sock = None
        time.sleep(0.02)  # the same idle pattern as the sloprobe probe


if __name__ == "__main__":
    main()
