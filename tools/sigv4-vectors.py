#!/usr/bin/python3
"""Writes the SigV4 test vectors in tests/data/sigv4/*.json with botocore.

Each vector is one S3 request signed by botocore.auth.S3SigV4Auth with fixed
credentials at a fixed instant: the request as quire builds it (method, URL
with the key already URI-encoded the way botocore's serializer encodes it,
headers, payload hash), and what botocore computed (canonical request, string
to sign, Authorization). tests/unit/aws/test_sigv4.c checks quire computes the
same bytes.

Usage: /usr/bin/python3 tools/sigv4-vectors.py tests/data/sigv4
(Debian's python3-botocore; tests/data/sigv4/README.md records the version.)
"""
import datetime
import hashlib
import json
import os
import sys
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token=="
WHEN = datetime.datetime(2026, 11, 26, 12, 34, 56)


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return WHEN

    @classmethod
    def now(cls, tz=None):
        return WHEN.replace(tzinfo=tz) if tz else WHEN


class Recorder(botocore.auth.S3SigV4Auth):
    """S3SigV4Auth that keeps the intermediate strings it computed."""

    def canonical_request(self, request):
        self.cr = super().canonical_request(request)
        return self.cr

    def string_to_sign(self, request, canonical_request):
        self.sts = super().string_to_sign(request, canonical_request)
        return self.sts


def key_path(key):
    """A key as botocore's REST serializer puts it in the path."""
    return quote(key, safe="/~")


def vector(name, method, url, region, headers=(), body=b"", token=None, unsigned=False, key=None):
    creds = Credentials(ACCESS, SECRET, token)
    auth = Recorder(creds, "s3", region)
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    if unsigned:
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    with mock.patch.object(botocore.auth.datetime, "datetime", FixedDatetime):
        auth.add_auth(req)
    return {
        "name": name,
        "method": method,
        "url": url,
        "key": key,
        "region": region,
        "service": "s3",
        "access_key_id": ACCESS,
        "secret_access_key": SECRET,
        "session_token": token,
        "timestamp": WHEN.strftime("%Y%m%dT%H%M%SZ"),
        "epoch": int(WHEN.replace(tzinfo=datetime.timezone.utc).timestamp()),
        "headers": [[k, v] for k, v in headers],
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "payload_hash": req.headers["X-Amz-Content-SHA256"],
        "canonical_request": auth.cr,
        "string_to_sign": auth.sts,
        "authorization": req.headers["Authorization"],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/sigv4"
    odd = "books/a b/caf\u00e9 \u20ac+~x(1)!.epub"
    body = b"hello, quire\n"
    xml = (b'<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'
           b'<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag></Part></CompleteMultipartUpload>')
    vs = [
        vector("get-virtual-hosted-odd-key", "GET",
               "https://examplebucket.s3.eu-west-1.amazonaws.com/" + key_path(odd),
               "eu-west-1", key=odd),
        vector("get-path-style-odd-key", "GET",
               "https://s3.eu-west-1.amazonaws.com/examplebucket/" + key_path(odd),
               "eu-west-1", key=odd),
        vector("head-object", "HEAD",
               "https://examplebucket.s3.us-east-1.amazonaws.com/books/1/manifest.json",
               "us-east-1", key="books/1/manifest.json"),
        vector("delete-object", "DELETE",
               "https://examplebucket.s3.us-east-1.amazonaws.com/books/1/slices/0001.qs",
               "us-east-1", key="books/1/slices/0001.qs"),
        vector("put-object-payload-hash", "PUT",
               "https://examplebucket.s3.us-east-1.amazonaws.com/books/1/manifest.json",
               "us-east-1",
               headers=[("Content-Type", "application/json"), ("Cache-Control", "no-cache")],
               body=body, key="books/1/manifest.json"),
        vector("put-object-unsigned-payload", "PUT",
               "https://examplebucket.s3.us-east-1.amazonaws.com/books/1/slices/0002.qs",
               "us-east-1",
               headers=[("Content-Type", "application/octet-stream"),
                        ("Cache-Control", "public, max-age=31536000, immutable")],
               body=body, unsigned=True, key="books/1/slices/0002.qs"),
        vector("create-multipart-upload", "POST",
               "https://examplebucket.s3.us-east-1.amazonaws.com/big/file.qs?uploads",
               "us-east-1", headers=[("Content-Type", "application/octet-stream")],
               key="big/file.qs"),
        vector("upload-part", "PUT",
               "https://examplebucket.s3.us-east-1.amazonaws.com/big/file.qs"
               "?partNumber=2&uploadId=VXBsb2FkIElE%2Bfoo%3D%3D",
               "us-east-1", body=body, key="big/file.qs"),
        vector("complete-multipart-upload", "POST",
               "https://examplebucket.s3.us-east-1.amazonaws.com/big/file.qs"
               "?uploadId=VXBsb2FkIElE%2Bfoo%3D%3D",
               "us-east-1", headers=[("Content-Type", "application/xml")], body=xml,
               key="big/file.qs"),
        vector("list-objects-v2", "GET",
               "https://examplebucket.s3.us-east-1.amazonaws.com/"
               "?prefix=books%2Fa%20b%2F&list-type=2",
               "us-east-1"),
        vector("session-token", "GET",
               "https://examplebucket.s3.us-east-1.amazonaws.com/books/1/key.json",
               "us-east-1", token=TOKEN, key="books/1/key.json"),
        vector("custom-endpoint-port", "PUT",
               "http://127.0.0.1:4568/test-bucket/" + key_path("dir/\u00fcber space.json"),
               "us-east-1", headers=[("Content-Type", "application/json")], body=body,
               key="dir/\u00fcber space.json"),
        vector("custom-endpoint-default-port", "GET",
               "http://minio.internal:80/test-bucket/a.json", "eu-central-1",
               token=TOKEN, key="a.json"),
    ]
    os.makedirs(out, exist_ok=True)
    for v in vs:
        with open(os.path.join(out, v["name"] + ".json"), "w", encoding="utf-8") as f:
            json.dump(v, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print("botocore %s: %d vectors in %s" % (botocore.__version__, len(vs), out))


if __name__ == "__main__":
    main()
