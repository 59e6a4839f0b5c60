#!/usr/bin/env python3
"""An Alertmanager webhook receiver for the end-to-end alerting test.

Binds 127.0.0.1 on a port the kernel picks, writes that port to PORT_FILE,
and appends every notification it receives to OUT_FILE as one JSON line.
Exits by itself after LIFETIME seconds.

Usage: webhook_receiver.py PORT_FILE OUT_FILE LIFETIME
"""
import http.server
import json
import os
import sys
import threading


def main():
    port_file, out_file, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            notification = json.loads(body)
            with open(out_file, "a", encoding="utf-8") as out:
                out.write(json.dumps(notification) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    # Written whole, then renamed: a reader never sees half a number.
    os.replace(port_file + ".tmp", port_file)
    threading.Timer(lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
