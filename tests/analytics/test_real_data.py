"""Golden tests on the real datasets, against an independent pandas computation."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.results import cohorts, kpis, predictions, scores

pytestmark = pytest.mark.realdata
W = 90


def pandas_kpis(orders: pd.DataFrame, starts: list[pd.Timestamp]) -> pd.DataFrame:
    """orders: customer (or NaN), placed (local naive), total, purchase (bool)."""
    buy = orders[orders["purchase"] & orders["customer"].notna()]
    first = buy.groupby("customer")["placed"].min()
    second = buy.sort_values(["placed"]).groupby("customer")["placed"].nth(1)
    second = second.groupby(buy.loc[second.index, "customer"]).first() if len(second) else second

    def active(t):
        return set(buy.loc[(buy["placed"] >= t - pd.Timedelta(days=W)) & (buy["placed"] < t), "customer"])

    out = []
    for a, b in itertools.pairwise(starts):
        s, e = active(a), active(b)
        in_p = orders[(orders["placed"] >= a) & (orders["placed"] < b)]
        purchases_all = int(in_p["purchase"].sum())
        out.append({
            "period_start": a.date(), "s": len(s), "e": len(e), "n": int(((first >= a) & (first < b)).sum()),
            "retained": len(s & e), "revenue": in_p["rev"].sum(),
            "purchases": int((in_p["purchase"] & in_p["customer"].notna()).sum()),
            "aov": in_p["rev"].sum() / purchases_all if purchases_all else np.nan,
            "rpr": (second < b).sum() / (first < b).sum() * 100,
        })
    return pd.DataFrame(out)


def compare(engine, expected: pd.DataFrame) -> None:
    got, _ = kpis(engine, "month", W)
    got = got.set_index("period_start")
    for row in expected.to_dict("records"):
        g = got.loc[row["period_start"]]
        assert (g["s"], g["e"], g["n"], g["retained"], g["purchases"]) == (
            row["s"], row["e"], row["n"], row["retained"], row["purchases"]), row["period_start"]
        assert g["revenue"] == pytest.approx(row["revenue"], abs=0.05)
        assert g["repeat_purchase_rate"] == pytest.approx(row["rpr"])
        if row["s"]:
            assert g["crr"] == pytest.approx((row["e"] - row["n"]) / row["s"] * 100)
    assert len(got) == len(expected)


# The "Online Retail II" release names three columns differently; one preset reads both.
RELEASE_II = {"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}


@pytest.mark.parametrize("release", ["I", "II", "II-detected"])
def test_uci_online_retail(sqlite_engine, data_dir, tmp_path, release):
    path = data_dir / "online_retail" / "online_retail_2010_2011.parquet"
    if release.startswith("II"):
        renamed = tmp_path / "online_retail_II.parquet"
        pd.read_parquet(path).rename(columns=RELEASE_II).to_parquet(renamed)
        path = renamed
    s = run_import(sqlite_engine, "orders", path, preset=None if release == "II-detected" else "uci-online-retail")
    assert (s.rows_read, s.rows_imported, s.rows_rejected) == (541_909, 541_909, 0)
    assert s.preset == "uci-online-retail" and s.preset_detected == (release == "II-detected")
    with sqlite_engine.connect() as c:
        assert c.execute(sa.text("select distinct currency from orders")).scalars().all() == ["GBP"]
        assert c.execute(sa.text("select count(*) from orders where status = 'cancelled'")).scalar() == 3_836
    run = refresh(sqlite_engine, active_window=W, predictions=release == "I")
    if release == "I":
        check_uci_predictions(sqlite_engine, run)

    raw = pd.read_parquet(data_dir / "online_retail" / "online_retail_2010_2011.parquet")
    raw["amount"] = (raw["Quantity"] * raw["UnitPrice"]).round(2)
    inv = raw.groupby("InvoiceNo", sort=False).agg(customer=("CustomerID", "first"), placed=("InvoiceDate", "first"),
                                                   total=("amount", "sum")).reset_index()
    inv["cancelled"] = inv["InvoiceNo"].astype(str).str.startswith("C")
    inv["purchase"] = ~inv["cancelled"] & (inv["total"].round(2) > 0)
    inv["rev"] = np.where(~inv["cancelled"] | (inv["total"] < 0), inv["total"], 0.0)
    assert len(inv) == 25_900 and inv["cancelled"].sum() == 3_836
    starts = list(pd.date_range("2010-12-01", "2011-12-01", freq="MS"))
    compare(sqlite_engine, pandas_kpis(inv, starts))
    coh, _ = cohorts(sqlite_engine, "month")
    assert (coh.loc[coh["period_index"] == 0, "retention_pct"] == 100).all()
    first = inv[inv["purchase"] & inv["customer"].notna()].groupby("customer")["placed"].min()
    dec = coh[(coh["cohort_start"] == dt.date(2010, 12, 1)) & (coh["period_index"] == 0)]
    assert int(dec["cohort_size"].iloc[0]) == int((first < "2011-01-01").sum())
    # Every cell of the monthly cohort table, against plain pandas.
    cust = inv[inv["customer"].notna()].copy()
    cust["first"] = cust["customer"].map(first)
    cust = cust[cust["first"].notna()]
    month = lambda s: s.dt.year * 12 + s.dt.month  # noqa: E731
    cust["cohort"] = cust["first"].dt.to_period("M").dt.start_time.dt.date
    cust["idx"] = month(cust["placed"]) - month(cust["first"])
    cust = cust[cust["idx"] >= 0]
    want = cust.groupby(["cohort", "idx"]).agg(
        customers=("customer", lambda c: c[cust.loc[c.index, "purchase"]].nunique()), revenue=("rev", "sum"))
    got = coh.set_index(["cohort_start", "period_index"])
    assert len(got) == len(want)
    assert (got["customers"].to_numpy() == want["customers"].to_numpy()).all()
    assert np.allclose(got["revenue"].to_numpy(), want["revenue"].to_numpy(), atol=0.05)


def check_uci_predictions(engine, run) -> None:
    """Dropout is not identified here: whatever is chosen was backtested, and nothing exceeds what
    customers of this shop actually did within a year."""
    info = run.summary["predictions"]
    bt = info["backtest"]
    assert info["stages"]["transactions"]["status"] == "ok"
    assert "holdout" in bt["models"]["rules"] and "holdout" in bt["models"]["nbd"]  # rules in the same table
    assert info["chosen"]["model"] == bt["ranking"][0] or info["chosen"]["refit_failures"]
    bound = info["chosen"]["plausibility"]
    pred, _ = predictions(engine)
    assert len(pred) > 4000
    # No prediction only for buyers whose every purchase came back (net revenue 0 or less).
    none = pred["model"] == "none"
    assert pred.loc[~none, "expected_purchases"].notna().all() and (pred.loc[none, "revenue"] <= 0).all()
    assert none.sum() < 10
    scored = pred.loc[~none]
    assert (scored["expected_purchases"] <= bound["purchases"] + 1e-9).all()
    assert (scored["clv"] <= bound["revenue"] + 1e-6).all()
    spend = bt["spend"]
    assert spend["status"] == "ok" and {"p", "q", "gamma"} <= set(spend["params"]) and spend["log_likelihood"] < 0
    hold = spend["holdout"]
    assert hold["customers"] > 1000 and 0.5 < hold["predicted_mean"] / hold["actual_mean"] < 2
    paper = bt["paper_tracking"]
    assert paper["steps"] and paper["steps"][-1]["actual"] > 0


def test_cdnow_master(sqlite_engine, data_dir):
    path = data_dir / "cdnow" / "CDNOW_master.txt"
    s = run_import(sqlite_engine, "orders", path, preset="cdnow")
    assert (s.rows_read, s.rows_imported, s.rows_rejected) == (69_659, 69_659, 0)
    refresh(sqlite_engine, active_window=W, as_of=dt.date(1998, 6, 30))
    raw = pd.read_csv(path, sep=r"\s+")
    raw["placed"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    raw = raw.rename(columns={"customer_id": "customer", "dollar_value": "total"})
    raw["purchase"] = raw["total"] > 0
    raw["rev"] = raw["total"]
    starts = list(pd.date_range("1997-01-01", "1998-07-01", freq="MS"))
    compare(sqlite_engine, pandas_kpis(raw, starts))
    sc = scores(sqlite_engine)
    per_customer = raw[raw["purchase"]].groupby("customer").size()
    # 23,570 customers, of whom 68 only ever had $0 orders: not purchases, so not scored.
    assert raw["customer"].nunique() == 23_570
    assert len(sc) == len(per_customer) == 23_502
    assert sc["purchases"].sum() == per_customer.sum()
