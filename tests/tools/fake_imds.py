#!/usr/bin/env python3
"""A fake EC2 instance metadata service (IMDSv2) and ECS credential endpoint.

Loopback only (--bind 169.254.169.254 inside a test's own network namespace),
python3 standard library. Used by tests/unit/aws/test_creds.c and
tests/integration/test_fleet.sh.

  PUT /latest/api/token                 needs X-aws-ec2-metadata-token-ttl-seconds;
                                        returns a session token
  GET /latest/meta-data/iam/security-credentials/        -> "quire-role\n"
  GET /latest/meta-data/iam/security-credentials/quire-role -> credentials JSON
                                        (both GETs: 401 without the token header)
  GET /ecs/<anything>                   credentials JSON; with --ecs-token, 401 unless
                                        the Authorization header equals it
  GET /latest/meta-data/<path>          with --meta-dir: the file DIR/<path> (read at each
                                        request, so a test changes it while the server runs:
                                        instance-id, placement/region,
                                        autoscaling/target-lifecycle-state); 404 when absent
  GET /_count                           {"token": n, "imds": n, "ecs": n, "unauthorized": n,
                                         "meta": n}

Credentials expire --expires-in seconds after they are issued; the access key
id carries a counter (ASIAIMDS0001, ASIAECS0001, ...) so tests see a refresh.
The bound port is written to --port-file once the server listens.
"""
import argparse
import datetime
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "quire-role"


class State:
    def __init__(self, expires_in, ecs_token, meta_dir=None):
        self.meta_dir = meta_dir
        self.lock = threading.Lock()
        self.expires_in = expires_in
        self.ecs_token = ecs_token
        self.tokens = set()
        self.count = {"token": 0, "imds": 0, "ecs": 0, "unauthorized": 0, "meta": 0}

    def bump(self, what):
        with self.lock:
            self.count[what] += 1
            return self.count[what]


def creds(prefix, n, expires_in):
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    return json.dumps({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": "%s%04d" % (prefix, n),
        "SecretAccessKey": "fake-secret-%d" % n,
        "Token": "fake-session-token-%d" % n,
        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_PUT(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.path != "/latest/api/token":
            return self.reply(404)
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400, b"missing ttl header")
        st.bump("token")
        tok = secrets.token_urlsafe(24)
        with st.lock:
            st.tokens.add(tok)
        self.reply(200, tok.encode())

    def do_GET(self):
        st = self.server.state
        if self.path == "/_count":
            with st.lock:
                body = json.dumps(st.count).encode()
            return self.reply(200, body, "application/json")
        if self.path.startswith("/ecs/"):
            if st.ecs_token and self.headers.get("Authorization") != st.ecs_token:
                st.bump("unauthorized")
                return self.reply(401)
            n = st.bump("ecs")
            return self.reply(200, creds("ASIAECS", n, st.expires_in), "application/json")
        base = "/latest/meta-data/iam/security-credentials/"
        meta = "/latest/meta-data/"
        if not self.path.startswith(meta):
            return self.reply(404)
        with st.lock:
            ok = self.headers.get("X-aws-ec2-metadata-token") in st.tokens
        if not ok:
            st.bump("unauthorized")
            return self.reply(401)
        if not self.path.startswith(base):
            rel = self.path[len(meta):]
            if not st.meta_dir or ".." in rel.split("/") or rel.startswith("/"):
                return self.reply(404)
            path = os.path.join(st.meta_dir, rel)
            if not os.path.isfile(path):
                return self.reply(404)
            st.bump("meta")
            with open(path, "rb") as f:
                return self.reply(200, f.read())
        rest = self.path[len(base):]
        if rest == "":
            return self.reply(200, (ROLE + "\n").encode())
        if rest == ROLE:
            n = st.bump("imds")
            return self.reply(200, creds("ASIAIMDS", n, st.expires_in), "application/json")
        return self.reply(404)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    ap.add_argument("--ecs-token", default="")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--meta-dir", default="")
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    srv.daemon_threads = True
    srv.state = State(a.expires_in, a.ecs_token, a.meta_dir or None)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
