"""The canonical summary from stored orders, on every engine, and against the published CDNOW summary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.helpers import load_orders, loaded_tables

from retentio.db.models import Customer
from retentio.ingest.importer import run_import
from retentio.models.summary import customer_summary, holdout_steps, summary_from_database
from retentio.shop import set_config

ORDERS = [
    # c1: three purchase days, two orders on one day (one occasion), then a holdout purchase.
    ("a1", "c1", "2024-01-01T09:00:00", "10"),
    ("a2", "c1", "2024-01-08T10:00:00", "20"),
    ("a3", "c1", "2024-01-08T18:00:00", "5"),
    ("a4", "c1", "2024-01-29T12:00:00", "30"),
    ("a5", "c1", "2024-02-12T12:00:00", "99"),  # holdout, week 2
    # c2: one purchase, a return (not a purchase), a cancelled order (not a purchase).
    ("b1", "c2", "2024-01-15T12:00:00", "50"),
    ("b2", "c2", "2024-01-20T12:00:00", "-50", "returned"),
    ("b3", "c2", "2024-01-22T12:00:00", "40", "cancelled"),
    # c3: first purchase on the calibration end day itself (T = 0).
    ("c1", "c3", "2024-02-04T23:30:00", "15"),
    ("c2", "c3", "2024-02-05T00:30:00", "15"),  # holdout, week 1 (next day in Berlin)
    # c4: only in the holdout: not a calibration customer.
    ("d1", "c4", "2024-02-06T12:00:00", "70"),
    # guest order: never a customer.
    ("g1", "", "2024-01-10T12:00:00", "12"),
]


def test_summary_is_the_same_on_every_engine(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, ORDERS, tz="Europe/Berlin")
    with loaded_tables(engine, analytics, "Europe/Berlin", dt.datetime(2024, 3, 1, tzinfo=dt.UTC)) as (backend, tables):
        sm = customer_summary(backend, tables, dt.date(2024, 2, 4), observation_end=dt.date(2024, 2, 18),
                              unit="weeks")
        steps = holdout_steps(backend, tables, dt.date(2024, 2, 4), dt.date(2024, 2, 18), "weeks")
    with engine.connect() as conn:
        ids = dict(conn.execute(Customer.__table__.select().with_only_columns(
            Customer.id, Customer.external_id)).all())
    got = sm.assign(ext=sm["customer_id"].map(ids)).set_index("ext")
    assert sorted(got.index) == ["c1", "c2", "c3"]
    np.testing.assert_allclose(got.loc["c1", ["frequency", "recency", "T", "monetary_value"]].astype(float),
                               [2, 28 / 7, 34 / 7, (25 + 30) / 2])
    np.testing.assert_allclose(got.loc["c2", ["frequency", "recency", "T", "monetary_value"]].astype(float),
                               [0, 0, 20 / 7, 0])
    np.testing.assert_allclose(got.loc["c3", ["frequency", "recency", "T"]].astype(float), [0, 0, 0])
    assert got["holdout_frequency"].to_dict() == {"c1": 1, "c2": 0, "c3": 1}
    assert got.loc["c1", "holdout_amount"] == pytest.approx(99)
    assert steps.set_index("step")["purchases"].to_dict() == {1: 1, 2: 1}


@pytest.mark.realdata
def test_cdnow_master_gives_the_published_summary(sqlite_engine, data_dir):
    set_config(sqlite_engine, "time_zone", "UTC")
    run_import(sqlite_engine, "orders", data_dir / "cdnow" / "CDNOW_master.txt", preset="cdnow",
               shop_time_zone="UTC")
    sm = summary_from_database(sqlite_engine, dt.date(1997, 9, 30), unit="weeks")
    sm["master_id"] = sm["external_id"].astype(int)
    sample = pd.read_csv(data_dir / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                         names=["master_id", "sample_id", "date", "cds", "value"])
    published = pd.read_csv(data_dir / "cdnow" / "cdnow_customers_summary.csv")
    published["master_id"] = published["ID"].map(sample.groupby("sample_id")["master_id"].first())
    joined = published.merge(sm, on="master_id", suffixes=("_pub", ""))
    # 8 sample customers bought only $0 items, which are not purchases here.
    assert len(joined) == len(published) - 8
    assert (joined["frequency_pub"] == joined["frequency"]).all()
    np.testing.assert_allclose(joined["recency"], joined["recency_pub"], atol=0.005)  # published: 2 decimals
    np.testing.assert_allclose(joined["T"], joined["T_pub"], atol=0.005)
