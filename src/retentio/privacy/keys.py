"""Keyed hashes of a person's keys: what suppressions and the erasure log keep instead of the address.

HMAC-SHA256 under the installation's own privacy key (a random secret made at
first use, kept with the shop's data like the link key). Without the key a
hash cannot be tested against a guessed address, which a plain SHA-256 of an
e-mail address could.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Connection, Engine, select

from retentio.db.models import InstallSecret
from retentio.db.types import table_of

SECRET_NAME = "privacy"
PREFIX = "h:"  # a suppression address that is a keyed hash


def privacy_key(engine: Engine) -> bytes:
    from retentio.secrets import _stored

    return _stored(engine.url.render_as_string(hide_password=True), SECRET_NAME, engine).encode()


def key_in(conn: Connection) -> bytes | None:
    """The key if one was made (read in the caller's transaction); None: nothing was ever erased."""
    t = table_of(InstallSecret)
    value = conn.scalar(select(t.c.value).where(t.c.name == SECRET_NAME))
    return value.encode() if value else None


def normal_email(address: str) -> str:
    return address.strip().lower()


def keyed(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def email_hash(key: bytes, address: str) -> str:
    return keyed(key, "email:" + normal_email(address))


def customer_key_hash(key: bytes, external_id: str) -> str:
    return keyed(key, "customer:" + external_id.strip())
