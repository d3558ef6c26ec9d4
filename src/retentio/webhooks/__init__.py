"""Shop webhooks (Shopify, WooCommerce, Shopware 6): verified, mapped to records, imported once.

Each platform module knows three things: how its signature is checked, which
header or field identifies a delivery, and how its payload becomes customers,
orders and order lines (docs/web.md). What it produces goes through the
importer's own validation (:mod:`retentio.ingest.records`), upserting by
external id, so a replayed delivery changes nothing; the delivery id is
recorded as well, and a replay is answered from that record.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Any

from sqlalchemy import Engine, select

from retentio.db.types import table_of
from retentio.db.web_models import WebhookDelivery
from retentio.errors import ConfigError, RetentioError
from retentio.i18n import Msg
from retentio.services.common import plain
from retentio.webhooks import shopify, shopware, woocommerce

PLATFORMS = {"shopify": shopify, "woocommerce": woocommerce, "shopware": shopware}
ORDER = ("customers", "orders", "order-lines")


class BadSignature(RetentioError):
    """The request is not signed with the platform's secret (or no secret is set)."""


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def secret_for(engine: Engine, platform: str) -> str:
    from retentio.shop import load_config

    return str(getattr(load_config(engine), f"{platform}_webhook_secret", "") or "")


def receive(engine: Engine, platform: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Verify, de-duplicate, map and import one delivery; raises :class:`BadSignature` on a wrong signature."""
    from retentio.ingest.records import import_records

    mod = PLATFORMS[platform]
    secret = secret_for(engine, platform)
    headers = {k.lower(): v for k, v in headers.items()}
    if not secret or not mod.verify(headers, body, secret):
        raise BadSignature(Msg("the webhook signature is not valid"))
    if mod.is_ping(headers, body):
        return {"platform": platform, "ping": True}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(Msg("the webhook body is not JSON")) from None
    if not isinstance(payload, dict):
        raise ConfigError(Msg("the webhook body is not a JSON object"))
    delivery_id, topic = mod.delivery(headers, payload, body)
    t = table_of(WebhookDelivery)
    with engine.connect() as conn:
        seen = conn.execute(select(t.c.result).where(t.c.platform == platform, t.c.delivery_id == delivery_id)).first()
    if seen is not None:
        return {**(seen.result or {}), "replayed": True}
    if topic not in mod.TOPICS:
        result: dict[str, Any] = {"platform": platform, "topic": topic, "ignored": True, "imported": {}}
    else:
        records = mod.records(topic, payload, lambda ref: _order_customer(engine, ref))
        imported, rejected = {}, []
        for kind in ORDER:
            if records.get(kind):
                summary, results = import_records(engine, kind, records[kind], source=f"webhook-{platform}")
                imported[kind] = summary.rows_imported
                rejected += [{"kind": kind, **r} for r in results if r["status"] == "rejected"]
        result = {"platform": platform, "topic": topic, "ignored": False, "imported": imported,
                  "rejected": rejected}
    from retentio.act.delivery_plan import insert_ignore

    with engine.begin() as conn:
        insert_ignore(conn, t, [{"platform": platform, "delivery_id": delivery_id[:200], "topic": topic[:80],
                                 "received_at": dt.datetime.now(dt.UTC), "result": plain(result),
                                 "replayed": False}], ["platform", "delivery_id"])
    return {**result, "replayed": False}


def _order_customer(engine: Engine, order_ref: str) -> str | None:
    """The customer number of a stored order (refund payloads name only the order)."""
    from retentio.db.models import Customer, Order

    with engine.connect() as conn:
        return conn.scalar(select(Customer.external_id).join(Order, Order.customer_id == Customer.id)
                           .where(Order.external_id == order_ref))
