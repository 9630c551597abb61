#!/usr/bin/env python3
"""A callback receiver for tests: what a Rails app does with quire's callback.

Listens on 127.0.0.1 (a free port, written to --port-file), verifies
X-Quire-Signature ("t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>")
with the shared secret (hmac.compare_digest, --tolerance seconds either way),
checks that Idempotency-Key equals the body's job_id, and records logical
deliveries keyed by Idempotency-Key: a second delivery of the same key is
answered 200 but counted as a duplicate, not as a new delivery.

It can be told to misbehave for the first N correctly signed attempts
(--fail N --fail-mode 500|503|429|drop|hang; hang = answer nothing for
--hang-seconds, so the client times out), or always (--always STATUS), and
pad its 200 answers (--answer-bytes N).
A bad or missing signature is answered 401.

Every attempt and the deliveries are written (atomically, before the answer
is sent) to --record as JSON:
  {"attempts": [{"key", "delivery", "event", "attempt", "t", "signed",
                 "signature_ok", "answer"}],
   "deliveries": {key: {"count": n, "body": first body}}, "duplicates": n}
GET /deliveries returns the same document.

Stops on SIGTERM/SIGINT. Standard library only.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4 * 1024 * 1024


def parse_signature(value):
    """'t=123,v1=abc' -> (123, ['abc']); None when malformed."""
    t = None
    sigs = []
    for part in value.split(","):
        k, sep, v = part.strip().partition("=")
        if not sep:
            return None
        if k == "t":
            if not v.isdigit():
                return None
            t = int(v)
        elif k == "v1":
            sigs.append(v)
    if t is None or not sigs:
        return None
    return t, sigs


def verify(secret, header, raw, tolerance, now):
    """(signed, ok, t) for one request, as a receiver must check it."""
    if header is None:
        return False, False, None
    parsed = parse_signature(header)
    if parsed is None:
        return True, False, None
    t, sigs = parsed
    if abs(now - t) > tolerance:
        return True, False, t
    expected = hmac.new(secret, str(t).encode() + b"." + raw, hashlib.sha256).hexdigest()
    ok = any(hmac.compare_digest(expected, s) for s in sigs)
    return True, ok, t


class State:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        self.valid_seen = 0
        self.lock = threading.Lock()
        self.doc = {"attempts": [], "deliveries": {}, "duplicates": 0}

    def save(self):
        tmp = self.args.record + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.doc, f)
        os.replace(tmp, self.args.record)


class Handler(BaseHTTPRequestHandler):
    server_version = "callback-receiver/1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("receiver: " + (format % args) + "\n")

    def answer(self, status, doc, extra=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.state
        if self.path != "/deliveries":
            self.answer(404, {"error": "not found"})
            return
        with st.lock:
            doc = json.dumps(st.doc)
        self.answer(200, json.loads(doc))

    def do_POST(self):
        st = self.server.state
        with st.lock:
            hang = self.handle_post(st)
        if hang:
            # Hold the connection without answering; the client gives up first.
            time.sleep(st.args.hang_seconds)
            self.close_connection = True

    def handle_post(self, st):
        """Records and answers one POST; True when the answer is to hang."""
        args = st.args
        length = int(self.headers.get("Content-Length") or "0")
        if length < 0 or length > MAX_BODY:
            self.answer(413, {"error": "too large"})
            return False
        raw = self.rfile.read(length)
        key = self.headers.get("Idempotency-Key")
        signed, ok, t = verify(st.secret, self.headers.get("X-Quire-Signature"), raw,
                               args.tolerance, int(time.time()))
        if not signed and args.accept_unsigned:
            ok = True
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        rec = {
            "key": key,
            "delivery": self.headers.get("X-Quire-Delivery"),
            "event": self.headers.get("X-Quire-Event"),
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "attempt": body.get("attempt") if isinstance(body, dict) else None,
            "t": t,
            "signed": signed,
            "signature_ok": ok,
        }
        st.doc["attempts"].append(rec)

        if not ok:
            rec["answer"] = 401
            st.save()
            self.answer(401, {"error": "bad signature"})
            return False
        if not key or not isinstance(body, dict) or body.get("job_id") != key:
            rec["answer"] = 400
            st.save()
            self.answer(400, {"error": "Idempotency-Key does not match job_id"})
            return False

        st.valid_seen += 1
        if st.valid_seen <= args.fail or args.always:
            mode = str(args.always) if args.always else args.fail_mode
            rec["answer"] = mode
            st.save()
            if mode == "drop":
                # Read the request, answer nothing, close: a dropped connection.
                self.close_connection = True
                return False
            if mode == "hang":
                return True
            extra = {"Retry-After": "1"} if mode in ("429", "503") else None
            self.answer(int(mode), {"error": "told to fail"}, extra)
            return False

        d = st.doc["deliveries"].get(key)
        if d is None:
            st.doc["deliveries"][key] = {"count": 1, "body": body}
        else:
            d["count"] += 1
            st.doc["duplicates"] += 1
        rec["answer"] = 200
        st.save()
        doc = {"ok": True, "duplicate": d is not None}
        if args.answer_bytes:
            doc["padding"] = "x" * args.answer_bytes
        self.answer(200, doc)
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secret", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-mode", choices=["500", "503", "429", "drop", "hang"], default="500")
    ap.add_argument("--hang-seconds", type=float, default=5.0)
    ap.add_argument("--always", type=int, default=0, help="answer this status to every signed attempt")
    ap.add_argument("--tolerance", type=int, default=300)
    ap.add_argument("--accept-unsigned", action="store_true")
    ap.add_argument("--answer-bytes", type=int, default=0, help="pad the 200 answer with this many bytes")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    srv.state.save()

    def stop(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
