"""The rules a shop would use without a model, written so that they can be backtested like one.

A customer is taken as still buying while the time since their last purchase
day is at most ``overdue`` × their interval (their own mean gap between
purchase days from three purchase days on, the shop's typical gap otherwise;
the lifecycle's "at risk" threshold, docs/segments.md). While buying, their
rate is

    (x + 1) / (T + I)

purchase days per time unit: their purchase days over their time as a
customer, with the shop's typical interval ``I`` added as one pseudo-purchase
of prior experience. Rates therefore come from purchase days, never from
orders minutes apart, and a customer two days old does not extrapolate three
orders into a thousand a year. Expected purchases over ``t`` are
``rate × t`` (0 once overdue); the chance of none is ``exp(-rate × t)``.

It has no likelihood and no P(alive): those columns stay empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retentio.models.base import InsufficientDataError, as_arrays
from retentio.models.transactions import RFM, TransactionModel

DEFAULT_OVERDUE = 2.5


class RulesModel(TransactionModel):
    """Rate-and-recency rules with the transaction models' interface (see the module docstring).

    Parameters
    ----------
    overdue : float
        Times the customer's interval after which they count as no longer buying.
    fallback_interval : float
        The typical interval (in time units) when nobody has a repeat purchase.
    """

    _param_names = ("typical_interval",)
    model_name = "Rules"

    def __init__(self, penalizer: float = 0.0, overdue: float = DEFAULT_OVERDUE, fallback_interval: float = 52.0,
                 **kw) -> None:
        super().__init__(penalizer=penalizer)
        self.overdue = overdue
        self.fallback_interval = fallback_interval

    def fit(self, data: pd.DataFrame | None = None, *, frequency=None, recency=None, T=None, weights=None):
        cols = as_arrays(data, RFM, frequency=frequency, recency=recency, T=T)
        x, tx = cols["frequency"], cols["recency"]
        if len(x) == 0:
            raise InsufficientDataError("Rules: no customer with a purchase")
        gaps = tx[x > 0] / x[x > 0]
        gaps = gaps[gaps > 0]
        typical = float(np.median(gaps)) if len(gaps) else float(self.fallback_interval)
        self.params_ = pd.Series([typical], index=list(self._param_names), name="estimate")
        self.standard_errors_ = pd.Series([np.nan], index=list(self._param_names), name="se")
        self.covariance_ = pd.DataFrame([[np.nan]], index=list(self._param_names), columns=list(self._param_names))
        self.log_likelihood_ = float("nan")
        self.n_customers_ = float(len(x))
        self.n_rows_ = len(x)
        self.converged_ = True
        return self

    def _state(self, p, x, tx, T):
        typical = max(float(p[0]), 1e-6)
        own = np.where(x >= 2, tx / np.maximum(x, 1), typical)
        buying = (T - tx) <= self.overdue * np.maximum(own, typical / 10)
        rate = (x + 1) / (T + typical)
        return buying, rate, own

    def _p_alive(self, p, x, tx, T):
        return np.full(len(x), np.nan)

    def _expected(self, p, t, x, tx, T):
        buying, rate, _ = self._state(p, x, tx, T)
        return np.where(buying, rate * t, 0.0)

    def _p_n(self, p, t, n, x, tx, T):
        buying, rate, _ = self._state(p, x, tx, T)
        poisson = np.exp(-rate * t + n * np.log(np.maximum(rate * t, 1e-300)) - np.sum(np.log(np.arange(1, n + 1))))
        return np.where(buying, poisson, 1.0 if n == 0 else 0.0)

    def _unconditional(self, p, t):
        return np.asarray(t, dtype=float) / max(float(p[0]), 1e-6)

    def median_time_to_next_purchase(self, data=None, *, frequency=None, recency=None, T=None) -> np.ndarray:
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        buying, _, own = self._state(self.params_.to_numpy(), x, tx, TT)
        return np.where(buying, np.maximum(own - (TT - tx), 0.0), np.nan)

    def intervals(self, t: float, data=None, *, frequency=None, recency=None, T=None,
                  level: float = 0.9) -> dict[str, np.ndarray]:
        """Rules have no parameter uncertainty to speak of: no intervals."""
        x, _, _ = self._rfm(data, frequency, recency, T)
        nan = np.full(len(x), np.nan)
        return {"p_alive_low": nan, "p_alive_high": nan, "expected_low": nan, "expected_high": nan}
