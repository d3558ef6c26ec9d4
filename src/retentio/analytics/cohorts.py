"""Acquisition cohorts × periods since acquisition.

A customer's cohort is the period of their first purchase; period 0 is that
period, so its retention is 100 % by construction. Revenue is net revenue
(returns included) of the cohort's customers in each period.
"""

from __future__ import annotations

import ibis
import pandas as pd

from retentio.analytics.definitions import is_purchase, money_sum, periods_between, revenue, truncate_period
from retentio.analytics.engine import Backend, Tables


def _orders_with_first_purchase(t: Tables) -> ibis.Table:
    """Customer orders with their buyer's first purchase: the same for every period length."""
    m = t.milestones
    firsts = m.filter(m.first_purchase.notnull()).select("customer_id", first=m.first_purchase)
    o = t.orders.filter(t.orders.customer_id.notnull())
    o = o.mutate(rev=revenue(o), is_purchase=is_purchase(o))
    return o.join(firsts, "customer_id").select("customer_id", "placed", "first", "rev", "is_purchase")


def cohort_table(backend: Backend, t: Tables, granularity: str) -> pd.DataFrame:
    m = t.milestones
    firsts = m.filter(m.first_purchase.notnull())
    firsts = firsts.select("customer_id", cohort=truncate_period(firsts.first_purchase, granularity))
    j = t.cached("orders-with-first", lambda: _orders_with_first_purchase(t))
    j = j.mutate(cohort=truncate_period(j.first, granularity))
    j = j.mutate(idx=periods_between(granularity, truncate_period(j.placed, granularity), j.cohort))
    # Orders before the first purchase (a cancelled or zero-value order) precede acquisition.
    j = j.filter(j.idx >= 0)
    cells = j.group_by(["cohort", "idx"]).aggregate(
        customers=j.customer_id.nunique(where=j.is_purchase), revenue=money_sum(j.rev))
    sizes = firsts.group_by("cohort").aggregate(cohort_size=firsts.count())
    df = backend.execute(cells.join(sizes, "cohort"))
    if df.empty:
        return pd.DataFrame(columns=["cohort_start", "period_index", "cohort_size", "customers",
                                     "retention_pct", "revenue", "cum_revenue_per_customer"])
    df = df.rename(columns={"cohort": "cohort_start", "idx": "period_index"})
    df["cohort_start"] = pd.to_datetime(df["cohort_start"]).dt.date
    df = df.sort_values(["cohort_start", "period_index"]).reset_index(drop=True)
    df["customers"] = df["customers"].fillna(0).astype(int)
    df["revenue"] = df["revenue"].astype(float)
    df["retention_pct"] = df["customers"] / df["cohort_size"] * 100
    df["cum_revenue_per_customer"] = df.groupby("cohort_start")["revenue"].cumsum() / df["cohort_size"]
    return df[["cohort_start", "period_index", "cohort_size", "customers", "retention_pct", "revenue",
               "cum_revenue_per_customer"]]
