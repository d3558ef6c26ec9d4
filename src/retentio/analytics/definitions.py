"""The shared definitions every metric builds on (see docs/definitions.md).

* A *purchase* is an order with status ``placed`` and a positive net total,
  or with an unknown amount (a count-only import).
* *Net revenue* counts placed orders plus every negative amount (returns,
  cancellation records such as UCI's ``C`` invoices); a cancelled or returned
  order with a positive total contributes nothing, because it did not happen.
* Guest orders (no customer) count in revenue and order metrics, never in
  customer metrics.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

DAY = 86400.0


def is_purchase(orders: ibis.Table) -> ibis.Value:
    return (orders.status == "placed") & ((orders.net_total > 0) | orders.net_total.isnull())


def purchases(orders: ibis.Table) -> ibis.Table:
    return orders.filter(is_purchase(orders))


def customer_purchases(orders: ibis.Table) -> ibis.Table:
    p = purchases(orders)
    return p.filter(p.customer_id.notnull())


def is_return(orders: ibis.Table) -> ibis.Value:
    """A return or cancellation: an order not (or no longer) placed, or a negative amount."""
    return (orders.status != "placed") | (orders.net_total < 0)


def revenue(orders: ibis.Table) -> ibis.Value:
    return ibis.ifelse((orders.status == "placed") | (orders.net_total < 0), orders.net_total, 0.0)


def money_sum(value: ibis.Value, where: ibis.Value | None = None) -> ibis.Value:
    """A sum of amounts, rounded to the cent. A parallel engine adds floats in an order that changes from
    run to run, and the last bits with it: 1e-13 on a third of 1M customers at 10M orders, enough to grow
    different churn trees from the same data. Amounts are stored to the cent, so the rounded sum is the
    exact one, the same in every run and on every engine."""
    return value.sum(where=where).round(2)


def days_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    # epoch_seconds compiles on DuckDB, PostgreSQL and Spark alike; interval
    # subtraction does not.
    return (later.epoch_seconds() - earlier.epoch_seconds()).cast("float64") / DAY


PERIOD_UNIT = {"week": "W", "month": "M", "quarter": "Q"}


def truncate_period(ts: ibis.Value, granularity: str) -> ibis.Value:
    """The start of the week (Monday), month or quarter holding ``ts``, in the engine."""
    if granularity == "quarter":
        # Not every backend truncates to quarters: build the quarter's first month.
        month = ((ts.month() - 1) // 3) * 3 + 1
        return ibis.date(ts.year(), month, 1).cast("timestamp")
    return ts.truncate(PERIOD_UNIT[granularity])


def periods_between(g: str, start: ibis.Value, origin: ibis.Value) -> ibis.Value:
    """Whole periods from one period start to another, in the engine."""
    if g == "week":
        return ((start.epoch_seconds() - origin.epoch_seconds()) / (7 * 86400)).round().cast("int64")
    if g == "month":
        return (start.year() * 12 + start.month() - (origin.year() * 12 + origin.month())).cast("int64")
    return (start.year() * 4 + start.quarter() - (origin.year() * 4 + origin.quarter())).cast("int64")


def period_start(ts: dt.datetime, granularity: str) -> dt.datetime:
    d = ts.date()
    if granularity == "week":
        d = d - dt.timedelta(days=d.weekday())
    elif granularity == "month":
        d = d.replace(day=1)
    elif granularity == "quarter":
        d = d.replace(month=3 * ((d.month - 1) // 3) + 1, day=1)
    else:
        raise ValueError(f"unknown period {granularity!r}; choose week, month or quarter")
    return dt.datetime.combine(d, dt.time())


def next_period(start: dt.datetime, granularity: str) -> dt.datetime:
    if granularity == "week":
        return start + dt.timedelta(days=7)
    months = 1 if granularity == "month" else 3
    m = start.month - 1 + months
    return start.replace(year=start.year + m // 12, month=m % 12 + 1)


def boundaries(first: dt.datetime, as_of: dt.datetime, granularity: str) -> list[dt.datetime]:
    """Period starts p0 < ... < pk: p0 holds the first order, pk <= as_of.

    Periods [p_i, p_{i+1}) for i < k are complete; the running period is left
    out because its end state is not known yet.
    """
    out = [period_start(first, granularity)]
    while True:
        nxt = next_period(out[-1], granularity)
        if nxt > as_of:
            return out
        out.append(nxt)


def periods_frame(points: list[dt.datetime]) -> pd.DataFrame:
    return pd.DataFrame({
        "i": pd.Series(range(len(points) - 1), dtype="int64"),
        "a": pd.Series(points[:-1], dtype="datetime64[us]"),
        "b": pd.Series(points[1:], dtype="datetime64[us]"),
    })
