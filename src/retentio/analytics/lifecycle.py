"""Lifecycle status and recovery track per customer.

Each customer is measured against their expected repurchase interval I: their
own mean gap between purchases when they have at least three purchases, the
shop's typical gap (median over repeat buyers) otherwise. With d = days since
the last purchase and the multipliers below (shop settings):

====================  =======================================================
new                   one purchase, d <= active × I
active                d <= active × I
reactivated           d <= active × I after a gap longer than inactive × I
at_risk               active × I < d <= at_risk × I
inactive              at_risk × I < d <= inactive × I
churned               d > inactive × I
====================  =======================================================

A running contract makes a customer active; a cancelled contract still running
puts them at risk, and an ended cancelled contract without later purchases
means churned. Recovery tracks (docs/segments.md): ``cancelled_contract``,
``inactive`` (revitalise) and ``behavioural_churn`` (win back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STATUSES = ["new", "active", "reactivated", "at_risk", "inactive", "churned"]
TRACKS = ["cancelled_contract", "inactive", "behavioural_churn"]


@dataclass(frozen=True)
class Thresholds:
    active: float = 1.5
    at_risk: float = 2.5
    inactive: float = 4.0


def typical_interval(facts: pd.DataFrame, fallback_days: float) -> float:
    repeat = facts[facts["purchases"] >= 2]
    gaps = (repeat["last_purchase"] - repeat["first_purchase"]).dt.total_seconds() / 86400 / (repeat["purchases"] - 1)
    gaps = gaps[gaps > 0]
    return float(gaps.median()) if len(gaps) else float(fallback_days)


def classify(facts: pd.DataFrame, shop_interval: float, th: Thresholds = Thresholds()) -> pd.DataFrame:
    own = facts["own_interval"].astype("float64")
    use_own = own.notna() & (own > 0)
    interval = own.where(use_own, shop_interval).clip(lower=1.0)
    d = facts["recency_days"].astype("float64").to_numpy()
    i = interval.to_numpy()
    gap_before_last = ((facts["last_purchase"] - facts["previous_purchase"]).dt.total_seconds() / 86400).to_numpy()
    n = facts["purchases"].to_numpy()
    recent = d <= th.active * i
    status = np.select(
        [recent & (n == 1), recent & (gap_before_last > th.inactive * i), recent,
         d <= th.at_risk * i, d <= th.inactive * i, n > 0],
        ["new", "reactivated", "active", "at_risk", "inactive", "churned"], default="churned")
    status = pd.Series(status, index=facts.index, dtype=object)

    running = facts["contract_running"].to_numpy() == 1
    cancelled = facts["contract_cancelled"].to_numpy() == 1
    has_contract = facts["contract_started"].notna().to_numpy()
    ended = has_contract & ~running
    last_buy = facts["last_purchase"]
    bought_after_end = (last_buy > facts["contract_ended"]).fillna(False).to_numpy() & recent
    status = status.mask(running & ~cancelled & ~status.isin(["new", "reactivated"]).to_numpy(), "active")
    status = status.mask(running & cancelled, "at_risk")
    status = status.mask(ended & cancelled & ~bought_after_end, "churned")
    status = status.mask(has_contract & (n == 0) & running & ~cancelled, "active")

    track = pd.Series(None, index=facts.index, dtype=object)
    track = track.mask(status == "inactive", "inactive")
    track = track.mask(status == "churned", "behavioural_churn")
    track = track.mask(cancelled & ~bought_after_end & status.isin(["at_risk", "churned"]).to_numpy(),
                       "cancelled_contract")
    return pd.DataFrame({
        "lifecycle": status, "recovery_track": track,
        "expected_interval_days": interval, "interval_source": np.where(use_own, "own", "shop"),
    })
