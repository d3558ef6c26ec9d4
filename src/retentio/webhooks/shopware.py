"""Shopware 6 (app webhooks): ``shopware-shop-signature`` is the hex HMAC-SHA256 of the raw body with the
secret the app gave the shop at registration; ``source.eventId`` identifies an event (6.4.11+).

Events: ``checkout.order.placed`` (customer, order, lines) and the order state
changes ``state_enter.order.state.cancelled`` / ``…completed`` /
``…in_progress`` and ``state_enter.order_transaction.state.refunded``, whose
payload carries the order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

STATE_EVENTS = {
    "state_enter.order.state.cancelled": "cancelled",
    "state_enter.order.state.completed": "placed",
    "state_enter.order.state.in_progress": "placed",
    "state_enter.order_transaction.state.refunded": "returned",
    "state_enter.order_transaction.state.cancelled": "cancelled",
}
TOPICS = ("checkout.order.placed", *STATE_EVENTS)


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    from retentio.webhooks import same

    given = headers.get("shopware-shop-signature", "")
    return bool(given) and same(given.lower(), hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())


def is_ping(headers: dict[str, str], body: bytes) -> bool:
    return False


def delivery(headers: dict[str, str], payload: dict[str, Any], body: bytes) -> tuple[str, str]:
    data = payload.get("data") or {}
    source = payload.get("source") or {}
    topic = str(data.get("event") or "")
    ident = source.get("eventId") or hashlib.sha256(body).hexdigest()
    return f"{source.get('shopId', '')}:{ident}", topic


def records(topic: str, payload: dict[str, Any], order_customer: Callable[[str], str | None]) -> dict[str, list]:
    order = ((payload.get("data") or {}).get("payload") or {}).get("order") or {}
    if not order:
        return {}
    oc = order.get("orderCustomer") or {}
    ref = oc.get("customerNumber") or oc.get("customerId")
    state = (order.get("stateMachineState") or {}).get("technicalName")
    status = STATE_EVENTS.get(topic) or {"cancelled": "cancelled"}.get(str(state), "placed")
    currency = (order.get("currency") or {}).get("isoCode")
    out: dict[str, list] = {"customers": [], "orders": [], "order-lines": []}
    if ref:
        out["customers"].append({k: v for k, v in {
            "customer_id": str(ref), "email": oc.get("email"), "first_name": oc.get("firstName"),
            "last_name": oc.get("lastName")}.items() if v})
    oid = str(order.get("orderNumber") or order.get("id"))
    out["orders"].append({"order_id": oid, "customer_id": str(ref) if ref else None,
                          "placed_at": order.get("orderDateTime"), "total": order.get("amountTotal"),
                          "currency": currency, "status": status, "channel": "online"})
    products = [li for li in order.get("lineItems") or [] if li.get("type", "product") == "product"]
    for i, li in enumerate(sorted(products, key=lambda x: x.get("position") or 0)):
        out["order-lines"].append({"order_id": oid, "line_no": i + 1,
                                   "sku": (li.get("payload") or {}).get("productNumber") or li.get("productId")
                                   or li.get("id"), "description": li.get("label"), "quantity": li.get("quantity"),
                                   "unit_price": li.get("unitPrice")})
    return out
