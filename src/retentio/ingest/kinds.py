"""Per-kind row preparation and writing, after cells are parsed.

Each handler receives the parsed, valid rows of one chunk and returns the
rows it refuses (for reasons that involve several rows or the database) as
``(position, column, reason)`` tuples; everything else is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from retentio.db.models import Customer, Event, Feedback, Order, ServiceCase, Subscription
from retentio.db.types import table_of
from retentio.ingest.mapping import Mapping
from retentio.ingest.writer import (
    CustomerIds,
    lookup_ids,
    recompute_totals,
    records,
    upsert,
    write_consents,
    write_lines,
    write_orders,
    write_products,
)

Refusal = tuple[int, str, str]


class ImportState:
    """What must be remembered across chunks of one file."""

    def __init__(self, mapping: Mapping, file_name: str, default_currency: str) -> None:
        self.mapping = mapping
        self.file_name = file_name
        self.currency = str(mapping.options.get("currency") or default_currency).upper()
        self.customers = CustomerIds()
        self.order_lines: dict[str, int] = {}  # order -> lines seen so far
        self.order_customer: dict[str, Any] = {}
        self.occurrence: dict[str, int] = {}
        self.orders_touched = 0


def _dupes(keys: pd.Series, lines: np.ndarray, what: str) -> list[Refusal]:
    dup = keys.duplicated(keep="first") & keys.notna()
    if not dup.any():
        return []
    first_line = pd.Series(lines, index=keys.index).groupby(keys).transform("first")
    return [(int(i), what, f"duplicate {what} '{keys.iloc[i]}' (first on line {first_line.iloc[i]})")
            for i in np.flatnonzero(dup.to_numpy())]


def _drop(frame: pd.DataFrame, refused: list[Refusal]) -> pd.DataFrame:
    if not refused:
        return frame
    bad = sorted({r[0] for r in refused})
    return frame.drop(index=frame.index[bad])


def _hash(*parts: Any) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()


def prepare_orders(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState) -> list[Refusal]:
    m = st.mapping
    opts = m.options
    refused: list[Refusal] = []
    if opts.get("synthesize_order_id"):
        day = df["placed_at"].dt.strftime("%Y%m%d")
        base = df["customer_id"].astype(str) + "-" + day
        counts = base.groupby(base).cumcount() + 1 + base.map(st.occurrence).fillna(0).astype(int)
        for key, n in base.value_counts().items():
            st.occurrence[key] = st.occurrence.get(key, 0) + int(n)
        df["order_id"] = base + "-" + counts.astype(str)
    status = df["status"] if "status" in df else pd.Series(None, index=df.index, dtype=object)
    prefix = opts.get("cancelled_prefix")
    if prefix:
        status = status.where(~df["order_id"].str.startswith(prefix), "cancelled")
    if "total" in df and not m.line_level:
        # A negative amount without an explicit status is a refund or return.
        status = status.where(status.notna() | (df["total"] >= 0), "returned")
    df["status"] = status.fillna("placed")
    df["channel"] = df["channel"].fillna("online") if "channel" in df else "online"
    currency = df["currency"].str.upper() if "currency" in df else pd.Series(st.currency, index=df.index)
    currency = currency.fillna(st.currency)
    for i in np.flatnonzero(~currency.str.fullmatch(r"[A-Z]{3}").to_numpy()):
        refused.append((int(i), "currency", f"not a 3-letter ISO currency code: '{currency.iloc[i]}'"))
    df["currency"] = currency
    if m.line_level:
        return refused + _order_lines_mode(conn, df, lines, st, refused)
    refused += _dupes(df["order_id"], lines, "order_id")
    good = _drop(df, refused)
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
    write_orders(conn, out)
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
    for i in np.flatnonzero(conflict.to_numpy()):
        if i not in skip:
            refused.append((int(i), "customer_id", f"order '{df['order_id'].iloc[i]}' belongs to customer "
                            f"'{first.iloc[i]}' on another line, not '{cust.iloc[i]}'"))
    good = _drop(df, already + refused)
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
    amount = (good["quantity"] * good["unit_price"]).round(2)
    out = pd.DataFrame({
        "order_id": good["order_id"].map(order_ids).astype("int64"),
        "line_no": good["line_no"].astype("int64"),
        "product_id": good["sku"].map(product_ids).astype("Int64") if "sku" in good else pd.NA,
        "sku": good.get("sku"), "description": good.get("description"),
        "quantity": good["quantity"], "unit_price": good["unit_price"], "net_amount": amount,
    })
    write_lines(conn, out)
    recompute_totals(conn, list(order_ids.values()))
    st.orders_touched += len(heads)
    return refused


def _products(conn: Connection, df: pd.DataFrame) -> dict[str, int]:
    if "sku" not in df:
        return {}
    prod = pd.DataFrame({
        "sku": df["sku"], "name": df.get("description"), "category": df.get("category"),
        "price": df["unit_price"].where(df["unit_price"] > 0) if "unit_price" in df else None,
    })
    return write_products(conn, prod)


def prepare_order_lines(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState) -> list[Refusal]:
    order_ids = lookup_ids(conn, table_of(Order), "external_id", df["order_id"])
    refused = [(int(i), "order_id", f"unknown order '{df['order_id'].iloc[i]}' (import the orders first)")
               for i in np.flatnonzero(~df["order_id"].isin(order_ids.keys()).to_numpy())]
    known = df.drop(index=[r[0] for r in refused])
    prev = known["order_id"].map(st.order_lines).fillna(0).astype(int)
    auto = prev + known.groupby("order_id").cumcount() + 1
    line_no = known["line_no"].fillna(auto) if "line_no" in known else auto
    for key, n in known["order_id"].value_counts().items():
        st.order_lines[key] = st.order_lines.get(key, 0) + int(n)
    key = (known["order_id"] + "#" + line_no.astype("int64").astype(str)).reindex(df.index)
    refused += _dupes(key, lines, "order line")
    good = _drop(df.assign(line_no=line_no.reindex(df.index)), refused)
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


CUSTOMER_COLS = ["email", "first_name", "last_name", "birthday", "locale", "country", "time_zone", "created_at"]


def prepare_customers(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                      raw: pd.DataFrame) -> list[Refusal]:
    refused = _dupes(df["customer_id"], lines, "customer_id")
    good = _drop(df, refused)
    out = pd.DataFrame({"external_id": good["customer_id"]})
    cols = [c for c in CUSTOMER_COLS if c in good]
    for c in cols:
        out[c] = good[c]
    if "locale" in out:
        out["locale"] = out["locale"].str.replace("-", "_")
    extra = st.mapping.extra_columns
    if extra:
        sub = raw.loc[good.index, extra]
        out["attributes"] = [
            {k: v for k, v in row.items() if v is not None and v == v and str(v).strip() != ""} or None
            for row in sub.to_dict("records")
        ]
        cols.append("attributes")
    upsert(conn, table_of(Customer), records(out), ["external_id"], cols)
    ids = lookup_ids(conn, table_of(Customer), "external_id", out["external_id"])
    if "email_consent" in good:
        consent = good[good["email_consent"].notna()]
        now = pd.Timestamp.now(tz="UTC")
        recorded = consent.get("double_opt_in_at", None)
        write_consents(conn, pd.DataFrame({
            "customer_id": consent["customer_id"].map(ids).astype("int64"),
            "channel": "email", "purpose": "marketing",
            "status": consent["email_consent"].map({True: "granted", False: "denied"}),
            "source": consent["consent_source"].fillna(f"import:{st.file_name}") if "consent_source" in consent
            else f"import:{st.file_name}",
            "recorded_at": recorded.fillna(now) if recorded is not None else now,
            "double_opt_in_at": recorded if recorded is not None else None,
        }))
    return refused


def _simple(model, key_field: str | None, key_parts: list[str], columns: dict[str, str],
            checks: Sequence[tuple[str, str, str]] = ()) -> Callable:
    """Handler for kinds that reference a customer and have one key column."""

    def handler(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                raw: pd.DataFrame | None = None) -> list[Refusal]:
        refused: list[Refusal] = []
        for later, earlier, msg in checks:
            if later in df and earlier in df:
                bad = df[later].notna() & (df[later] < df[earlier])
                refused += [(int(i), later, msg) for i in np.flatnonzero(bad.to_numpy())]
        if key_field and key_field in df and df[key_field].notna().all():
            key = df[key_field]
        else:
            parts = [df[p].astype(str) if p in df else pd.Series("", index=df.index) for p in key_parts]
            generated = pd.Series([_hash(*row) for row in zip(*parts, strict=True)], index=df.index)
            key = df[key_field].fillna(generated) if key_field and key_field in df else generated
        refused += _dupes(key, lines, key_field or "row")
        df = df.assign(_key=key.to_numpy())
        good = _drop(df, refused)
        out = pd.DataFrame({"customer_id": st.customers.resolve(conn, good["customer_id"]).astype("int64")})
        out[columns["_key"]] = good["_key"]
        for src, dst in columns.items():
            if src != "_key" and src in good:
                out[dst] = good[src]
        update_cols = [c for c in out.columns if c != columns["_key"]]
        upsert(conn, table_of(model), records(out), [columns["_key"]], update_cols)
        return refused

    return handler


def _event_properties(df: pd.DataFrame, raw: pd.DataFrame, extra: list[str]) -> pd.Series:
    props = df["properties"] if "properties" in df else pd.Series(None, index=df.index, dtype=object)
    if not extra:
        return props
    merged = []
    for base, row in zip(props, raw.loc[df.index, extra].to_dict("records"), strict=True):
        d = dict(base or {})
        d.update({k: v for k, v in row.items() if v is not None and v == v and str(v).strip() != ""})
        merged.append(d or None)
    return pd.Series(merged, index=df.index, dtype=object)


def prepare_events(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                   raw: pd.DataFrame) -> list[Refusal]:
    df = df.assign(properties=_event_properties(df, raw, st.mapping.extra_columns))
    df["_props_text"] = df["properties"].map(lambda p: json.dumps(p, sort_keys=True, default=str))
    handler = _simple(Event, "event_id", ["customer_id", "type", "occurred_at", "_props_text"],
                      {"_key": "event_key", "type": "type", "occurred_at": "occurred_at",
                       "properties": "properties"})
    return handler(conn, df, lines, st)


HANDLERS: dict[str, Callable] = {
    "orders": prepare_orders,
    "order-lines": prepare_order_lines,
    "subscriptions": _simple(
        Subscription, "subscription_id", [],
        {"_key": "external_id", "plan": "plan", "started_at": "started_at", "ends_at": "ends_at",
         "cancelled_at": "cancelled_at", "cancellation_reason": "cancellation_reason",
         "monthly_amount": "monthly_amount"},
        [("ends_at", "started_at", "ends_at is before started_at"),
         ("cancelled_at", "started_at", "cancelled_at is before started_at")]),
    "feedback": _simple(
        Feedback, "feedback_id", ["customer_id", "submitted_at", "score"],
        {"_key": "external_id", "score": "score", "comment": "comment", "submitted_at": "submitted_at",
         "source": "source"}),
    "cases": _simple(
        ServiceCase, "case_id", [],
        {"_key": "external_id", "opened_at": "opened_at", "closed_at": "closed_at",
         "category": "category", "resolution": "resolution", "satisfaction": "satisfaction"},
        [("closed_at", "opened_at", "closed_at is before opened_at")]),
}
NEEDS_RAW = {"customers": prepare_customers, "events": prepare_events}
