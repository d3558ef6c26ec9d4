"""Shared definitions of the analytics: sums of money that do not depend on the order of the rows."""

from __future__ import annotations

from decimal import Decimal

import ibis
import numpy as np
import pandas as pd
import pytest

from retentio.analytics.definitions import money_sum


def _amounts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cents = rng.integers(-50_000, 500_000, n)
    return pd.DataFrame({"customer_id": rng.integers(0, 500, n), "net_total": cents / 100})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_money_sum_is_exact_and_independent_of_row_order(seed):
    """A float sum depends on the order DuckDB's threads add in; the refresh's money sums must not
    (the churn model grew different trees from the same data when they did)."""
    df = _amounts(300_000, seed)
    exact = (df.assign(c=[Decimal(round(x * 100)) for x in df["net_total"]])
             .groupby("customer_id")["c"].sum().map(lambda c: float(c / 100)))
    con = ibis.duckdb.connect()
    con.raw_sql("SET threads = 4")
    results = []
    for order in (df, df.iloc[::-1], df.sample(frac=1.0, random_state=seed)):
        t = con.create_table("o", order.reset_index(drop=True), overwrite=True)
        got = t.group_by("customer_id").aggregate(total=money_sum(t.net_total)).to_pandas()
        results.append(got.set_index("customer_id")["total"].sort_index())
        whole = float(t.aggregate(total=money_sum(t.net_total, t.net_total > 0)).to_pandas()["total"].iloc[0])
        assert whole == float(sum(Decimal(round(x * 100)) for x in df["net_total"] if x > 0) / 100)
    for got in results:
        assert got.index.equals(exact.index)
        assert (got.to_numpy() == exact.to_numpy()).all()  # bit for bit, not approximately
