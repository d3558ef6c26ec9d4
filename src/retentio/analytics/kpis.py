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

from retentio.analytics.definitions import (
    bounds_frame,
    customer_purchases,
    periods_frame,
    revenue,
)
from retentio.analytics.engine import Backend, Tables


def active_set(t: Tables, bounds: ibis.Table) -> ibis.Table:
    """(customer_id, i): the customer is active at boundary i."""
    p = customer_purchases(t.orders)
    days = p.select(p.customer_id, placed=p.placed).distinct()
    by_purchase = days.join(bounds, [days.placed > bounds.lo, days.placed <= bounds.t]).select(
        "customer_id", "i")
    s = t.subscriptions
    by_contract = s.join(bounds, [s.started <= bounds.t, s.ended.isnull() | (bounds.t < s.ended)]).select(
        "customer_id", "i")
    return by_purchase.union(by_contract, distinct=True)


def _count_in_periods(m: ibis.Table, column: str, periods: ibis.Table, name: str) -> ibis.Table:
    """How many customers reached a milestone (first seen, 1st or 2nd purchase) in each period."""
    at = m[column]
    j = m.join(periods, [at >= periods.a, at < periods.b])
    return j.group_by("i").aggregate(**{name: j.count()})


def kpi_series(backend: Backend, t: Tables, points: list[dt.datetime], window_days: int) -> pd.DataFrame:
    if len(points) < 2:
        return pd.DataFrame()
    bounds = backend.memtable(bounds_frame(points, window_days))
    periods = backend.memtable(periods_frame(points))
    act = active_set(t, bounds)
    at_boundary = backend.execute(act.group_by("i").aggregate(active=act.count()))
    shifted = act.select("customer_id", i=act.i - 1)
    both = act.join(shifted, ["customer_id", "i"])
    retained = backend.execute(both.group_by("i").aggregate(retained=both.count()))
    m = t.milestones
    new = backend.execute(_count_in_periods(m, "first_seen", periods, "n"))
    first = backend.execute(_count_in_periods(m, "first_purchase", periods, "first_buyers"))
    second = backend.execute(_count_in_periods(m, "second_purchase", periods, "second_buyers"))

    o = t.orders
    j = o.join(periods, [o.placed >= periods.a, o.placed < periods.b])
    is_purchase = (j.status == "placed") & (j.net_total > 0)
    by_customer = is_purchase & j.customer_id.notnull()
    flows = backend.execute(j.group_by("i").aggregate(
        revenue=revenue(j).sum(),
        purchases_all=ibis.ifelse(is_purchase, 1, 0).sum(),
        purchases=ibis.ifelse(by_customer, 1, 0).sum(),
        purchasing_customers=j.customer_id.nunique(where=by_customer),
    ))

    df = periods_frame(points)[["i", "a", "b"]].copy()
    active = at_boundary.set_index("i")["active"]
    df["s"] = df["i"].map(active).fillna(0).astype(int)
    df["e"] = (df["i"] + 1).map(active).fillna(0).astype(int)
    for part in (retained, new, first, second, flows):
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
