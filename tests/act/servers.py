"""Real peers for delivery tests: an SMTP server (aiosmtpd) and an HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()
        self.envelopes: list[tuple[str, list[str], list[str]]] = []  # (mail from, rcpt tos, MAIL options)
        self.drop = 0  # this many DATA commands: take the message, then drop the connection without a reply
        self.hang = 0.0  # seconds to wait before answering DATA (a server that goes silent)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options)))
            drop, self.drop = self.drop > 0, max(self.drop - 1, 0)
        if drop:
            server.transport.abort()  # the message is here, the client never hears so
            return "250 never sent"
        if self.hang:
            await asyncio.sleep(self.hang)
        return "250 Message accepted for delivery"


def _authenticator(logins: dict[str, str]):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and \
            logins.get(auth_data.login.decode()) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False)
    return check


class SmtpSink:
    """aiosmtpd on 127.0.0.1; ``messages`` are parsed EmailMessages in arrival order.

    ``tls``: an ``ssl.SSLContext`` for STARTTLS (required then), or with ``implicit_tls`` for SMTPS;
    ``logins``: {user: password} — authentication is then required, and only over TLS when given.
    """

    def __init__(self, port: int | None = None, *, tls=None, implicit_tls: bool = False,
                 logins: dict[str, str] | None = None, smtputf8: bool = False) -> None:
        self.port = port or free_port()
        self.inbox = _Inbox()
        kwargs: dict = {"enable_SMTPUTF8": smtputf8}
        if tls is not None and implicit_tls:
            kwargs["ssl_context"] = tls
        elif tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if logins is not None:
            kwargs.update(authenticator=_authenticator(logins), auth_required=True,
                          auth_require_tls=tls is not None)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list:
        with self.inbox.lock:
            return list(self.inbox.messages)

    def ids(self) -> Counter:
        return Counter(m["Message-ID"] for m in self.messages)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class HttpReceiver:
    """Records JSON POSTs; answers with ``status`` (a list is consumed one per request)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "json": json.loads(body)})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
