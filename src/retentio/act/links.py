"""Signed links that work without a login: unsubscribe and feedback.

A token is ``base64url(payload).base64url(HMAC-SHA256(secret, payload))``;
the payload names the customer, the channel and purpose, and what the link
does. Nothing about the customer but the internal id is in it, so a leaked
link reveals no PII. The secret is the installation's own
(:mod:`retentio.secrets`): links of one shop do not work for another, and
changing ``RETENTIO_SECRET_KEY`` invalidates them all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine

from retentio.errors import RetentioError

ACTIONS = ("unsubscribe", "feedback", "survey")
MAX_TOKEN = 512


class BadToken(RetentioError):
    pass


@dataclass(frozen=True)
class LinkClaim:
    action: str  # "unsubscribe", "feedback" or "survey"
    customer_id: int
    channel: str = "email"
    purpose: str = "marketing"
    invitation: int | None = None  # survey: which invitation the answer belongs to


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), b"retentio-link:" + payload, hashlib.sha256).digest()


def sign(claim: LinkClaim, secret: str) -> str:
    data: dict = {"a": claim.action, "c": claim.customer_id, "ch": claim.channel, "p": claim.purpose}
    if claim.invitation is not None:
        data["i"] = claim.invitation
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, secret))}"


def verify(token: str, secret: str) -> LinkClaim:
    """The claim of a genuine token; BadToken for anything else (forged, cut, or well-signed but malformed)."""
    if not token or len(token) > MAX_TOKEN:
        raise BadToken("malformed link")
    try:
        body, mac = token.split(".", 1)
        payload = _unb64(body)
        ok = hmac.compare_digest(_unb64(mac), _mac(payload, secret))
    except (ValueError, TypeError, binascii.Error):
        raise BadToken("malformed link") from None
    if not ok:
        raise BadToken("the link's signature does not match")
    try:
        data = json.loads(payload)
        inv = data.get("i")
        claim = LinkClaim(str(data["a"]), int(data["c"]), str(data["ch"]), str(data["p"]),
                          None if inv is None else int(inv))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):  # not an object, wrong types
        raise BadToken("malformed link") from None
    if claim.action not in ACTIONS or claim.customer_id <= 0 or (claim.action == "survey") != (
            claim.invitation is not None and claim.invitation > 0):
        raise BadToken("malformed link")
    return claim


def _base(engine: Engine | None, base: str | None) -> str:
    if base:
        return base.rstrip("/")
    if engine is None:
        raise ValueError("a link needs the shop's database or an explicit base address")
    from retentio.shop import load_config

    return load_config(engine).public_url.rstrip("/")


def link_secret(engine: Engine | None) -> str:
    from retentio.secrets import secret_key

    if engine is None:
        raise ValueError("a link needs the shop's database or an explicit secret")
    return secret_key(engine)


def unsubscribe_url(engine: Engine | None, customer_id: int, channel: str = "email", purpose: str = "marketing",
                    base: str | None = None, secret: str | None = None) -> str:
    token = sign(LinkClaim("unsubscribe", customer_id, channel, purpose), secret or link_secret(engine))
    return f"{_base(engine, base)}/u/{quote(token)}"


def feedback_url(engine: Engine | None, customer_id: int, base: str | None = None, secret: str | None = None) -> str:
    token = sign(LinkClaim("feedback", customer_id), secret or link_secret(engine))
    return f"{_base(engine, base)}/f/{quote(token)}"


def survey_url(engine: Engine | None, customer_id: int, invitation_id: int, base: str | None = None,
               secret: str | None = None) -> str:
    token = sign(LinkClaim("survey", customer_id, invitation=invitation_id), secret or link_secret(engine))
    return f"{_base(engine, base)}/s/{quote(token)}"
