"""Scoring every customer with a fitted transaction model and spend model.

The work is done once per distinct (x, t_x, T) row: at daily resolution many
customers share a row (everyone without a repeat purchase who started on the
same day), and all predictions depend on nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retentio.models.base import collapse
from retentio.models.transactions import TransactionModel
from retentio.models.value import discounted_purchases

FIT_SAMPLE = 200_000  # docs/models.md, "Sampling": what a larger fit would add, measured


def fit_rows(summary: pd.DataFrame, limit: int = FIT_SAMPLE, seed: int = 0) -> pd.DataFrame:
    """The rows a model is fitted on: everyone, or a random sample of ``limit``
    customers (the estimates' standard errors then reflect the sample)."""
    return summary if len(summary) <= limit else summary.sample(n=limit, random_state=seed)


def score(model: TransactionModel, spend: np.ndarray, summary: pd.DataFrame, *, unit_days: float,
          horizon_days: float, churn_days: float, margin: float, discount_rate: float,
          intervals: bool = True) -> pd.DataFrame:
    """Per customer (rows of ``summary``): P(alive), expected purchases, P(no purchase
    within ``churn_days``), CLV and the median wait to the next purchase in days,
    with parameter-uncertainty intervals (delta method) unless ``intervals`` is off."""
    c = collapse({k: summary[k].to_numpy(dtype=float) for k in ("frequency", "recency", "T")})
    rows, pos = c.columns, c.inverse
    horizon = horizon_days / unit_days
    alive = model.conditional_probability_alive(**rows)[pos]
    expected = model.conditional_expected_purchases(horizon, **rows)[pos]
    p_none = model.conditional_probability_of_purchases(churn_days / unit_days, 0, **rows)[pos]
    wait = model.median_time_to_next_purchase(**rows)[pos] * unit_days
    clv = margin * np.asarray(spend, dtype=float) * discounted_purchases(
        model, rows, horizon_days, unit_days, discount_rate)[pos]
    out = pd.DataFrame({"p_alive": alive, "expected_purchases": expected, "p_no_purchase": p_none,
                        "expected_spend": spend, "clv": clv, "next_purchase_in_days": wait})
    if intervals:
        band = model.intervals(horizon, **rows)
        # Discounting is nearly proportional to the purchase count, so the CLV interval scales along.
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.where(expected > 0, band["expected_low"][pos] / expected, 1.0)
            hi = np.where(expected > 0, band["expected_high"][pos] / expected, 1.0)
        out = out.assign(p_alive_low=band["p_alive_low"][pos], p_alive_high=band["p_alive_high"][pos],
                         expected_purchases_low=band["expected_low"][pos],
                         expected_purchases_high=band["expected_high"][pos], clv_low=clv * lo, clv_high=clv * hi)
    return out
