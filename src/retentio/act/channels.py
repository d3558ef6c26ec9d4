"""Channels: one small protocol, three transports (email over SMTP, webhooks, call lists).

A channel gets one rendered outbox message and says whether it was accepted,
failed for now (retry with back-off) or failed for good. Every message carries
a stable identity derived from its idempotency key — the email ``Message-ID``
and the webhook ``Idempotency-Key`` header — so in the one case a transport
can be asked twice (the worker died after the server accepted but before the
database recorded it), the receiver sees the same id twice and can drop the
copy (docs/delivery.md, "Exactly once").
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Outgoing:
    id: int
    key: str
    channel: str
    customer_id: int | None
    address: str | None
    purpose: str
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    payload: dict[str, Any] | None = None
    locale: str | None = None
    flow_key: str | None = None


@dataclass
class Result:
    ok: bool
    permanent: bool = False
    error: str | None = None
    message_id: str | None = None
    local_rows: list[dict[str, Any]] = field(default_factory=list)
    # The transport took the whole message and then went silent (connection lost or timed out before
    # the server's reply): it may or may not have been delivered.
    in_doubt: bool = False


class InvalidMessage(ValueError):
    """A message no transport can send as it is (a line break in a header): fails at once, no retries."""


def _header(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise InvalidMessage(f"line break in the {what} header")
    return value


class Channel(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Result: ...

    def close(self) -> None: ...


# No folding: RFC 5322 allows 998 characters a line, and folding a long URL in
# List-Unsubscribe would turn it into encoded words that mail clients cannot use.
NO_FOLD = compat32.clone(max_line_length=0, linesep="\r\n")  # SMTP wants CRLF; smtplib leaves bytes alone
UTF8_TO = "utf8-recipient.invalid"  # placeholder, replaced by the UTF-8 address for SMTPUTF8 servers
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP  # readable umlauts in the source, unlike base64


def message_id(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(msg: Outgoing, sender: str, sender_name: str = "") -> Message:
    """The MIME message for an outbox row; the same for SMTP and for .eml files."""
    # The compat32 MIME classes: the same bytes on the wire as EmailMessage, about
    # four times faster to build and flatten, which is most of a send's cost.
    text = MIMEText(msg.body_text or "", "plain", UTF8_QP)  # type: ignore[arg-type]  # a Charset is accepted
    if msg.body_html:
        em: Message = MIMEMultipart("alternative")
        em.attach(text)
        em.attach(MIMEText(msg.body_html, "html", UTF8_QP))  # type: ignore[arg-type]
    else:
        em = text
    _header(sender_name, "From")
    em["From"] = formataddr((sender_name, sender), charset="utf-8") if sender_name else sender
    em["To"] = _header(msg.address or "", "To")
    subject = _header(msg.subject or "", "Subject")
    em["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
    em["Date"] = formatdate(usegmt=True)
    em["Message-ID"] = message_id(msg.key, sender.rsplit("@", 1)[-1])
    if msg.locale:
        em["Content-Language"] = msg.locale
    link = (msg.payload or {}).get("unsubscribe_url")
    if msg.purpose == "marketing" and link:
        # RFC 2369 + RFC 8058: mail clients offer a one-click unsubscribe that POSTs to this URL
        # (signed when the message was planned, with the installation's secret).
        em["List-Unsubscribe"] = f"<{_header(link, 'List-Unsubscribe')}>"
        em["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    em["X-Retentio-Flow"] = msg.flow_key or ""
    return em


class RateLimiter:
    """At most ``rate`` calls per second (token bucket of one second's worth); 0 means no limit."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.last = rate, max(rate, 1.0), time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        with self.lock:
            now = time.monotonic()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1:
                time.sleep((1 - self.tokens) / self.rate)
                self.last, self.tokens = time.monotonic(), 1.0
            self.tokens -= 1


class SmtpChannel:
    """Email over SMTP: ``smtp://user:pass@host:587?starttls=1`` or ``smtps://…:465``.

    TLS verifies the server's certificate and host name against the system's
    trust store, or against ``?cafile=/path/ca.pem`` for a private CA
    (smtplib's own default context would accept any certificate). Sending
    credentials over a connection without TLS is refused unless the host is
    the local machine.
    """

    name = "email"

    def __init__(self, url: str, sender: str, sender_name: str = "", rate: float = 0.0, timeout: float = 30) -> None:
        u = urlsplit(url)
        if u.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP URL must start with smtp:// or smtps://")
        q = parse_qs(u.query)
        self.host, self.port = u.hostname or "localhost", u.port or (465 if u.scheme == "smtps" else 25)
        self.ssl, self.starttls = u.scheme == "smtps", q.get("starttls", ["0"])[0] in ("1", "true")
        self.user, self.password = unquote(u.username or ""), unquote(u.password or "")
        if self.user and not (self.ssl or self.starttls) and self.host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("SMTP credentials need TLS: use smtps:// or ?starttls=1")
        if not (self.user + self.password).isascii():
            raise ValueError("SMTP user and password must be ASCII (smtplib sends AUTH in ASCII)")
        self.cafile = q.get("cafile", [None])[0]
        self.sender, self.sender_name, self.timeout = sender, sender_name, timeout
        self.limiter = RateLimiter(rate)
        self._smtp: smtplib.SMTP | None = None

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls()) if self.ssl
                    else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
            if self.starttls:
                smtp.starttls(context=self._tls())
            if self.user:
                smtp.login(self.user, self.password)
            self._smtp = smtp
        return self._smtp

    def build(self, msg: Outgoing) -> Message:
        return build_email(msg, self.sender, self.sender_name)

    def send(self, msg: Outgoing) -> Result:
        try:
            em = self.build(msg)
        except (InvalidMessage, ValueError, UnicodeError) as exc:
            return Result(False, permanent=True, error=f"invalid message: {exc}"[:300])
        self.limiter.wait()
        body_sent = False
        try:
            smtp = self._connect()
            smtp.ehlo_or_helo_if_needed()  # what sendmail() does first: MAIL needs the greeting
            address, options = self._recipient(smtp, msg.address or "")
            if address is None:
                return Result(False, permanent=True, error="the address has international characters before the @ "
                                                           "(SMTPUTF8), which the server does not offer")
            if address != (msg.address or "") and "SMTPUTF8" not in options:
                del em["To"]
                em["To"] = address  # the domain in its ASCII form, as on the envelope
            if "SMTPUTF8" in options:
                # RFC 6532: the address goes into the header as UTF-8, which compat32 cannot write.
                del em["To"]
                em["To"] = UTF8_TO
                data = em.as_bytes(policy=NO_FOLD).replace(f"To: {UTF8_TO}".encode(),
                                                           f"To: {address}".encode())
            else:
                data = em.as_bytes(policy=NO_FOLD)
            code, _ = smtp.mail(self.sender, options)
            if code != 250:
                self.close()
                return Result(False, permanent=code >= 500, error=f"SMTP MAIL {code}")
            code, _ = smtp.rcpt(address)
            if code not in (250, 251):
                smtp.rset()
                return Result(False, permanent=code >= 500, error=f"recipient refused ({code})")
            code, _ = smtp.docmd("data")
            if code != 354:
                smtp.rset()
                return Result(False, permanent=code >= 500, error=f"SMTP DATA {code}")
            payload = smtplib._quote_periods(data)  # type: ignore[attr-defined]  # what smtplib.data() does
            if payload[-2:] != b"\r\n":
                payload += b"\r\n"
            smtp.send(payload + b".\r\n")
            body_sent = True
            code, _ = smtp.getreply()
        except smtplib.SMTPAuthenticationError as exc:
            # the server's configuration, not the message: keep it for a retry once the login is fixed
            self.close()
            return Result(False, error=f"SMTP authentication failed ({exc.smtp_code}); check RETENTIO_SMTP_URL")
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            return Result(False, error=f"{type(exc).__name__}: {exc}"[:300], in_doubt=body_sent)
        if code != 250:
            return Result(False, permanent=code >= 500, error=f"SMTP {code}")
        return Result(True, message_id=em["Message-ID"])

    def _recipient(self, smtp: smtplib.SMTP, address: str) -> tuple[str | None, list[str]]:
        """The address as the server can take it: an international domain in its ASCII (IDNA) form; an
        international local part only with the server's SMTPUTF8 (RFC 6531)."""
        if address.isascii() and self.sender.isascii():
            return address, []
        local, _, domain = address.rpartition("@")
        if local.isascii() and self.sender.isascii():
            try:
                return f"{local}@{domain.encode('idna').decode('ascii')}", []
            except UnicodeError:
                return None, []
        if smtp.has_extn("smtputf8"):
            return address, ["SMTPUTF8", "BODY=8BITMIME"] if smtp.has_extn("8bitmime") else ["SMTPUTF8"]
        return None, []

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


class FileChannel:
    """Email written as ``.eml`` files into a folder (``file:///path``): for demos, audits and mail imports.

    The file name is the Message-ID's hash and the file appears by an atomic
    rename, so a repeated send overwrites the same file instead of adding one.
    """

    name = "email"

    def __init__(self, folder, sender: str, sender_name: str = "") -> None:
        from pathlib import Path

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sender, self.sender_name = sender, sender_name

    def send(self, msg: Outgoing) -> Result:
        import os

        em = build_email(msg, self.sender, self.sender_name)
        name = hashlib.sha256(em["Message-ID"].encode()).hexdigest()[:20] + ".eml"
        tmp = self.folder / (name + ".tmp")
        tmp.write_bytes(em.as_bytes(policy=NO_FOLD))
        os.replace(tmp, self.folder / name)
        return Result(True, message_id=em["Message-ID"])

    def close(self) -> None:
        pass


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """JSON POST, signed ``X-Retentio-Signature: sha256=HMAC(secret, timestamp + "." + body)``."""

    name = "webhook"

    def __init__(self, secret: str, timeout: float = 10) -> None:
        self.secret, self.timeout = secret, timeout

    def send(self, msg: Outgoing) -> Result:
        body = json.dumps(msg.payload or {}, sort_keys=True, separators=(",", ":")).encode()
        ts = str(int(time.time()))
        req = urllib.request.Request(msg.address or "", data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": msg.key, "X-Retentio-Timestamp": ts,
            "X-Retentio-Signature": sign_webhook(self.secret, ts, body), "User-Agent": "retentio"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            transient = exc.code in (408, 425, 429) or exc.code >= 500
            return Result(False, permanent=not transient, error=f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            return Result(False, error=f"{type(exc).__name__}: {exc}"[:300])
        return Result(True, message_id=msg.key)

    def close(self) -> None:
        pass


class CallListChannel:
    """A call task is a row in ``call_list_entries``, written with the outbox update: exactly once."""

    name = "call_list"

    def send(self, msg: Outgoing) -> Result:
        p = msg.payload or {}
        value = p.get("eiv")
        return Result(True, message_id=msg.key, local_rows=[{
            "outbox_id": msg.id, "list_name": msg.address or "calls", "customer_id": msg.customer_id,
            "priority_value": value, "script": p.get("script"), "context": {k: v for k, v in p.items() if k != "script"}}])

    def close(self) -> None:
        pass
