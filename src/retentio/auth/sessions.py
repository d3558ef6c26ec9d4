"""Signing in: password check with throttling, server-side sessions, CSRF tokens.

* A session token is issued only by a successful login (a new random value
  each time), so a token planted before the login is worthless: no session
  fixation. The cookie holds the token; the database only its digest.
* Sessions end after ``IDLE`` without a request and after ``ABSOLUTE`` in any
  case; a new password ends all sessions of that user.
* Each session has its own CSRF token, sent in every state-changing form
  (and as ``X-CSRF-Token`` by htmx).
* Failed logins are counted per address tried (as a digest) and per client:
  after ``MAX_FAILURES`` within ``WINDOW`` further attempts are refused until
  the window has passed, whether the password is right or not. A missing
  user is checked against a dummy hash so timing does not tell who exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update

from retentio.auth.keys import digest
from retentio.auth.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from retentio.auth.roles import Principal
from retentio.db.session import session_scope
from retentio.db.web_models import LoginFailure, User, WebSession
from retentio.errors import RetentioError
from retentio.i18n import Msg

IDLE = dt.timedelta(hours=8)
ABSOLUTE = dt.timedelta(days=7)
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES = 5  # per address
MAX_CLIENT_FAILURES = 30  # per client (address spraying)
TOUCH_EVERY = dt.timedelta(minutes=1)


class LoginRefused(RetentioError):
    """Wrong address or password (one message for both)."""


class LoginThrottled(RetentioError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(Msg("too many failed sign-ins; try again in {minutes} minutes",
                             minutes=max(1, (retry_after + 59) // 60)))
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionInfo:
    principal: Principal
    csrf_token: str
    session_id: int
    lang: str | None


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _retry_after(s, key: str, limit: int, now: dt.datetime) -> int:
    since = now - WINDOW
    rows = s.scalars(select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > since)
                     .order_by(LoginFailure.at.desc()).limit(limit)).all()
    if len(rows) < limit:
        return 0
    oldest = min(rows)
    return max(1, int((oldest + WINDOW - now).total_seconds()))


def login(engine: Engine, email: str, password: str, client: str = "") -> tuple[str, SessionInfo]:
    """A new session for the user, or :class:`LoginRefused` / :class:`LoginThrottled`."""
    now = dt.datetime.now(dt.UTC)
    address = email.strip().lower()[:320]
    keys = [(_key("email", address), MAX_FAILURES), (_key("client", client), MAX_CLIENT_FAILURES)]
    with session_scope(engine) as s:
        wait = max(_retry_after(s, k, limit, now) for k, limit in keys)
        if wait:
            raise LoginThrottled(wait)
        user = s.scalar(select(User).where(User.email == address))
        ok = verify_password(user.password_hash if user else dummy_hash(), password) and user is not None
        if not ok:
            s.add_all([LoginFailure(key=k, at=now) for k, _limit in keys])
            s.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW * 4))
        else:
            assert user is not None
            s.execute(delete(LoginFailure).where(LoginFailure.key == keys[0][0]))
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = now
            token = secrets.token_urlsafe(32)
            row = WebSession(token_hash=digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                             created_at=now, expires_at=now + ABSOLUTE, last_seen_at=now)
            s.add(row)
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.flush()
            info = SessionInfo(Principal("user", user.id, user.email, user.role), row.csrf_token, row.id, user.lang)
    if not ok:
        raise LoginRefused(Msg("wrong e-mail address or password"))
    return token, info


def session_of(engine: Engine, token: str | None) -> SessionInfo | None:
    if not token or len(token) > 200:
        return None
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        row = s.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
        user = s.get(User, row.user_id) if row is not None else None
        if row is None or user is None:
            return None
        expired = row.expires_at <= now or row.last_seen_at + IDLE <= now
        stale = now - row.last_seen_at > TOUCH_EVERY
        info = SessionInfo(Principal("user", user.id, user.email, user.role), row.csrf_token, row.id, user.lang)
    if expired:
        _best_effort(engine, delete(WebSession).where(WebSession.id == info.session_id))
        return None
    if stale:
        _best_effort(engine, update(WebSession).where(WebSession.id == info.session_id).values(last_seen_at=now))
    return info


def _best_effort(engine: Engine, stmt) -> None:
    """A bookkeeping write that must not fail the request: while a long import holds SQLite's write lock,
    a reader is still served; the write waits for the next request."""
    from sqlalchemy.exc import OperationalError

    from retentio.settings import get_settings

    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout = 200")
            conn.commit()
        try:
            conn.execute(stmt)
            conn.commit()
        except OperationalError:
            conn.rollback()
        finally:
            if sqlite:  # the pooled connection goes back with the usual patience
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(get_settings().sqlite_timeout * 1000)}")
                conn.commit()


def logout(engine: Engine, token: str | None) -> None:
    if not token:
        return
    with session_scope(engine) as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def sessions_count(engine: Engine, user_id: int) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)) or 0
