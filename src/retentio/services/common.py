"""Helpers every service uses: JSON-safe values and opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

from retentio.errors import ConfigError
from retentio.i18n import Msg

MAX_LIMIT = 500


def plain(value: Any) -> Any:
    """Numbers, strings, booleans, None, ISO dates, lists and dicts of them (no NaN, no numpy)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalars
        return plain(value.item())
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return plain(None if value != value else value.to_pydatetime())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def rows_of(frame) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-safe dicts."""
    return [plain(r) for r in frame.to_dict("records")]


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(plain(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(Msg("the cursor is not valid; start from the first page")) from None


def check_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise ConfigError(Msg("limit must lie between 1 and {n}", n=MAX_LIMIT))
    return int(limit)


def now_or(now: dt.datetime | None) -> dt.datetime:
    """The given time (tests, replays), else the wall clock in UTC."""
    return now or dt.datetime.now(dt.UTC)


def customer_id_of(conn, customer: str) -> int:
    """The internal id of a customer number, or NotFound."""
    from sqlalchemy import select

    from retentio.db.models import Customer
    from retentio.errors import NotFound

    cid = conn.execute(select(Customer.id).where(Customer.external_id == customer)).scalar()
    if cid is None:
        raise NotFound(Msg("no customer {customer!r}", customer=customer))
    return int(cid)
