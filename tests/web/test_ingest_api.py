"""Live data through the API: per-record results through the importer's own checks, idempotent by external id;
the ingestion key writes and reads nothing; the tracking key only adds events to known customers."""

from __future__ import annotations

import sqlalchemy as sa


def count(engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()


def test_records_are_imported_or_rejected_each_with_reasons(web):
    c = web.api("ingest")
    records = [
        {"order_id": "API-1", "customer_id": "K10001", "placed_at": "2026-01-03T10:00:00+01:00", "total": 19.9},
        {"order_id": "API-2", "customer_id": "NEW-API", "placed_at": "2026-01-04", "total": "7,50"},
        {"order_id": "API-3", "customer_id": "K10002", "placed_at": "2100-01-01", "total": 5},
        {"order_id": "API-4", "customer_id": "K10002", "placed_at": "2026-01-05", "total": {"nested": 1}},
        {"order_id": "", "customer_id": "K10002", "placed_at": "2026-01-05", "total": 5},
    ]
    before = count(web.engine, "orders")
    r = c.post("/api/v1/orders", json={"records": records})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["received"], out["imported"], out["rejected"]) == (5, 1, 4)
    status = [x["status"] for x in out["results"]]
    assert status == ["imported", "rejected", "rejected", "rejected", "rejected"]
    reasons = {x["index"]: " ".join(e["reason"] for e in x["errors"]) for x in out["results"] if x["errors"]}
    assert "decimal" in reasons[1] or "ambiguous" in reasons[1] or "number" in reasons[1]
    assert "future" in reasons[2] and "list or structure" in reasons[3] and "missing" in reasons[4]
    assert count(web.engine, "orders") == before + 1
    again = c.post("/api/v1/orders", json={"records": records[:1]}).json()
    assert again["imported"] == 1 and count(web.engine, "orders") == before + 1  # by external id: no copy


def test_unknown_fields_refuse_the_batch(web):
    r = web.api("ingest").post("/api/v1/events", json={"records": [{"customer_id": "K1", "type": "x",
                                                                     "occurred_at": "2026-01-01", "color": "red"}]})
    assert r.status_code == 422 and "color" in r.json()["detail"]


def test_batches_are_limited_to_a_thousand(web):
    c = web.api("ingest")
    r = c.post("/api/v1/customers", json={"records": [{"customer_id": f"B{i}"} for i in range(1001)]})
    assert r.status_code == 422


def test_the_ingestion_key_reads_nothing(web):
    c = web.api("ingest")
    for path in ("/api/v1/customers", "/api/v1/overview", "/api/v1/customers/K10001", "/api/v1/segments"):
        assert c.get(path).status_code == 403, path


def test_the_tracking_key_adds_events_for_known_customers_only(web):
    c = web.api("tracking")
    before_customers, before_events = count(web.engine, "customers"), count(web.engine, "events")
    r = c.post("/api/v1/track", json={"events": [
        {"customer_id": "K10001", "type": "product_viewed", "occurred_at": "2026-01-05T10:00:00Z",
         "properties": {"sku": "ESP-1000"}},
        {"customer_id": "SOMEONE-NEW", "type": "product_viewed", "occurred_at": "2026-01-05T10:00:00Z"}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [x["status"] for x in out["results"]] == ["imported", "rejected"]
    assert count(web.engine, "customers") == before_customers
    assert count(web.engine, "events") == before_events + 1
    assert c.post("/api/v1/track", json={"events": [{"customer_id": "K10001", "type": "order_placed",
                                                     "occurred_at": "2026-01-05T10:00:00Z"}]}).status_code == 422
    assert c.post("/api/v1/orders", json={"records": [{"order_id": "T"}]}).status_code == 403
    assert c.get("/api/v1/customers").status_code == 403


def test_tracking_answers_the_shops_origin_only(web):
    from retentio.shop import set_config

    set_config(web.engine, "shop_url", "https://shop.example")
    c = web.client()
    ok = c.options("/api/v1/track", headers={"Origin": "https://shop.example",
                                             "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert c.options("/api/v1/track", headers={"Origin": "https://evil.example"}).status_code == 403
    api = web.api("tracking")
    r = api.post("/api/v1/track", json={"events": [{"customer_id": "K10001", "type": "login",
                                                    "occurred_at": "2026-01-05T10:00:00Z"}]},
                 headers={"Origin": "https://shop.example"})
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in web.api("admin").get("/api/v1/overview",
                                                                     headers={"Origin": "https://shop.example"}).headers
