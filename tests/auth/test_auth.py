"""Passwords, keys, users: Argon2, hashes only, the last admin stays, strength rules, roles checked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from retentio.auth import keys, passwords, users
from retentio.auth.roles import OPERATOR, PERMISSIONS, ROLES, Principal, require
from retentio.errors import ConfigError, Conflict, PermissionDenied


def test_passwords_are_argon2id_and_verify():
    h = passwords.hash_password("a long enough secret")
    assert h.startswith("$argon2id$") and passwords.verify_password(h, "a long enough secret")
    assert not passwords.verify_password(h, "a long enough secreT")
    assert not passwords.verify_password("not a hash", "x")
    with pytest.raises(ConfigError):
        passwords.hash_password("short")


def test_roles_include_each_other():
    for perm, holders in PERMISSIONS.items():
        ranks = [ROLES.index(r) for r in holders if r in ROLES]
        if ranks:
            assert set(ROLES[min(ranks):]) <= holders, perm  # a higher role holds what a lower one does
    with pytest.raises(KeyError):
        require(OPERATOR, "no:such:permission")
    with pytest.raises(PermissionDenied):
        require(Principal("user", 1, "v", "viewer"), "customers:read")


def test_users_last_admin_and_duplicates(db):
    users.add_user(db, OPERATOR, "Boss@Example.com", "admin", "a long enough secret")
    with pytest.raises(Conflict):
        users.add_user(db, OPERATOR, "boss@example.com", "viewer", "a long enough secret")
    with pytest.raises(Conflict):
        users.remove_user(db, OPERATOR, "boss@example.com")
    with pytest.raises(Conflict):
        users.update_user(db, OPERATOR, "boss@example.com", role="viewer")
    with pytest.raises(ConfigError):
        users.add_user(db, OPERATOR, "not an address", "viewer", "a long enough secret")
    with db.connect() as c:
        stored = c.execute(sa.text("SELECT password_hash FROM users")).scalar()
    assert "a long enough secret" not in stored


def test_keys_hash_only_and_revocation(db):
    row, token = keys.create_key(db, OPERATOR, "shop", "ingest")
    assert token.startswith("rtk_") and len(token) > 40 and row["prefix"] == token[:12]
    assert keys.authenticate_key(db, token).role == "ingest"
    keys.revoke_key(db, OPERATOR, row["id"])
    assert keys.authenticate_key(db, token) is None
    _row, public = keys.create_key(db, OPERATOR, "front end", "tracking")
    assert public.startswith("rtp_")
    with pytest.raises(ConfigError):
        keys.create_key(db, OPERATOR, "x", "superuser")
