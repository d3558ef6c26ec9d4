"""WooCommerce: ``X-WC-Webhook-Signature`` is the Base64 HMAC-SHA256 of the raw body with the webhook's
secret; ``X-WC-Webhook-Delivery-ID`` identifies a delivery.

Topics: ``order.created`` and ``order.updated``. Statuses: processing,
completed and on-hold are purchases; cancelled and failed are cancelled;
refunded is returned; pending and drafts (not paid) are not imported yet.
Partial refunds become refund orders of their (negative) amount. A guest
order's customer is its billing address (``email:…``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

TOPICS = ("order.created", "order.updated", "order.restored", "customer.created", "customer.updated")
STATUS = {"processing": "placed", "completed": "placed", "on-hold": "placed", "cancelled": "cancelled",
          "failed": "cancelled", "refunded": "returned"}


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    from retentio.webhooks import same

    given = headers.get("x-wc-webhook-signature", "")
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return bool(given) and same(given, digest)


def is_ping(headers: dict[str, str], body: bytes) -> bool:
    """WooCommerce pings a new webhook with a form body ``webhook_id=N`` and no topic."""
    return not headers.get("x-wc-webhook-topic") and body.startswith(b"webhook_id=")


def delivery(headers: dict[str, str], payload: dict[str, Any], body: bytes) -> tuple[str, str]:
    topic = headers.get("x-wc-webhook-topic", "")
    ident = headers.get("x-wc-webhook-delivery-id") or hashlib.sha256(topic.encode() + b"\0" + body).hexdigest()
    return f"{headers.get('x-wc-webhook-id', '')}:{ident}", topic


def _customer_ref(o: dict[str, Any]) -> str | None:
    if o.get("customer_id"):
        return str(o["customer_id"])
    email = ((o.get("billing") or {}).get("email") or "").strip().lower()
    return f"email:{email}" if email else None


def _time(value: str | None) -> str | None:
    # date_created_gmt has no offset; it is UTC by its name.
    if value and not value.endswith(("Z", "+00:00")) and "+" not in value[10:] and "-" not in value[10:]:
        return value + "+00:00"
    return value


def records(topic: str, payload: dict[str, Any], order_customer: Callable[[str], str | None]) -> dict[str, list]:
    if topic.startswith("customer."):
        c = payload
        billing = c.get("billing") or {}
        return {"customers": [{k: v for k, v in {
            "customer_id": str(c.get("id")), "email": c.get("email"), "first_name": c.get("first_name"),
            "last_name": c.get("last_name"), "created_at": _time(c.get("date_created_gmt")),
            "country": billing.get("country") or None}.items() if v}]}
    o = payload
    status = STATUS.get(str(o.get("status")))
    if status is None:  # pending payment, drafts: not an order yet
        return {}
    ref = _customer_ref(o)
    billing = o.get("billing") or {}
    placed = _time(o.get("date_created_gmt")) or o.get("date_created")
    out: dict[str, list] = {"customers": [], "orders": [], "order-lines": []}
    if ref:
        out["customers"].append({k: v for k, v in {
            "customer_id": ref, "email": billing.get("email") or None, "first_name": billing.get("first_name") or None,
            "last_name": billing.get("last_name") or None, "country": billing.get("country") or None}.items()
            if v is not None})
    oid = str(o.get("id"))
    out["orders"].append({"order_id": oid, "customer_id": ref, "placed_at": placed, "total": o.get("total"),
                          "currency": o.get("currency"), "status": status, "channel": "online"})
    for r in o.get("refunds") or []:
        if status == "returned":
            break  # a full refund is the order's own status
        out["orders"].append({"order_id": f"{oid}-refund-{r.get('id')}", "customer_id": ref,
                              "placed_at": _time(o.get("date_modified_gmt")) or placed,
                              "total": -abs(float(r.get("total") or 0)), "currency": o.get("currency"),
                              "status": "returned"})
    for i, li in enumerate(o.get("line_items") or []):
        qty = li.get("quantity") or 0
        unit = li.get("price")
        if unit is None and qty:
            unit = float(li.get("total") or 0) / float(qty)
        out["order-lines"].append({"order_id": oid, "line_no": i + 1,
                                   "sku": li.get("sku") or str(li.get("product_id") or li.get("id")),
                                   "description": li.get("name"), "quantity": qty, "unit_price": unit})
    return out
