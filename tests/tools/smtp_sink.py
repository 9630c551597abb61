#!/usr/bin/python3
"""An SMTP server for tests (Debian's python3-aiosmtpd): what a mail relay does.

Listens on 127.0.0.1:--port and writes each message it accepts to --dir as
NNNN.eml (the data, as received) and NNNN.json ({"mail_from", "rcpt_tos",
"tls", "auth"}), written atomically. With --cert/--key it offers STARTTLS
and requires it before MAIL; with --auth USER:PASSWORD it offers AUTH
(PLAIN, LOGIN; only after STARTTLS) and requires it. Stops on SIGTERM/SIGINT.
Run with /usr/bin/python3: Debian's python3-* modules load only there.
"""
import argparse
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.dir, "%04d" % n)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "auth": session.authenticated,
            "login": (getattr(session, "login_data", None) or b"").decode() or None,
        }
        for ext, data in ((".eml", envelope.original_content), (".json", json.dumps(meta).encode())):
            with open(base + ext + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + ext + ".tmp", base + ext)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    a = ap.parse_args()
    kw = {}
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kw["tls_context"] = ctx
        kw["require_starttls"] = True
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            return AuthResult(success=ok)

        kw["authenticator"] = authenticator
        kw["auth_required"] = True
        kw["auth_require_tls"] = bool(a.cert)
    ctl = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, **kw)
    ctl.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Ready: the caller waits for this file.
    with open(os.path.join(a.dir, "ready"), "w") as f:
        f.write("ready\n")
    stop.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
