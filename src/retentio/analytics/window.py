"""The activity window W: how long after a purchase a customer counts as active.

Set per shop or per call; otherwise derived from the shop's own repurchase
cycle: the 90th percentile of the gaps between a customer's consecutive
purchase days, so that nine in ten regular repurchases happen inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from retentio.analytics.definitions import customer_purchases, days_between
from retentio.i18n import Msg

QUANTILE = 0.9
MIN_DAYS, MAX_DAYS, FALLBACK_DAYS = 7, 730, 365


@dataclass
class WindowChoice:
    days: int
    source: str  # "call" | "shop" | "derived" | "fallback"
    gaps_observed: int = 0


def gap_histogram(orders: ibis.Table) -> ibis.Table:
    """Counts of whole-day gaps between consecutive purchase days per customer."""
    p = customer_purchases(orders)
    days = p.select(p.customer_id, day=p.placed.truncate("D")).distinct()
    w = ibis.window(group_by=days.customer_id, order_by=days.day)
    gaps = days.mutate(gap=days_between(days.day, days.day.lag().over(w)).round().cast("int64"))
    gaps = gaps.filter(gaps.gap.notnull())
    return gaps.group_by("gap").aggregate(n=gaps.count())


def quantile_from_histogram(hist: pd.DataFrame, q: float) -> float | None:
    if hist.empty:
        return None
    h = hist.sort_values("gap")
    cum = np.cumsum(h["n"].to_numpy())
    k = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(h["gap"].to_numpy()[min(k, len(h) - 1)])


def choose_window(hist: pd.DataFrame, call_days: int | None, shop_days: int | None) -> WindowChoice:
    n = int(hist["n"].sum()) if not hist.empty else 0
    if call_days:
        return WindowChoice(int(call_days), "call", n)
    if shop_days:
        return WindowChoice(int(shop_days), "shop", n)
    q = quantile_from_histogram(hist, QUANTILE)
    if q is None or n < 20:
        return WindowChoice(FALLBACK_DAYS, "fallback", n)
    return WindowChoice(int(min(MAX_DAYS, max(MIN_DAYS, math.ceil(q)))), "derived", n)


def span_warning(span_days: float, window_days: int) -> Msg | None:
    if span_days < 2 * window_days:
        return Msg("data span ({span} days) is shorter than twice the activity window ({window} days): few "
                   "customers can be seen leaving, so retention and churn rates say little. Use a shorter "
                   "--active-window or more history.", span=round(span_days), window=window_days)
    return None
