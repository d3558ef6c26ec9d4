"""Converting between stored UTC instants and the shop's wall-clock time."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def to_local(ts: dt.datetime, tz: str) -> dt.datetime:
    """UTC instant (aware, or naive meaning UTC) -> naive wall-clock time in ``tz``."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(zoneinfo.ZoneInfo(tz)).replace(tzinfo=None)


def to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    """Naive wall-clock time in ``tz`` -> aware UTC instant."""
    return local.replace(tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC)
