"""People who sign in to the web app: add, list, change, remove (admins only, checked here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from retentio.auth.passwords import hash_password
from retentio.auth.roles import Principal, check_role, require
from retentio.db.session import session_scope
from retentio.db.web_models import User
from retentio.errors import ConfigError, Conflict, NotFound
from retentio.i18n import Msg


def normalise_email(email: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ConfigError(Msg("not a valid e-mail address: {value!r}", value=email[:80])) from None


def _row(u: User) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "lang": u.lang,
            "created_at": u.created_at, "last_login_at": u.last_login_at}


def add_user(engine: Engine, actor: Principal, email: str, role: str, password: str, *, name: str | None = None,
             lang: str | None = None) -> dict[str, Any]:
    require(actor, "users")
    email = normalise_email(email)
    check_role(role)
    digest = hash_password(password)
    with session_scope(engine) as s:
        if s.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict(Msg("a user with this e-mail address exists already"))
        user = User(email=email, name=(name or "").strip()[:120] or None, role=role, password_hash=digest,
                    lang=lang if lang in ("de", "en") else None, created_at=dt.datetime.now(dt.UTC))
        s.add(user)
        s.flush()
        return _row(user)


def list_users(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    require(actor, "users")
    with session_scope(engine) as s:
        return [_row(u) for u in s.scalars(select(User).order_by(User.email))]


def _find(s, ref: str | int) -> User:
    user = s.get(User, int(ref)) if str(ref).isdigit() else s.scalar(
        select(User).where(User.email == str(ref).strip().lower()))
    if user is None:
        raise NotFound(Msg("no such user: {ref}", ref=str(ref)[:80]))
    return user


def _admins(s) -> int:
    return s.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0


def update_user(engine: Engine, actor: Principal, ref: str | int, *, role: str | None = None,
                password: str | None = None, name: str | None = None, lang: str | None = None) -> dict[str, Any]:
    require(actor, "users")
    with session_scope(engine) as s:
        user = _find(s, ref)
        if role is not None and role != user.role:
            check_role(role)
            if user.role == "admin" and _admins(s) <= 1:
                raise Conflict(Msg("the last admin cannot lose the admin role"))
            user.role = role
        if password is not None:
            user.password_hash = hash_password(password)
            from retentio.db.web_models import WebSession

            # A new password ends every session of the old one.
            s.query(WebSession).filter(WebSession.user_id == user.id).delete()
        if name is not None:
            user.name = name.strip()[:120] or None
        if lang is not None:
            user.lang = lang if lang in ("de", "en") else None
        return _row(user)


def remove_user(engine: Engine, actor: Principal, ref: str | int) -> None:
    require(actor, "users")
    with session_scope(engine) as s:
        user = _find(s, ref)
        if user.role == "admin" and _admins(s) <= 1:
            raise Conflict(Msg("the last admin cannot be removed"))
        s.delete(user)


def has_users(engine: Engine) -> bool:
    with session_scope(engine) as s:
        return s.scalar(select(User.id).limit(1)) is not None
