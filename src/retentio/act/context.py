"""What a template can say about a customer, gathered in bulk for all recipients of a run.

The context is plain data (dicts, lists, strings): the sandbox gets no objects
with methods, and money, dates and percentages arrive already formatted in the
recipient's language (Babel), so templates stay free of formatting logic.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from retentio.act.links import feedback_url, unsubscribe_url
from retentio.db.bulk import in_chunks
from retentio.db.types import sql_time
from retentio.i18n import Fmt, t
from retentio.settings import get_settings
from retentio.shop import ShopConfig

# The latest order by time (ids follow import order, which need not be chronological).
LAST_PRODUCTS_SQL = """
SELECT o.customer_id, COALESCE(p.name, l.description, l.sku) AS name
FROM (SELECT id, customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY placed_at DESC, id DESC) AS rn
      FROM orders WHERE status = 'placed' AND customer_id IN ({ids}) AND placed_at <= :now) o
JOIN order_lines l ON l.order_id = o.id LEFT JOIN products p ON p.id = l.product_id
WHERE o.rn = 1
ORDER BY o.customer_id, l.line_no
"""


def last_products(conn: Connection, customer_ids: list[int], now: dt.datetime) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for chunk in in_chunks(sorted({int(c) for c in customer_ids})):
        listed = ",".join(str(c) for c in chunk)
        for cid, name in conn.execute(text(LAST_PRODUCTS_SQL.format(ids=listed)),
                                      {"now": sql_time(conn.dialect.name, now)}):
            names = out.setdefault(int(cid), [])
            if name and name not in names and len(names) < 3:
                names.append(name)
    return out


def voucher_code(idempotency_key: str) -> str:
    """A code derived from the message's key: the same on every re-render, unguessable without the secret."""
    mac = hmac.new(get_settings().secret_key.encode(), b"voucher:" + idempotency_key.encode(), hashlib.sha256)
    return "RT-" + base64.b32encode(mac.digest()[:7]).decode().rstrip("=")[:10]


def incentive_percent(clv: float | None, spec: dict[str, Any], reference: float) -> int:
    """Scale the discount with expected value between min and max percent, in steps of 5."""
    low, high = float(spec.get("min_percent", 5)), float(spec.get("max_percent", 20))
    share = 0.0 if not clv or not reference or clv != clv else min(max(clv / reference, 0.0), 1.0)
    return int(5 * round((low + share * (high - low)) / 5))


def _num(v) -> float | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    return float(v)


def build(row: pd.Series, lang: str, cfg: ShopConfig, *, products: list[str], recs: list[str],
          key: str, step: dict[str, Any], clv_reference: float, now: dt.datetime, purpose: str = "marketing", extra: dict[str, Any] | None = None) -> dict:
    f = Fmt(lang, cfg.currency)
    first = row.get("first_name") if isinstance(row.get("first_name"), str) else None
    clv = _num(row.get("clv"))
    churn = _num(row.get("churn_probability"))
    last = row.get("last_purchase_at")
    ctx: dict[str, Any] = {
        "lang": lang,
        "customer": {"first_name": first or "", "last_name": row.get("last_name") or "",
                     "external_id": row.get("external_id"), "purchases": int(_num(row.get("purchases")) or 0)},
        "salutation": t("mail_hello", lang, name=first) if first else t("mail_hello_anon", lang),
        "shop": {"name": cfg.name, "sender": cfg.sender_name or cfg.name},
        "last_products": products,
        "recommendations": recs,
        "value": {"clv": f.money(clv) if clv is not None else "–",
                  "churn": f.pct(100 * churn, 0) if churn is not None else "–",
                  "revenue": f.money(_num(row.get("revenue")) or 0.0),
                  "last_purchase": f.date(last.date()) if isinstance(last, pd.Timestamp) and last is not pd.NaT else "–",
                  "lifecycle": row.get("lifecycle") or "–",
                  "reason": t(f"reason_{row['top_reason']}", lang) if row.get("top_reason") else "–"},
        "open_cases": int(_num(row.get("open_cases")) or 0),
        "nps_last": _num(row.get("nps_last")),
        # Transactional messages carry no unsubscribe link: there is nothing to unsubscribe from.
        "links": {"unsubscribe": unsubscribe_url(int(row["customer_id"])) if purpose == "marketing" else None,
                  "feedback": feedback_url(int(row["customer_id"]))},
        "t": {"unsubscribe": t("mail_unsubscribe", lang), "unsubscribe_note": t("mail_unsubscribe_note", lang)},
        "voucher": None,
    }
    if "incentive" in step:
        pct = incentive_percent(clv, step["incentive"], clv_reference)
        valid = now.date() + dt.timedelta(days=int(step["incentive"].get("valid_days", 30)))
        ctx["voucher"] = {"code": voucher_code(key), "percent": pct, "valid_until": f.date(valid)}
    ctx.update(extra or {})
    return ctx


