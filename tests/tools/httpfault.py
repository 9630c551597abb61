#!/usr/bin/env python3
"""A loopback HTTP server that misbehaves on request, for quire's network tests.

Usage: httpfault.py [--port N] [--max-seconds S]

Binds 127.0.0.1 (port 0: any free port), prints "PORT <n>" on stdout once it
listens, and exits when stdin closes (its parent died), on SIGTERM, or after
--max-seconds. Standard library only.

Behaviour by path (a query string is allowed after any of them; counters are
kept per full request target, path and query, so a test can use ?k=<name>
to get a fresh counter):

  /status/<code>[?retry_after=S]  that status, a short body, Retry-After if asked
  /flaky/<n>                      503 for the first n requests, then 200 "ok"
  /echo[?fail=<n>]                JSON: method, headers, body length and sha256;
                                  the first n requests (body read in full) get 503
  /stall                          200 headers and 10 bytes, then nothing
  /drop                           declares 1000 bytes, sends 100, resets the connection
  /short                          declares 100 bytes, sends 50, closes cleanly
  /big/<bytes>[?chunked=1]        that many bytes ("x"), chunked if asked
  /redirect/<n>                   302 to /redirect/<n-1>; /redirect/0 is 200 "done"
  /redirect-to?url=U[&status=S]   S (302) to U
  /count                          JSON {"requests": N}: requests seen, /count excluded
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}
TOTAL = [0]


def bump(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "httpfault"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(min(65536, n - len(data)))
            if not chunk:
                break
            data += chunk
        return data

    def handle_any(self):
        target = self.path
        url = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if url.path != "/count":
            with LOCK:
                TOTAL[0] += 1
        body = self.read_body() if self.command in ("PUT", "POST", "PATCH", "DELETE") else b""
        name = parts[0] if parts else ""
        if name == "count":
            with LOCK:
                n = TOTAL[0]
            self.reply(200, json.dumps({"requests": n}).encode(), ctype="application/json")
        elif name == "status" and len(parts) == 2:
            extra = {}
            if "retry_after" in q:
                extra["Retry-After"] = q["retry_after"][0]
            self.reply(int(parts[1]), b"status %s\n" % parts[1].encode(), extra)
        elif name == "flaky" and len(parts) == 2:
            n = bump(target)
            if n <= int(parts[1]):
                self.reply(503, b"try again\n")
            else:
                self.reply(200, b"ok")
        elif name == "echo":
            n = bump(target)
            if n <= int(q.get("fail", ["0"])[0]):
                self.reply(503, b"try again\n")
                return
            doc = {
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "attempt": n,
            }
            self.reply(200, json.dumps(doc).encode(), ctype="application/json")
        elif name == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
        elif name == "drop":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"y" * 100)
            self.wfile.flush()
            # SO_LINGER 0: close with a reset, as a crashed peer does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif name == "short":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"z" * 50)
            self.wfile.flush()
            self.close_connection = True
        elif name == "big" and len(parts) == 2:
            size = int(parts[1])
            chunked = q.get("chunked", ["0"])[0] == "1"
            self.send_response(200)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            left = size
            while left > 0:
                n = min(65536, left)
                if chunked:
                    self.wfile.write(b"%x\r\n" % n + b"x" * n + b"\r\n")
                else:
                    self.wfile.write(b"x" * n)
                left -= n
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        elif name == "redirect" and len(parts) == 2:
            n = int(parts[1])
            if n <= 0:
                self.reply(200, b"done")
            else:
                self.reply(302, b"", {"Location": "/redirect/%d" % (n - 1)})
        elif name == "redirect-to":
            status = int(q.get("status", ["302"])[0])
            self.reply(status, b"", {"Location": q.get("url", ["/"])[0]})
        else:
            self.reply(404, b"no such behaviour\n")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients hang up mid-body on purpose (size caps, timeouts): not news.
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)

    def watch_stdin():
        # The parent holds our stdin open; EOF means it is gone.
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Timer(args.max_seconds, stop).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
