"""Per-kind row preparation and writing, after cells are parsed (orders: :mod:`retentio.ingest.orders`).

Customers carry their consent statements into the consent log
(:mod:`retentio.consent`), which decides what they change; columns no field
claims become custom attributes (customers) or event properties (events).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from retentio import consent
from retentio.db.models import Customer, Event, Feedback, ServiceCase, Subscription
from retentio.db.types import table_of
from retentio.i18n import N_, _
from retentio.ingest.jsonvalues import Refused, plain_value
from retentio.ingest.orders import prepare_order_lines, prepare_orders
from retentio.ingest.state import ImportState, Refusal, content_key, drop, dupes
from retentio.ingest.writer import lookup_ids, records, upsert

CUSTOMER_COLS = ["email", "first_name", "last_name", "birthday", "locale", "country", "time_zone", "created_at"]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def extra_values(df: pd.DataFrame, raw: pd.DataFrame, extra: list[str]) -> tuple[list[dict | None], list[Refusal]]:
    """The unclaimed columns of each row as a JSON object (None when all are empty)."""
    out: list[dict | None] = []
    refused: list[Refusal] = []
    if not extra:
        return [None] * len(df), refused
    for pos, row in zip(range(len(df)), raw.loc[df.index, extra].to_dict("records"), strict=True):
        try:
            d = {k: plain_value(v.strip() if isinstance(v, str) else v) for k, v in row.items() if not _blank(v)}
        except Refused as exc:
            col = next((k for k, v in row.items() if not _blank(v) and _unplain(v)), extra[0])
            refused.append((pos, col, str(exc)))
            d = {}
        out.append(d or None)
    return out, refused


def _unplain(v: Any) -> bool:
    try:
        plain_value(v)
        return False
    except Refused:
        return True


def prepare_customers(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                      raw: pd.DataFrame) -> list[Refusal]:
    attributes, refused = extra_values(df, raw, st.mapping.extra_columns)
    refused += dupes(df["customer_id"], lines, "customer_id")
    good = drop(df.assign(attributes=attributes), refused)
    out = pd.DataFrame({"external_id": good["customer_id"]})
    cols = [c for c in CUSTOMER_COLS if c in good]
    for c in cols:
        out[c] = good[c]
    if "locale" in out:
        out["locale"] = out["locale"].str.replace("-", "_")
    if st.mapping.extra_columns:
        out["attributes"] = good["attributes"]
        cols.append("attributes")
    upsert(conn, table_of(Customer), records(out), ["external_id"], cols)
    if "email_consent" in good:
        ids = lookup_ids(conn, table_of(Customer), "external_id", out["external_id"])
        st.consent.update(consent.record(conn, _statements(good, ids, st), require_doi=st.require_double_opt_in,
                                         now=st.started))
    return refused


def _statements(good: pd.DataFrame, ids: dict[str, int], st: ImportState) -> list[consent.Statement]:
    rows = good[good["email_consent"].notna()]
    source = f"import:{st.file_name}"[:120]

    def col(name: str) -> list:
        if name not in rows:
            return [None] * len(rows)
        return [None if v is None or v is pd.NaT or (isinstance(v, float) and v != v) else
                (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in rows[name]]

    sources = col("consent_source")
    return [consent.Statement(ids[c], consent.GRANTED if ok else consent.DENIED, src or source, at, doi)
            for c, ok, at, doi, src in zip(rows["customer_id"], rows["email_consent"], col("consent_at"),
                                           col("double_opt_in_at"), sources, strict=True)]


def _simple(model, key_field: str | None, key_parts: list[str], columns: dict[str, str],
            checks: Sequence[tuple[str, str, str]] = ()) -> Callable:
    """Handler for kinds that reference a customer and have one key column."""

    def handler(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                raw: pd.DataFrame | None = None) -> list[Refusal]:
        refused: list[Refusal] = []
        for later, earlier, msg in checks:
            if later in df and earlier in df:
                bad = (df[later].notna() & (df[later] < df[earlier])).fillna(False)
                refused += [(int(i), later, _(msg)) for i in np.flatnonzero(bad.to_numpy(dtype=bool))]
        if key_field and key_field in df and df[key_field].notna().all():
            key = df[key_field]
        else:
            parts = [df[p].astype(str) if p in df else pd.Series("", index=df.index) for p in key_parts]
            generated = pd.Series([content_key(*row) for row in zip(*parts, strict=True)], index=df.index)
            key = df[key_field].fillna(generated) if key_field and key_field in df else generated
        refused += dupes(key, lines, key_field or "row")
        df = df.assign(_key=key.to_numpy())
        good = drop(df, refused)
        if good.empty:
            return refused
        out = pd.DataFrame({"customer_id": st.customers.resolve(conn, good["customer_id"]).astype("int64")})
        out[columns["_key"]] = good["_key"]
        for src, dst in columns.items():
            if src != "_key" and src in good:
                out[dst] = good[src]
        update_cols = [c for c in out.columns if c != columns["_key"]]
        upsert(conn, table_of(model), records(out), [columns["_key"]], update_cols)
        return refused

    return handler


_EVENTS = _simple(Event, "event_id", ["customer_id", "type", "occurred_at", "_props_text"],
                  {"_key": "event_key", "type": "type", "occurred_at": "occurred_at", "properties": "properties"})


def prepare_events(conn: Connection, df: pd.DataFrame, lines: np.ndarray, st: ImportState,
                   raw: pd.DataFrame) -> list[Refusal]:
    extra, refused = extra_values(df, raw, st.mapping.extra_columns)
    base = df["properties"] if "properties" in df else pd.Series(None, index=df.index, dtype=object)
    merged = [({**(b if isinstance(b, dict) else {}), **(e or {})} or None) for b, e in zip(base, extra, strict=True)]
    df = df.assign(properties=pd.Series(merged, index=df.index, dtype=object))
    df["_props_text"] = df["properties"].map(lambda p: json.dumps(p, sort_keys=True, default=str))
    good_pos = sorted(set(range(len(df))) - {r[0] for r in refused})
    if len(good_pos) < len(df):
        # The handler refers to positions in what it is given: map its refusals back.
        inner = _EVENTS(conn, df.iloc[good_pos], lines[good_pos], st)
        return refused + [(good_pos[p], c, r) for p, c, r in inner]
    return refused + _EVENTS(conn, df, lines, st)


HANDLERS: dict[str, Callable] = {
    "orders": prepare_orders,
    "order-lines": prepare_order_lines,
    "customers": prepare_customers,
    "events": prepare_events,
    "subscriptions": _simple(
        Subscription, "subscription_id", [],
        {"_key": "external_id", "plan": "plan", "started_at": "started_at", "ends_at": "ends_at",
         "cancelled_at": "cancelled_at", "cancellation_reason": "cancellation_reason",
         "monthly_amount": "monthly_amount"},
        [("ends_at", "started_at", N_("ends_at is before started_at")),
         ("cancelled_at", "started_at", N_("cancelled_at is before started_at"))]),
    "feedback": _simple(
        Feedback, "feedback_id", ["customer_id", "submitted_at", "score"],
        {"_key": "external_id", "score": "score", "comment": "comment", "submitted_at": "submitted_at",
         "source": "source"}),
    "cases": _simple(
        ServiceCase, "case_id", [],
        {"_key": "external_id", "opened_at": "opened_at", "closed_at": "closed_at",
         "category": "category", "resolution": "resolution", "satisfaction": "satisfaction"},
        [("closed_at", "opened_at", N_("closed_at is before opened_at"))]),
}
