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


def test_tokens_are_signed_and_carry_no_pii():
    token = sign(LinkClaim("unsubscribe", 42))
    assert verify(token) == LinkClaim("unsubscribe", 42, "email", "marketing")
    body, mac = token.split(".")
    for forged in (body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"), sign(LinkClaim("unsubscribe", 43))[:-3]
                   + mac[-3:], "garbage", ""):
        with pytest.raises(BadToken):
            verify(forged)
    with pytest.raises(BadToken):
        verify(token, secret="another-secret")
    assert "@" not in token


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


def test_get_never_unsubscribes_post_does_and_cancels_queued_mail(client_and_shop):
    client, db = client_and_shop
    url = _path(unsubscribe_url(1))
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
    assert "Abmelden" in client.get(_path(unsubscribe_url(2))).text  # German for the German customer


def test_bad_or_swapped_links_are_refused(client_and_shop):
    client, _ = client_and_shop
    assert client.get("/u/not-a-token").status_code == 404
    assert client.post(_path(unsubscribe_url(1)).replace("/u/", "/f/")).status_code == 404  # wrong purpose
    assert client.post(_path(unsubscribe_url(999))).status_code == 404


def test_feedback_link_records_one_answer_per_day(client_and_shop):
    client, db = client_and_shop
    url = _path(feedback_url(2))
    assert "0 = gar nicht" in client.get(url).text
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(url, content="score=3&comment=zu+teuer", headers=headers).status_code == 200
    assert client.post(url, content="score=4", headers=headers).status_code == 200
    assert client.post(url, content="score=eleven", headers=headers).status_code == 422
    assert client.post(url, content="score=11", headers=headers).status_code == 422
    with db.connect() as conn:
        rows = conn.execute(select(Feedback.score, Feedback.comment, Feedback.source)).all()
    assert [tuple(r) for r in rows] == [(4, None, "survey_link")]
