#!/usr/bin/env python3
"""The AWS endpoint of tests/integration/test_fleet.sh: every request quire
sends is checked, then answered by moto (server mode) or, for what moto does
not implement, here.

  - Every request's SigV4 signature is recomputed with botocore's own signer
    from the headers the request says it signed, and the secret that belongs
    to its access key (the fake IMDS issues ASIAIMDS<n> with fake-secret-<n>;
    static test keys are given with --key ID=SECRET). A request whose
    signature does not match is answered 403 SignatureDoesNotMatch.
  - Auto Scaling's RecordLifecycleActionHeartbeat and CompleteLifecycleAction
    (moto has neither) are checked against botocore's Auto Scaling service
    model: the API version, the action, every parameter a member of the
    operation's input shape, every required member present, string lengths
    and enums within the model's constraints. A lifecycle action is pending
    once the test asks for it (POST /_pending with hook, group and
    instance); a heartbeat or completion of an action that is not pending
    gets Auto Scaling's ValidationError.
  - Everything else is forwarded to moto unchanged.

Each request is appended to --log as one JSON line: service, action, the
parameters of the lifecycle calls, whether the signature matched, the status.

usage: aws_endpoint.py --port-file F --moto URL --log FILE [--key ID=SECRET]...
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LIFECYCLE = ("RecordLifecycleActionHeartbeat", "CompleteLifecycleAction")
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


class State:
    def __init__(self, moto, log, keys):
        self.lock = threading.Lock()
        self.moto = moto.rstrip("/")
        self.log = log
        self.keys = keys
        self.pending = []  # [(hook, group, instance)]
        self.model = botocore.session.get_session().get_service_model("autoscaling")

    def record(self, entry):
        with self.lock, open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def secret_for(st, akid):
    if akid in st.keys:
        return st.keys[akid], None
    m = re.fullmatch(r"ASIAIMDS(\d{4})", akid)
    if m:
        n = int(m.group(1))
        return "fake-secret-%d" % n, "fake-session-token-%d" % n
    return None, None


def check_signature(st, handler, body):
    """'' when the signature is the one botocore computes, else why not."""
    auth = handler.headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return "no SigV4 Authorization header"
    akid, day, region, service, signed, signature = m.groups()
    secret, token = secret_for(st, akid)
    if secret is None:
        return "unknown access key %s" % akid
    amz_date = handler.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(day):
        return "X-Amz-Date %s is not of the credential's day %s" % (amz_date, day)
    names = signed.split(";")
    if "host" not in names:
        return "host is not signed"
    headers = {}
    for n in names:
        v = handler.headers.get(n)
        if v is None:
            return "signed header %s is missing" % n
        headers[n] = v
    url = "http://%s%s" % (handler.headers["Host"], handler.path)
    req = AWSRequest(method=handler.command, url=url, data=body, headers=headers)
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("x", secret, token), service, region)
    # botocore adds what it always signs; quire must have signed the same set.
    canonical = signer.canonical_request(req)
    if signer.signed_headers(signer.headers_to_sign(req)) != signed:
        return "botocore would sign %s, the request signed %s" % (
            signer.signed_headers(signer.headers_to_sign(req)), signed)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if want != signature:
        return "signature mismatch (botocore computes %s)" % want
    sent_hash = handler.headers.get("X-Amz-Content-SHA256")
    if sent_hash and sent_hash != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-SHA256 is not the body's hash"
    if token and handler.headers.get("X-Amz-Security-Token") != token:
        return "the session token of %s is missing or wrong" % akid
    return ""


def check_model(st, action, params):
    """'' when the query request fits botocore's Auto Scaling model, else why not."""
    if params.get("Version") != st.model.api_version:
        return "Version %r is not %s" % (params.get("Version"), st.model.api_version)
    try:
        op = st.model.operation_model(action)
    except Exception:  # noqa: BLE001 - an unknown operation is the finding
        return "no operation %s in the model" % action
    shape = op.input_shape
    members = shape.members
    for k, v in params.items():
        if k in ("Action", "Version"):
            continue
        if k not in members:
            return "%s is not a member of %s" % (k, shape.name)
        mshape = members[k]
        if mshape.type_name != "string":
            return "%s: the test endpoint only checks string members, got %s" % (k, mshape.type_name)
        meta = mshape.metadata
        if len(v) < meta.get("min", 0) or len(v) > meta.get("max", 1 << 30):
            return "%s has %d characters, outside %s..%s" % (k, len(v), meta.get("min"), meta.get("max"))
        if mshape.enum and v not in mshape.enum:
            return "%s=%r is not one of %s" % (k, v, mshape.enum)
    for r in shape.required_members:
        if r not in params:
            return "required %s is missing" % r
    return ""


def xml_ok(action):
    rid = str(uuid.uuid4())
    return ('<%sResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><%sResult/>'
            '<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>'
            % (action, action, rid, action)).encode()


def xml_error(code, message):
    return ('<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error>'
            '<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>'
            '<RequestId>%s</RequestId></ErrorResponse>' % (code, message, uuid.uuid4())).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="text/xml", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.forward(b"")

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/_pending":
            p = json.loads(body)
            with st.lock:
                st.pending.append((p["hook"], p["group"], p["instance"]))
            return self.reply(200, b"{}", "application/json")
        target = self.headers.get("X-Amz-Target", "")
        params = {}
        if not target:
            params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        action = target.split(".")[-1] if target else params.get("Action", "")
        m = AUTH_RE.match(self.headers.get("Authorization", ""))
        service = m.group(4) if m else ""
        sig = check_signature(st, self, body)
        entry = {"service": service, "action": action, "signature": sig or "ok",
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        if sig:
            entry["status"] = 403
            st.record(entry)
            return self.reply(403, xml_error("SignatureDoesNotMatch", sig))
        if service == "autoscaling" and action in LIFECYCLE:
            entry["params"] = {k: v for k, v in params.items() if k not in ("Action", "Version")}
            why = check_model(st, action, params)
            entry["model"] = why or "ok"
            if why:
                entry["status"] = 400
                st.record(entry)
                return self.reply(400, xml_error("ValidationError", why))
            key = (params["LifecycleHookName"], params["AutoScalingGroupName"], params.get("InstanceId", ""))
            with st.lock:
                pending = key in st.pending
                if pending and action == "CompleteLifecycleAction":
                    st.pending.remove(key)
            if not pending:
                entry["status"] = 400
                st.record(entry)
                return self.reply(400, xml_error(
                    "ValidationError", "No active Lifecycle Action found with instance ID %s" % key[2]))
            entry["status"] = 200
            st.record(entry)
            return self.reply(200, xml_ok(action))
        status = self.forward(body)
        entry["status"] = status
        st.record(entry)

    def forward(self, body):
        st = self.server.state
        req = urllib.request.Request(st.moto + self.path, data=body or None, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection", "expect"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), e.headers.get("Content-Type", "text/xml")
        self.reply(status, data, ctype)
        return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--moto", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--key", action="append", default=[])
    a = ap.parse_args()
    keys = dict(k.split("=", 1) for k in a.key)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.moto, a.log, keys)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
