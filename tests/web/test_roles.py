"""Every route × every role: the role may do what its permissions say, and nothing else.

The tables below name each route's permission. The API table must cover every
operation of the OpenAPI document and the page table every page route, so a
new route without an entry fails here. Allowed means "not refused" (200, or a
404/409/422 about the request itself); refused means 403. Destructive calls
use ids that do not exist: the role check comes first in every service.
"""

from __future__ import annotations

import io

import pytest
from fastapi.routing import APIRoute
from tests.web.conftest import KEY_ROLES, csrf_of

from retentio.auth.roles import PERMISSIONS, ROLES
from retentio.loyalty.rules import DEFAULT_RULES

SEGMENT = {"definition": {"field": "lifecycle", "in": ["at_risk"]}}
API = {  # (method, path): (permission, concrete path, JSON body)
    ("GET", "/api/v1/overview"): ("aggregates:read", None, None),
    ("GET", "/api/v1/kpis"): ("aggregates:read", None, None),
    ("GET", "/api/v1/cohorts"): ("aggregates:read", None, None),
    ("GET", "/api/v1/cohorts/customers"): ("customers:read", "/api/v1/cohorts/customers?cohort=2025-01-01&index=1",
                                           None),
    ("GET", "/api/v1/rfm"): ("aggregates:read", None, None),
    ("GET", "/api/v1/lifecycle"): ("aggregates:read", None, None),
    ("GET", "/api/v1/segments"): ("segments:read", None, None),
    ("POST", "/api/v1/segments"): ("segments:write", None, {"name": "made-by-{role}", **SEGMENT}),
    ("POST", "/api/v1/segments/preview"): ("segments:read", None, SEGMENT),
    ("GET", "/api/v1/segments/{name}"): ("segments:read", "/api/v1/segments/vip", None),
    ("PUT", "/api/v1/segments/{name}"): ("segments:write", "/api/v1/segments/vip",
                                         {"definition": {"field": "clv", "gte": 50.0}}),
    ("DELETE", "/api/v1/segments/{name}"): ("segments:write", "/api/v1/segments/no-such-segment", None),
    ("GET", "/api/v1/segments/{name}/preview"): ("segments:read", "/api/v1/segments/vip/preview", None),
    ("GET", "/api/v1/segments/{name}/members"): ("customers:read", "/api/v1/segments/vip/members", None),
    ("GET", "/api/v1/segments/{name}/export.csv"): ("exports", "/api/v1/segments/vip/export.csv", None),
    ("POST", "/api/v1/segments/{name}/customers"): ("segments:write", "/api/v1/segments/list-{role}/customers",
                                                    {"customers": ["K10001"]}),
    ("GET", "/api/v1/loyalty"): ("aggregates:read", None, None),
    ("GET", "/api/v1/loyalty/rules"): ("aggregates:read", None, None),
    ("PUT", "/api/v1/loyalty/rules"): ("loyalty:admin", None, DEFAULT_RULES),
    ("POST", "/api/v1/loyalty/rules/what-if"): ("loyalty:admin", None, {**DEFAULT_RULES, "point_value": "0.02"}),
    ("POST", "/api/v1/loyalty/sync"): ("refresh", None, None),
    ("GET", "/api/v1/loyalty/members/{ref}"): ("customers:read", "/api/v1/loyalty/members/K10001", None),
    ("POST", "/api/v1/loyalty/members/{ref}/redeem"): ("loyalty:redeem", "/api/v1/loyalty/members/K10001/redeem",
                                                       {"points": 1}),
    ("POST", "/api/v1/loyalty/members/{ref}/vouchers"): ("loyalty:redeem",
                                                         "/api/v1/loyalty/members/K10001/vouchers", {"points": 1}),
    ("POST", "/api/v1/loyalty/members/{ref}/adjust"): ("loyalty:admin", "/api/v1/loyalty/members/K10001/adjust",
                                                       {"points": 5, "reason": "test by {role}"}),
    ("POST", "/api/v1/vouchers"): ("loyalty:vouchers", None, {"kind": "percent", "value": 10}),
    ("GET", "/api/v1/vouchers/{code}"): ("loyalty:redeem", "/api/v1/vouchers/NO-SUCH-CODE", None),
    ("POST", "/api/v1/vouchers/{code}/redeem"): ("loyalty:redeem", "/api/v1/vouchers/NO-SUCH-CODE/redeem", {}),
    ("GET", "/api/v1/surveys/report"): ("aggregates:read", None, None),
    ("GET", "/api/v1/surveys/comments"): ("customers:read", "/api/v1/surveys/comments?q=liefer", None),
    ("POST", "/api/v1/surveys/{key}/invitations"): ("flows:write", "/api/v1/surveys/nps/invitations",
                                                     {"customer": "K10001", "reference": "role-{role}"}),
    ("GET", "/api/v1/cases"): ("customers:read", None, None),
    ("GET", "/api/v1/cases/report"): ("aggregates:read", None, None),
    ("POST", "/api/v1/cases"): ("cases:write", None, {"customer": "K10001", "category": "delivery"}),
    ("GET", "/api/v1/cases/{case_id}"): ("customers:read", "/api/v1/cases/1", None),
    ("PATCH", "/api/v1/cases/{case_id}"): ("cases:write", "/api/v1/cases/1", {"note": "checked by {role}"}),
    ("GET", "/api/v1/customers"): ("customers:read", None, None),
    ("GET", "/api/v1/customers/search"): ("customers:read", "/api/v1/customers/search?q=K1", None),
    ("GET", "/api/v1/customers/{ref}"): ("customers:read", "/api/v1/customers/K10001", None),
    ("GET", "/api/v1/customers/{ref}/privacy-export"): ("privacy:export", "/api/v1/customers/K10001/privacy-export",
                                                         None),
    ("GET", "/api/v1/customers/{ref}/privacy-export.zip"): ("privacy:export",
                                                             "/api/v1/customers/K10001/privacy-export.zip", None),
    # Nobody of that number: the role check comes first, and nobody real is erased by the matrix.
    ("POST", "/api/v1/customers/{ref}/erasure"): ("data:delete", "/api/v1/customers/NOPE/erasure",
                                                  {"confirm": "NOPE"}),
    ("PUT", "/api/v1/customers/{ref}/objection"): ("data:delete", "/api/v1/customers/NOPE/objection",
                                                   {"objected": True}),
    ("POST", "/api/v1/privacy/retention"): ("data:delete", None, {}),
    ("GET", "/api/v1/privacy/erasures"): ("data:delete", None, None),
    ("GET", "/api/v1/privacy/registry"): ("settings:read", None, None),
    ("GET", "/api/v1/budget"): ("aggregates:read", "/api/v1/budget?cac=40", None),
    ("GET", "/api/v1/calendar"): ("aggregates:read", "/api/v1/calendar?view=month", None),
    ("GET", "/api/v1/customers/{ref}/calendar"): ("customers:read", "/api/v1/customers/K10001/calendar", None),
    ("GET", "/api/v1/at-risk"): ("predictions:read", None, None),
    ("POST", "/api/v1/call-lists/{name}/entries"): ("calls:write", "/api/v1/call-lists/test/entries",
                                                    {"customers": ["K10001"]}),
    ("GET", "/api/v1/predictions"): ("aggregates:read", None, None),
    ("GET", "/api/v1/flows"): ("flows:read", None, None),
    ("GET", "/api/v1/flows/report"): ("flows:read", None, None),
    ("GET", "/api/v1/flows/{key}"): ("flows:read", "/api/v1/flows/winback", None),
    ("PATCH", "/api/v1/flows/{key}"): ("flows:write", "/api/v1/flows/winback", {"priority": 65}),
    ("POST", "/api/v1/flows/{key}/enable"): ("flows:write", "/api/v1/flows/birthday/enable", None),
    ("POST", "/api/v1/flows/{key}/disable"): ("flows:write", "/api/v1/flows/birthday/disable", None),
    ("POST", "/api/v1/flows/{key}/preview"): ("flows:write", "/api/v1/flows/winback/preview", {"customer": "K10001"}),
    ("POST", "/api/v1/flows/{key}/test-send"): ("flows:send_test", "/api/v1/flows/winback/test-send",
                                                {"customer": "K10001", "address": "test@example.com"}),
    ("GET", "/api/v1/flows/{key}/report"): ("flows:read", "/api/v1/flows/winback/report", None),
    ("GET", "/api/v1/outbox"): ("customers:read", None, None),
    ("POST", "/api/v1/imports"): ("imports", None, "multipart"),
    ("POST", "/api/v1/refresh"): ("refresh", None, None),
    ("GET", "/api/v1/jobs"): ("jobs:read", None, None),
    ("GET", "/api/v1/jobs/{job_id}"): ("jobs:read", "/api/v1/jobs/999999", None),
    ("GET", "/api/v1/jobs/{job_id}/rejects.csv"): ("imports", "/api/v1/jobs/999999/rejects.csv", None),
    ("GET", "/api/v1/runs"): ("jobs:read", None, None),
    ("GET", "/api/v1/mappings"): ("imports", None, None),
    ("GET", "/api/v1/settings"): ("settings:read", None, None),
    ("PATCH", "/api/v1/settings"): ("settings:write", None, {"attribution_days": 14}),
    ("GET", "/api/v1/schedule"): ("settings:read", None, None),
    ("POST", "/api/v1/settings/test-email"): ("settings:write", None, {"address": "test@example.com"}),
    ("POST", "/api/v1/settings/test-webhook"): ("settings:write", None, {"url": "http://127.0.0.1:9/hook"}),
    ("GET", "/api/v1/users"): ("users", None, None),
    ("POST", "/api/v1/users"): ("users", None, {"email": "new-{role}@example.com", "role": "viewer",
                                                "password": "a long password"}),
    ("PATCH", "/api/v1/users/{user_id}"): ("users", "/api/v1/users/999999", {"role": "viewer"}),
    ("DELETE", "/api/v1/users/{user_id}"): ("users", "/api/v1/users/999999", None),
    ("GET", "/api/v1/api-keys"): ("keys", None, None),
    ("POST", "/api/v1/api-keys"): ("keys", None, {"name": "made by {role}", "role": "viewer"}),
    ("DELETE", "/api/v1/api-keys/{key_id}"): ("keys", "/api/v1/api-keys/999999", None),
    ("POST", "/api/v1/customers"): ("ingest", None, {"records": [{"customer_id": "R-{role}"}]}),
    ("POST", "/api/v1/orders"): ("ingest", None, {"records": [{"order_id": "RO-{role}", "customer_id": "K10001",
                                                               "placed_at": "2026-01-05T10:00:00Z", "total": 5}]}),
    ("POST", "/api/v1/order-lines"): ("ingest", None, {"records": [{"order_id": "RO-{role}", "sku": "X",
                                                                    "quantity": 1, "unit_price": 5}]}),
    ("POST", "/api/v1/events"): ("ingest", None, {"records": [{"customer_id": "K10001", "type": "login",
                                                               "occurred_at": "2026-01-05T10:00:00Z"}]}),
    ("POST", "/api/v1/track"): ("events:track", None, {"events": [{"customer_id": "K10001", "type": "login",
                                                                   "occurred_at": "2026-01-05T10:00:00Z"}]}),
}


def _call(client, method: str, path: str, body, role: str):
    path = path.replace("{role}", role)
    if body == "multipart":
        return client.post(path, data={"kind": "customers"},
                           files={"file": ("c.csv", io.BytesIO(b"customer_id,email\nZ1,z1@example.com\n"), "text/csv")})
    if isinstance(body, dict):
        import json

        body = json.loads(json.dumps(body).replace("{role}", role))
        return client.request(method, path, json=body)
    return client.request(method, path)


def test_the_table_covers_every_api_operation(sqlite_web):
    spec = sqlite_web.client().app.openapi()
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if p.startswith("/api/v1")}
    assert ops == set(API)
    assert {perm for perm, _p, _b in API.values()} <= set(PERMISSIONS)


@pytest.mark.parametrize("role", KEY_ROLES)
def test_api_role_matrix(web, role):
    client = web.api(role)
    wrong = []
    for (method, template), (perm, path, body) in API.items():
        r = _call(client, method, path or template, body, role)
        allowed = role in PERMISSIONS[perm]
        refused = r.status_code == 403
        if allowed == refused or r.status_code in (401, 500):
            wrong.append((method, template, role, allowed, r.status_code, r.text[:160]))
        if refused:
            assert r.headers["content-type"].startswith("application/problem+json")
    assert not wrong, wrong


PAGES = {  # (method, path): permission
    ("GET", "/"): "aggregates:read",
    ("GET", "/cohorts"): "aggregates:read",
    ("GET", "/cohorts/customers?cohort=2025-01-01&index=1"): "customers:read",
    ("GET", "/segments"): "aggregates:read",
    ("GET", "/segments/customers?kind=rfm&value=5-5"): "customers:read",
    ("GET", "/segments/new"): "segments:write",
    ("GET", "/segments/builder/row"): "segments:read",
    ("GET", "/segments/vip"): "segments:read",
    ("GET", "/segments/vip/edit"): "segments:write",
    ("GET", "/segments/vip/export.csv"): "exports",
    ("POST", "/segments/preview"): "segments:read",
    ("POST", "/segments/save"): "segments:write",
    ("POST", "/segments/no-such/delete"): "segments:write",
    ("GET", "/customers"): "customers:read",
    ("GET", "/customers/search?q=K1"): "customers:read",
    ("GET", "/customers/K10001"): "customers:read",
    ("GET", "/customers/K10001/privacy-export.zip"): "privacy:export",
    ("GET", "/budget?cac=40"): "aggregates:read",
    ("GET", "/calendar?view=month"): "aggregates:read",
    ("POST", "/customers/NOPE/objection"): "data:delete",
    ("POST", "/customers/NOPE/erasure"): "data:delete",
    ("GET", "/at-risk"): "predictions:read",
    ("POST", "/at-risk/act"): "calls:write",
    ("GET", "/predictions"): "aggregates:read",
    ("GET", "/flows"): "flows:read",
    ("GET", "/flows/outbox"): "customers:read",
    ("GET", "/flows/winback"): "flows:read",
    ("POST", "/flows/winback/switch"): "flows:write",
    ("POST", "/flows/winback/settings"): "flows:write",
    ("POST", "/flows/winback/preview"): "flows:write",
    ("POST", "/flows/winback/test-send"): "flows:send_test",
    ("GET", "/loyalty"): "aggregates:read",
    ("GET", "/surveys"): "aggregates:read",
    ("GET", "/cases"): "aggregates:read",
    ("GET", "/cases/1"): "customers:read",
    ("POST", "/cases"): "cases:write",
    ("POST", "/cases/1"): "cases:write",
    ("GET", "/data"): "jobs:read",
    ("POST", "/data/upload"): "imports",
    ("POST", "/data/inspect"): "imports",
    ("POST", "/data/import"): "imports",
    ("POST", "/data/refresh"): "refresh",
    ("GET", "/data/jobs/999999"): "jobs:read",
    ("GET", "/data/jobs/999999/rejects.csv"): "imports",
    ("GET", "/settings"): "settings:read",
    ("POST", "/settings"): "settings:write",
    ("POST", "/settings/test-email"): "settings:write",
    ("POST", "/settings/test-webhook"): "settings:write",
    ("POST", "/settings/users"): "users",
    ("POST", "/settings/users/999999"): "users",
    ("POST", "/settings/keys"): "keys",
    ("POST", "/settings/keys/999999/revoke"): "keys",
}
FORMS = {"/customers/NOPE/erasure": {"confirm": "NOPE"},
         "/segments/save": {"name": "page-seg", "row": "a", "field_a": "clv", "op_a": "gte", "value_a": "10"},
         "/at-risk/act": {"customers": "K10001", "target": "calls", "action": "calls"},
         "/flows/winback/switch": {"enabled": "0"}, "/flows/winback/settings": {"priority": "65"},
         "/flows/winback/preview": {"customer": "K10001"},
         "/flows/winback/test-send": {"customer": "K10001", "address": "t@example.com"},
         "/data/inspect": {"upload_id": "x" * 20, "kind": "orders"},
         "/data/import": {"upload_id": "x" * 20, "kind": "orders"},
         "/settings": {"attribution_days": "14"}, "/settings/test-email": {"address": "t@example.com"},
         "/settings/test-webhook": {"url": "http://127.0.0.1:9/x"},
         "/settings/users": {"email": "x@example.com", "role": "viewer", "password": "short"},
         "/settings/keys": {"name": "", "role": "viewer"},
         "/cases": {"customer": "K10001", "category": "delivery"}, "/cases/1": {"note": "checked"}}


def _routes(routes):
    """Every route, also inside included routers (FastAPI keeps those as routers of their own)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):
            prefix = getattr(r.original_router, "prefix", "")
            for inner in _routes(r.original_router.routes):
                yield prefix, inner
        elif isinstance(r, tuple):
            yield r


def test_the_page_table_covers_every_page_route(sqlite_web):
    app = sqlite_web.client().app
    routes = set()
    for item in _routes(app.routes):
        prefix, r = item if isinstance(item, tuple) else ("", item)
        if not r.path.startswith("/api/v1") and not prefix and r.path != "/webhooks/{platform}":
            routes |= {(m, r.path) for m in r.methods}
    ignore = {"/login", "/logout", "/api/docs", "/healthz", "/favicon.ico", "/u/{token}", "/f/{token}", "/s/{token}",
              "/api/v1/track"}
    covered = {(m, p) for m, p in routes if p not in ignore and m != "HEAD"}
    assert len(covered) == len(PAGES), sorted(covered)


@pytest.mark.parametrize("role", ROLES)
def test_page_role_matrix(sqlite_web, role):
    c = sqlite_web.browser(role)
    token = csrf_of(c.get("/").text)
    wrong = []
    for (method, path), perm in PAGES.items():
        if method == "GET":
            r = c.get(path, follow_redirects=False)
        elif path == "/data/upload":
            r = c.post(path, data={"kind": "customers", "csrf_token": token},
                       files={"file": ("c.csv", io.BytesIO(b"customer_id\nP1\n"), "text/csv")})
        else:
            r = c.post(path, data={**FORMS.get(path, {}), "csrf_token": token}, follow_redirects=False)
        allowed = role in PERMISSIONS[perm]
        if allowed == (r.status_code == 403) or r.status_code >= 500:
            wrong.append((method, path, allowed, r.status_code))
    assert not wrong, wrong
