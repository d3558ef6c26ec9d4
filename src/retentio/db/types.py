"""Column types shared by all models."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import JSON, DateTime, Table, TypeDecorator
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


def table_of(model: Any) -> Table:
    """A model's Table (SQLAlchemy's stubs type ``__table__`` as the wider FromClause)."""
    return cast(Table, model.__table__)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def sql_time(dialect: str, value: dt.datetime) -> dt.datetime | str:
    """A UTC instant as a parameter of a raw SQL text query.

    SQLite stores our times as text in SQLAlchemy's format and compares them as
    strings; the sqlite3 adapter would send ``2026-01-01 09:00:00`` (no
    microseconds), which sorts *before* the stored ``2026-01-01 09:00:00.000000``.
    """
    naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else naive
