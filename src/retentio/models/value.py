"""Customer lifetime value from a transaction model and a spend model.

CLV over a horizon = margin × expected spend per purchase × the expected
purchases of each month, discounted by the month's distance:
``sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d_m) ** k`` with monthly steps
``t_k`` and the monthly rate ``d_m = (1 + d) ** (1/12) - 1`` from the yearly
discount rate ``d`` (the discrete form of [FHL05b] eq. (2)).
"""

from __future__ import annotations

import numpy as np

from retentio.models.transactions import TransactionModel

MONTH_DAYS = 365.25 / 12


def discounted_purchases(model: TransactionModel, rows: dict[str, np.ndarray], horizon_days: float,
                         unit_days: float, discount_rate: float) -> np.ndarray:
    """Discounted expected purchases within ``horizon_days`` for each row."""
    steps = int(np.ceil(horizon_days / MONTH_DAYS - 1e-9))
    monthly = (1 + discount_rate) ** (1 / 12) - 1
    total = np.zeros(len(rows["frequency"]))
    previous = np.zeros_like(total)
    for k in range(1, steps + 1):
        t = min(k * MONTH_DAYS, horizon_days) / unit_days
        cumulative = model.conditional_expected_purchases(t, **rows)
        total += (cumulative - previous) / (1 + monthly) ** k
        previous = cumulative
    return total


def customer_lifetime_value(model: TransactionModel, spend: np.ndarray, rows: dict[str, np.ndarray], *,
                            horizon_days: float, unit_days: float, margin: float = 1.0,
                            discount_rate: float = 0.0) -> np.ndarray:
    return margin * np.asarray(spend, dtype=float) * discounted_purchases(model, rows, horizon_days, unit_days,
                                                                          discount_rate)
