"""Idempotent bulk writes: every row is an upsert keyed by its external id."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from retentio.db.bulk import begin_sqlite, to_arrow
from retentio.db.models import Customer, Order, OrderLine, Product
from retentio.db.types import table_of

UPDATE_BATCH = 5000  # order ids per IN list of an UPDATE
BULK_LOOKUP_BATCH = 50_000  # values per JSON array / PostgreSQL array
_stage_seq = itertools.count(1)


def _insert(conn: Connection, table: Table):
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update_cols: Iterable[str] | None = None, *, coalesce: Iterable[str] = ()) -> None:
    """Insert rows; on a key conflict overwrite ``update_cols`` (or do nothing).

    Columns in ``coalesce`` keep their stored value when the new one is NULL, so
    a stub created from an order file never wipes what a customer file set.
    """
    if not rows:
        return
    stmt = _insert(conn, table)
    update_cols = list(update_cols or [])
    if update_cols:
        keep = set(coalesce)
        set_ = {
            c: (func.coalesce(stmt.excluded[c], table.c[c]) if c in keep else stmt.excluded[c])
            for c in update_cols
        }
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))


def upsert_frame(conn: Connection, table: Table, frame: pd.DataFrame, keys: Sequence[str],
                 update_cols: Iterable[str], *, coalesce: Iterable[str] = (), insert_first: bool = True) -> bool:
    """:func:`upsert` for a whole frame, without SQLAlchemy's per-value work.

    The same semantics, in the caller's transaction. The frame becomes Arrow
    once (:func:`retentio.db.bulk.to_arrow`: the column types of the table).
    With ``insert_first``, the rows are first written by a plain insert inside a
    savepoint: a first import has no conflicts, and a plain insert costs half
    of an upsert on SQLite (one index descent instead of two) and a third on
    PostgreSQL (``COPY`` straight into the table). When any key exists, the
    savepoint is rolled back and the rows are upserted. Returns whether the
    plain insert held, so a re-import stops trying it.
    """
    if frame.empty:
        return insert_first
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        upsert(conn, table, records(frame), keys, update_cols, coalesce=coalesce)
        return False
    data = to_arrow(table, frame, dialect)
    names = ", ".join(f'"{c}"' for c in data.column_names)
    keep = set(coalesce)
    sets = ", ".join(f'"{c}" = coalesce(excluded."{c}", "{table.name}"."{c}")' if c in keep
                     else f'"{c}" = excluded."{c}"' for c in update_cols)
    conflict = f"ON CONFLICT ({', '.join(keys)}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
    raw = conn.connection.driver_connection
    assert raw is not None
    driver_error = type(raw).__module__.split(".")[0]
    base = __import__(driver_error).Error
    try:
        if dialect == "sqlite":
            return _sqlite_upsert(raw, table.name, names, data, conflict, insert_first)
        return _postgres_upsert(raw, table.name, names, data, conflict, insert_first)
    except base as exc:
        # as SQLAlchemy would raise it, so callers handle one kind of database error (never with the rows)
        raise DBAPIError.instance(f"upsert into {table.name}", None, exc, base) from None


def _sqlite_upsert(raw, name: str, names: str, data, conflict: str, insert_first: bool) -> bool:
    import sqlite3

    cols = [col.to_pylist() for col in data.columns]
    insert = f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" for _ in cols)})'
    cur = raw.cursor()
    begin_sqlite(raw)
    if insert_first:
        cur.execute("SAVEPOINT retentio_insert")
        try:
            cur.executemany(insert, zip(*cols, strict=True))
            cur.execute("RELEASE retentio_insert")
            return True
        except sqlite3.IntegrityError:
            cur.execute("ROLLBACK TO retentio_insert")
            cur.execute("RELEASE retentio_insert")
    cur.executemany(f"{insert} {conflict}", zip(*cols, strict=True))
    return False


def _postgres_upsert(raw, name: str, names: str, data, conflict: str, insert_first: bool) -> bool:
    import psycopg
    import pyarrow.csv as pacsv

    buf = pa_csv_bytes(pacsv, data)
    with raw.cursor() as cur:
        if insert_first:
            cur.execute("SAVEPOINT retentio_insert")
            try:
                with cur.copy(f'COPY "{name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                    copy.write(buf)
                cur.execute("RELEASE SAVEPOINT retentio_insert")
                return True
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT retentio_insert")
                cur.execute("RELEASE SAVEPOINT retentio_insert")
        stage = f"_stage_{name}_{next(_stage_seq)}"
        cur.execute(f'CREATE TEMP TABLE "{stage}" (LIKE "{name}" INCLUDING DEFAULTS) ON COMMIT DROP')
        with cur.copy(f'COPY "{stage}" ({names}) FROM STDIN (FORMAT csv)') as copy:
            copy.write(buf)
        cur.execute(f'INSERT INTO "{name}" ({names}) SELECT {names} FROM "{stage}" {conflict}')
        cur.execute(f'DROP TABLE "{stage}"')
    return False


def pa_csv_bytes(pacsv, data) -> bytes:
    """CSV for COPY: no header; NULL as an empty unquoted field, every text quoted (so '' stays '')."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    pacsv.write_csv(data, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def lookup_ids(conn: Connection, table: Table, key: str, values: Iterable[str]) -> dict[str, int]:
    """Stored id of each of ``values`` found in ``table.key``.

    SQLite and PostgreSQL get the values as one parameter (a JSON array, an array): a list of bound
    parameters is compiled per value by SQLAlchemy, 0.9 s of a million-order import for 100,000
    customers looked up twice.
    """
    values = [v for v in dict.fromkeys(values) if v is not None]
    out: dict[str, int] = {}
    sqlite = conn.dialect.name == "sqlite"
    match = "IN (SELECT value FROM json_each(:vals))" if sqlite else "= ANY(CAST(:vals AS text[]))"
    stmt = text(f'SELECT "{key}", id FROM "{table.name}" WHERE "{key}" {match}')
    for i in range(0, len(values), BULK_LOOKUP_BATCH):
        part = values[i : i + BULK_LOOKUP_BATCH]
        out.update({k: v for k, v in conn.execute(stmt, {"vals": json.dumps(part, ensure_ascii=False) if sqlite else part})})
    return out


class CustomerIds:
    """External customer id -> internal id, creating stubs for unknown customers.

    Order, event and feedback files often carry only a customer number; a stub
    lets them be imported in any order, and a later customer import fills it in.
    """

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}
        self.created = 0

    def resolve(self, conn: Connection, external_ids: pd.Series, country: pd.Series | None = None) -> pd.Series:
        # Each distinct id once: a chunk repeats its customers, and mapping a Series through the whole
        # cache (a dict of every customer so far) rebuilt an index of it per chunk.
        codes, uniq = pd.factorize(external_ids, use_na_sentinel=True)
        # A list first: iterating an Arrow-backed Index makes a scalar per element, five times slower.
        keys = uniq.tolist()
        missing = [x for x in keys if x not in self.cache]
        if missing:
            table = table_of(Customer)
            before = lookup_ids(conn, table, "external_id", missing)
            new = [x for x in missing if x not in before]
            if new:
                countries: dict[str, Any] = {}
                if country is not None:
                    frame = pd.DataFrame({"c": external_ids, "k": country}).dropna()
                    countries = dict(zip(frame["c"], frame["k"], strict=False))
                upsert_frame(conn, table, pd.DataFrame({"external_id": new, "country": [countries.get(x) for x in new]},
                                                       dtype=object), ["external_id"], [])
                self.created += len(new)
                before.update(lookup_ids(conn, table, "external_id", new))
            self.cache.update(before)
        ids = np.array([self.cache[x] for x in keys] + [0], dtype="int64")
        return pd.Series(pd.arrays.IntegerArray(ids[codes], codes < 0), index=external_ids.index)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame -> list of dicts with Python values (None for missing)."""
    cols = {}
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            arr = np.array(s.dt.to_pydatetime(), dtype=object)
            arr[s.isna().to_numpy()] = None
            cols[name] = arr.tolist()
        elif pd.api.types.is_float_dtype(s.dtype):
            vals = s.to_numpy(dtype="float64")
            cols[name] = [None if v != v else float(v) for v in vals.tolist()]
        else:
            cols[name] = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else
                          (int(v) if isinstance(v, np.integer) else v) for v in s.tolist()]
    keys = list(cols)
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols.values(), strict=True)] if keys else []


def write_orders(conn: Connection, frame: pd.DataFrame, insert_first: bool = False) -> bool:
    return upsert_frame(conn, table_of(Order), frame, ["external_id"],
                        ["customer_id", "placed_at", "currency", "net_total", "status", "channel"],
                        insert_first=insert_first)


def write_products(conn: Connection, frame: pd.DataFrame) -> dict[str, int]:
    products = frame.dropna(subset=["sku"]).drop_duplicates("sku", keep="last")
    upsert(conn, table_of(Product), records(products), ["sku"], ["name", "category", "price"],
           coalesce=["name", "category", "price"])
    return lookup_ids(conn, table_of(Product), "sku", products["sku"])


def write_lines(conn: Connection, frame: pd.DataFrame, insert_first: bool = False) -> bool:
    return upsert_frame(conn, table_of(OrderLine), frame, ["order_id", "line_no"],
                        ["product_id", "sku", "description", "quantity", "unit_price", "net_amount"],
                        insert_first=insert_first)


def recompute_totals(conn: Connection, order_ids: Sequence[int]) -> None:
    """Order totals of line-level imports are the sum of their stored lines."""
    lines = table_of(OrderLine)
    orders = table_of(Order)
    total = (select(func.coalesce(func.sum(lines.c.net_amount), 0))
             .where(lines.c.order_id == orders.c.id).scalar_subquery())
    for i in range(0, len(order_ids), UPDATE_BATCH):
        part = list(order_ids[i : i + UPDATE_BATCH])
        conn.execute(update(orders).where(orders.c.id.in_(part)).values(net_total=total))
