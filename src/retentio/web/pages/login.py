"""Sign in and out. The session cookie is new at every login (no fixation), HttpOnly, SameSite=Lax,
Secure behind HTTPS; the login form is protected by a double-submit token."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from retentio.auth.sessions import ABSOLUTE, LoginRefused, LoginThrottled, login, logout
from retentio.i18n import tr
from retentio.web.auth import LOGIN_COOKIE, SESSION_COOKIE, check_csrf, safe_next
from retentio.web.pages.common import engine, lang
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    lang(request)
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", title_key="Sign in", next=safe_next(next), login_token=token,
                      error=None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=request.app.state.https, path="/login")
    return response


@router.post("/login")
def login_submit(request: Request, email: str = Form("", max_length=320), password: str = Form("", max_length=1024),
                 login_token: str = Form("", max_length=100), next: str = Form("/", max_length=2000)) -> Response:
    lang(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    error = None
    if not cookie or not secrets.compare_digest(cookie, login_token):
        error = tr(request.state.lang, "The form has expired. Please reload the page and try again.")
        status = 403
    else:
        try:
            token, info = login(engine(request), email, password, _client(request))
        except LoginThrottled as exc:
            error, status = exc.msg.render(request.state.lang), 429
        except LoginRefused as exc:
            error, status = exc.msg.render(request.state.lang), 401
        else:
            done = RedirectResponse(safe_next(next), 303)
            # A new random token at every login; whatever cookie came before is replaced.
            done.set_cookie(SESSION_COOKIE, token, max_age=int(ABSOLUTE.total_seconds()), httponly=True,
                                samesite="lax", secure=request.app.state.https, path="/")
            done.delete_cookie(LOGIN_COOKIE, path="/login")
            if info.lang:
                done.set_cookie("retentio_lang", info.lang, max_age=365 * 86400, httponly=True, samesite="lax",
                                secure=request.app.state.https)
            return done
    fresh = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, next=safe_next(next), login_token=fresh, error=error,
                      email=email[:320])
    response.set_cookie(LOGIN_COOKIE, fresh, max_age=3600, httponly=True, samesite="strict",
                        secure=request.app.state.https, path="/login")
    return response


@router.post("/logout")
async def logout_submit(request: Request) -> Response:
    await check_csrf(request)
    logout(engine(request), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
