"""Idempotent bulk writes: every row is an upsert keyed by its external id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from retentio.db.models import Customer, Order, OrderLine, Product
from retentio.db.types import table_of

LOOKUP_BATCH = 5000


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


def lookup_ids(conn: Connection, table: Table, key: str, values: Iterable[str]) -> dict[str, int]:
    values = list(dict.fromkeys(values))
    out: dict[str, int] = {}
    col = table.c[key]
    for i in range(0, len(values), LOOKUP_BATCH):
        part = values[i : i + LOOKUP_BATCH]
        out.update({k: v for k, v in conn.execute(select(col, table.c.id).where(col.in_(part)))})
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
        ids = external_ids.dropna()
        missing = [x for x in pd.unique(ids) if x not in self.cache]
        if missing:
            table = table_of(Customer)
            before = lookup_ids(conn, table, "external_id", missing)
            new = [x for x in missing if x not in before]
            if new:
                countries: dict[str, Any] = {}
                if country is not None:
                    frame = pd.DataFrame({"c": external_ids, "k": country}).dropna()
                    countries = dict(zip(frame["c"], frame["k"], strict=False))
                upsert(conn, table, [{"external_id": x, "country": countries.get(x)} for x in new],
                       ["external_id"])
                self.created += len(new)
                before.update(lookup_ids(conn, table, "external_id", new))
            self.cache.update(before)
        return external_ids.map(self.cache).astype("Int64")


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


def write_orders(conn: Connection, frame: pd.DataFrame) -> None:
    upsert(conn, table_of(Order), records(frame), ["external_id"],
           ["customer_id", "placed_at", "currency", "net_total", "status", "channel"])


def write_products(conn: Connection, frame: pd.DataFrame) -> dict[str, int]:
    products = frame.dropna(subset=["sku"]).drop_duplicates("sku", keep="last")
    upsert(conn, table_of(Product), records(products), ["sku"], ["name", "category", "price"],
           coalesce=["name", "category", "price"])
    return lookup_ids(conn, table_of(Product), "sku", products["sku"])


def write_lines(conn: Connection, frame: pd.DataFrame) -> None:
    upsert(conn, table_of(OrderLine), records(frame), ["order_id", "line_no"],
           ["product_id", "sku", "description", "quantity", "unit_price", "net_amount"])


def recompute_totals(conn: Connection, order_ids: Sequence[int]) -> None:
    """Order totals of line-level imports are the sum of their stored lines."""
    lines = table_of(OrderLine)
    orders = table_of(Order)
    total = (select(func.coalesce(func.sum(lines.c.net_amount), 0))
             .where(lines.c.order_id == orders.c.id).scalar_subquery())
    for i in range(0, len(order_ids), LOOKUP_BATCH):
        part = list(order_ids[i : i + LOOKUP_BATCH])
        conn.execute(update(orders).where(orders.c.id.in_(part)).values(net_total=total))
