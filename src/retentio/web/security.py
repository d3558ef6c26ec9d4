"""Protective headers on every response, and body limits, as one ASGI middleware.

* Content-Security-Policy: scripts only from this server, no inline script,
  no request to another host (``connect-src 'self'``), no framing.
* X-Frame-Options, Referrer-Policy, X-Content-Type-Options, a closed
  Permissions-Policy; HSTS when served over HTTPS.
* Bodies: 1 MiB for ordinary requests, 16 KiB for the link pages, 1 GiB for
  uploads; more is answered 413 before the application reads it, whether the
  client announced the length or streamed it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
       "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")
# The pages behind links in e-mails load nothing from anywhere (their style is inline).
LINK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
DEFAULT_LIMIT = 1024 * 1024
LINK_LIMIT = 16 * 1024
UPLOAD_LIMIT = 1024 * 1024 * 1024 + 1024 * 1024
UPLOAD_PATHS = ("/api/v1/imports", "/data/upload")


def limit_for(path: str) -> int:
    if path.startswith(UPLOAD_PATHS):
        return UPLOAD_LIMIT
    if path.startswith(("/u/", "/f/")):
        return LINK_LIMIT
    return DEFAULT_LIMIT


class TooLarge(Exception):
    pass


class SecurityMiddleware:
    def __init__(self, app: Callable, https: bool = False) -> None:
        self.app = app
        self.headers = list(HEADERS)
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        started = False

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _v in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                if scope.get("path", "").startswith(("/u/", "/f/")):  # link pages: no referrer, no caching
                    swap = {b"referrer-policy": b"no-referrer", b"content-security-policy": LINK_CSP.encode()}
                    extra = [(k, swap.get(k, v)) for k, v in extra]
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._too_large(send_with_headers)
            return
        seen = 0

        async def counted_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except TooLarge:
            if not started:
                await self._too_large(send_with_headers)
        except Exception as exc:  # already answered 500 by the app; only the kind of error is logged, no data
            # Only the kind of error: a traceback can hold customers' data. RETENTIO_DEBUG=1 shows it (development).
            log.error("request to %s failed: %s", scope.get("path", ""), type(exc).__name__,
                      exc_info=exc if os.environ.get("RETENTIO_DEBUG") == "1" else None)
            if not started:
                await self._failed(send_with_headers)

    @staticmethod
    async def _failed(send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        body = b'{"type":"about:blank","title":"Internal Server Error","status":500}'
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _too_large(send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        body = (b'{"type":"about:blank","title":"Content Too Large","status":413,'
                b'"detail":"The request body is larger than this endpoint accepts."}')
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
