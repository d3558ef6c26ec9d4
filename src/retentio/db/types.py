"""Column types shared by all models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware in Python, stored as naive UTC in every database.

    SQLite has no time-zone type and PostgreSQL's ``timestamptz`` depends on the
    session time zone when read back naive; storing naive UTC everywhere gives
    one unambiguous representation that the analytics engines can read as-is.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; localise it first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
