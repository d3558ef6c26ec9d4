"""Loyalty in the flows: triggers (points expiring, tier reached, voucher expiring, Nth purchase), segment
fields, letters with the member's numbers, the survey step's throttling, and real vouchers from messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from tests.act.conftest import NOW, Shop
from tests.act.test_runner import flow, install, outbox

from retentio.act import segments
from retentio.act.runner import run_flows
from retentio.act.view import load_view, to_engine
from retentio.act.worker import Worker, make_channels
from retentio.db.loyalty_models import Voucher
from retentio.db.voice_models import SurveyDecision
from retentio.loyalty import earning
from retentio.loyalty import program as prog
from retentio.loyalty.ledger import Ledger
from retentio.loyalty.vouchers import issue_voucher

RULES = {"expiry_months": 12, "reminder_days": 30, "return_window_days": 0, "bonuses": [],
         "tiers": {"levels": [{"key": "bronze", "enter": 0, "keep": 0}, {"key": "silver", "enter": 100, "keep": 50}]}}


def _programme(db, members: list[int]):
    with db.begin() as conn:
        p = prog.create(conn, "club", "Club", "EUR", RULES, NOW - dt.timedelta(days=400), "test",
                        now=NOW - dt.timedelta(days=400))
        prog.enrol(conn, p, members, NOW - dt.timedelta(days=400))
    return p


def test_points_expiring_and_tier_reached_send_letters_with_the_members_numbers(db, shop: Shop):
    shop.customer(1)
    shop.customer(2)
    p = _programme(db, [1, 2])
    with db.begin() as conn:  # customer 1: 80 points earned 352 days ago end within the 30-day reminder
        Ledger(conn, p.id).bonus("old", 1, 80, at=NOW - dt.timedelta(days=352),
                                 expires_at=p.rules.lot_expiry(NOW - dt.timedelta(days=352)))
    shop.order(2, NOW - dt.timedelta(hours=5), total=150)  # customer 2: 150 points -> silver
    earning.sync(db, now=NOW - dt.timedelta(hours=1))
    install(db, flow("exp", {"type": "loyalty", "event": "points_expiring"},
                     [{"id": "m", "type": "send", "template": "loyalty_points_expiring"}]),
            flow("up", {"type": "loyalty", "event": "tier_changed", "direction": "up", "lookback_days": 2},
                 [{"id": "m", "type": "send", "template": "loyalty_tier_up"}]))
    for _ in range(2):
        run_flows(db, NOW)
    (exp,) = outbox(db, flow_key="exp")
    assert exp.customer_id == 1 and "80 Treuepunkte verfallen am" in exp.subject
    (up,) = outbox(db, flow_key="up")
    assert up.customer_id == 2 and "silver" in up.subject and "150" in up.body_text
    # The same members are found by the segment fields.
    view = to_engine(load_view(db, NOW))
    ids = lambda cond: set(segments.members(view, cond).column("customer_id").to_pylist())  # noqa: E731
    assert ids({"field": "points_expiring_soon", "gt": 0}) == {1}
    assert ids({"field": "loyalty_tier", "eq": "silver"}) == {2}
    assert ids({"field": "points_available", "gte": 100}) == {2}  # 150 released at once (window 0)


def test_nth_purchase_and_voucher_expiring(db, shop: Shop):
    shop.customer(1)
    for k in range(5):
        shop.order(1, NOW - dt.timedelta(days=40 - 8 * k) if k < 4 else NOW - dt.timedelta(hours=3))
    with db.begin() as conn:
        issue_voucher(conn, customer_id=1, kind="value", value=Decimal("10"), expires_at=NOW + dt.timedelta(days=6),
                      source="manual", source_ref="m1", now=NOW - dt.timedelta(days=20))
    install(db, flow("fifth", {"type": "loyalty", "event": "nth_purchase", "n": 5, "lookback_days": 2},
                     [{"id": "m", "type": "send", "template": "loyalty_nth_purchase"}]),
            flow("vexp", {"type": "loyalty", "event": "voucher_expiring", "days_before": 7, "lookback_days": 2},
                 [{"id": "m", "type": "send", "template": "loyalty_voucher_expiring"}]))
    run_flows(db, NOW)
    (fifth,) = outbox(db, flow_key="fifth")
    assert "5. Bestellung" in fifth.subject
    (vexp,) = outbox(db, flow_key="vexp")
    assert "10,00" in vexp.body_text


def test_a_messages_voucher_becomes_a_real_voucher_when_it_is_sent(db, shop: Shop, tmp_path):
    shop.customer(1)
    install(db, flow("wb", {"type": "event", "event": "order_placed", "lookback_days": 2},
                     [{"id": "m", "type": "send", "template": "winback",
                       "incentive": {"min_percent": 15, "max_percent": 15, "valid_days": 30}}]))
    shop.order(1, NOW - dt.timedelta(hours=2))
    run_flows(db, NOW)
    (m,) = outbox(db, flow_key="wb")
    w = Worker(db, make_channels(f"file://{tmp_path}", "shop@example.com", "Shop", 0, "k" * 32),
               send_clock=lambda: NOW + dt.timedelta(hours=1))
    w.run(clock=lambda: NOW + dt.timedelta(hours=1))
    with db.connect() as conn:
        (v,) = conn.execute(sa.select(Voucher)).all()
    assert v.code in m.body_text and v.kind == "percent" and v.value == 15 and v.customer_id == 1
    assert v.expires_at == NOW + dt.timedelta(hours=1, days=30) and v.source == "flow"


def test_a_survey_step_is_throttled_and_the_skip_says_why(db, shop: Shop):
    shop.customer(1)
    install(db, flow("ask", {"type": "event", "event": "order_placed", "lookback_days": 30},
                     [{"id": "m", "type": "send", "template": "feedback_request", "survey": "nps"}]))
    shop.order(1, NOW - dt.timedelta(days=20))
    run_flows(db, NOW - dt.timedelta(days=19))
    shop.order(1, NOW - dt.timedelta(days=2))
    run_flows(db, NOW)
    rows = outbox(db, flow_key="ask")
    assert [r.status for r in rows] == ["pending", "skipped"]
    assert rows[1].reason == "survey_global_gap" and "/s/" in rows[0].body_html
    with db.connect() as conn:
        reasons = [r for (r,) in conn.execute(sa.select(SurveyDecision.reason).order_by(SurveyDecision.id))]
    assert reasons == ["asked", "global_gap"]
