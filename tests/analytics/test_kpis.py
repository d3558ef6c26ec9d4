"""KPI formulas on small shops with hand-computed answers, on every engine."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.helpers import kpi_rows, load_orders

D = dt.date


def test_worked_example_crr_60_percent(shop_db, tmp_path):
    """S = 1,000, E = 1,100, N = 500 gives CRR 60 % (the retention guides' example)."""
    engine, analytics = shop_db
    rows = []
    for c in range(1000):  # active at Feb 1 (bought Jan 15, W = 30 days)
        rows.append((f"a{c}", f"old{c}", "2024-01-15T10:00:00", "20"))
    for c in range(600):  # 600 of them buy again in February
        rows.append((f"b{c}", f"old{c}", "2024-02-10T10:00:00", "20"))
    for c in range(500):  # 500 new customers in February
        rows.append((f"n{c}", f"new{c}", "2024-02-20T10:00:00", "20"))
    load_orders(engine, tmp_path, rows)
    feb = kpi_rows(engine, analytics, window=30, as_of=D(2024, 3, 31))[D(2024, 2, 1)]
    assert (feb["s"], feb["e"], feb["n"]) == (1000, 1100, 500)
    assert feb["crr"] == pytest.approx(60.0)
    assert feb["retained"] == 600
    assert feb["retained_share"] == pytest.approx(60.0)
    assert feb["churn_rate"] == pytest.approx(40.0)


def test_first_period_has_no_rate_when_s_is_zero(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [("1", "c1", "2024-01-05T10:00:00", "10"), ("2", "c2", "2024-02-05T10:00:00", "10")])
    jan = kpi_rows(engine, analytics, window=60, as_of=D(2024, 3, 1))[D(2024, 1, 1)]
    assert jan["s"] == 0
    assert jan["crr"] is None or jan["crr"] != jan["crr"]
    assert jan["retained_share"] is None or jan["retained_share"] != jan["retained_share"]


def test_empty_period_in_the_middle(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [("1", "c1", "2024-01-10T10:00:00", "10"), ("2", "c1", "2024-03-10T10:00:00", "30")])
    k = kpi_rows(engine, analytics, window=90, as_of=D(2024, 4, 30))
    feb = k[D(2024, 2, 1)]
    assert feb["purchases"] == 0 and feb["revenue"] == 0
    assert feb["aov"] is None or feb["aov"] != feb["aov"]
    assert (feb["s"], feb["e"], feb["retained"]) == (1, 1, 1)
    assert k[D(2024, 3, 1)]["aov"] == pytest.approx(30.0)


def test_order_exactly_on_period_boundary(shop_db, tmp_path):
    """An order at 00:00 on March 1 belongs to March: new there, and not yet active at March 1 (half-open)."""
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [("1", "c1", "2024-01-10T10:00:00", "10"), ("2", "c2", "2024-03-01T00:00:00", "10")])
    k = kpi_rows(engine, analytics, window=31, as_of=D(2024, 4, 30))
    feb, mar = k[D(2024, 2, 1)], k[D(2024, 3, 1)]
    assert feb["e"] == 0 and mar["s"] == 0  # activity at t means a purchase in [t − W, t)
    assert feb["n"] == 0 and mar["n"] == 1
    assert mar["e"] == 1  # April 1 − 31 days = March 1: the order lies in the window
    assert feb["revenue"] == 0 and mar["revenue"] == 10


def test_date_only_export_gives_no_crr_above_retention(shop_db, tmp_path):
    """Date-only files put orders at 00:00; on the 1st that used to count a customer as active at the end of
    the month before *and* as new in the next, so CRR came out above 100 % without any reactivation."""
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [
        ("1", "c1", "2024-01-10", "10"), ("2", "c1", "2024-02-10", "10"), ("3", "c1", "2024-03-10", "10"),
        ("4", "c2", "2024-01-20", "10"), ("5", "c3", "2024-02-01", "10"), ("6", "c4", "2024-03-01", "10")])
    k = kpi_rows(engine, analytics, window=30, as_of=D(2024, 3, 31))
    feb = k[D(2024, 2, 1)]
    # S at Feb 1: purchases in [Jan 2, Feb 1) = c1, c2. E at Mar 1: [Jan 31, Mar 1) = c1, c3. N = c3.
    assert (feb["s"], feb["e"], feb["n"], feb["retained"]) == (2, 2, 1, 1)
    assert feb["crr"] == pytest.approx(50.0) and feb["retained_share"] == pytest.approx(50.0)
    for r in k.values():
        if r["s"]:
            assert r["crr"] <= 100 and r["crr"] <= r["retained_share"] + 1e-9  # nobody came back after a gap


@pytest.mark.parametrize(("tz", "month"), [("UTC", D(2024, 1, 1)), ("Europe/Berlin", D(2024, 2, 1))])
def test_period_boundaries_in_shop_time_zone(shop_db, tmp_path, tz, month):
    """23:30 UTC on Jan 31 is 00:30 on Feb 1 in Berlin."""
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [("0", "c0", "2023-12-15T12:00:00Z", "5"), ("1", "c1", "2024-01-31T23:30:00Z", "10")], tz=tz)
    k = kpi_rows(engine, analytics, window=30, as_of=D(2024, 2, 29))
    assert k[month]["n"] == 1
    assert k[month]["revenue"] == 10


def test_returns_cancellations_and_guests(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [
        ("1", "c1", "2024-01-05T10:00:00", "100"),
        ("R1", "c1", "2024-01-20T10:00:00", "-30"),              # return record: reduces revenue
        ("2", "c2", "2024-01-06T10:00:00", "50", "cancelled"),  # never happened
        ("3", "", "2024-01-07T10:00:00", "40"),                  # guest order
        ("4", "c1", "2024-01-25T10:00:00", "60"),
    ])
    # --as-of Jan 31 means the end of that day: January is then complete.
    jan = kpi_rows(engine, analytics, window=30, as_of=D(2024, 1, 31))[D(2024, 1, 1)]
    k = kpi_rows(engine, analytics, window=30, as_of=D(2024, 2, 29))[D(2024, 1, 1)]
    assert k["revenue"] == pytest.approx(100 - 30 + 40 + 60)
    assert k["purchases"] == 2  # customer purchases only
    assert k["purchasing_customers"] == 1
    assert k["purchase_frequency"] == pytest.approx(2.0)
    assert k["aov"] == pytest.approx((100 - 30 + 40 + 60) / 3)  # guest purchase counts in AOV
    assert k["n"] == 1  # c2's only order was cancelled: not a customer yet
    assert k["repeat_purchase_rate"] == pytest.approx(100.0)
    # The same period measured on its last day and a month later agrees.
    assert (jan["revenue"], jan["purchases"], jan["n"], jan["s"]) == (k["revenue"], k["purchases"], k["n"], k["s"])


def test_repeat_purchase_rate_is_cumulative(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [
        ("1", "a", "2024-01-05T10:00:00", "10"), ("2", "b", "2024-01-06T10:00:00", "10"),
        ("3", "a", "2024-02-05T10:00:00", "10"), ("4", "c", "2024-02-07T10:00:00", "10"),
    ])
    k = kpi_rows(engine, analytics, window=60, as_of=D(2024, 3, 31))
    assert k[D(2024, 1, 1)]["repeat_purchase_rate"] == pytest.approx(0.0)
    assert k[D(2024, 2, 1)]["repeat_purchase_rate"] == pytest.approx(100 / 3)


def test_running_contract_keeps_a_customer_active(sqlite_engine, tmp_path):
    from tests.helpers import write_csv

    from retentio.ingest.importer import run_import

    load_orders(sqlite_engine, tmp_path, [("1", "c1", "2024-01-05T10:00:00", "10")])
    subs = write_csv(tmp_path / "subs.csv", ["subscription_id", "customer_id", "started_at", "cancelled_at"],
                     [["A1", "c1", "2024-01-05", "2024-04-10"]])
    assert run_import(sqlite_engine, "subscriptions", subs).rows_imported == 1
    k = kpi_rows(sqlite_engine, "duckdb", window=10, as_of=D(2024, 5, 31))
    assert k[D(2024, 3, 1)]["s"] == 1 and k[D(2024, 3, 1)]["e"] == 1
    assert k[D(2024, 4, 1)]["e"] == 0  # contract ended April 10, no purchase since


def test_weekly_periods_start_on_monday(shop_db, tmp_path):
    """Sunday Jan 7 and Monday Jan 8, 2024 fall into different ISO weeks on every engine."""
    engine, analytics = shop_db
    load_orders(engine, tmp_path, [("1", "c1", "2024-01-07T23:00:00", "10"), ("2", "c2", "2024-01-08T00:00:00", "20"),
                                   ("3", "c1", "2024-01-16T12:00:00", "5")])
    k = kpi_rows(engine, analytics, window=7, period="week", as_of=D(2024, 1, 21))
    assert [(d, r["revenue"], r["n"]) for d, r in sorted(k.items())] == [
        (D(2024, 1, 1), 10, 1), (D(2024, 1, 8), 20, 1), (D(2024, 1, 15), 5, 0)]
    # At Jan 8 00:00 only c1 counts (c2's order at that very instant is not in [t − 7 d, t));
    # at Jan 15 00:00 c2's order is exactly 7 days old: inside the half-open window.
    assert (k[D(2024, 1, 8)]["s"], k[D(2024, 1, 8)]["e"]) == (1, 1)
