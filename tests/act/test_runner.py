"""Flow runs on SQLite and PostgreSQL: enrolment, waits, exits, consent, caps, quiet hours, dry runs."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from tests.act.conftest import NOW, Shop

from retentio.act.flow_model import parse_flow
from retentio.act.flow_store import save_flow, set_enabled
from retentio.act.runner import replay, run_flows
from retentio.act.variants import assign
from retentio.db.act_models import Enrolment, OutboxMessage
from retentio.shop import set_config

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def flow(key: str, trigger: dict, steps: list[dict], **kw) -> dict:
    return {"key": key, "trigger": trigger, "steps": steps, "control_share": kw.pop("control_share", 0.0), **kw}


def install(engine, *defs: dict) -> None:
    for d in defs:
        save_flow(engine, parse_flow(d))
        set_enabled(engine, d["key"], True)
    # Built-ins are installed on first load; keep them off so only the test's flows run.


def outbox(engine, **where) -> list:
    q = select(OutboxMessage)
    for k, v in where.items():
        q = q.where(getattr(OutboxMessage, k) == v)
    with engine.connect() as conn:
        return conn.execute(q.order_by(OutboxMessage.customer_id)).all()


def enrolments(engine, key: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Enrolment).where(Enrolment.flow_key == key)).all()


WELCOME = flow("welcome", {"type": "event", "event": "first_purchase", "lookback_days": 2},
               [{"id": "wait", "type": "wait", "days": 1, "at": "10:00"},
                {"id": "mail", "type": "send", "template": "onboarding_welcome"}])


def test_first_purchase_waits_until_local_time_then_queues_once(db, shop: Shop):
    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, WELCOME)
    run_flows(db, NOW)
    (e,) = enrolments(db, "welcome")
    assert e.status == "active" and e.step == 1
    # one day later, at 10:00 in Berlin (CET in March: 09:00 UTC)
    assert e.next_run_at == dt.datetime(2026, 3, 11, 10, 0, tzinfo=BERLIN).astimezone(dt.UTC)
    assert outbox(db) == []
    later = dt.datetime(2026, 3, 11, 9, 30, tzinfo=dt.UTC)
    for _ in range(3):  # re-running is idempotent
        run_flows(db, later)
    (m,) = outbox(db)
    assert (m.status, m.channel, m.locale, m.address) == ("pending", "email", "de", "k1@example.org")
    assert m.subject.startswith("Danke für Ihre erste Bestellung") and "Hallo Anna" in m.body_text
    assert m.idempotency_key == "welcome:mail:1:first"
    assert "/u/" in m.body_html  # marketing mail carries the unsubscribe link
    (e,) = enrolments(db, "welcome")
    assert e.status == "done"


def test_control_group_is_stable_and_never_contacted(db, shop: Shop):
    for cid in range(1, 61):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(hours=2))
    install(db, {**WELCOME, "key": "welcome_cg", "control_share": 0.3, "steps": WELCOME["steps"][1:]})
    run_flows(db, NOW)
    rows = enrolments(db, "welcome_cg")
    assert len(rows) == 60
    for e in rows:
        assert e.variant == assign("welcome_cg", e.customer_id, 0.3, ["A"])
    control = {e.customer_id for e in rows if e.variant == "control"}
    assert 8 <= len(control) <= 30
    sent_to = {m.customer_id for m in outbox(db)}
    assert sent_to.isdisjoint(control) and sent_to | control == set(range(1, 61))


def test_purchase_exits_the_flow_before_the_next_message(db, shop: Shop):
    shop.customer(1)
    shop.customer(2)
    for cid in (1, 2):
        shop.order(cid, NOW - dt.timedelta(hours=1))
    install(db, flow("nudge", {"type": "event", "event": "first_purchase"},
                     [{"id": "wait", "type": "wait", "days": 7}, {"id": "mail", "type": "send",
                                                                  "template": "second_purchase"}],
                     exit={"on_purchase": True}))
    run_flows(db, NOW)
    shop.order(2, NOW + dt.timedelta(days=3))
    run_flows(db, NOW + dt.timedelta(days=8))
    assert [m.customer_id for m in outbox(db)] == [1]
    status = {e.customer_id: (e.status, e.exit_reason) for e in enrolments(db, "nudge")}
    assert status == {1: ("done", None), 2: ("exited", "purchased")}


@pytest.mark.parametrize(("consent", "doi", "email", "purpose", "expected"), [
    ("granted", True, "auto", "marketing", ("pending", None)),
    ("granted", False, "auto", "marketing", ("skipped", "no_consent")),
    ("denied", True, "auto", "marketing", ("skipped", "no_consent")),
    ("withdrawn", True, "auto", "marketing", ("skipped", "no_consent")),
    (None, False, "auto", "marketing", ("skipped", "no_consent")),
    ("granted", True, None, "marketing", ("skipped", "no_address")),
    ("denied", False, "auto", "transactional", ("pending", None)),
])
def test_consent_decides_per_purpose(db, consent, doi, email, purpose, expected):
    shop = Shop(db)
    shop.customer(1, consent=consent, doi=doi, email=email)
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("c", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}], purpose=purpose))
    run_flows(db, NOW)
    (m,) = outbox(db)
    assert (m.status, m.reason) == expected
    if purpose == "transactional":
        assert "/u/" not in m.body_html  # nothing to unsubscribe from


def test_frequency_cap_keeps_the_higher_priority_message(db, shop: Shop):
    set_config(db, "frequency_cap", 1)
    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db,
            flow("low", {"type": "event", "event": "order_placed"}, [{"id": "m", "type": "send",
                                                                      "template": "feedback_request"}], priority=10),
            flow("high", {"type": "event", "event": "order_placed"}, [{"id": "m", "type": "send",
                                                                       "template": "onboarding_welcome"}], priority=90))
    run_flows(db, NOW)
    got = {m.flow_key: (m.status, m.reason) for m in outbox(db)}
    assert got == {"high": ("pending", None), "low": ("skipped", "frequency_cap (1 per window)")}


@pytest.mark.parametrize(("tz", "local_hour", "release"), [
    ("Europe/Berlin", 22, (2026, 3, 11, 8)),   # evening: held to 08:00 next morning
    ("Europe/Berlin", 6, (2026, 3, 10, 8)),    # early morning: held to 08:00 the same day
    ("Europe/Berlin", 12, None),               # midday: now
    ("America/New_York", 22, (2026, 3, 11, 8)),  # the recipient's zone counts, not the shop's
])
def test_quiet_hours_in_the_recipients_zone(db, tz, local_hour, release):
    shop = Shop(db)
    shop.customer(1, tz=tz)
    zone = zoneinfo.ZoneInfo(tz)
    now = dt.datetime(2026, 3, 10, local_hour, 0, tzinfo=zone).astimezone(dt.UTC)
    shop.order(1, now - dt.timedelta(hours=1))
    install(db, flow("q", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, now)
    (m,) = outbox(db)
    expected = now if release is None else dt.datetime(*release, tzinfo=zone).astimezone(dt.UTC)
    assert m.not_before == expected


def test_dry_run_and_replay_change_nothing(db, shop: Shop):
    for cid in (1, 2, 3):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(days=cid * 3))
    install(db, flow("r", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    report = run_flows(db, NOW, dry_run=True)
    # the default look-back of a first run is 7 days: the orders of 3 and 6 days ago
    assert report.flows["r"]["queued"] == 2 and {a["external_id"] for a in report.actions} == {"K1", "K2"}
    rep = replay(db, NOW - dt.timedelta(days=10), NOW)
    assert sorted(a["external_id"] for a in rep.actions) == ["K1", "K2", "K3"]
    with db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM outbox")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM flow_enrolments")).scalar() == 0
        assert conn.execute(text("SELECT last_run_at FROM flows WHERE key = 'r'")).scalar() is None


@pytest.mark.parametrize(("policy", "expected"), [
    ({"policy": "per_occurrence"}, 3), ({"policy": "once"}, 1), ({"policy": "after_days", "days": 5}, 2)])
def test_reentry_rules(db, policy, expected):
    shop = Shop(db)
    shop.customer(1)
    install(db, flow("re", {"type": "event", "event": "order_placed", "lookback_days": 1},
                     [{"id": "m", "type": "send", "template": "feedback_request", "channel": "email"}],
                     reentry=policy, purpose="transactional"))
    for day in (0, 3, 6):
        at = NOW + dt.timedelta(days=day)
        shop.order(1, at - dt.timedelta(hours=1))
        run_flows(db, at)
    assert len(enrolments(db, "re")) == expected


def test_branch_and_split(db, shop: Shop):
    shop.customer(1, first_name="Anna")
    shop.customer(2, first_name="Ben", locale="en_GB")
    for cid in (1, 2):
        shop.order(cid, NOW - dt.timedelta(hours=1))
    install(db, flow("b", {"type": "event", "event": "order_placed"}, [
        {"id": "check", "type": "branch", "if": {"field": "lang", "eq": "en"}, "then": "english"},
        {"id": "german", "type": "send", "template": "feedback_request"},
        {"id": "stop", "type": "exit"},
        {"id": "english", "type": "split", "branches": {"A": "english_a", "B": "english_b"}},
        {"id": "english_a", "type": "send", "template": "promoter_referral"},
        {"id": "done", "type": "exit"},
        {"id": "english_b", "type": "send", "template": "post_purchase_tips"}], variants=["A", "B"]))
    run_flows(db, NOW)
    got = {m.customer_id: (m.step_id, m.locale) for m in outbox(db)}
    assert got[1] == ("german", "de")
    variant = assign("b", 2, 0.0, ["A", "B"])
    assert got[2] == ("english_a" if variant == "A" else "english_b", "en")


# ---- properties: the cap and consent hold for any mix of flows, priorities and consents ----------
_example = itertools.count()
CONSENTS = st.sampled_from([("granted", True), ("granted", False), ("denied", True), ("withdrawn", True),
                            (None, False)])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.integers(0, 3), window=st.integers(1, 10),
       priorities=st.lists(st.integers(0, 100), min_size=1, max_size=4),
       consents=st.lists(CONSENTS, min_size=1, max_size=6), days=st.integers(1, 6))
def test_property_cap_and_consent(db, cap, window, priorities, consents, days):
    n = next(_example)
    shop = Shop.__new__(Shop)
    shop.engine, shop.n_orders = db, 100_000 * (n + 1)
    with db.connect() as conn:
        if not conn.execute(text("SELECT COUNT(*) FROM products")).scalar():
            Shop(db)  # the products, once per database
    set_config(db, "frequency_cap", cap)
    set_config(db, "frequency_window_days", window)
    base = 1000 * (n + 1)
    for i, (status, doi) in enumerate(consents):
        shop.customer(base + i, consent=status, doi=doi)
    keys = [f"p{n}_{i}" for i in range(len(priorities))]
    install(db, *[flow(k, {"type": "event", "event": "order_placed", "lookback_days": 1},
                       [{"id": "m", "type": "send", "template": "feedback_request"}], priority=p,
                       # examples share the database: each one's flows only see its own customers
                       audience={"field": "external_id", "in": [f"K{base + i}" for i in range(len(consents))]})
                  for k, p in zip(keys, priorities, strict=True)])
    for day in range(days):
        at = NOW + dt.timedelta(days=day)
        for i in range(len(consents)):
            shop.order(base + i, at - dt.timedelta(hours=1))
        run_flows(db, at, keys=keys)
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.customer_id, OutboxMessage.created_at, OutboxMessage.status,
                                   OutboxMessage.flow_key).where(OutboxMessage.flow_key.in_(keys))).all()
    live = [r for r in rows if r.status == "pending"]
    allowed = {base + i for i, (status, doi) in enumerate(consents) if status == "granted" and doi}
    assert {r.customer_id for r in live} <= allowed
    for cid in allowed:
        times = sorted(r.created_at for r in live if r.customer_id == cid)
        for i, t0 in enumerate(times):
            in_window = [t for t in times[i:] if t < t0 + dt.timedelta(days=window)]
            assert len(in_window) <= cap
    # every candidate became exactly one row, sent or skipped with a reason
    assert len(rows) == len(set((r.customer_id, r.flow_key, r.created_at) for r in rows))
    assert all(r.status == "pending" or r.status == "skipped" for r in rows)


def test_last_products_come_from_the_latest_order_by_time_not_by_import_order(db, shop: Shop):
    from retentio.act.context import last_products

    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1), products=(1,))      # Kaffee, imported first
    shop.order(1, NOW - dt.timedelta(days=10), products=(3, 4))    # Tasse + Mühle, imported later, older
    shop.order(1, NOW + dt.timedelta(days=1), products=(5,))       # after "now": not yet known
    with db.connect() as conn:
        assert last_products(conn, [1], NOW) == {1: ["Kaffee"]}
