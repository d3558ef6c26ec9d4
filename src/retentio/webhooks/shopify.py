"""Shopify: ``X-Shopify-Hmac-Sha256`` is the Base64 HMAC-SHA256 of the raw body with the app's secret;
``X-Shopify-Webhook-Id`` identifies a delivery (it stays the same on retries).

Topics: ``orders/create``, ``orders/updated`` (customer, order, lines),
``refunds/create`` (a refund order of the negative amount, status returned),
``customers/create`` and ``customers/update``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create", "customers/create",
          "customers/update")


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    from retentio.webhooks import same

    given = headers.get("x-shopify-hmac-sha256", "")
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return bool(given) and same(given, digest)


def is_ping(headers: dict[str, str], body: bytes) -> bool:
    return False


def delivery(headers: dict[str, str], payload: dict[str, Any], body: bytes) -> tuple[str, str]:
    topic = headers.get("x-shopify-topic", "")
    ident = headers.get("x-shopify-webhook-id") or hashlib.sha256(topic.encode() + b"\0" + body).hexdigest()
    return ident, topic


def customer(c: dict[str, Any], order: dict[str, Any] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"customer_id": str(c["id"]), "email": c.get("email"), "first_name": c.get("first_name"),
                           "last_name": c.get("last_name"), "created_at": c.get("created_at")}
    addr = (order or {}).get("billing_address") or c.get("default_address") or {}
    if addr.get("country_code"):
        rec["country"] = addr["country_code"]
    locale = (order or {}).get("customer_locale") or c.get("locale")
    if locale:
        rec["locale"] = locale
    consent = c.get("email_marketing_consent") or {}
    state, when = consent.get("state"), consent.get("consent_updated_at")
    if state in ("subscribed", "unsubscribed") and when:
        rec["email_consent"] = state == "subscribed"
        rec["consent_at"] = when
        rec["consent_source"] = "shopify"
        if state == "subscribed" and consent.get("opt_in_level") == "confirmed_opt_in":
            rec["double_opt_in_at"] = when
    return {k: v for k, v in rec.items() if v is not None}


def _status(o: dict[str, Any]) -> str:
    if o.get("cancelled_at"):
        return "cancelled"
    if o.get("financial_status") in ("refunded", "voided"):
        return "returned"
    return "placed"


def records(topic: str, payload: dict[str, Any], order_customer: Callable[[str], str | None]) -> dict[str, list]:
    if topic.startswith("customers/"):
        return {"customers": [customer(payload)]}
    if topic == "refunds/create":
        order_ref = str(payload.get("order_id"))
        amount = sum(float(t.get("amount") or 0) for t in payload.get("transactions") or []
                     if t.get("kind") == "refund" and t.get("status", "success") == "success")
        return {"orders": [{"order_id": f"{order_ref}-refund-{payload.get('id')}",
                            "customer_id": order_customer(order_ref), "placed_at": payload.get("created_at"),
                            "total": -round(amount, 2), "status": "returned",
                            "currency": (payload.get("transactions") or [{}])[0].get("currency")}]}
    o = payload
    c = o.get("customer") or {}
    out: dict[str, list] = {"customers": [customer(c, o)] if c.get("id") is not None else []}
    total = o.get("current_total_price") or o.get("total_price")
    out["orders"] = [{"order_id": str(o.get("id")), "customer_id": str(c["id"]) if c.get("id") is not None else None,
                      "placed_at": o.get("created_at"), "total": total, "currency": o.get("currency"),
                      "status": _status(o), "channel": "online"}]
    out["order-lines"] = [{"order_id": str(o.get("id")), "line_no": i + 1,
                           "sku": li.get("sku") or str(li.get("variant_id") or li.get("product_id") or li.get("id")),
                           "description": li.get("title") or li.get("name"), "quantity": li.get("quantity"),
                           "unit_price": li.get("price")}
                          for i, li in enumerate(o.get("line_items") or [])]
    return out
