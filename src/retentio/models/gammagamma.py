"""Gamma-Gamma model of spend per purchase.

References
----------
.. [FHL05b] Fader, P. S., Hardie, B. G. S., Lee, K. L. (2005). RFM and CLV:
   Using Iso-Value Curves for Customer Base Analysis. Journal of Marketing
   Research 42(4), 415–430.
.. [FH13] Fader, P. S., Hardie, B. G. S. (2013). The Gamma-Gamma Model of
   Monetary Value. brucehardie.com/notes/025. Likelihood eq. (4), conditional
   expectation eq. (5).

A customer's purchase amounts are Gamma(p, nu) with nu ~ Gamma(q, gamma)
across customers; the fit uses the mean amount of each customer's repeat
purchases (``monetary_value``) and their number (``frequency``). The model
assumes spend does not depend on purchase frequency; check it with
:func:`frequency_spend_correlation` before relying on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.base import BaseFitter, InsufficientDataError, as_arrays, collapse, fit_mle


class GammaGammaFitter(BaseFitter):
    """Gamma-Gamma spend model [FHL05b]_, [FH13]_.

    Parameters
    ----------
    penalizer, min_customers : as in :class:`BetaGeoFitter`.

    Attributes
    ----------
    params_ : pandas.Series
        ``p, q, gamma``.
    population_mean_ : float or None
        ``p gamma / (q - 1)``; ``None`` when ``q <= 1`` (the mean does not exist).
    fallback_mean_ : float
        Mean observed spend, used in place of the population mean when it
        does not exist (``q <= 1``); :attr:`warnings_` says so.
    """

    _param_names = ("p", "q", "gamma")
    model_name = "Gamma-Gamma"

    def fit(self, data: pd.DataFrame | None = None, *, frequency=None, monetary_value=None, weights=None):
        cols = as_arrays(data, ("frequency", "monetary_value"), frequency=frequency, monetary_value=monetary_value)
        x, m = cols["frequency"], cols["monetary_value"]
        keep = x > 0
        if np.any(keep & (m <= 0)):
            raise RetentioError("monetary_value must be > 0 for customers with repeat purchases")
        w = None if weights is None else np.asarray(weights, dtype=float)[keep]
        x, m = x[keep], m[keep]
        n = float(len(x) if w is None else w.sum())
        if n < self.min_customers:
            raise InsufficientDataError(Msg("Gamma-Gamma: {n} customers with repeat purchases — need at least {min_customers}", n=format(n, '.0f'), min_customers=self.min_customers))
        c = collapse({"x": x, "m": m}, w)
        xs, ms, ws = c.columns["x"], c.columns["m"], c.weights

        def neg_ll(params: np.ndarray) -> float:
            return float(np.dot(ws, self._neg_ll_rows(params, xs, ms)))

        logs = (np.log(xs), np.log(ms))

        def neg_ll_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
            rows, g = self._neg_ll_grad_rows(params, xs, ms, *logs)
            return float(np.dot(ws, rows)), ws @ g

        mean = float(np.average(ms, weights=ws))
        var = float(np.average((ms - mean) ** 2, weights=ws)) or mean**2
        # Moment start: p from the coefficient of variation, q = 3, gamma matching the mean.
        p0 = max(mean**2 / var, 0.5)
        x0 = np.log([p0, 3.0, 2.0 * mean / p0])
        result = fit_mle(neg_ll, x0, c.n_customers, self.penalizer, self._param_names, self.model_name,
                         neg_ll_grad=neg_ll_grad)
        self._store(result, c.n_customers, len(ws))
        p, q, g = self.params_
        self.population_mean_ = float(p * g / (q - 1)) if q > 1 else None
        self.fallback_mean_ = mean
        self.warnings_ = [] if q > 1 else [
            f"Gamma-Gamma: q = {q:.3f} ≤ 1, so the population mean spend does not exist; customers without "
            f"repeat purchases get the observed mean ({mean:.2f}) instead"]
        return self

    @staticmethod
    def _neg_ll_rows(params, x, m):
        p, q, g = params
        px = p * x
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
              + px * np.log(x) + (px - 1) * np.log(m) - (px + q) * np.log(g + m * x))
        return -ll

    @staticmethod
    def _neg_ll_grad_rows(params, x, m, log_x, log_m):
        """Rows of -log L, eq. (4), and of its gradient in (p, q, gamma):
        d/dp = x [psi(px + q) - psi(px) + log x + log m - log(gamma + m x)],
        d/dq = psi(px + q) - psi(q) + log gamma - log(gamma + m x),
        d/dgamma = q / gamma - (px + q) / (gamma + m x)."""
        p, q, g = params
        px = p * x
        log_gmx = np.log(g + m * x)
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
              + px * log_x + (px - 1) * log_m - (px + q) * log_gmx)
        psi_sum = special.digamma(px + q)
        grad = np.empty((len(x), 3))
        grad[:, 0] = x * (psi_sum - special.digamma(px) + log_x + log_m - log_gmx)
        grad[:, 1] = psi_sum - special.digamma(q) + np.log(g) - log_gmx
        grad[:, 2] = q / g - (px + q) / (g + m * x)
        return -ll, -grad

    def conditional_expected_average_profit(self, data=None, *, frequency=None, monetary_value=None) -> np.ndarray:
        """E[M | p, q, gamma, m_x, x] = (gamma + m_x x) p / (p x + q - 1), eq. (5);
        the population mean for customers without repeat purchases."""
        self._check_fitted()
        cols = as_arrays(data, ("frequency", "monetary_value"), frequency=frequency, monetary_value=monetary_value)
        x, m = cols["frequency"], cols["monetary_value"]
        p, q, g = self.params_
        denom = p * x + q - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = (g + m * x) * p / denom
        prior = self.population_mean_ if self.population_mean_ is not None else self.fallback_mean_
        # p x + q <= 1 leaves the posterior mean undefined too: fall back to the customer's own mean.
        fallback = np.where(x > 0, m, prior)
        return np.where((x > 0) & (denom > 0), conditional, fallback)


def frequency_spend_correlation(frequency, monetary_value) -> float:
    """Pearson correlation of frequency and mean spend among repeat buyers; the
    Gamma-Gamma model assumes it is near zero."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    keep = x > 0
    if keep.sum() < 3:
        return float("nan")
    return float(np.corrcoef(x[keep], m[keep])[0, 1])
