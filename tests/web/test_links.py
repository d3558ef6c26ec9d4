"""Signed unsubscribe and feedback links, served by the real app through HTTP (Starlette's test client)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.act.conftest import NOW, Shop
from tests.act.test_runner import flow, install

from retentio.act.links import BadToken, LinkClaim, feedback_url, sign, unsubscribe_url, verify
from retentio.act.runner import run_flows
from retentio.db.act_models import OutboxMessage
from retentio.db.models import Consent, Feedback
from retentio.web.links import create_app

SECRET = "a" * 32


def test_tokens_are_signed_and_carry_no_pii():
    token = sign(LinkClaim("unsubscribe", 42), SECRET)
    assert verify(token, SECRET) == LinkClaim("unsubscribe", 42, "email", "marketing")
    body, mac = token.split(".")
    for forged in (body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"),
                   sign(LinkClaim("unsubscribe", 43), SECRET)[:-3] + mac[-3:], "garbage", "", "a.b.c", "x" * 5000):
        with pytest.raises(BadToken):
            verify(forged, SECRET)
    with pytest.raises(BadToken):
        verify(token, "another-secret-another-secret-xx")
    assert "@" not in token


@pytest.mark.parametrize("payload", [b'{"a":"unsubscribe"}', b"[1,2]", b'{"a":"unsubscribe","c":"x","ch":"email",'
                                     b'"p":"marketing"}', b'{"a":"delete","c":1,"ch":"e","p":"m"}', b"\xff\xfe"])
def test_well_signed_but_malformed_payloads_are_bad_tokens(payload):
    import base64
    import hashlib
    import hmac

    def b64(d):
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()

    mac = hmac.new(SECRET.encode(), b"retentio-link:" + payload, hashlib.sha256).digest()
    with pytest.raises(BadToken):
        verify(f"{b64(payload)}.{b64(mac)}", SECRET)


@pytest.fixture
def client_and_shop(db):
    shop = Shop(db)
    shop.customer(1, locale="en_GB")
    shop.customer(2)
    for cid in (1, 2):
        shop.order(cid, NOW - dt.timedelta(hours=1))
    install(db, flow("n", {"type": "event", "event": "order_placed"},
                     [{"id": "w", "type": "wait", "days": 3}, {"id": "m", "type": "send",
                                                               "template": "feedback_request"}]))
    run_flows(db, NOW)
    run_flows(db, NOW + dt.timedelta(days=4))
    return TestClient(create_app(db)), db


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_security_headers_size_limit_and_html_errors(client_and_shop):
    client, db = client_and_shop
    url = _path(unsubscribe_url(db, 1))
    page = client.get(url)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Shop" in page.text  # the shop's name, not a bare page
    assert client.post(url, content=b"x" * 20_000).status_code == 413
    for bad in ("/u/garbage", "/f/" + "A" * 600, "/u/" + _path(feedback_url(db, 1)).rsplit("/", 1)[1],
                _path(unsubscribe_url(db, 999))):
        r = client.get(bad, headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "This link is not valid." in r.text and "{" not in r.text.split("<body>")[1][:20]
    assert "Dieser Link ist ungültig." in client.get("/u/garbage", headers={"Accept-Language": "de"}).text
    assert client.post(_path(feedback_url(db, 999)), content="score=5").status_code == 404


def test_get_never_unsubscribes_post_does_and_cancels_queued_mail(client_and_shop):
    client, db = client_and_shop
    url = _path(unsubscribe_url(db, 1))
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe" in page.text and 'method="post"' in page.text
    with db.connect() as conn:
        assert conn.execute(select(Consent.status).where(Consent.customer_id == 1)).scalar() == "granted"
    # RFC 8058 one-click, as a mail client sends it: no cookies, no CSRF token
    done = client.post(url, content="List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert client.post(url).status_code == 200  # again: idempotent
    with db.connect() as conn:
        assert conn.execute(select(Consent.status).where(Consent.customer_id == 1)).scalar() == "withdrawn"
        rows = dict(conn.execute(select(OutboxMessage.customer_id, OutboxMessage.reason)).all())
    assert rows == {1: "unsubscribed", 2: None}
    assert "Abmelden" in client.get(_path(unsubscribe_url(db, 2))).text  # German for the German customer


def test_bad_or_swapped_links_are_refused(client_and_shop):
    client, db = client_and_shop
    assert client.get("/u/not-a-token").status_code == 404
    assert client.post(_path(unsubscribe_url(db, 1)).replace("/u/", "/f/")).status_code == 404  # wrong purpose
    assert client.post(_path(unsubscribe_url(db, 999))).status_code == 404


def test_feedback_link_records_one_answer_per_day(client_and_shop):
    client, db = client_and_shop
    url = _path(feedback_url(db, 2))
    assert "0 = gar nicht" in client.get(url).text
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(url, content="score=3&comment=zu+teuer", headers=headers).status_code == 200
    assert client.post(url, content="score=4", headers=headers).status_code == 200
    assert client.post(url, content="score=eleven", headers=headers).status_code == 422
    assert client.post(url, content="score=11", headers=headers).status_code == 422
    with db.connect() as conn:
        rows = conn.execute(select(Feedback.score, Feedback.comment, Feedback.source)).all()
    assert [tuple(r) for r in rows] == [(4, None, "survey_link")]
