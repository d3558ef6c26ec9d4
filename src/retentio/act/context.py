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
import tomllib
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from retentio.act.flow_model import LIBRARY
from retentio.act.links import feedback_url, unsubscribe_url
from retentio.db.bulk import in_chunks
from retentio.db.types import sql_time
from retentio.formatting import Fmt
from retentio.i18n import tr
from retentio.labels import label
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


def voucher_code(idempotency_key: str, secret: str) -> str:
    """A code derived from the message's key: the same on every re-render, unguessable without the secret."""
    mac = hmac.new(secret.encode(), b"voucher:" + idempotency_key.encode(), hashlib.sha256)
    return "RT-" + base64.b32encode(mac.digest()[:7]).decode().rstrip("=")[:10]


# A voucher is valid for N days from when the message is *sent*; the date is written in at send time
# (send_time_values), so a message queued during quiet hours or by a replayed demo still promises N days.
VALID_UNTIL = "\u27e6valid_until\u27e7"


def send_time_values(payload: dict[str, Any] | None, sent_at: dt.datetime) -> dict[str, str]:
    """What a frozen message fills in when it goes out: marker -> text."""
    voucher = (payload or {}).get("voucher") or {}
    if not voucher.get("valid_days"):
        return {}
    until = sent_at.date() + dt.timedelta(days=int(voucher["valid_days"]))
    return {VALID_UNTIL: Fmt(voucher.get("lang") or "de").date(until)}


def incentive_percent(clv: float | None, spec: dict[str, Any], reference: float) -> int:
    """Scale the discount with expected value between min and max percent, in steps of 5."""
    low, high = float(spec.get("min_percent", 5)), float(spec.get("max_percent", 20))
    share = 0.0 if not clv or not reference or clv != clv else min(max(clv / reference, 0.0), 1.0)
    return int(5 * round((low + share * (high - low)) / 5))


def _num(v) -> float | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    return float(v)


def cart_items(properties: dict[str, Any] | None, f: Fmt) -> dict[str, Any]:
    """The cart of a ``cart_abandoned`` event: ``items`` (or Shopify's ``line_items``) with name/title/sku,
    quantity/qty and price; ``cart_url``/``checkout_url``/``url``."""
    props = properties if isinstance(properties, dict) else {}
    items = []
    for it in (props.get("items") or props.get("line_items") or [])[:20]:
        if not isinstance(it, dict):
            continue
        name = it.get("name") or it.get("title") or it.get("description") or it.get("sku")
        if not name:
            continue
        qty = it.get("quantity", it.get("qty", 1))
        try:
            price = float(it["price"]) if it.get("price") not in (None, "") else None
        except (TypeError, ValueError):
            price = None
        items.append({"name": str(name)[:120], "quantity": qty, "price": f.money(price) if price is not None else ""})
    url = props.get("cart_url") or props.get("checkout_url") or props.get("abandoned_checkout_url") or props.get("url")
    return {"lines": items, "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else None}


def open_vouchers(conn, ids: list[int], now: dt.datetime) -> dict[int, list[dict[str, Any]]]:
    """Each customer's vouchers still usable at ``now``, newest first (for the loyalty letters)."""
    from sqlalchemy import func, select

    from retentio.db.loyalty_models import Voucher, VoucherRedemption

    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    uses = (select(VoucherRedemption.voucher_id, func.count().label("n")).group_by(VoucherRedemption.voucher_id)
            .subquery())
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start:chunk_start + 5000]
        stmt = (select(Voucher.customer_id, Voucher.code, Voucher.kind, Voucher.value, Voucher.currency,
                       Voucher.expires_at, Voucher.source)
                .outerjoin(uses, uses.c.voucher_id == Voucher.id)
                .where(Voucher.customer_id.in_(chunk), func.coalesce(uses.c.n, 0) < Voucher.max_uses,
                       (Voucher.expires_at.is_(None)) | (Voucher.expires_at > now))
                .order_by(Voucher.id.desc()))
        for r in conn.execute(stmt):
            out.setdefault(int(r.customer_id), []).append(dict(r._mapping))
    return out


def loyalty_context(row: pd.Series, vouchers: list[dict[str, Any]], f: Fmt) -> dict[str, Any]:
    """What the loyalty letters say: balance, tier, points expiring and when, usable vouchers (and the newest
    gift among them)."""
    points = int(_num(row.get("points_available")) or 0)
    expiring = int(_num(row.get("points_expiring_soon")) or 0)
    first = row.get("next_points_expiry")
    listed = [{"code": v["code"], "value": (f.num(v["value"]) + " %") if v["kind"] == "percent"
               else f.money(float(v["value"])), "valid_until": f.date(v["expires_at"].date()) if v["expires_at"]
               else "–"} for v in vouchers]
    gift = next((x for x, v in zip(listed, vouchers, strict=True) if v["source"] == "bonus"), None)
    return {"member": bool(row.get("loyalty_tier")), "tier": row.get("loyalty_tier") or "",
            "points": f.num(points), "expiring_points": f.num(expiring),
            "expiring_on": f.date(first.date()) if isinstance(first, pd.Timestamp) and first is not pd.NaT else "–",
            "vouchers": listed, "gift": gift}


def build(row: pd.Series, lang: str, cfg: ShopConfig, *, products: list[str], recs: list[str], key: str,
          step: dict[str, Any], clv_reference: float, now: dt.datetime, secret: str, purpose: str = "marketing",
          event: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> dict:
    f = Fmt(lang, cfg.currency)
    first = row.get("first_name") if isinstance(row.get("first_name"), str) else None
    clv = _num(row.get("clv"))
    churn = _num(row.get("churn_probability"))
    last = row.get("last_purchase_at")
    cid = int(row["customer_id"])
    public = cfg.public_url
    shop_url = cfg.shop_url or public
    ctx: dict[str, Any] = {
        "lang": lang,
        "customer": {"first_name": first or "", "last_name": row.get("last_name") or "",
                     "external_id": row.get("external_id"), "purchases": int(_num(row.get("purchases")) or 0)},
        "salutation": tr(lang, "Hi {name}", name=first) if first else tr(lang, "Hello"),
        "shop": {"name": cfg.name, "sender": cfg.sender_name or cfg.name, "url": shop_url, "logo_url": cfg.logo_url,
                 "legal_name": cfg.legal_name or cfg.name, "address": cfg.postal_address, "imprint": cfg.imprint,
                 "category": cfg.category},
        "shop_url": shop_url,
        "last_products": products,
        "recommendations": recs,
        "tips": tips(cfg.category, lang),
        "cart": cart_items(event, f),
        "value": {"clv": f.money(clv) if clv is not None else "–",
                  "churn": f.share(churn) if churn is not None else "–",
                  "revenue": f.money(_num(row.get("revenue")) or 0.0),
                  "last_purchase": f.date(last.date()) if isinstance(last, pd.Timestamp) and last is not pd.NaT else "–",
                  "lifecycle": label("lifecycle", row.get("lifecycle"), lang),
                  "reason": label("reason", row.get("top_reason"), lang) if row.get("top_reason") else "–"},
        "numbers": {"clv": clv, "churn": churn,
                    "last_purchase": last.date().isoformat() if isinstance(last, pd.Timestamp) and last is not pd.NaT
                    else None},
        "open_cases": int(_num(row.get("open_cases")) or 0),
        "nps_last": _num(row.get("nps_last")),
        # Transactional messages carry no unsubscribe link: there is nothing to unsubscribe from.
        "links": {"unsubscribe": unsubscribe_url(None, cid, base=public, secret=secret) if purpose == "marketing"
                  else None, "feedback": feedback_url(None, cid, base=public, secret=secret), "shop": shop_url},
        "t": {"unsubscribe": tr(lang, "Unsubscribe"),
              "unsubscribe_note": tr(lang, "You receive this email because you subscribed to our newsletter."),
              "imprint": tr(lang, "Imprint")},
        "voucher": None,
        "loyalty": {**loyalty_context(row, (extra or {}).pop("vouchers", []) if extra else [], f),
                    # Which purchase an Nth-purchase flow greets (the refresh may not have counted it yet).
                    "purchase_number": (extra or {}).pop("purchase_number", None) or
                    int(_num(row.get("purchases")) or 0)},
    }
    if "incentive" in step:
        pct = incentive_percent(clv, step["incentive"], clv_reference)
        ctx["voucher"] = {"code": voucher_code(key, secret), "percent": pct, "valid_until": VALID_UNTIL,
                          "valid_days": int(step["incentive"].get("valid_days", 30))}
    ctx.update(extra or {})
    return ctx


@lru_cache(maxsize=1)
def _tips() -> dict[str, Any]:
    return tomllib.loads((LIBRARY / "tips.toml").read_text(encoding="utf-8"))


def tips(category: str, lang: str) -> list[str]:
    """After-purchase tips that fit what the shop sells (act/library/tips.toml)."""
    table = _tips()
    entry = table.get(category) or table["general"]
    return list(entry.get(lang) or entry.get("en") or [])
