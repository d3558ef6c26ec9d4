"""The communication calendar: last contact, planned contacts, caps that drop, quiet hours that hold."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.act.conftest import NOW, Shop
from tests.act.test_runner import install

from retentio.act import view_store
from retentio.act.flow_model import builtin_flows
from retentio.act.runner import run_flows
from retentio.auth.roles import OPERATOR
from retentio.db.act_models import OutboxMessage
from retentio.refresh import refresh
from retentio.services import planning, segments
from retentio.shop import set_config

TWO_STEPS = {"key": "nudge", "trigger": {"type": "event", "event": "first_purchase", "lookback_days": 2},
             "control_share": 0.0, "priority": 60,
             "steps": [{"id": "wait", "type": "wait", "days": 2, "at": "10:00"},
                       {"id": "mail", "type": "send", "template": "onboarding_welcome"}]}


@pytest.fixture
def shop(sqlite_engine):
    s = Shop(sqlite_engine)
    set_config(sqlite_engine, "time_zone", "Europe/Berlin")
    set_config(sqlite_engine, "frequency_cap", 2)
    set_config(sqlite_engine, "frequency_window_days", 7)
    for cid in (1, 2, 3):
        s.customer(cid, birthday=dt.date(1990, 3, 14) if cid == 3 else None)
        s.order(cid, NOW - dt.timedelta(hours=3))
    return s


def _sent(engine, cid: int, days_ago: float, key: str) -> None:
    at = NOW - dt.timedelta(days=days_ago)
    with engine.begin() as conn:
        conn.execute(OutboxMessage.__table__.insert().values(
            idempotency_key=key, customer_id=cid, channel="email", purpose="marketing", priority=50,
            address=f"k{cid}@example.org", status="sent", attempts=1, recoveries=0, not_before=at, created_at=at,
            sent_at=at))


def test_a_planned_contact_over_the_cap_is_shown_as_dropped_before_it_happens(shop):
    db = shop.engine
    install(db, TWO_STEPS)
    run_flows(db, NOW)  # everyone enrolled, waiting two days for the send step
    _sent(db, 1, 1, "a"), _sent(db, 1, 3, "b")  # customer 1 used both of their week's e-mails
    _sent(db, 2, 1, "c")
    one = planning.customer_calendar(db, OPERATOR, "K1", now=NOW)
    two = planning.customer_calendar(db, OPERATOR, "K2", now=NOW)
    assert one["days_since_contact"] == 1 and one["caps"]["used_in_window"] == 2
    assert [p["dropped_by_cap"] for p in one["planned"]] == [True]
    assert [p["dropped_by_cap"] for p in two["planned"]] == [False]
    assert one["planned"][0]["flow"] == "nudge" and one["planned"][0]["at"].startswith("2026-03-12T09:00")
    week = planning.calendar(db, OPERATOR, view="week", start="2026-03-10")
    day = next(t for t in week["totals"] if t["day"] == "2026-03-12")
    assert (day["planned"], day["dropped"]) == (3, 1)
    assert sum(t["planned"] for t in week["totals"]) == 3 and len(week["totals"]) == 7
    # The runner agrees: on the day, customer 1's message is skipped by the cap and the others go.
    run_flows(db, NOW + dt.timedelta(days=2, hours=1))
    with db.connect() as conn:
        rows = conn.execute(OutboxMessage.__table__.select().where(OutboxMessage.flow_key == "nudge")).all()
    assert {r.customer_id: r.status for r in rows} == {1: "skipped", 2: "pending", 3: "pending"}


def test_quiet_hours_hold_and_birthdays_are_milestones_and_planned_when_the_flow_is_on(shop):
    db = shop.engine
    refresh(db, predictions=False)
    birthday = next(f for f in builtin_flows() if f.key == "birthday")
    from retentio.act.flow_store import save_flow, set_enabled

    save_flow(db, birthday, builtin=True)
    set_enabled(db, "birthday", True)
    view_store.forget(db)
    three = planning.customer_calendar(db, OPERATOR, "K3", now=NOW)
    assert {"kind": "birthday", "on": "2026-03-14"} in three["milestones"]
    planned = [p for p in three["planned"] if p["flow"] == "birthday"]
    assert len(planned) == 1 and planned[0]["kind"] == "birthday"
    set_config(db, "quiet_hours_start", "08:00")  # the whole working day is quiet now
    set_config(db, "quiet_hours_end", "20:00")
    held = planning.customer_calendar(db, OPERATOR, "K3", now=NOW)
    p = next(p for p in held["planned"] if p["flow"] == "birthday")
    assert p["held_until"] is not None and "T19:00" in p["held_until"]  # 20:00 in Berlin


def test_days_since_last_contact_is_a_segment_field_and_triggers_keep_in_touch(shop):
    db = shop.engine
    _sent(db, 1, 100, "old"), _sent(db, 2, 10, "new")
    run = refresh(db, predictions=False)
    view_store.materialise(db, run.id, now=NOW)  # the view as of the test's clock
    view_store.forget(db)
    cond = {"field": "days_since_last_contact", "gte": 90}
    got = segments.preview(db, OPERATOR, cond)
    assert got["customers"] == 1
    from retentio.act.triggers import state_condition

    silent = state_condition({"type": "state", "state": "no_contact", "days": 90})
    who = segments.preview(db, OPERATOR, silent)
    assert who["customers"] == 2  # customer 1 (100 days) and customer 3 (never written to); not customer 2
    flow = next(f for f in builtin_flows() if f.key == "keep_in_touch")  # the built-in flow on this trigger
    lifecycle = segments.preview(db, OPERATOR, {"field": "lifecycle", "in": ["active", "at_risk"]})["customers"]
    assert segments.preview(db, OPERATOR, state_condition(flow.trigger))["customers"] <= min(2, lifecycle)


def test_seasonal_contacts_respect_the_flows_audience(shop):
    db = shop.engine
    run = refresh(db, predictions=False)
    view_store.materialise(db, run.id, now=NOW)
    view_store.forget(db)
    easter = {"key": "easter_new", "trigger": {"type": "calendar", "occasion": "easter", "days_before": 0},
              "control_share": 0.0, "steps": [{"id": "mail", "type": "send", "template": "seasonal"}]}
    for lifecycle, expected in ((["active"], 0), (["new"], 3)):
        install(db, {**easter, "audience": {"field": "lifecycle", "in": lifecycle}})
        month = planning.calendar(db, OPERATOR, view="month", start="2026-03-20")
        day = next(t for t in month["totals"] if t["day"] == "2026-04-05")
        assert day["planned"] == expected, lifecycle
