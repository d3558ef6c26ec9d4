"""One row per customer: purchase history facts and RFM scores.

RFM scores are 1–5 by percentile rank among purchasing customers (ties share
a score, so the result does not depend on row order or engine): R on the time
of the last purchase, F on the number of purchases, M on net revenue.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from retentio.analytics.definitions import customer_purchases, days_between, is_purchase, is_return, money_sum, revenue
from retentio.analytics.engine import Backend, Tables


def _score(col: ibis.Value) -> ibis.Value:
    pr = ibis.percent_rank().over(order_by=col)
    return ibis.least(5, (pr * 5).floor().cast("int64") + 1)


def customer_facts(t: Tables, as_of_local: dt.datetime) -> ibis.Table:
    o = t.orders.filter(t.orders.customer_id.notnull())
    buy = is_purchase(o)
    # Purchases, revenue and returns in one pass over the customers' orders; counts rather than sums of
    # 0/1, which DuckDB would return as DECIMAL(38, 0).
    per = o.group_by("customer_id").aggregate(
        first_purchase=o.placed.min(where=buy), last_purchase=o.placed.max(where=buy),
        purchases=o.count(where=buy), purchase_revenue=money_sum(o.net_total, buy),
        revenue=money_sum(revenue(o)), returns=o.count(where=is_return(o)))
    base = per.filter(per.purchases > 0)
    # The second purchase and the one before the last, without sorting every customer's history: the
    # earliest later one and the latest earlier one, or the first (last) instant itself if two purchases
    # share it -- the second row in (placed, order_id) order, as the milestones define it.
    p = customer_purchases(t.orders)
    j = p.join(base.select("customer_id", "first_purchase", "last_purchase"), "customer_id")
    around = j.group_by("customer_id").aggregate(
        earlier=j.placed.max(where=j.placed < j.last_purchase), at_last=j.count(where=j.placed == j.last_purchase),
        later=j.placed.min(where=j.placed > j.first_purchase), at_first=j.count(where=j.placed == j.first_purchase))
    facts = base.join(around, "customer_id").select(
        "customer_id", "first_purchase", "last_purchase",
        second_purchase=ibis.ifelse(around.at_first >= 2, base.first_purchase, around.later),
        previous_purchase=ibis.ifelse(around.at_last >= 2, base.last_purchase, around.earlier),
        purchases=base.purchases, purchase_revenue=base.purchase_revenue, revenue=base.revenue,
        returns=base.returns)
    facts = facts.mutate(
        days_to_second=days_between(facts.second_purchase, facts.first_purchase),
        own_interval=ibis.ifelse(
            facts.purchases >= 3,
            days_between(facts.last_purchase, facts.first_purchase) / (facts.purchases - 1),
            ibis.null("float64")),
        r_score=_score(facts.last_purchase),
        f_score=_score(facts.purchases),
        # Revenue is summed to the cent (definitions.money_sum), so equal spend is a tie in every refresh.
        m_score=_score(facts.revenue),
    )
    s = t.subscriptions
    now = ibis.literal(as_of_local, type="timestamp")
    running = (s.started < now) & (s.ended.isnull() | (s.ended >= now))
    contracts = s.group_by("customer_id").aggregate(
        contract_running=ibis.ifelse(running, 1, 0).max(),
        contract_cancelled=ibis.ifelse(s.cancelled.notnull(), 1, 0).max(),
        contract_started=s.started.min(),
        contract_ended=s.ended.max(),
    )
    # Contract-only customers (no purchase yet) get a row too.
    return facts.outer_join(contracts, "customer_id").select(
        customer_id=ibis.coalesce(facts.customer_id, contracts.customer_id),
        **{c: facts[c] for c in facts.columns if c != "customer_id"},
        **{c: contracts[c] for c in contracts.columns if c != "customer_id"},
    )


def load_facts(backend: Backend, t: Tables, as_of_local: dt.datetime) -> pd.DataFrame:
    df = backend.execute(customer_facts(t, as_of_local))
    for col in ("first_purchase", "last_purchase", "second_purchase", "previous_purchase",
                "contract_started", "contract_ended"):
        df[col] = pd.to_datetime(df[col])
    for col in ("purchases", "returns", "contract_running", "contract_cancelled"):
        df[col] = df[col].fillna(0).astype(int)
    for col in ("revenue", "purchase_revenue"):
        df[col] = df[col].fillna(0.0).astype(float)
    # RFM applies to purchasing customers only.
    no_purchase = df["purchases"] == 0
    for col in ("r_score", "f_score", "m_score"):
        df[col] = df[col].astype("Int64").mask(no_purchase)
    df["recency_days"] = (as_of_local - df["last_purchase"]).dt.total_seconds() / 86400
    return df.sort_values("customer_id").reset_index(drop=True)
