"""Who is active at each period boundary, counted without listing (customer, boundary) pairs.

A customer is active at instant t if they made a purchase in [t − W, t), or
hold a contract running before t: t lies in (placed, placed + W] for some
purchase, or in (started, ended] for some contract. Half-open like the periods
themselves, so a purchase at exactly a boundary (00:00 on the 1st, as every
date-only export has it) is new in the period it opens and not yet active at
its start. Merging those intervals per customer gives disjoint *islands* of
activity. An island covers a contiguous range of boundary indices [lo, hi), so

* active at boundary i  = number of islands with lo <= i < hi
  (+1 at lo, −1 at hi, running sum);
* active at i and i + 1 = islands with lo <= i <= hi − 2, plus customers whose
  next island starts covering exactly where this one stops (at hi).

Each of these is a group-by with at most k + 2 result rows, however many
customers and boundaries there are. Listing the pairs instead (a range join of
purchases with boundaries) produced about 130M rows for weekly periods at 10M
orders.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd

from retentio.analytics.definitions import customer_purchases, periods_between, truncate_period
from retentio.analytics.engine import Backend, Tables

OPEN_END = dt.datetime(2999, 1, 1)  # a running contract without an end date


def activity_islands(t: Tables, window_days: int) -> ibis.Table:
    """(customer_id, start, end): maximal intervals (start, end] of activity."""
    p = customer_purchases(t.orders)
    ts = "timestamp"
    spans = p.select("customer_id", start=p.placed.cast(ts),
                     end=(p.placed + ibis.interval(days=window_days)).cast(ts))
    s = t.subscriptions
    spans = spans.union(s.select("customer_id", start=s.started.cast(ts),
                                 end=ibis.coalesce(s.ended, ibis.literal(OPEN_END, type=ts)).cast(ts)))
    order = [spans.start, spans.end]
    # How far the customer's earlier intervals reach: one window over the rows before this one (a running
    # maximum and then its lag were two sorts of every purchase).
    before = spans.end.max().over(ibis.window(group_by=spans.customer_id, order_by=order, rows=(None, -1)))
    # An interval starting after everything before it has ended opens a new island;
    # touching intervals ((a, b] and (b, c]) are one island.
    flagged = spans.mutate(opens=ibis.ifelse(before.isnull() | (spans.start > before), 1, 0))
    numbered = flagged.mutate(island=flagged.opens.sum().over(
        ibis.cumulative_window(group_by=flagged.customer_id, order_by=[flagged.start, flagged.end])))
    return numbered.group_by(["customer_id", "island"]).aggregate(start=numbered.start.min(), end=numbered.end.max())


def _first_boundary_after(ts: ibis.Value, granularity: str, p0: dt.datetime, last: int) -> ibis.Value:
    """Index of the first period boundary strictly after ``ts`` (the one after the period holding it)."""
    start = truncate_period(ts, granularity)
    idx = periods_between(granularity, start, ibis.literal(p0, type="timestamp")) + 1
    return ibis.greatest(0, ibis.least(last + 1, idx))


def boundary_counts(backend: Backend, t: Tables, points: list[dt.datetime], window_days: int,
                    granularity: str) -> pd.DataFrame:
    """i, active (at boundary i), retained (active at i and at i + 1) for every boundary."""
    last = len(points) - 1
    islands = t.cached(f"islands-{window_days}", lambda: activity_islands(t, window_days))
    # Boundaries b with start < b <= end are covered: from the first after start to the first after end.
    covered = islands.mutate(lo=_first_boundary_after(islands.start, granularity, points[0], last),
                             hi=_first_boundary_after(islands.end, granularity, points[0], last))
    covered = covered.filter(covered.lo < covered.hi)
    covered = covered.mutate(next_lo=covered.lo.lead().over(
        ibis.window(group_by=covered.customer_id, order_by=covered.lo)))
    covered = covered.cache()
    try:
        def counts(table: ibis.Table, key: ibis.Value) -> pd.Series:
            df = backend.execute(table.group_by(k=key).aggregate(n=table.count()))
            return df.set_index("k")["n"]

        long = covered.filter(covered.hi - covered.lo >= 2)
        joined = covered.filter(covered.next_lo == covered.hi)
        parts = {
            "opens": counts(covered, covered.lo), "closes": counts(covered, covered.hi),
            "r_opens": counts(long, long.lo), "r_closes": counts(long, long.hi - 1),
            "bridges": counts(joined, joined.hi - 1),
        }
    finally:
        covered.release()
    size = last + 2
    arr = {k: np.bincount(v.index.to_numpy(dtype="int64"), weights=v.to_numpy(dtype="float64"), minlength=size)
           if len(v) else np.zeros(size) for k, v in parts.items()}
    active = np.cumsum(arr["opens"] - arr["closes"])[: last + 1]
    retained = (np.cumsum(arr["r_opens"] - arr["r_closes"]) + arr["bridges"])[: last + 1]
    return pd.DataFrame({"i": np.arange(last + 1), "active": active.astype(int), "retained": retained.astype(int)})
