"""The fast DuckDB result conversion gives exactly what ibis's own ``execute`` gives."""

from __future__ import annotations

import datetime as dt
import decimal
from unittest.mock import patch

import ibis
import numpy as np
import pandas as pd
import pytest

from retentio.analytics import frames
from retentio.analytics.engine import DuckDBBackend


class _Fixed:
    """A DuckDB relation that has already run: ibis's own conversion gets the very same Arrow table."""

    def __init__(self, table) -> None:
        self.table = table

    def to_arrow_table(self):
        return self.table


def both_ways(con, expr) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(our conversion, ibis's ``execute``) of one result: a query run twice may sum floats in another order."""
    table = con._to_duckdb_relation(expr).to_arrow_table()
    with patch.object(con, "_to_duckdb_relation", lambda *_a, **_k: _Fixed(table)):
        want = con.execute(expr)
    return frames.to_frame(expr, table), want


@pytest.fixture(scope="module")
def table():
    backend = DuckDBBackend()
    df = pd.DataFrame({
        "g": [1, 1, 2, 3, 3],
        "f": [1.5, np.nan, 2.0, None, -0.25],
        "i": [1, 2, 3, 4, 2**40],
        "ts": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 00:00:00", None, "2024-01-03 23:59:59.123456", None],
                             format="ISO8601"),
        "s": ["a", None, "ü<script>", "c", "=1+1"],
        "b": [True, None, False, True, False],
        "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None, dt.date(2024, 1, 3), None],
    })
    yield backend.con.create_table("kinds", df, temp=True)
    backend.close()


def _cases(t):
    """Every kind of result column the analytics produce, with missing values and without."""
    late = t.g > 1
    never = t.g > 9
    return {
        "float sum and mean": dict(a=t.f.sum(), b=t.f.mean(), c=t.f.max(where=late)),
        "integer sums (DECIMAL in DuckDB)": dict(a=t.i.sum(), b=ibis.ifelse(t.i > 1, 1, 0).sum()),
        "integer sum with gaps (None/Decimal objects in ibis)": dict(a=t.i.sum(where=late), b=t.i.sum(where=never)),
        "integer counts and maxima": dict(a=t.count(), b=t.count(where=late), c=t.i.max(where=late)),
        "timestamps": dict(a=t.ts.max(), b=t.ts.min(where=late), c=t.ts.max(where=never)),
        "strings": dict(a=t.s.max(), b=t.s.min(where=late), c=t.s.max(where=never)),
        "booleans and dates": dict(a=t.b.any(), b=t.d.max(), c=t.d.max(where=late)),
        "everything missing": dict(a=t.f.sum(where=never), b=t.i.max(where=never), c=t.count(where=never)),
    }


@pytest.mark.parametrize("case", list(_cases(ibis.table({"g": "int64", "f": "float64", "i": "int64",
                                                           "ts": "timestamp", "s": "string", "b": "boolean",
                                                           "d": "date"}))))
def test_same_frame_as_ibis(table, case):
    expr = table.group_by("g").aggregate(**_cases(table)[case]).order_by("g")
    got, want = both_ways(table._find_backend(), expr)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for col in want.columns:  # object columns: the same Python types (None stays None, Decimal stays Decimal)
        if want[col].dtype == object:
            assert [type(v) for v in got[col]] == [type(v) for v in want[col]], col


def test_whole_number_sums_become_int64(table):
    expr = table.group_by("g").aggregate(n=ibis.ifelse(table.i > 1, 1, 0).sum(), gaps=table.i.sum(where=table.g > 1))
    got = frames.execute(table._find_backend(), expr.order_by("g"))
    assert got["n"].dtype == np.int64 and got["n"].tolist() == [1, 1, 2]
    # With missing values ibis's objects are kept, so no caller sees a change.
    assert got["gaps"].tolist() == [None, decimal.Decimal(3), decimal.Decimal(4 + 2**40)]


def test_scalars_and_columns_go_through_ibis(table):
    con = table._find_backend()
    assert frames.execute(con, table.i.sum()) == 1 + 2 + 3 + 4 + 2**40
    assert frames.execute(con, table.order_by("g").g).tolist() == [1, 1, 2, 3, 3]


class ComparingBackend(DuckDBBackend):
    """Runs every table query of a refresh both ways and keeps the pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[pd.DataFrame, pd.DataFrame]] = []

    def execute(self, expr):
        if not isinstance(expr, ibis.Table):
            return super().execute(expr)
        got, want = both_ways(self.con, expr)
        self.pairs.append((got.copy(), want))  # callers change the frame they get
        return got


@pytest.mark.slow
def test_every_query_of_a_refresh_converts_as_ibis_does(tmp_path):
    from retentio.db.session import get_engine
    from retentio.demo.generator import generate
    from retentio.demo.run import store
    from retentio.refresh import refresh

    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store(engine, generate(n_customers=1500, seed=3))
    backend = ComparingBackend()
    try:
        assert refresh(engine, backend=backend).status == "ok"
    finally:
        backend.close()
    assert len(backend.pairs) > 30
    for got, want in backend.pairs:
        pd.testing.assert_frame_equal(got, want, check_exact=True)
