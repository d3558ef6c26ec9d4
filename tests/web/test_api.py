"""The REST API: authentication, problem details, idempotency, rate limits, pagination, the document itself."""

from __future__ import annotations

import io
import re

import pytest
from tests.web.test_roles import API, _call

from retentio.auth.keys import digest


def test_every_api_route_answers_401_without_a_key(sqlite_web):
    c = sqlite_web.client()
    for (method, template), (_perm, path, body) in API.items():
        r = _call(c, method, path or template, body, "nobody")
        assert r.status_code == 401, (method, template, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 401 and "WWW-Authenticate" in r.headers


def test_a_revoked_or_unknown_key_is_refused(sqlite_web):
    c = sqlite_web.api("admin")
    made = c.post("/api/v1/api-keys", json={"name": "short-lived", "role": "analyst"}).json()
    other = sqlite_web.client()
    other.headers["Authorization"] = f"Bearer {made['key']}"
    assert other.get("/api/v1/customers").status_code == 200
    assert c.delete(f"/api/v1/api-keys/{made['id']}").status_code == 204
    assert other.get("/api/v1/customers").status_code == 401
    other.headers["Authorization"] = "Bearer rtk_" + "A" * 43
    assert other.get("/api/v1/overview").status_code == 401


def test_keys_are_stored_only_as_hashes(sqlite_web):
    with sqlite_web.engine.connect() as conn:
        stored = {r[0] for r in conn.exec_driver_sql("SELECT key_hash FROM api_keys")}
    for key in sqlite_web.keys.values():
        assert digest(key) in stored and key not in stored


def test_a_key_cannot_revoke_itself(sqlite_web):
    c = sqlite_web.api("admin")
    me = next(k for k in c.get("/api/v1/api-keys").json() if k["name"] == "admin key")
    r = c.delete(f"/api/v1/api-keys/{me['id']}")
    assert r.status_code == 409 and c.get("/api/v1/overview").status_code == 200


def test_errors_are_problem_details_in_the_callers_language(sqlite_web):
    c = sqlite_web.api("admin")
    r = c.get("/api/v1/customers/NOBODY", headers={"Accept-Language": "de-DE,de;q=0.9"})
    body = r.json()
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert body["title"] == "Not Found" and body["instance"] == "/api/v1/customers/NOBODY"
    assert "nicht gefunden" in body["detail"]
    bad = c.get("/api/v1/overview?period=decade")
    assert bad.status_code == 422 and bad.json()["errors"]
    assert c.get("/api/v1/no-such-thing").status_code in (401, 404)


def test_idempotency_key_replays_and_refuses_another_body(sqlite_web):
    c = sqlite_web.api("marketer")
    body = {"name": "once", "definition": {"field": "clv", "gte": 10.0}}
    first = c.post("/api/v1/segments", json=body, headers={"Idempotency-Key": "abc-1"})
    again = c.post("/api/v1/segments", json=body, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers.get("idempotent-replayed") == "true"
    assert len([s for s in c.get("/api/v1/segments").json() if s["name"] == "once"]) == 1
    other = c.post("/api/v1/segments", json={**body, "name": "twice"}, headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    # Without the key, a second create is a conflict, not a second segment.
    assert c.post("/api/v1/segments", json=body).status_code == 409
    # Another key holder's replay store is separate.
    admin = sqlite_web.api("admin")
    assert admin.post("/api/v1/segments", json={**body, "name": "admins"},
                      headers={"Idempotency-Key": "abc-1"}).status_code == 201


def test_rate_limit_headers_and_429(sqlite_web, monkeypatch):
    monkeypatch.setenv("RETENTIO_API_RATE_PER_MINUTE", "3")
    c = sqlite_web.api("viewer")
    seen = [c.get("/api/v1/lifecycle") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert seen[0].headers["RateLimit-Limit"] == "3" and seen[2].headers["RateLimit-Remaining"] == "0"
    assert int(seen[3].headers["Retry-After"]) >= 1 and seen[3].json()["status"] == 429
    # Limits are per key.
    assert sqlite_web.api("analyst", ).get("/api/v1/lifecycle").status_code == 200


def test_customers_cursor_pages_cover_everyone_once(web):
    c = web.api("analyst")
    seen, cursor = [], None
    while True:
        page = c.get("/api/v1/customers", params={"limit": 150, **({"cursor": cursor} if cursor else {})}).json()
        seen += [r["external_id"] for r in page["customers"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    with web.engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT COUNT(*) FROM customers").scalar()
    assert len(seen) == len(set(seen)) == total
    assert c.get("/api/v1/customers", params={"cursor": "not-a-cursor"}).status_code == 422


def test_search_finds_by_number_email_and_name(web):
    c = web.api("analyst")
    with web.engine.connect() as conn:
        ext, email, first, last = conn.exec_driver_sql(
            "SELECT external_id, email, first_name, last_name FROM customers WHERE external_id = 'K10005'").one()
    assert c.get("/api/v1/customers/search", params={"q": ext}).json()["customers"][0]["external_id"] == ext
    assert ext in [r["external_id"] for r in c.get("/api/v1/customers/search",
                                                    params={"q": email[:6].upper()}).json()["customers"]]
    by_name = c.get("/api/v1/customers/search", params={"q": f"{first} {last}"}).json()["customers"]
    assert ext in [r["external_id"] for r in by_name]


def test_the_openapi_document_and_offline_docs(sqlite_web):
    c = sqlite_web.client()
    spec = c.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "application/problem+json" in spec["paths"]["/api/v1/overview"]["get"]["responses"]["401"]["content"]
    docs = c.get("/api/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "https://" not in docs and "<script>" not in docs
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', docs):
        assert c.get(asset).status_code == 200
    init = c.get("/static/swagger/init.js").text
    assert "validatorUrl: null" in init


def test_import_upload_becomes_a_job_with_a_reject_report(sqlite_web):
    from retentio.jobs import run_pending

    c = sqlite_web.api("admin")
    csv = b"order_id,customer_id,placed_at,total\nN1,K10001,2026-01-03T10:00:00+01:00,12.50\nN2,,not a date,5\n"
    r = c.post("/api/v1/imports", data={"kind": "orders"},
               files={"file": ("neu.csv", io.BytesIO(csv), "text/csv")}, headers={"Idempotency-Key": "up-1"})
    assert r.status_code == 202 and r.headers["location"] == f"/api/v1/jobs/{r.json()['id']}"
    replay = c.post("/api/v1/imports", data={"kind": "orders"},
                    files={"file": ("neu.csv", io.BytesIO(csv), "text/csv")}, headers={"Idempotency-Key": "up-1"})
    assert replay.json()["id"] == r.json()["id"]
    assert run_pending(sqlite_web.engine) == 1
    job = c.get(f"/api/v1/jobs/{r.json()['id']}").json()
    assert job["status"] == "done", job
    res = job["result"]
    assert (res["rows_read"], res["rows_imported"], res["rows_rejected"]) == (2, 1, 1)
    assert "path" not in job["params"]
    report = c.get(f"/api/v1/jobs/{job['id']}/rejects.csv")
    assert report.status_code == 200 and "not a date" in report.text


@pytest.mark.parametrize("kind", ["orders", "customers"])
def test_a_refused_file_fails_its_job_with_the_reason(sqlite_web, kind):
    from retentio.jobs import run_pending

    c = sqlite_web.api("admin")
    job = c.post("/api/v1/imports", data={"kind": kind},
                 files={"file": ("leer.csv", io.BytesIO(b""), "text/csv")}).json()
    run_pending(sqlite_web.engine)
    done = c.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["status"] == "failed" and done["error"]["msg"]


def test_one_refresh_at_a_time(sqlite_web):
    c = sqlite_web.api("admin")
    a = c.post("/api/v1/refresh").json()
    b = c.post("/api/v1/refresh").json()
    assert a["id"] == b["id"] and b.get("existing")


def test_privacy_export_and_erasure_through_the_api(sqlite_web):
    import json
    import zipfile

    admin = sqlite_web.api("admin")
    bundle = admin.get("/api/v1/customers/K10001/privacy-export").json()
    email = bundle["tables"]["customers"][0]["email"]
    assert email and len(bundle["tables"]["orders"]) >= 1
    z = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/customers/K10001/privacy-export.zip").content))
    assert json.loads(z.read("customer.json"))["tables"]["orders"] == bundle["tables"]["orders"]
    assert "orders.csv" in z.namelist()
    assert sqlite_web.api("analyst").get("/api/v1/customers/K10001/privacy-export").status_code == 403
    wrong = admin.post("/api/v1/customers/K10001/erasure", json={"confirm": "K10002"})
    assert wrong.status_code == 422
    done = admin.post("/api/v1/customers/K10001/erasure", json={"confirm": "K10001"}).json()
    assert done["tables"]["orders"] == len(bundle["tables"]["orders"])
    assert admin.get("/api/v1/customers/K10001").status_code == 404
    hits = admin.get("/api/v1/customers/search", params={"q": email}).json()["customers"]
    assert hits == []
    log = admin.get("/api/v1/privacy/erasures").json()
    assert [e["reason"] for e in log] == ["request"] and email not in json.dumps(log)


def test_budget_and_calendar_through_the_api(sqlite_web):
    viewer = sqlite_web.api("viewer")
    b = viewer.get("/api/v1/budget", params={"cac": 40}).json()
    assert b["rule"]["acquisition"] + b["rule"]["retention"] == 100 and b["inputs"]["cac"] == 40
    assert viewer.get("/api/v1/budget", params={"cac": -5}).status_code == 422
    cal = viewer.get("/api/v1/calendar", params={"view": "month"}).json()
    assert len(cal["totals"]) == 31 and cal["caps"]["frequency_cap"] >= 0
    assert sum(t["planned"] for t in cal["totals"]) == sum(r["planned"] for r in cal["rows"])
    one = sqlite_web.api("analyst").get("/api/v1/customers/K10001/calendar").json()
    assert set(one) >= {"last_contact", "planned", "milestones", "caps"}
