"""Converting between stored UTC instants and the shop's wall-clock time."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def to_local(ts: dt.datetime, tz: str) -> dt.datetime:
    """UTC instant (aware, or naive meaning UTC) -> naive wall-clock time in ``tz``."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(zoneinfo.ZoneInfo(tz)).replace(tzinfo=None)


def as_utc(value) -> dt.datetime | None:
    """A time read back from the database (naive meaning UTC, aware, or ISO text from SQLite's raw
    aggregates) as an aware UTC instant."""
    if value is None:
        return None
    if isinstance(value, str):  # func.min and raw SQL bypass the column type on SQLite
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    """Naive wall-clock time in ``tz`` -> aware UTC instant."""
    return local.replace(tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC)
