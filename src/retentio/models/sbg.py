"""Shifted-beta-geometric model for contractual businesses.

References
----------
.. [FH07] Fader, P. S., Hardie, B. G. S. (2007). How to Project Customer
   Retention. Journal of Interactive Marketing 21(1), 76–90. P(T = t) eq. (5),
   S(t) eq. (6), retention rate eq. (8), likelihood eq. (B1).
.. [FH10] Fader, P. S., Hardie, B. G. S. (2010). Customer-Base Valuation in a
   Contractual Setting: The Perils of Ignoring Heterogeneity. Marketing
   Science 29(1), 85–93 (discounted expected residual lifetime).

Each contract renews at the end of every period with its own probability
``1 - theta``; ``theta ~ Beta(alpha, beta)`` across customers. Fit either on a
cohort's survivor counts (``fit_cohort``) or on individual contracts
(``fit``: periods survived and whether the contract has ended).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.base import BaseFitter, InsufficientDataError, collapse, fit_mle


def _contracts(periods, churned, weights, min_customers: int, min_churned: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The contract models' input checked: periods, ended (0/1) and weights as float arrays."""
    t = np.asarray(periods, dtype=float)
    c = np.asarray(churned, dtype=float)
    if len(t) != len(c):
        raise RetentioError("periods and churned have different lengths")
    if np.any(t < 0) or np.any(t != np.round(t)) or np.any((c > 0) & (t < 1)):
        raise RetentioError("periods must be whole numbers, ≥ 1 for ended contracts")
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    if w.sum() < min_customers or float(np.dot(w, c > 0)) < min_churned:
        raise InsufficientDataError(Msg("sBG: {value} contracts, {value2} ended — need at least {min_customers} and {min_churned}", value=format(w.sum(), '.0f'), value2=format(np.dot(w, c > 0), '.0f'), min_customers=min_customers, min_churned=min_churned))
    return t, c, w


class ShiftedBetaGeometricFitter(BaseFitter):
    """sBG contract-retention model [FH07]_.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha, beta``.
    """

    _param_names = ("alpha", "beta")
    model_name = "sBG"

    def __init__(self, penalizer: float = 0.0, min_customers: int = 30, min_churned: int = 5) -> None:
        super().__init__(penalizer=penalizer, min_customers=min_customers, min_repeaters=0)
        self.min_churned = min_churned

    @staticmethod
    def _ll_rows(params, periods, churned):
        a, b = params
        log_b = special.betaln(a, b)
        t = np.maximum(periods, 1.0)
        died = special.betaln(a + 1, b + t - 1) - log_b  # P(T = t), eq. (5)
        survived = special.betaln(a, b + periods) - log_b  # S(t), eq. (6)
        return np.where(churned > 0, died, survived)

    def fit(self, periods, churned, weights=None):
        """``periods``: renewal periods each contract has completed (for an
        ended contract, the period in which it ended, ≥ 1); ``churned``: 1 if
        it has ended, 0 if still running (right-censored)."""
        t, c, w = _contracts(periods, churned, weights, self.min_customers, self.min_churned)
        col = collapse({"t": t, "c": c}, w)
        ts, cs, ws = col.columns["t"], col.columns["c"], col.weights

        def neg_ll(params: np.ndarray) -> float:
            return -float(np.dot(ws, self._ll_rows(params, ts, cs)))

        result = fit_mle(neg_ll, np.zeros(2), col.n_customers, self.penalizer, self._param_names, self.model_name)
        self._store(result, col.n_customers, len(ws))
        return self

    def fit_cohort(self, survivors):
        """Fit on one cohort's counts still active at the start and after each period
        (e.g. ``[1000, 869, 743, ...]``)."""
        n = np.asarray(survivors, dtype=float)
        if n.ndim != 1 or len(n) < 2 or np.any(np.diff(n) > 0) or np.any(n < 0):
            raise RetentioError("survivors must be a non-increasing list of counts, starting with the cohort size")
        lost = -np.diff(n)
        periods = np.concatenate([np.arange(1, len(n)), [len(n) - 1]])
        churned = np.concatenate([np.ones(len(lost)), [0.0]])
        return self.fit(periods, churned, weights=np.concatenate([lost, [n[-1]]]))

    def survival(self, t) -> np.ndarray:
        """S(t): share of a new cohort still active after ``t`` periods."""
        self._check_fitted()
        a, b = self.params_
        t = np.asarray(t, dtype=float)
        return np.exp(special.betaln(a, b + t) - special.betaln(a, b))

    def retention_rate(self, t) -> np.ndarray:
        """r(t) = (beta + t - 1) / (alpha + beta + t - 1): share of those active in t-1 who renew in t."""
        self._check_fitted()
        a, b = self.params_
        t = np.asarray(t, dtype=float)
        return (b + t - 1) / (a + b + t - 1)

    def renewal_probability(self, periods) -> np.ndarray:
        """P(a contract that has survived ``periods`` renewals renews once more) = (beta + n) / (alpha + beta + n)."""
        self._check_fitted()
        a, b = self.params_
        n = np.asarray(periods, dtype=float)
        return (b + n) / (a + b + n)

    def expected_payments(self, periods, horizon: int, discount_rate: float = 0.0) -> np.ndarray:
        """Discounted expected number of further periods paid within ``horizon`` periods,
        for contracts active after ``periods`` renewals ([FH10]'s DERL, truncated at the horizon)."""
        self._check_fitted()
        a, b = self.params_
        n = np.asarray(periods, dtype=float)
        total = np.zeros_like(n)
        survive = np.ones_like(n)
        for k in range(1, int(horizon) + 1):
            survive = survive * (b + n + k - 1) / (a + b + n + k - 1)
            total += survive / (1 + discount_rate) ** k
        return total


class GeometricContractFitter(BaseFitter):
    """The sBG's limit when every contract ends with the same probability ``p`` per period
    (``alpha, beta -> infinity`` with ``alpha / (alpha + beta) = p``): the geometric model.

    Where the contracts show no difference in churn rates between customers, the sBG's two parameters
    run off to infinity together and the fit is refused as unidentified; this is the model the data point
    to. Maximum likelihood in closed form: with ``C`` ended contracts and ``sum(t)`` periods at risk (an
    ended contract is at risk in the period it ends in), ``L(p) = p**C (1 - p)**(sum(t) - C)`` and
    ``p = C / sum(t)`` ([FH07]_, eq. (5) and (6) with a single ``theta``).

    Attributes
    ----------
    params_ : pandas.Series
        ``churn_rate``.
    """

    _param_names = ("churn_rate",)
    model_name = "geometric"

    def __init__(self, min_customers: int = 30, min_churned: int = 5) -> None:
        super().__init__(min_customers=min_customers, min_repeaters=0)
        self.min_churned = min_churned

    def fit(self, periods, churned, weights=None):
        """The same input as :meth:`ShiftedBetaGeometricFitter.fit`."""
        t, c, w = _contracts(periods, churned, weights, self.min_customers, self.min_churned)
        ended, exposure = float(np.dot(w, c > 0)), float(np.dot(w, t))
        p = ended / exposure
        at_one = p >= 1  # every contract ended in its first period: p = 1 exactly
        ll = 0.0 if at_one else ended * np.log(p) + (exposure - ended) * np.log1p(-p)
        var = 0.0 if at_one else 1 / (ended / p**2 + (exposure - ended) / (1 - p) ** 2)
        self._store({"params": np.array([p]), "se": np.array([np.sqrt(var)]), "cov": np.array([[var]]),
                     "log_likelihood": float(ll), "converged": True}, float(w.sum()), len(t))
        return self

    @property
    def p_(self) -> float:
        self._check_fitted()
        return float(self.params_["churn_rate"])

    def survival(self, t) -> np.ndarray:
        """S(t) = (1 - p)**t."""
        return (1 - self.p_) ** np.asarray(t, dtype=float)

    def retention_rate(self, t) -> np.ndarray:
        """The same in every period: 1 - p."""
        return np.full(np.shape(t), 1 - self.p_)

    def renewal_probability(self, periods) -> np.ndarray:
        """1 - p, whatever the tenure: nothing is learnt about a contract from its survival."""
        return np.full(np.shape(periods), 1 - self.p_)

    def expected_payments(self, periods, horizon: int, discount_rate: float = 0.0) -> np.ndarray:
        """Discounted expected further periods paid within ``horizon``: sum of ((1 - p) / (1 + d))**k."""
        k = np.arange(1, int(horizon) + 1)
        return np.full(np.shape(periods), float(np.sum(((1 - self.p_) / (1 + discount_rate)) ** k)))


def runs_off_together(estimates: dict[str, float] | None) -> bool:
    """Whether an unidentified sBG fit stopped on the way to the geometric limit: alpha and beta both
    large (their sum, the Beta's precision, at least 100: a spread of churn rates below
    sqrt(p (1 - p) / 101) that the data could not tell from none), not on the way to 0."""
    if not estimates or not {"alpha", "beta"} <= set(estimates):
        return False
    a, b = estimates["alpha"], estimates["beta"]
    return a >= 1 and b >= 1 and a + b >= 100
