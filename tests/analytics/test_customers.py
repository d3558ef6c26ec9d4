"""Per-customer facts: the second purchase and the one before the last, and RFM scores that do not
depend on the order the engine adds amounts up."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.helpers import load_orders, loaded_tables

from retentio.analytics.customers import load_facts

UNTIL = dt.datetime(2024, 12, 31, tzinfo=dt.UTC)


def _facts(engine, tmp_path, rows):
    load_orders(engine, tmp_path, rows)
    with loaded_tables(engine, "duckdb", "UTC", UNTIL) as (backend, tables):
        return load_facts(backend, tables, dt.datetime(2025, 1, 1)).set_index("customer_id")


def test_equal_revenue_is_a_tie_whatever_the_sum_order(sqlite_engine, tmp_path):
    # 0.10 + 0.20 is 0.30000000000000004 in floating point, one bit above 0.30: not a tie for a rank,
    # unless the sum is rounded to the cent (definitions.money_sum).
    rows = [("1", "A", "2024-03-01T10:00:00", "0.10"), ("2", "A", "2024-03-01T10:00:00", "0.20"),
            ("3", "B", "2024-03-01T10:00:00", "0.30")]
    facts = _facts(sqlite_engine, tmp_path, rows)
    assert facts["revenue"].iloc[0] == facts["revenue"].iloc[1] == 0.30  # the sums are the same ...
    assert facts["m_score"].nunique() == 1  # ... and both share the M score


@pytest.mark.parametrize(("placed", "second", "previous"), [
    # distinct days: the second purchase and the one before the last
    (["2024-01-01", "2024-02-01", "2024-03-01"], "2024-02-01", "2024-02-01"),
    # two purchases at the first instant: the second purchase is at that instant
    (["2024-01-01", "2024-01-01", "2024-03-01"], "2024-01-01", "2024-01-01"),
    # two at the last instant: the one before the last is at that instant too
    (["2024-01-01", "2024-03-01", "2024-03-01"], "2024-03-01", "2024-03-01"),
    # one purchase: neither
    (["2024-01-01"], None, None),
])
def test_second_and_previous_purchase(sqlite_engine, tmp_path, placed, second, previous):
    rows = [(str(i), "K1", f"{day}T09:00:00", "10.00") for i, day in enumerate(placed)]
    rows.append(("99", "K1", "2024-01-15T09:00:00", "-5.00", "returned"))  # no purchase: ignored for both
    k1 = _facts(sqlite_engine, tmp_path, rows).iloc[0]
    want = [None if d is None else dt.datetime.fromisoformat(f"{d}T09:00:00") for d in (second, previous)]
    got = [None if v != v else v.to_pydatetime() for v in (k1["second_purchase"], k1["previous_purchase"])]
    assert got == want
    assert k1["purchases"] == len(placed) and k1["returns"] == 1
    assert k1["revenue"] == pytest.approx(10.0 * len(placed) - 5.0)
