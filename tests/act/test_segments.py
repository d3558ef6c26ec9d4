"""Segments: the condition language, compiled once and evaluated by the engine, checked against pandas."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from retentio.act import segments as seg
from retentio.errors import ConfigError


@pytest.fixture(scope="module")
def view():
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame({
        "customer_id": np.arange(n), "external_id": [f"K{i}" for i in range(n)],
        "lifecycle": rng.choice(["new", "active", "at_risk", "inactive", "churned"], n),
        "churn_probability": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
        "clv": rng.gamma(2, 50, n), "revenue": rng.gamma(2, 100, n),
        "value_at_risk": rng.gamma(1, 20, n), "email_marketing": rng.random(n) < 0.7,
        "country": rng.choice(["DE", "AT", "CH", None], n), "purchases": rng.integers(0, 10, n),
        "first_name": "A", "last_name": "B",
    })
    con = ibis.duckdb.connect()
    return con.create_table("v", pa.Table.from_pandas(frame), temp=True), frame


CASES = [
    ({"field": "lifecycle", "in": ["at_risk", "inactive"]}, lambda f: f.lifecycle.isin(["at_risk", "inactive"])),
    ({"field": "lifecycle", "not_in": ["new"]}, lambda f: ~f.lifecycle.isin(["new"])),
    ({"field": "churn_probability", "gte": 0.6}, lambda f: f.churn_probability >= 0.6),
    ({"field": "churn_probability", "is_null": True}, lambda f: f.churn_probability.isna()),
    ({"field": "country", "ne": "DE"}, lambda f: f.country.notna() & (f.country != "DE")),
    ({"field": "purchases", "between": [2, 4]}, lambda f: f.purchases.between(2, 4)),
    ({"all": [{"field": "clv", "gt": 100}, {"field": "email_marketing", "eq": True}]},
     lambda f: (f.clv > 100) & f.email_marketing),
    ({"any": [{"field": "lifecycle", "eq": "churned"}, {"not": {"field": "churn_probability", "lt": 0.9}}]},
     lambda f: (f.lifecycle == "churned") | ~(f.churn_probability < 0.9).fillna(False)),
    ({}, lambda f: pd.Series(True, index=f.index)),
]


@pytest.mark.parametrize(("cond", "truth"), CASES)
def test_condition_matches_pandas(view, cond, truth):
    t, frame = view
    got = set(seg.members(t, cond).column("customer_id").to_pylist())
    assert got == set(frame.loc[truth(frame).fillna(False).astype(bool), "customer_id"])


def test_preview_sums_match(view):
    t, frame = view
    p = seg.preview(t, "risk", {"field": "churn_probability", "gte": 0.5})
    mask = frame.churn_probability >= 0.5
    assert p.customers == mask.sum() and p.share == pytest.approx(mask.mean())
    assert p.revenue == pytest.approx(frame.revenue[mask].sum()) and p.clv == pytest.approx(frame.clv[mask].sum())
    assert p.email_marketing == (mask & frame.email_marketing).sum() and len(p.sample) == 10


@pytest.mark.parametrize(("cond", "message"), [
    ({"field": "nope", "eq": 1}, "unknown field"), ({"field": "clv", "gte": "high"}, "type number"),
    ({"field": "clv"}, "exactly one operator"), ({"field": "lifecycle", "in": "at_risk"}, "needs a list"),
    ({"field": "clv", "between": [1]}, "low, high"), ({"whatever": 1}, "cannot read"), ([1], "table/object"),
    ({"field": "clv", "in": ["a"]}, "a list of values of type number"),
    ({"field": "clv", "between": ["a", 1]}, r"\[low, high\] of type number"),
    ({"field": "clv", "between": [9, 1]}, "low ≤ high"),
    ({"field": "clv", "is_null": "no"}, "true or false"),
    ({"field": "email_marketing", "eq": "true"}, "type yes/no"),
    ({"field": "email_marketing", "gt": True}, "eq or ne on a yes/no field"),
    ({"field": "clv", "eq": True}, "type number"),
    ({"field": "lifecycle", "in": ["at risk"]}, "unknown value"),
    ({"field": "revenue", "contains": "1"}, "text, on a text field"),
    ({"all": {"field": "clv", "gte": 1}}, "needs a list of conditions"),
    ({"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"field": "clv", "gte": 1}}}}}}}}}},
     "nested deeper than 8 levels")])
def test_bad_conditions_say_what_is_wrong(view, cond, message):
    with pytest.raises(ConfigError, match=message):
        seg.compile_condition(view[0], cond)


def test_segment_loops_are_named_as_loops(sqlite_engine):
    seg.save_segment(sqlite_engine, "a", {"field": "clv", "gte": 1})
    seg.save_segment(sqlite_engine, "b", {"segment": "a"})
    with pytest.raises(ConfigError, match="a segment cannot refer to itself"):
        seg.save_segment(sqlite_engine, "a", {"segment": "a"})
    with pytest.raises(ConfigError, match="in a loop: a → b → a"):
        seg.save_segment(sqlite_engine, "a", {"segment": "b"})


def test_saved_segments_nest_and_version(sqlite_engine, view):
    seg.save_segment(sqlite_engine, "valuable", {"field": "clv", "gte": 150})
    seg.save_segment(sqlite_engine, "valuable_risk", {"all": [{"segment": "valuable"},
                                                             {"field": "churn_probability", "gte": 0.5}]})
    s = seg.save_segment(sqlite_engine, "valuable", {"field": "clv", "gte": 200})
    assert s.version == 2
    t, frame = view
    got = set(seg.members(t, {"segment": "valuable_risk"}, seg.resolver(sqlite_engine)).column("customer_id").to_pylist())
    assert got == set(frame.loc[(frame.clv >= 200) & (frame.churn_probability >= 0.5), "customer_id"])
    with pytest.raises(ConfigError, match="unknown field"):
        seg.save_segment(sqlite_engine, "broken", {"field": "clvv", "gte": 1})
    with pytest.raises(ConfigError, match="itself"):
        seg.save_segment(sqlite_engine, "loop", {"segment": "loop"})
    assert [s.name for s in seg.list_segments(sqlite_engine)] == ["valuable", "valuable_risk"]


def test_view_marks_contactable_customers(db):
    from tests.act.conftest import NOW, Shop

    from retentio.act.view import load_view

    shop = Shop(db)
    shop.customer(1)
    shop.customer(2, doi=False)
    shop.customer(3, consent="denied")
    shop.customer(4, email=None)
    shop.order(1, NOW - dt.timedelta(days=10))
    table = load_view(db, NOW).to_pandas().set_index("customer_id")
    assert table["email_marketing"].to_dict() == {1: True, 2: False, 3: False, 4: False}
    assert table.loc[1, "lang"] == "de"
    loose = load_view(db, NOW, require_double_opt_in=False).to_pandas().set_index("customer_id")
    assert loose.loc[2, "email_marketing"]


def test_nan_counts_as_missing_not_as_a_large_number():
    t = ibis.duckdb.connect().create_table("nan", pa.table({"customer_id": [1, 2, 3],
                                                            "churn_probability": [0.9, float("nan"), None]}))
    assert seg.members(t, {"field": "churn_probability", "gte": 0.5}).column("customer_id").to_pylist() == [1]
    nulls = seg.members(t, {"field": "churn_probability", "is_null": True}).column("customer_id").to_pylist()
    assert sorted(nulls) == [2, 3]


def test_view_counts_recent_orders_and_events(db):
    from tests.act.conftest import NOW, Shop

    from retentio.act.view import load_view

    shop = Shop(db)
    shop.customer(1)
    shop.customer(2)
    shop.order(1, NOW - dt.timedelta(days=10), total=40)
    shop.order(1, NOW - dt.timedelta(days=100), total=99)   # outside 90 days
    shop.order(2, NOW + dt.timedelta(days=1), total=10)     # after "now": not yet known
    shop.event(1, "cart_abandoned", NOW - dt.timedelta(days=3))
    shop.event(1, "product_viewed", NOW - dt.timedelta(days=40))  # outside 30 days
    shop.event(2, "product_viewed", NOW - dt.timedelta(days=1))
    v = load_view(db, NOW).to_pandas().set_index("customer_id")
    assert v.loc[1, ["orders_90d", "revenue_90d", "events_30d", "carts_abandoned_30d", "product_views_30d"]].tolist() \
        == [1, 40.0, 1, 1, 0]
    assert v.loc[2, ["orders_90d", "events_30d", "product_views_30d"]].tolist() == [0, 1, 1]
