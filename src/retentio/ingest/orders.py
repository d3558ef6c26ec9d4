"""Orders and order lines: ids, statuses, amounts, and line-level files (one row per article).

Rules that change how a row is stored, each counted in the import summary
(docs/import.md):

* ``--make-order-id``: a file without order numbers gets ``CUSTOMER@YYYYMMDDTHHMMSS`` (the file's wall-clock
  time; ``-2``, ``-3``, … for further orders of the same customer at the same time in the file);
* ``--count-only``: a file without amounts stores orders whose amount is unknown; they count as purchases,
  not in revenue;
* a negative amount is a refund: stored as ``returned``, also when the file says "paid" or "placed";
* ``cancelled_prefix``: order numbers starting with it are cancellations (UCI's ``C`` invoices).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sqlalchemy import Connection, update

from retentio.db.bulk import in_chunks
from retentio.db.models import Order
from retentio.db.types import table_of
from retentio.i18n import _
from retentio.ingest.parse import LIMITS
from retentio.ingest.state import ImportState, Refusal, drop, dupes
from retentio.ingest.writer import lookup_ids, recompute_totals, write_lines, write_orders, write_products

MAX_ID = 128


def _made_ids(df: pd.DataFrame, st: ImportState) -> pd.Series:
    # The time as the file gives it (the wall clock of its time zone), to the second.
    local = df["placed_at"].dt.tz_convert(st.time_zone)
    base = df["customer_id"].astype(str) + "@" + local.dt.strftime("%Y%m%dT%H%M%S")
    counts = base.groupby(base).cumcount() + 1 + base.map(st.occurrence).fillna(0).astype(int)
    for key, n in base.value_counts().items():
        st.occurrence[key] = st.occurrence.get(key, 0) + int(n)
    ids = base.where(counts == 1, base + "-" + counts.astype(str))
    long = ids.str.len() > MAX_ID
    if long.any():  # a very long customer number: keep the id unique and within the column
        ids[long] = ids[long].map(lambda v: "id-" + hashlib.sha256(v.encode()).hexdigest()[:40])
    return ids


def _statuses(df: pd.DataFrame, st: ImportState) -> pd.Series:
    m, opts = st.mapping, st.mapping.options
    status = df["status"] if "status" in df else pd.Series(None, index=df.index, dtype=object)
    prefix = opts.get("cancelled_prefix")
    if prefix:
        status = status.where(~df["order_id"].str.startswith(prefix), "cancelled")
    if "total" in df and not m.line_level:
        refund = (df["total"] < 0).fillna(False) & (status.isna() | (status == "placed"))
        st.adjustments["negative_total_as_return"] += int(refund.sum())
        status = status.where(~refund, "returned")
    return status.fillna("placed")


def prepare_orders(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                   raw: pd.DataFrame) -> list[Refusal]:
    m, opts = st.mapping, st.mapping.options
    refused: list[Refusal] = []
    if opts.get("synthesize_order_id"):
        df["order_id"] = _made_ids(df, st)
        st.adjustments["order_id_made"] += len(df)
    if opts.get("count_only"):
        df["total"] = np.nan
        st.adjustments["amount_unknown"] += len(df)
    df["status"] = _statuses(df, st)
    df["channel"] = df["channel"].fillna("online") if "channel" in df else "online"
    currency = df["currency"].str.upper() if "currency" in df else pd.Series(st.currency, index=df.index)
    currency = currency.fillna(st.currency)
    tmpl = _("not a 3-letter ISO currency code: '{value}'")
    for i in np.flatnonzero(~currency.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy(dtype=bool)):
        refused.append((int(i), "currency", tmpl.format(value=currency.iloc[i])))
    df["currency"] = currency
    if m.line_level:
        return refused + _order_lines_mode(conn, df, lines, st, refused)
    refused += dupes(df["order_id"], lines, "order_id")
    good = drop(df, refused)
    cust = st.customers.resolve(conn, good["customer_id"], good.get("country")) if "customer_id" in good else None
    out = pd.DataFrame({
        "external_id": good["order_id"],
        "customer_id": cust if cust is not None else pd.Series(pd.NA, index=good.index, dtype="Int64"),
        "placed_at": good["placed_at"],
        "currency": good["currency"],
        "net_total": good["total"].round(2),
        "status": good["status"],
        "channel": good["channel"],
    })
    st.insert_first = write_orders(conn, out, st.insert_first)
    st.orders_touched += len(out)
    return refused


def _order_lines_mode(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                      already: list[Refusal]) -> list[Refusal]:
    refused: list[Refusal] = []
    skip = {r[0] for r in already}
    cust = df["customer_id"] if "customer_id" in df else pd.Series(None, index=df.index, dtype=object)
    known = df["order_id"].map(st.order_customer)
    chunk_first = cust.groupby(df["order_id"]).transform("first")
    first = known.where(df["order_id"].isin(st.order_customer.keys()), chunk_first)
    conflict = cust.notna() & first.notna() & (cust != first)
    tmpl = _("order '{order}' belongs to customer '{owner}' on another line, not '{customer}'")
    for i in np.flatnonzero(conflict.to_numpy(dtype=bool)):
        if i not in skip:
            refused.append((int(i), "customer_id", tmpl.format(order=df["order_id"].iloc[i], owner=first.iloc[i],
                                                               customer=cust.iloc[i])))
    refused += _amount_limits(df, skip | {r[0] for r in refused})
    good = drop(df, already + refused)
    if good.empty:
        return refused
    good = good.assign(customer_id=first.loc[good.index])
    prev = good["order_id"].map(st.order_lines).fillna(0).astype(int)
    good["line_no"] = prev + good.groupby("order_id").cumcount() + 1
    for key, n in good["order_id"].value_counts().items():
        st.order_lines[key] = st.order_lines.get(key, 0) + int(n)
    heads = good.drop_duplicates("order_id", keep="first")
    for k, c in zip(heads["order_id"], heads["customer_id"], strict=True):
        st.order_customer.setdefault(k, c)
    cust_ids = st.customers.resolve(conn, heads["customer_id"], heads.get("country"))
    orders = pd.DataFrame({
        "external_id": heads["order_id"], "customer_id": cust_ids, "placed_at": heads["placed_at"],
        "currency": heads["currency"], "net_total": 0.0, "status": heads["status"],
        "channel": heads["channel"],
    })
    write_orders(conn, orders)
    order_ids = lookup_ids(conn, table_of(Order), "external_id", heads["order_id"])
    product_ids = _products(conn, good)
    out = pd.DataFrame({
        "order_id": good["order_id"].map(order_ids).astype("int64"),
        "line_no": good["line_no"].astype("int64"),
        "product_id": good["sku"].map(product_ids).astype("Int64") if "sku" in good else pd.NA,
        "sku": good.get("sku"), "description": good.get("description"),
        "quantity": good["quantity"], "unit_price": good["unit_price"],
        "net_amount": (good["quantity"] * good["unit_price"]).round(2),
    })
    st.insert_first = write_lines(conn, out, st.insert_first)
    ids = list(order_ids.values())
    recompute_totals(conn, ids)
    st.adjustments["negative_total_as_return"] += refunds_as_returns(conn, ids)
    st.orders_touched += len(heads)
    return refused


def _amount_limits(df: pd.DataFrame, skip: set[int]) -> list[Refusal]:
    """A line amount (quantity × unit price) beyond what the amount column holds."""
    amount = (df["quantity"] * df["unit_price"]).abs()
    tmpl = _("quantity × unit_price is too large to store: {value}")
    return [(int(i), "quantity", tmpl.format(value=f"{amount.iloc[i]:g}"))
            for i in np.flatnonzero((amount >= LIMITS["money"]).fillna(False).to_numpy(dtype=bool)) if i not in skip]


def refunds_as_returns(conn: Connection, order_ids: list[int]) -> int:
    """Orders whose lines add up to a negative amount are refunds, whatever status the file gave."""
    t = table_of(Order)
    n = 0
    for chunk in in_chunks(order_ids, 5000):
        n += conn.execute(update(t).where(t.c.id.in_(chunk), t.c.net_total < 0, t.c.status == "placed")
                          .values(status="returned")).rowcount or 0
    return n


def _products(conn: Connection, df: pd.DataFrame) -> dict[str, int]:
    if "sku" not in df:
        return {}
    prod = pd.DataFrame({
        "sku": df["sku"], "name": df.get("description"), "category": df.get("category"),
        "price": df["unit_price"].where(df["unit_price"] > 0) if "unit_price" in df else None,
    })
    return write_products(conn, prod)


def prepare_order_lines(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                        raw: pd.DataFrame) -> list[Refusal]:
    order_ids = lookup_ids(conn, table_of(Order), "external_id", df["order_id"])
    tmpl = _("unknown order '{order}' (import the orders first)")
    refused = [(int(i), "order_id", tmpl.format(order=df["order_id"].iloc[i]))
               for i in np.flatnonzero(~df["order_id"].isin(order_ids.keys()).to_numpy())]
    refused += _amount_limits(df, {r[0] for r in refused})
    known = drop(df, refused)
    prev = known["order_id"].map(st.order_lines).fillna(0).astype(int)
    auto = prev + known.groupby("order_id").cumcount() + 1
    line_no = known["line_no"].astype("Int64").fillna(auto).astype("int64") if "line_no" in known else auto
    for key, n in known["order_id"].value_counts().items():
        st.order_lines[key] = st.order_lines.get(key, 0) + int(n)
    key = (known["order_id"] + "#" + line_no.astype(str)).reindex(df.index)
    refused += dupes(key, lines, _("order line"), "line_no")
    good = drop(df.assign(line_no=line_no.reindex(df.index)), refused)
    if good.empty:
        return refused
    product_ids = _products(conn, good)
    write_lines(conn, pd.DataFrame({
        "order_id": good["order_id"].map(order_ids).astype("int64"),
        "line_no": good["line_no"].astype("int64"),
        "product_id": good["sku"].map(product_ids).astype("Int64"),
        "sku": good["sku"], "description": good.get("description"),
        "quantity": good["quantity"], "unit_price": good["unit_price"],
        "net_amount": (good["quantity"] * good["unit_price"]).round(2),
    }))
    return refused
