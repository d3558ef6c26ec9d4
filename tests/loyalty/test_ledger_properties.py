"""Ledger properties over random sequences of earn / return / release / redeem / expire / adjust / tier changes.

After every sequence: the postings sum to zero, balances equal their postings
and never went negative, each key was booked once (replays change nothing),
recomputed tiers equal the stored ones, expiry took the oldest lots first, and
the balances equal a plain Python model of the same sequence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retentio.loyalty import audit, lots, store
from retentio.loyalty import program as prog
from retentio.loyalty.earning import _expire
from retentio.loyalty.ledger import InsufficientPoints, Ledger

T0 = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)
CUSTOMERS = (1, 2, 3)
RULES = {"expiry_months": 3, "return_window_days": 14, "tiers": {
    "basis": "points", "period": "rolling_12m", "downgrade": "one_down", "levels": [
        {"key": "bronze", "enter": 0, "keep": 0}, {"key": "silver", "enter": 300, "keep": 200},
        {"key": "gold", "enter": 900, "keep": 700}]}}

customer = st.sampled_from(CUSTOMERS)
op = st.one_of(
    st.tuples(st.just("earn"), customer, st.integers(1, 400)),
    st.tuples(st.just("return"), customer, st.integers(1, 400)),
    st.tuples(st.just("redeem"), customer, st.integers(1, 500)),
    st.tuples(st.just("adjust"), customer, st.integers(-300, 300).filter(bool)),
    st.tuples(st.just("bonus"), customer, st.integers(1, 200)),
    st.tuples(st.just("wait"), st.just(0), st.integers(1, 60)),
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
    st.tuples(st.just("tiers"), st.just(0), st.just(0)),
    st.tuples(st.just("replay"), st.just(0), st.integers(0, 10_000)),
)


@pytest.fixture
def seed_customers(db):
    import sqlalchemy as sa

    from retentio.db.models import Customer

    with db.begin() as conn:
        for c in CUSTOMERS:
            conn.execute(sa.insert(Customer).values(id=c, external_id=f"K{c}", created_at=T0))
    return db


class Model:
    """What the balances must be, computed without the database."""

    def __init__(self):
        self.pending = dict.fromkeys(CUSTOMERS, 0)
        self.available = dict.fromkeys(CUSTOMERS, 0)
        self.earnings: list[dict] = []


def run(engine, ops) -> None:
    with engine.begin() as conn:
        p = prog.create(conn, f"p{uuid.uuid4().hex[:12]}", "P", "EUR", RULES, T0, "test", now=T0)
        prog.enrol(conn, p, list(CUSTOMERS), T0)
    m = Model()
    now = T0
    booked: list[tuple] = []  # (method, args, kwargs) of every booking, for replays
    for n, (kind, c, x) in enumerate(ops):
        with engine.begin() as conn:
            led = Ledger(conn, p.id)
            if kind == "wait":
                now += dt.timedelta(days=x)
                for e in m.earnings:  # releases due
                    left = e["points"] - e["returned"]
                    if not e["settled"] and e["release_at"] <= now:
                        e["settled"] = True
                        if left:
                            led.release(e["id"], e["c"], left, at=e["release_at"],
                                        expires_at=p.rules.lot_expiry(e["at"]))
                            m.pending[e["c"]] -= left
                            m.available[e["c"]] += left
            elif kind == "earn":
                b = led.earn(f"earn:{n}", c, x, at=now, release_at=now + dt.timedelta(days=14))
                booked.append(("earn", (f"earn:{n}", c, x), {"at": now, "release_at": now + dt.timedelta(days=14)}))
                m.earnings.append({"id": b.id, "c": c, "points": x, "returned": 0, "settled": False, "at": now,
                                   "release_at": now + dt.timedelta(days=14)})
                m.pending[c] += x
            elif kind == "return":
                open_ = [e for e in m.earnings if e["c"] == c and not e["settled"] and e["points"] > e["returned"]]
                if open_:
                    e = open_[-1]
                    pts = min(x, e["points"] - e["returned"])
                    led.return_(f"return:{n}", e["id"], c, pts, at=now)
                    e["returned"] += pts
                    m.pending[c] -= pts
            elif kind == "redeem":
                try:
                    led.redeem(f"redeem:{n}", c, x, at=now)
                except InsufficientPoints:
                    assert x > m.available[c]
                else:
                    assert x <= m.available[c]
                    m.available[c] -= x
                    booked.append(("redeem", (f"redeem:{n}", c, x), {"at": now}))
            elif kind == "adjust":
                try:
                    led.adjust(f"adjust:{n}", c, x, at=now, expires_at=p.rules.lot_expiry(now))
                except InsufficientPoints:
                    assert -x > m.available[c]
                else:
                    m.available[c] += x
            elif kind == "bonus":
                led.bonus(f"bonus:{n}", c, x, at=now, expires_at=p.rules.lot_expiry(now))
                m.available[c] += x
            elif kind == "expire":
                before = lots.load(conn, p.id)
                due = {cid: lots.due(lots.fifo(ps), now) for cid, ps in before.items()}
                _expire(conn, led, p, now, "test", defaultdict(int))
                for cid, pts in due.items():
                    m.available[cid] -= pts
                for _cid, ps in lots.load(conn, p.id).items():  # what is left is only lots not yet ended
                    assert all(lot.expires_at is None or lot.expires_at > now for lot in lots.fifo(ps))
            elif kind == "tiers":
                store.store_tiers(conn, p, now)
            elif kind == "replay" and booked:
                method, args, kwargs = booked[x % len(booked)]
                before = {(cid, k): led.balance(cid, k) for cid in CUSTOMERS for k in ("pending", "available")}
                assert getattr(led, method)(*args, **kwargs).created is False
                assert before == {(cid, k): led.balance(cid, k) for cid in CUSTOMERS for k in ("pending", "available")}
    with engine.begin() as conn:
        store.store_tiers(conn, p, now)
        led = Ledger(conn, p.id)
        for c in CUSTOMERS:
            assert led.balance(c, "pending") == m.pending[c]
            assert led.balance(c, "available") == m.available[c]
        assert audit.check(conn, p, now) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40))
def test_ledger_invariants_hold_for_any_sequence(seed_customers, ops):
    run(seed_customers, ops)


def test_expiry_consumes_the_oldest_lots_first():
    at = [T0 + dt.timedelta(days=d) for d in (0, 10, 20)]
    # Three lots of 100 ending at day 90, 100, 110; 150 redeemed: the first lot and half the second are gone.
    left = lots.fifo([(100, 1, at[0] + dt.timedelta(days=90)), (100, 2, at[1] + dt.timedelta(days=90)),
                      (100, 3, at[2] + dt.timedelta(days=90)), (-150, 4, None)])
    assert [(lot.opened_by, lot.remaining) for lot in left] == [(2, 50), (3, 100)]
    assert lots.due(left, at[1] + dt.timedelta(days=90)) == 50
    assert lots.due(left, at[0] + dt.timedelta(days=90)) == 0
