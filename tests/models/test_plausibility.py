"""Plausibility bounds: the most any customer did within a window, in the engine, on every engine."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.helpers import load_orders, loaded_tables

from retentio.models.plausibility import window_maxima, window_maxima_expr
from retentio.models.summary import purchase_days

ORDERS = [
    # c1: purchase days Jan 1 (10), Jan 8 (20 + 5 in two orders), Jan 29 (30), Feb 12 (99).
    ("a1", "c1", "2024-01-01T09:00:00", "10"),
    ("a2", "c1", "2024-01-08T10:00:00", "20"),
    ("a3", "c1", "2024-01-08T18:00:00", "5"),
    ("a4", "c1", "2024-01-29T12:00:00", "30"),
    ("a5", "c1", "2024-02-12T12:00:00", "99"),
    # c2: one purchase; the return and the cancelled order are no purchase days.
    ("b1", "c2", "2024-01-15T12:00:00", "50"),
    ("b2", "c2", "2024-01-20T12:00:00", "-50", "returned"),
    ("b3", "c2", "2024-01-22T12:00:00", "400", "cancelled"),
    # c3: two days in Berlin, one hour apart.
    ("c1", "c3", "2024-02-04T23:30:00", "15"),
    ("c2", "c3", "2024-02-05T00:30:00", "15"),
    ("g1", "", "2024-01-10T12:00:00", "500"),  # a guest order: no customer
]

# window in days -> (most purchase days, most net revenue) of one customer within any such window
EXPECTED = {
    1: (1, 99),
    2: (2, 99),      # c3's two days
    7: (2, 99),      # Jan 1 + 7 days is Jan 8: outside a 7-day window
    8: (2, 99),
    14.5: (2, 129),  # c1: Jan 29 + Feb 12, the window rounded up to 15 days
    29: (3, 129),    # c1: Jan 1, 8 and 29
    43: (4, 164),    # c1: all four
    365: (4, 164),
}


def test_window_maxima_in_the_engine_match_the_reference(shop_db, tmp_path):
    engine, analytics = shop_db
    load_orders(engine, tmp_path, ORDERS, tz="Europe/Berlin")
    with loaded_tables(engine, analytics, "Europe/Berlin", dt.datetime(2024, 3, 1, tzinfo=dt.UTC)) as (backend, tables):
        days = backend.execute(purchase_days(tables))
        got = {w: tuple(backend.execute(window_maxima_expr(purchase_days(tables), w)).iloc[0]) for w in EXPECTED}
    for w, (purchases, revenue) in EXPECTED.items():
        assert got[w] == pytest.approx((purchases, revenue)), w
        assert window_maxima(days, w) == pytest.approx((purchases, revenue)), w
