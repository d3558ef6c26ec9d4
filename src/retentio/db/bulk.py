"""Appending large result frames without SQLAlchemy's per-row work.

Storing 1M customer scores through SQLAlchemy Core (dict parameters, a type
processor per value) takes about 20 s. Here the frame becomes Arrow once, with
column types taken from the SQLAlchemy table, then:

* PostgreSQL: ADBC bulk ingest (binary COPY, which needs the exact types);
* SQLite: ``executemany`` with plain tuples on SQLAlchemy's own raw ``sqlite3``
  connection. Never ADBC's bundled SQLite: two SQLite copies in one process
  break each other's POSIX locks (sqlite.org/howtocorrupt.html, 2.2.1) — a test
  here saw "database disk image is malformed" when that was tried.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import JSON, BigInteger, Connection, Date, Engine, Float, Integer, Numeric, Table

from retentio.db.types import UTCDateTime


def _arrow_type(column, dialect: str) -> pa.DataType:
    t = column.type
    if isinstance(t, UTCDateTime):
        return pa.string() if dialect == "sqlite" else pa.timestamp("us")
    if isinstance(t, BigInteger):
        return pa.int64()
    if isinstance(t, Integer):
        return pa.int32()
    if isinstance(t, (Float, Numeric)):
        return pa.float64()
    if isinstance(t, Date):
        return pa.string() if dialect == "sqlite" else pa.date32()
    return pa.string()


def _is_json(column) -> bool:
    return isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON)


def to_arrow(table: Table, frame: pd.DataFrame, dialect: str, json_text: Collection[str] = ()) -> pa.Table:
    """``frame`` as Arrow in the column types of ``table``; the columns named in ``json_text`` hold JSON text
    already (a list of dicts per row of 10M would take ten times the memory of its text)."""
    cols = {}
    for name in frame.columns:
        column = table.c[name]
        data = frame[name]
        if isinstance(column.type, UTCDateTime):
            # Stored as naive UTC; SQLite keeps SQLAlchemy's text format.
            ts = pa.array(pd.to_datetime(data, utc=True).dt.tz_localize(None), pa.timestamp("us"))
            # Arrow's cast writes SQLAlchemy's SQLite text ("2026-01-01 12:03:04.500000", six digits always)
            # twenty times faster than pc.strftime, which gives the same text (2.1 s per 1M values).
            cols[name] = ts.cast(pa.string()) if dialect == "sqlite" else ts
            continue
        if name in json_text:
            cols[name] = pa.array(data, pa.string(), from_pandas=True)
            continue
        if _is_json(column):
            cols[name] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in data],
                                  pa.string())
            continue
        target = _arrow_type(column, dialect)
        arr = pa.array(data, from_pandas=True)
        if dialect == "postgresql" and _is_decimal(column):
            # COPY cannot write a double into numeric: exact decimals, rounded to the column's scale
            scale = column.type.scale or 0
            target = pa.decimal128(column.type.precision or 38, scale)
            arr = pc.round(arr.cast(pa.float64()), scale).cast(target)
        cols[name] = arr.cast(target)
    return pa.table(cols)


# SQLite's page cache for one bulk write (KiB). The default, 2 MiB, is far smaller than the indexes a
# million rows are sorted into, so each insert reads back pages it evicted a moment ago: a million orders
# imported 1.3x and written bare 2.5-3x faster with it (docs/benchmarks.md, "Import").
BULK_CACHE_KIB = 262_144


@contextmanager
def large_cache(conn: Connection) -> Iterator[None]:
    """SQLite: the page cache raised to :data:`BULK_CACHE_KIB` for the block, then set back, so that pooled
    connections (the web server's) do not each keep a large cache afterwards."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]  # type: ignore[union-attr]
    raw.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")  # type: ignore[union-attr]


def begin_sqlite(raw) -> None:
    """Open the transaction on a ``sqlite3`` connection if none is open: sqlite3 opens one only before a
    data statement, so a savepoint or a DROP issued first would commit at once and survive a rollback."""
    if not raw.in_transaction:
        raw.execute("BEGIN")


def _is_decimal(column) -> bool:
    return isinstance(column.type, Numeric) and not isinstance(column.type, Float) and column.type.scale is not None


def append_frame(engine: Engine, table: Table, frame: pd.DataFrame, json_text: Collection[str] = (),
                 rebuild: Collection[str] = ()) -> None:
    """Append ``frame`` to ``table`` in one transaction of its own (``json_text``: as in :func:`to_arrow`).

    ``rebuild`` names SQLite indexes whose keys arrive in random order (a float score): built
    again after the rows instead of updated per row (:func:`rebuilding`).
    """
    dialect = engine.dialect.name
    data = to_arrow(table, frame, dialect, json_text)
    if dialect == "sqlite":
        names = ", ".join(f'"{c}"' for c in data.column_names)
        marks = ", ".join("?" for _ in data.column_names)
        rows = zip(*(col.to_pylist() for col in data.columns), strict=True)
        with engine.begin() as conn, rebuilding(conn, table, rebuild):
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            # any iterable of rows is fine for sqlite3 (the stubs ask for a Sequence); a list would copy them all
            cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)
        return
    if dialect == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        json_cols = [c for c in data.column_names if _is_json(table.c[c])]
        with adbc.connect(url) as conn, conn.cursor() as cur:
            if not json_cols:
                cur.adbc_ingest(table.name, data, mode="append")
            else:
                # Binary COPY cannot write text into jsonb: stage, then cast in one INSERT.
                stage = f"_stage_{table.name}"
                cur.adbc_ingest(stage, data, mode="replace", temporary=True)
                names = ", ".join(f'"{c}"' for c in data.column_names)
                values = ", ".join(f'"{c}"::jsonb' if c in json_cols else f'"{c}"' for c in data.column_names)
                cur.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM "{stage}"')
                cur.execute(f'DROP TABLE "{stage}"')
            conn.commit()
        return
    from retentio.ingest.writer import records

    # SQLAlchemy's JSON type encodes what it is given: JSON text goes back to values first.
    frame = frame.assign(**{c: [None if v is None or v != v else json.loads(v) for v in frame[c]] for c in json_text})
    with engine.begin() as conn:
        conn.execute(table.insert(), records(frame))


def rebuilding(conn: Connection, table: Table, indexes: Collection[str]):
    """A context in which ``indexes`` of ``table`` are dropped, built again on leaving (SQLite only, in
    the caller's transaction, so readers never see the table without them): appending or deleting a
    run's million rows keyed by a float costs random B-tree updates — 1M predictions appended in 18.2 s
    against 13.9 s, the previous run deleted in 8.0 s against 3.9 s (benchmarks/bench_store.py).
    The importer's first large import does the same for ``orders`` (ingest/importer.py, defer_indexes)."""
    return _Rebuilding(conn, table, indexes if conn.dialect.name == "sqlite" else ())


class _Rebuilding:
    def __init__(self, conn: Connection, table: Table, indexes: Collection[str]) -> None:
        self.conn, self.table, self.indexes = conn, table, tuple(indexes)
        self.definitions: list[str] = []

    def __enter__(self) -> None:
        if self.indexes:
            begin_sqlite(self.conn.connection.driver_connection)
        for name in self.indexes:
            sql = self.conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ? "
                                            "AND tbl_name = ?", (name, self.table.name)).scalar()
            if sql:
                self.definitions.append(sql)
                self.conn.exec_driver_sql(f'DROP INDEX "{name}"')

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:  # on an error the transaction rolls back, and the drop with it
            for sql in self.definitions:
                self.conn.exec_driver_sql(sql)


def in_chunks(values, size: int = 500):
    """Successive slices of ``values`` for ``IN (…)`` lists, kept under every driver's parameter limit."""
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]
