"""Churn features at a cutoff, the same on every engine, from data imported the real way."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.helpers import load_orders, loaded_tables, write_csv

from retentio.db.models import Customer
from retentio.ingest.importer import run_import
from retentio.models.features import FEATURES, feature_frame, sample_modulus, sampled_ids

CUTOFF = dt.datetime(2024, 7, 1)
ORDERS = [
    ("a1", "c1", "2024-01-01T12:00:00", "10"),
    ("a2", "c1", "2024-03-01T12:00:00", "30"),
    ("a3", "c1", "2024-05-31T12:00:00", "20"),  # 31 days before the cutoff
    ("a4", "c1", "2024-06-10T12:00:00", "-5", "returned"),
    ("a5", "c1", "2024-07-15T12:00:00", "40"),  # after the cutoff: label only
    ("b1", "c2", "2024-02-01T12:00:00", "50"),  # one purchase, no return, churns
]


def test_features_and_label_on_every_engine(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, ORDERS)
    for kind, header, rows in (
        ("feedback", ["feedback_id", "customer_id", "score", "submitted_at"],
         [["f1", "c1", "9", "2024-02-01T10:00:00"], ["f2", "c1", "3", "2024-06-01T10:00:00"],
          ["f3", "c1", "0", "2024-08-01T10:00:00"]]),  # after the cutoff: ignored
        ("cases", ["case_id", "customer_id", "opened_at", "closed_at", "satisfaction"],
         [["k1", "c1", "2024-06-20T10:00:00", "", ""], ["k2", "c2", "2024-02-05T10:00:00", "2024-02-07T10:00:00", "2"]]),
        ("events", ["event_id", "customer_id", "type", "occurred_at"],
         [["e1", "c1", "newsletter_click", "2024-06-25T10:00:00"], ["e2", "c1", "page_view", "2024-05-01T10:00:00"]]),
        ("subscriptions", ["subscription_id", "customer_id", "started_at", "ends_at", "cancelled_at"],
         [["s1", "c2", "2024-02-01T00:00:00", "2024-08-01T00:00:00", "2024-06-01T00:00:00"]]),
    ):
        summary = run_import(engine, kind, write_csv(tmp_path / f"{kind}.csv", header, rows), shop_time_zone="UTC")
        assert summary.rows_rejected == 0, summary.rejects[:3]
    with loaded_tables(engine, analytics, "UTC", dt.datetime(2024, 12, 31, tzinfo=dt.UTC)) as (backend, tables):
        df = feature_frame(backend, tables, engine, CUTOFF, "UTC", horizon_days=60, typical_interval=90)
    with engine.connect() as conn:
        ids = dict(conn.execute(Customer.__table__.select().with_only_columns(Customer.id, Customer.external_id)).all())
    got = df.assign(ext=df["customer_id"].map(ids)).set_index("ext")
    assert list(got.columns[1:-1]) == FEATURES
    c1, c2 = got.loc["c1"], got.loc["c2"]
    assert (c1["purchases"], c1["revenue"], c1["returns"]) == (3, 60, 1)
    assert c1["recency_days"] == pytest.approx(30.5)
    assert c1["tenure_days"] == pytest.approx(181.5)
    assert c1["mean_gap_days"] == pytest.approx(151 / 2)
    assert c1["last_gap_days"] == pytest.approx(91)
    assert c1["gap_trend"] == pytest.approx(91 / 75.5)
    assert (c1["purchases_90d"], c1["purchases_prev_90d"]) == (1, 1)  # 31 and 122 days back; 182 is older
    assert c1["return_share"] == pytest.approx(1 / 4)
    assert (c1["last_nps"], c1["min_nps"], c1["feedback_count"]) == (3, 3, 2)
    assert (c1["open_cases"], c1["cases_90d"], c1["events_30d"], c1["events_90d"]) == (1, 1, 1, 2)
    assert c1["churned"] == 0  # bought again within 60 days
    assert c2["churned"] == 1 and c2["purchases"] == 1 and np.isnan(c2["mean_gap_days"])
    assert c2["overdue"] == pytest.approx((CUTOFF - dt.datetime(2024, 2, 1, 12)).total_seconds() / 86400 / 90)
    assert (c2["contract_running"], c2["contract_cancelled"]) == (1, 1)  # cancelled, runs to August
    assert c2["contract_days_left"] == pytest.approx(31)
    assert (c2["case_satisfaction"], c2["open_cases"]) == (2, 0)


def test_a_customer_sample_gives_the_sampled_customers_rows_of_the_whole_frame(shop_db, tmp_path):
    engine, analytics = shop_db
    rng = np.random.default_rng(4)
    rows = []
    for c in range(240):
        for k in range(int(rng.integers(1, 6))):
            day = dt.datetime(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 240)), hours=int(rng.integers(0, 24)))
            rows.append((f"o{c}-{k}", f"c{c}", day.isoformat(), f"{rng.uniform(-20, 90):.2f}",
                         "returned" if rng.random() < 0.1 else ""))
    load_orders(engine, tmp_path, rows)
    subs = [[f"s{c}", f"c{c}", "2024-02-01T00:00:00", "2024-09-01T00:00:00", ""] for c in range(0, 240, 7)]
    summary = run_import(engine, "subscriptions", write_csv(tmp_path / "subs.csv", [
        "subscription_id", "customer_id", "started_at", "ends_at", "cancelled_at"], subs), shop_time_zone="UTC")
    assert summary.rows_rejected == 0
    with loaded_tables(engine, analytics, "UTC", dt.datetime(2024, 12, 31, tzinfo=dt.UTC)) as (backend, tables):
        whole = feature_frame(backend, tables, engine, CUTOFF, "UTC", horizon_days=60)
        part = feature_frame(backend, tables, engine, CUTOFF, "UTC", horizon_days=60, one_in=3)
    picked = whole[sampled_ids(whole["customer_id"].to_numpy(), 3)].reset_index(drop=True)
    assert 40 < len(part) < 120  # about a third of the customers
    pd.testing.assert_frame_equal(part, picked, check_dtype=False)


@pytest.mark.parametrize(("customers", "largest_id", "target", "k"), [
    (1_000_000, 1_000_000, 250_000, 4),
    (999_999, 999_999, 250_000, 3),
    (499_999, 499_999, 250_000, 1),   # fewer than twice the target: everyone
    (1_000_000, 2**31, 250_000, 1),    # ids too large to hash exactly: everyone
])
def test_sample_modulus(customers, largest_id, target, k):
    ids = np.linspace(1, largest_id, customers).astype(np.int64)
    assert sample_modulus(ids, target) == k


def test_the_hash_sample_has_no_period_in_the_ids():
    ids = np.arange(1, 400_001)
    picked = sampled_ids(ids, 4)
    assert picked.mean() == pytest.approx(0.25, abs=0.002)
    # Every block of 4,000 consecutive ids (customers who came at the same time) holds its quarter,
    # and so does every residue class that a plain ``id % 4`` or ``id % 5`` would have picked.
    assert np.abs(picked.reshape(-1, 4000).mean(axis=1) - 0.25).max() < 0.04
    for period in (2, 3, 4, 5, 7, 10):
        for r in range(period):
            assert picked[ids % period == r].mean() == pytest.approx(0.25, abs=0.02)
