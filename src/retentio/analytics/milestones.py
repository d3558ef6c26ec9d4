"""Each customer's milestones: first purchase, second purchase, first seen.

KPIs (N, repeat-purchase rate) and cohorts need them for every period length;
they are computed once per refresh and cached in the engine (a temporary table
on DuckDB and PostgreSQL, a cached DataFrame on Spark) instead of re-running
the window over all purchases for each granularity.
"""

from __future__ import annotations

import ibis

from retentio.analytics.definitions import customer_purchases


def customer_milestones(orders: ibis.Table, subscriptions: ibis.Table) -> ibis.Table:
    """customer_id, first_purchase, second_purchase, first_seen (purchase or contract start)."""
    p = customer_purchases(orders)
    w = ibis.window(group_by=p.customer_id, order_by=[p.placed, p.order_id])
    ranked = p.mutate(rn=ibis.row_number().over(w))
    early = ranked.filter(ranked.rn < 2)
    buys = early.group_by("customer_id").aggregate(
        first_purchase=early.placed.min(), second_purchase=early.placed.max(where=early.rn == 1))
    s = subscriptions
    contracts = s.group_by("customer_id").aggregate(first_contract=s.started.min())
    j = buys.outer_join(contracts, "customer_id")
    fp, fc = j.first_purchase, j.first_contract
    return j.select(
        customer_id=ibis.coalesce(j.customer_id, j.customer_id_right),
        first_purchase=fp, second_purchase=j.second_purchase,
        first_seen=ibis.least(ibis.coalesce(fp, fc), ibis.coalesce(fc, fp)),
    )
