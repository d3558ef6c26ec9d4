"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended option)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from retentio.errors import ConfigError
from retentio.i18n import Msg

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing megabytes of "password" is a denial of service


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ConfigError(Msg("the password must be at least {n} characters long", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise ConfigError(Msg("the password must be at most {n} characters long", n=MAX_LENGTH))


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal who has an account."""
    return _hasher().hash("not a password of anyone")
