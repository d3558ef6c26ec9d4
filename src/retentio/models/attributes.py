"""Custom customer attributes (plan, payment method, monthly charges, …) as churn-model features.

Attributes are whatever columns a customer import did not map; they arrive
as text. A key becomes a feature when enough customers have it:

* **numeric** when nearly all its values read as numbers (``29.85``,
  ``29,85``, ``1.234,50``);
* **categorical** when it has few distinct values (≤ 50), e.g. ``Contract``
  or ``PaymentMethod``;
* left out otherwise: identifiers and free text say nothing general.

Each feature's churn reason is guessed from its name (charges → price,
payment → checkout, contract/plan → contract, support → service), else
"other characteristics".
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

MIN_SHARE = 0.05
MAX_CATEGORIES = 50
NUMERIC_SHARE = 0.95
REASON_WORDS = [
    (re.compile(r"charge|price|preis|amount|betrag|fee|gebuehr|cost|kosten|mrr|revenue|umsatz", re.I), "price"),
    (re.compile(r"pay|zahl|billing|rechnung|invoice", re.I), "checkout"),
    (re.compile(r"contract|vertrag|plan|tarif|tenure|laufzeit|abo|subscription", re.I), "contract"),
    (re.compile(r"support|service|ticket|security|backup|protection", re.I), "service"),
    (re.compile(r"stream|usage|nutzung|login|session|internet|phone|lines", re.I), "no_interaction"),
]
PREFIX = "attr_"


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v) if np.isfinite(v) else None
    s = str(v).strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", s):
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d+,\d+", s):
        s = s.replace(",", ".")
    try:
        out = float(s)
    except ValueError:
        return None
    return out if np.isfinite(out) else None


def reason_for(name: str) -> str:
    for pattern, reason in REASON_WORDS:
        if pattern.search(name):
            return reason
    return "other"


def attribute_features(attrs: pd.DataFrame, *, exclude: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """From (customer_id, attributes dict or JSON text) to one column per usable attribute.

    Returns the frame (customer_id + ``attr_*`` columns: floats, or strings for categories) and
    each column's churn reason."""
    records = [a if isinstance(a, dict) else (json.loads(a) if isinstance(a, str) and a else {})
               for a in attrs["attributes"]]
    wide = pd.DataFrame.from_records(records, index=attrs.index) if records else pd.DataFrame(index=attrs.index)
    skip = {e.lower() for e in exclude}
    out = pd.DataFrame({"customer_id": attrs["customer_id"].astype("int64").to_numpy()})
    reasons: dict[str, str] = {}
    n = len(wide)
    for key in wide.columns:
        if str(key).lower() in skip:
            continue
        col = wide[key]
        present = col.notna() & (col.astype(str).str.strip() != "")
        if n == 0 or present.sum() < max(MIN_SHARE * n, 2):
            continue
        values = col[present]
        numbers = values.map(_number)
        name = PREFIX + re.sub(r"[^0-9A-Za-z_]+", "_", str(key)).strip("_")[:60]
        if numbers.notna().mean() >= NUMERIC_SHARE:
            out[name] = col.map(lambda v: _number(v) if v is not None else None).astype(float).to_numpy()
        elif values.astype(str).nunique() <= MAX_CATEGORIES and values.astype(str).nunique() < present.sum():
            out[name] = col.where(present).astype(object).map(lambda v: None if v is None or v != v
                                                                else str(v).strip()).to_numpy()
        else:
            continue
        reasons[name] = reason_for(str(key))
    return out, reasons


def load_attribute_features(engine, *, exclude: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    from sqlalchemy import select

    from retentio.db.models import Customer

    with engine.connect() as conn:
        rows = conn.execute(select(Customer.id, Customer.attributes).where(Customer.attributes.is_not(None))).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "attributes"])
    if frame.empty:
        return pd.DataFrame({"customer_id": pd.Series([], dtype="int64")}), {}
    return attribute_features(frame, exclude=exclude)
