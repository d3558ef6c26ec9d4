"""Errors as RFC 9457 problem details (``application/problem+json``) for the API, and as pages for people.

Retentio's own errors carry a message meant for the user; it is rendered in
the request's language. Anything unexpected becomes a 500 that says nothing
about the data or the code (the log has the kind of error, not its values).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from retentio.errors import Conflict, NotFound, PermissionDenied, RetentioError

log = logging.getLogger(__name__)
MEDIA = "application/problem+json"
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
          429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem(status: int, detail: str | None = None, *, instance: str | None = None, headers: dict | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def status_of(exc: RetentioError) -> int:
    from retentio.auth.sessions import LoginRefused, LoginThrottled
    from retentio.webhooks import BadSignature

    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, (LoginRefused, BadSignature)):
        return 401
    if isinstance(exc, LoginThrottled):
        return 429
    return 422


def lang_of(request: Request) -> str:
    return getattr(request.state, "lang", None) or "en"


def api_error(request: Request, exc: Exception) -> JSONResponse:
    path = request.url.path
    if isinstance(exc, RetentioError):
        status = status_of(exc)
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        return problem(status, exc.msg.render(lang_of(request)), instance=path, headers=headers)
    if isinstance(exc, RequestValidationError):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200],
                   "type": str(e.get("type", ""))} for e in exc.errors()[:20]]
        return problem(422, "The request does not match the API's schema.", instance=path, errors=errors)
    if isinstance(exc, HTTPException):
        return problem(exc.status_code, str(exc.detail) if exc.detail else None, instance=path,
                       headers=getattr(exc, "headers", None))
    log.error("unexpected error on %s %s: %s", request.method, path, type(exc).__name__)
    return problem(500, "An unexpected error occurred; it has been logged.", instance=path)


# Declared on every API route, so the OpenAPI document describes the errors a client can meet.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": TITLES[code], "content": {MEDIA: {}}}
    for code in (401, 403, 404, 409, 422, 429)
}
