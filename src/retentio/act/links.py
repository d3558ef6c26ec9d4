"""Signed links that work without a login: unsubscribe and feedback.

A token is ``base64url(payload).base64url(HMAC-SHA256(secret_key, payload))``;
the payload names the customer, the channel and purpose, and what the link
does. Nothing about the customer but the internal id is in it, so a leaked
link reveals no PII; changing ``RETENTIO_SECRET_KEY`` invalidates all links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import quote

from retentio.errors import RetentioError
from retentio.settings import get_settings


class BadToken(RetentioError):
    pass


@dataclass(frozen=True)
class LinkClaim:
    action: str  # "unsubscribe" or "feedback"
    customer_id: int
    channel: str = "email"
    purpose: str = "marketing"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), b"retentio-link:" + payload, hashlib.sha256).digest()


def sign(claim: LinkClaim, secret: str | None = None) -> str:
    payload = json.dumps({"a": claim.action, "c": claim.customer_id, "ch": claim.channel, "p": claim.purpose},
                         separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, secret or get_settings().secret_key))}"


def verify(token: str, secret: str | None = None) -> LinkClaim:
    try:
        body, mac = token.split(".", 1)
        payload = _unb64(body)
        ok = hmac.compare_digest(_unb64(mac), _mac(payload, secret or get_settings().secret_key))
    except (ValueError, TypeError):
        raise BadToken("malformed link") from None
    if not ok:
        raise BadToken("the link's signature does not match")
    data = json.loads(payload)
    return LinkClaim(data["a"], int(data["c"]), data["ch"], data["p"])


def unsubscribe_url(customer_id: int, channel: str = "email", purpose: str = "marketing",
                    base: str | None = None) -> str:
    token = sign(LinkClaim("unsubscribe", customer_id, channel, purpose))
    return f"{(base or get_settings().public_url).rstrip('/')}/u/{quote(token)}"


def feedback_url(customer_id: int, base: str | None = None) -> str:
    token = sign(LinkClaim("feedback", customer_id))
    return f"{(base or get_settings().public_url).rstrip('/')}/f/{quote(token)}"
