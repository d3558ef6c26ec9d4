"""Reading the operational tables into Arrow, with times in the shop's zone.

Analytics compare purchase times with period boundaries in the shop's local
time, so timestamps (stored as naive UTC) are converted once here into naive
local wall-clock times; everything downstream is time-zone free.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, text

ORDERS_SQL = (
    "SELECT id AS order_id, customer_id, placed_at, CAST(net_total AS {real}) AS net_total, status "
    "FROM orders WHERE placed_at <= :as_of"
)
SUBS_SQL = (
    "SELECT customer_id, started_at, ends_at, cancelled_at FROM subscriptions WHERE started_at <= :as_of"
)
REAL = {"sqlite": "REAL", "postgresql": "DOUBLE PRECISION"}

ORDERS_SCHEMA = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()),
                           ("placed_at", pa.timestamp("us")), ("net_total", pa.float64()),
                           ("status", pa.string())])
SUBS_SCHEMA = pa.schema([("customer_id", pa.int64()), ("started_at", pa.timestamp("us")),
                         ("ends_at", pa.timestamp("us")), ("cancelled_at", pa.timestamp("us"))])


def _fetch(engine: Engine, sql: str, params: dict, schema: pa.Schema) -> pa.Table:
    """Arrow via ADBC where available (no Python objects per row), else SQLAlchemy."""
    name = engine.dialect.name
    sql = sql.format(real=REAL.get(name, "REAL"))
    try:
        table = _fetch_adbc(engine, sql, params)
    except ImportError:
        table = None
    if table is None:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            rows = result.fetchall()
            cols = list(result.keys())
        table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    return _conform(table, schema)


def _fetch_adbc(engine: Engine, sql: str, params: dict) -> pa.Table | None:
    name = engine.dialect.name
    as_of = params["as_of"].strftime("%Y-%m-%d %H:%M:%S.%f")
    if name == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc

        db = engine.url.database
        if not db or db == ":memory:":
            return None
        # SQLite stores times as text: compare as text in the stored format.
        query = sql.replace(":as_of", f"'{as_of}'")
        with adbc.connect(db) as conn, conn.cursor() as cur:
            # Type inference looks at the first rows only; make it see all of them.
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "1000000"})
            cur.execute(query)
            return cur.fetch_arrow_table()
    if name == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        query = sql.replace(":as_of", f"'{as_of}'::timestamp")
        with adbc.connect(url) as conn, conn.cursor() as cur:
            cur.execute(query)
            return cur.fetch_arrow_table()
    return None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        col = table.column(f.name)
        if col.type != f.type:
            if pa.types.is_timestamp(f.type) and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = pc.cast(pc.utf8_slice_codeunits(col, 0, 19), pa.timestamp("s")).cast(f.type)
            elif pa.types.is_timestamp(f.type) and pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("us", col.type.tz)).cast(f.type) if col.type.tz is None else \
                    pc.local_timestamp(col.cast(pa.timestamp("us", "UTC"))).cast(f.type)
            else:
                col = col.cast(f.type)
        cols.append(col)
    return pa.table(cols, schema=schema)


def to_local(col: pa.ChunkedArray, tz: str) -> pa.ChunkedArray:
    """Naive UTC -> naive wall-clock time in ``tz``."""
    if tz == "UTC":
        return col
    aware = col.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us", tz))
    return pc.local_timestamp(aware)


def load_orders(engine: Engine, tz: str, as_of_utc: dt.datetime) -> pa.Table:
    t = _fetch(engine, ORDERS_SQL, {"as_of": _naive_utc(as_of_utc)}, ORDERS_SCHEMA)
    return t.set_column(2, "placed", to_local(t.column("placed_at"), tz))


def load_subscriptions(engine: Engine, tz: str, as_of_utc: dt.datetime) -> pa.Table:
    t = _fetch(engine, SUBS_SQL, {"as_of": _naive_utc(as_of_utc)}, SUBS_SCHEMA)
    # A contract runs until its end date, or until it was cancelled if it has none.
    ends = pc.coalesce(t.column("ends_at"), t.column("cancelled_at"))
    return pa.table({
        "customer_id": t.column("customer_id"),
        "started": to_local(t.column("started_at"), tz),
        "ended": to_local(ends, tz),
        "cancelled": to_local(t.column("cancelled_at"), tz),
    })


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
