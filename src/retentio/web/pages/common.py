"""What every page shares: the signed-in principal, CSRF on state changes, error pages, small parsers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.i18n import N_
from retentio.web.auth import CsrfFailed, check_csrf, page_principal
from retentio.web.problems import status_of
from retentio.web.render import render

log = logging.getLogger(__name__)


def engine(request: Request):
    return request.app.state.engine


def lang(request: Request) -> str:
    from retentio.web.render import request_lang

    cached = getattr(request.state, "lang", None)
    if cached:
        return cached
    session = getattr(request.state, "session", None)
    value = request_lang(request, session.lang if session else None, request.app.state.shop_config().locale)
    request.state.lang = value
    return value


def viewer(request: Request, p: Principal = Depends(page_principal)) -> Principal:
    lang(request)
    return p


async def changer(request: Request, p: Principal = Depends(page_principal)) -> Principal:
    """A signed-in principal whose request carries the session's CSRF token."""
    await check_csrf(request)
    lang(request)
    return p


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, CsrfFailed):
        status, text = 403, N_("The form has expired. Please reload the page and try again.")
    elif isinstance(exc, RetentioError):
        status, text = status_of(exc), None
    elif isinstance(exc, HTTPException):
        status, text = exc.status_code, None
    else:
        log.error("page %s failed: %s", request.url.path, type(exc).__name__)
        status, text = 500, N_("Something went wrong. The error has been logged.")
    try:
        message = exc.msg.render(lang(request)) if isinstance(exc, RetentioError) else None
        if request.headers.get("hx-request"):
            return render(request, "_message.html", status, kind="error", text=message or text)
        return render(request, "error.html", status, code=status, message=message, text=text)
    except Exception as inner:  # the error page itself must not fail with a traceback
        log.error("error page failed: %s", type(inner).__name__)
        return HTMLResponse("<!doctype html><title>Error</title><p>Error</p>", status)


def failed(request: Request, exc: RetentioError) -> Response:
    """A service's refusal as a message in place (htmx swaps it), with its status: 403, 404, 409 or 422."""
    return render(request, "_message.html", status_of(exc), kind="error", text=exc.msg.render(lang(request)))


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, 303)


def number(value: Any, kind=float) -> Any:
    if value in (None, ""):
        return None
    try:
        return kind(str(value).replace(",", "."))
    except ValueError:
        from retentio.errors import ConfigError
        from retentio.i18n import Msg

        raise ConfigError(Msg("not a number: {value!r}", value=str(value)[:40])) from None
