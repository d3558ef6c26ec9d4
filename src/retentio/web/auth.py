"""Who is asking: an API key (``Authorization: Bearer``) for the API, a session cookie for the pages.

Pages: without a valid session the request is redirected to the login page;
every state-changing form carries the session's CSRF token (``csrf_token``
field or, from htmx, the ``X-CSRF-Token`` header). The login form itself is
protected by a double-submit token in a short-lived cookie.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import Request
from starlette.exceptions import HTTPException

from retentio.auth.keys import authenticate_key
from retentio.auth.roles import Principal
from retentio.auth.sessions import SessionInfo, session_of

SESSION_COOKIE = "retentio_session"
LOGIN_COOKIE = "retentio_login"
LANG_COOKIE = "retentio_lang"


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfFailed(Exception):
    pass


def engine_of(request: Request):
    return request.app.state.engine


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _sep, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def api_principal(request: Request) -> Principal:
    """The API key's principal, or 401 (also for a revoked or unknown key)."""
    token = bearer(request)
    principal = authenticate_key(engine_of(request), token) if token else None
    if principal is None:
        raise HTTPException(401, "A valid API key is required (Authorization: Bearer KEY).",
                            headers={"WWW-Authenticate": 'Bearer realm="retentio"'})
    request.state.principal = principal
    return principal


def page_session(request: Request) -> SessionInfo:
    info = getattr(request.state, "session", None)
    if info is None:
        info = session_of(engine_of(request), request.cookies.get(SESSION_COOKIE))
    if info is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.session = info
    return info


def page_principal(request: Request) -> Principal:
    return page_session(request).principal


async def check_csrf(request: Request) -> None:
    """A state-changing page request must carry this session's CSRF token."""
    info = page_session(request)
    given = request.headers.get("x-csrf-token")
    if not given:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not secrets.compare_digest(given, info.csrf_token):
        raise CsrfFailed


def login_url(next_url: str) -> str:
    safe = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    return "/login?next=" + quote(safe, safe="/")


def safe_next(value: str | None) -> str:
    """Only a path on this server (no open redirect to another host)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
