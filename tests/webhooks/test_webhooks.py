"""Shop webhooks: each platform's payloads (written from its public documentation) import correctly and
exactly once; a wrong or missing signature gets 401 and changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from retentio.shop import set_config

PAYLOADS = Path(__file__).parent / "payloads"
SECRETS = {"shopify": "shpss_0123456789abcdef", "woocommerce": "wc-secret-0123456789",
           "shopware": "sw-app-secret-0123456789"}


def signed(platform: str, body: bytes, secret: str | None = None, **extra: str) -> dict[str, str]:
    key = (secret or SECRETS[platform]).encode()
    if platform == "shopify":
        sig = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        return {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Topic": extra.get("topic", ""),
                "X-Shopify-Webhook-Id": extra.get("id", hashlib.md5(body).hexdigest()),
                "X-Shopify-Shop-Domain": "shop.myshopify.com", "Content-Type": "application/json"}
    if platform == "woocommerce":
        sig = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        return {"X-WC-Webhook-Signature": sig, "X-WC-Webhook-Topic": extra.get("topic", ""),
                "X-WC-Webhook-Delivery-ID": extra.get("id", "1"), "X-WC-Webhook-ID": "5",
                "Content-Type": "application/json"}
    return {"shopware-shop-signature": hmac.new(key, body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


@pytest.fixture
def hooks(db):
    from fastapi.testclient import TestClient

    from retentio.web.app import create_app

    for platform, secret in SECRETS.items():
        set_config(db, f"{platform}_webhook_secret", secret)
    return TestClient(create_app(db, background=False)), db


def post(client, platform: str, name: str, **extra: str):
    body = (PAYLOADS / name).read_bytes()
    return client.post(f"/webhooks/{platform}", content=body, headers=signed(platform, body, **extra))


def one(db, sql: str, **params):
    with db.connect() as c:
        return c.execute(sa.text(sql), params).one()


def counts(db) -> tuple:
    return tuple(one(db, f"SELECT COUNT(*) FROM {t}")[0] for t in ("customers", "orders", "order_lines",
                                                                      "consent_events"))


def test_shopify_order_refund_and_customer(hooks):
    client, db = hooks
    r = post(client, "shopify", "shopify_orders_create.json", topic="orders/create", id="d-1")
    assert r.status_code == 200 and r.json()["imported"] == {"customers": 1, "orders": 1, "order-lines": 2}
    total, status, currency, placed = one(db, "SELECT net_total, status, currency, placed_at FROM orders "
                                              "WHERE external_id = '820982911946154508'")
    assert float(total) == 59.80 and status == "placed" and currency == "EUR"
    assert str(placed).startswith("2026-11-03 21:15:47")  # -05:00 honoured
    email, first, locale = one(db, "SELECT email, first_name, locale FROM customers "
                                   "WHERE external_id = '115310627314723954'")
    assert (email, first, locale) == ("jon@example.com", "Jon", "de")
    assert one(db, "SELECT status FROM consents c JOIN customers k ON k.id = c.customer_id "
                   "WHERE k.external_id = '115310627314723954'")[0] == "granted"
    lines = one(db, "SELECT COUNT(*), SUM(quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                    "WHERE o.external_id = '820982911946154508'")
    assert tuple(lines) == (2, 3)
    refund = post(client, "shopify", "shopify_refunds_create.json", topic="refunds/create", id="d-2")
    assert refund.status_code == 200, refund.text
    total, status, cust = one(db, "SELECT net_total, status, k.external_id FROM orders o JOIN customers k ON "
                                  "k.id = o.customer_id WHERE o.external_id = '820982911946154508-refund-929361467'")
    assert (float(total), status, cust) == (-10.0, "returned", "115310627314723954")
    assert post(client, "shopify", "shopify_customers_create.json", topic="customers/create",
                id="d-3").status_code == 200
    assert one(db, "SELECT country FROM customers WHERE external_id = '706405506930370084'")[0] == "AT"


def test_replays_change_nothing(hooks):
    client, db = hooks
    first = post(client, "shopify", "shopify_orders_create.json", topic="orders/create", id="same")
    before = counts(db)
    again = post(client, "shopify", "shopify_orders_create.json", topic="orders/create", id="same")
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert counts(db) == before
    # Even a new delivery of the same order (Shopify resends with a new id) is an upsert, not a copy.
    assert post(client, "shopify", "shopify_orders_create.json", topic="orders/updated",
                id="other").status_code == 200
    assert counts(db) == before and first.json()["imported"]


@pytest.mark.parametrize("platform,name", [("shopify", "shopify_orders_create.json"),
                                           ("woocommerce", "woocommerce_order_created.json"),
                                           ("shopware", "shopware_order_placed.json")])
def test_a_wrong_or_missing_signature_is_401_and_changes_nothing(hooks, platform, name):
    client, db = hooks
    before = counts(db)
    body = (PAYLOADS / name).read_bytes()
    wrong = signed(platform, body, secret="not the secret at all", topic="orders/create")
    assert client.post(f"/webhooks/{platform}", content=body, headers=wrong).status_code == 401
    tampered = signed(platform, body, topic="orders/create")
    assert client.post(f"/webhooks/{platform}", content=body + b" ", headers=tampered).status_code == 401
    assert client.post(f"/webhooks/{platform}", content=body).status_code == 401
    assert counts(db) == before


def test_no_secret_configured_refuses_everything(db):
    from fastapi.testclient import TestClient

    from retentio.web.app import create_app

    client = TestClient(create_app(db, background=False))
    body = (PAYLOADS / "shopify_orders_create.json").read_bytes()
    assert client.post("/webhooks/shopify", content=body, headers=signed("shopify", body)).status_code == 401


def test_woocommerce_order_with_partial_refund_and_guest(hooks):
    client, db = hooks
    r = post(client, "woocommerce", "woocommerce_order_created.json", topic="order.created", id="w1")
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == {"customers": 1, "orders": 2, "order-lines": 2}
    total, placed = one(db, "SELECT net_total, placed_at FROM orders WHERE external_id = '727'")
    assert float(total) == 34.80 and str(placed).startswith("2026-11-04 09:30:00")  # date_created_gmt is UTC
    assert float(one(db, "SELECT net_total FROM orders WHERE external_id = '727-refund-726'")[0]) == -10.10
    assert one(db, "SELECT sku FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.external_id = '727' "
                   "AND line_no = 2")[0] == "22"
    guest = post(client, "woocommerce", "woocommerce_guest_order.json", topic="order.created", id="w2")
    assert guest.status_code == 200
    assert one(db, "SELECT k.external_id FROM orders o JOIN customers k ON k.id = o.customer_id "
                   "WHERE o.external_id = '728'")[0] == "email:gast@example.com"
    ping = client.post("/webhooks/woocommerce", content=b"webhook_id=5",
                       headers={"X-WC-Webhook-Signature": signed("woocommerce", b"webhook_id=5")[
                           "X-WC-Webhook-Signature"]})
    assert ping.status_code == 200 and ping.json()["ping"]


def test_woocommerce_pending_orders_wait(hooks):
    client, db = hooks
    data = json.loads((PAYLOADS / "woocommerce_guest_order.json").read_text())
    data.update(id=990, status="pending")
    body = json.dumps(data).encode()
    before = counts(db)
    r = client.post("/webhooks/woocommerce", content=body, headers=signed("woocommerce", body, topic="order.created",
                                                                            id="w9"))
    assert r.status_code == 200 and r.json()["imported"] == {} and counts(db) == before


def test_shopware_order_placed_then_cancelled(hooks):
    client, db = hooks
    r = post(client, "shopware", "shopware_order_placed.json")
    assert r.status_code == 200 and r.json()["imported"] == {"customers": 1, "orders": 1, "order-lines": 2}
    assert one(db, "SELECT status FROM orders WHERE external_id = '10042'")[0] == "placed"
    skus = one(db, "SELECT MIN(sku), MAX(sku) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                   "WHERE o.external_id = '10042'")
    assert tuple(skus) == ("DL-1", "FK-500")  # the promotion is not an article
    assert post(client, "shopware", "shopware_order_cancelled.json").status_code == 200
    assert one(db, "SELECT status FROM orders WHERE external_id = '10042'")[0] == "cancelled"
    assert post(client, "shopware", "shopware_order_cancelled.json").json()["replayed"] is True


def test_an_unhandled_topic_is_acknowledged_and_ignored(hooks):
    client, db = hooks
    body = b'{"id": 1}'
    before = counts(db)
    r = client.post("/webhooks/shopify", content=body, headers=signed("shopify", body, topic="products/update"))
    assert r.status_code == 200 and r.json()["ignored"] and counts(db) == before
