"""API keys: shown once at creation, stored as SHA-256 digests, revocable.

A key is ``rtk_`` (or ``rtp_`` for a publishable tracking key) followed by
256 random bits. The first characters are kept as a prefix so a list can
show which key is which without holding the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import Engine, select, update

from retentio.auth.roles import Principal, check_role, require
from retentio.db.session import session_scope
from retentio.db.web_models import ApiKey
from retentio.errors import ConfigError, NotFound
from retentio.i18n import Msg

SEEN_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _row(k: ApiKey) -> dict[str, Any]:
    return {"id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix, "created_at": k.created_at,
            "created_by": k.created_by, "last_used_at": k.last_used_at, "revoked_at": k.revoked_at,
            "active": k.revoked_at is None}


def create_key(engine: Engine, actor: Principal, name: str, role: str) -> tuple[dict[str, Any], str]:
    """The new key's record and the key itself, which is never shown again."""
    require(actor, "keys")
    check_role(role, for_key=True)
    name = name.strip()[:120]
    if not name:
        raise ConfigError(Msg("a key needs a name"))
    token = ("rtp_" if role == "tracking" else "rtk_") + secrets.token_urlsafe(32)
    with session_scope(engine) as s:
        key = ApiKey(name=name, role=role, prefix=token[:12], key_hash=digest(token),
                     created_at=dt.datetime.now(dt.UTC), created_by=actor.name[:120])
        s.add(key)
        s.flush()
        return _row(key), token


def list_keys(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    require(actor, "keys")
    with session_scope(engine) as s:
        return [_row(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(engine: Engine, actor: Principal, ref: str | int) -> dict[str, Any]:
    require(actor, "keys")
    with session_scope(engine) as s:
        key = s.get(ApiKey, int(ref)) if str(ref).isdigit() else s.scalar(
            select(ApiKey).where(ApiKey.name == str(ref), ApiKey.revoked_at.is_(None)))
        if key is None:
            raise NotFound(Msg("no such API key: {ref}", ref=str(ref)[:80]))
        if key.revoked_at is None:
            key.revoked_at = dt.datetime.now(dt.UTC)
        return _row(key)


def authenticate_key(engine: Engine, token: str) -> Principal | None:
    if not token.startswith(("rtk_", "rtp_")) or len(token) > 200:
        return None
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        key = s.scalar(select(ApiKey).where(ApiKey.key_hash == digest(token)))
        if key is None or key.revoked_at is not None:
            return None
        principal = Principal("key", key.id, key.name, key.role)
        stale = key.last_used_at is None or now - key.last_used_at > SEEN_EVERY
    if stale:
        from retentio.auth.sessions import _best_effort

        _best_effort(engine, update(ApiKey).where(ApiKey.id == principal.id).values(last_used_at=now))
    return principal
