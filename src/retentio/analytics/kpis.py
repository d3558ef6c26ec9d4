"""Retention KPIs per period.

For a period [a, b) with activity window W (docs/definitions.md):

* S: customers active at a; E: active at b; N: first purchase in [a, b).
* CRR = (E − N) / S × 100; retained share = |active at a and at b| / S × 100;
  churn rate = 100 − retained share. All three are undefined when S = 0.
* Repeat-purchase rate at b = customers with ≥ 2 purchases / with ≥ 1, counting
  purchases before b.
* Purchase frequency = purchases by customers / purchasing customers in [a, b).
* AOV = net revenue / purchases in [a, b) (guest orders included).
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from retentio.analytics.activity import boundary_counts
from retentio.analytics.definitions import (
    is_purchase,
    money_sum,
    periods_frame,
    revenue,
    truncate_period,
)
from retentio.analytics.engine import Backend, Tables


def _count_in_periods(m: ibis.Table, column: str, periods: ibis.Table, name: str) -> ibis.Table:
    """How many customers reached a milestone (first seen, 1st or 2nd purchase) in each period."""
    at = m[column]
    j = m.join(periods, [at >= periods.a, at < periods.b])
    return j.group_by("i").aggregate(**{name: j.count()})


def kpi_series(backend: Backend, t: Tables, points: list[dt.datetime], window_days: int,
               granularity: str) -> pd.DataFrame:
    if len(points) < 2:
        return pd.DataFrame()
    periods = backend.memtable(periods_frame(points))
    at_boundary = boundary_counts(backend, t, points, window_days, granularity)
    m = t.milestones
    new = backend.execute(_count_in_periods(m, "first_seen", periods, "n"))
    first = backend.execute(_count_in_periods(m, "first_purchase", periods, "first_buyers"))
    second = backend.execute(_count_in_periods(m, "second_purchase", periods, "second_buyers"))

    # Orders fall into the period their truncated time names: a group-by, no range join.
    o = t.orders.filter((t.orders.placed >= points[0]) & (t.orders.placed < points[-1]))
    purchase = is_purchase(o)
    by_customer = purchase & o.customer_id.notnull()
    flows = backend.execute(o.group_by(start=truncate_period(o.placed, granularity)).aggregate(
        revenue=money_sum(revenue(o)),
        # AOV divides by the purchases whose amount is known.
        purchases_all=ibis.ifelse(purchase & o.net_total.notnull(), 1, 0).sum(),
        purchases=ibis.ifelse(by_customer, 1, 0).sum(),
        purchasing_customers=o.customer_id.nunique(where=by_customer),
    ))
    index = {pd.Timestamp(p): i for i, p in enumerate(points)}
    flows["i"] = pd.to_datetime(flows.pop("start")).map(index).astype("int64")

    df = periods_frame(points)[["i", "a", "b"]].copy()
    active = at_boundary.set_index("i")["active"]
    df["s"] = df["i"].map(active).fillna(0).astype(int)
    df["e"] = (df["i"] + 1).map(active).fillna(0).astype(int)
    df["retained"] = df["i"].map(at_boundary.set_index("i")["retained"])
    for part in (new, first, second, flows):
        df = df.merge(part, on="i", how="left")
    for col in ("retained", "n", "first_buyers", "second_buyers", "purchases", "purchases_all",
                "purchasing_customers"):
        df[col] = df[col].fillna(0).astype(int)
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    s = df["s"].where(df["s"] > 0)
    df["crr"] = (df["e"] - df["n"]) / s * 100
    df["retained_share"] = df["retained"] / s * 100
    df["churn_rate"] = 100 - df["retained_share"]
    ever1, ever2 = df["first_buyers"].cumsum(), df["second_buyers"].cumsum()
    df["repeat_purchase_rate"] = (ever2 / ever1.where(ever1 > 0) * 100)
    df["purchase_frequency"] = df["purchases"] / df["purchasing_customers"].where(df["purchasing_customers"] > 0)
    df["aov"] = df["revenue"] / df["purchases_all"].where(df["purchases_all"] > 0)
    df = df.rename(columns={"a": "period_start", "b": "period_end"})
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    df["period_end"] = pd.to_datetime(df["period_end"]).dt.date
    df = df.replace({np.inf: np.nan})
    return df.drop(columns=["i", "first_buyers", "second_buyers"])
