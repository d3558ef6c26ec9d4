"""The common interface of the transaction models (BG/NBD, MBG/NBD, Pareto/NBD).

Subclasses provide the per-row log-likelihood and the conditional
quantities; fitting, collapsing, scoring in chunks and parameter-uncertainty
intervals are shared here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from retentio.i18n import Msg
from retentio.models.base import BaseFitter, InsufficientDataError, as_arrays, check_rfm, collapse, fit_mle

RFM = ("frequency", "recency", "T")
CHUNK = 50_000  # rows per block: quadrature temporaries are rows × nodes


class TransactionModel(BaseFitter):
    """Fit on ``frequency`` (repeat purchases), ``recency`` (first to last
    purchase) and ``T`` (first purchase to calibration end), all in one time
    unit (days or weeks; the unit of the fit is the unit of every horizon)."""

    def _neg_ll_rows(self, params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                     xu: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Per-row negative log-likelihood; ``xu`` = (distinct x, row index), precomputed by fit."""
        raise NotImplementedError

    def _prepare(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
        """What the likelihood can share across rows, computed once per fit."""
        return np.unique(x, return_inverse=True)

    def _x0(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        # Start where the purchase rate matches the data: r = 1, alpha = mean T / mean rate.
        rate = max(float(np.average(x, weights=w)), 1e-3)
        alpha = max(float(np.average(T, weights=w)) / rate, 1e-2)
        return np.log(np.array([1.0, alpha] + [1.0] * (len(self._param_names) - 2)))

    def fit(self, data: pd.DataFrame | None = None, *, frequency=None, recency=None, T=None, weights=None):
        cols = as_arrays(data, RFM, frequency=frequency, recency=recency, T=T)
        x, tx, TT = cols["frequency"], cols["recency"], cols["T"]
        check_rfm(x, tx, TT)
        w = None if weights is None else np.asarray(weights, dtype=float)
        n = float(len(x) if w is None else w.sum())
        repeaters = float(np.sum((x > 0) * (1.0 if w is None else w)))
        if n < self.min_customers or repeaters < self.min_repeaters:
            raise InsufficientDataError(
                Msg("{model_name}: {n} customers, {repeaters} with a repeat purchase — need at least {min_customers} and {min_repeaters}", model_name=self.model_name, n=format(n, '.0f'), repeaters=format(repeaters, '.0f'), min_customers=self.min_customers, min_repeaters=self.min_repeaters))
        c = collapse({"x": x, "tx": tx, "T": TT}, w)
        xs, txs, Ts, ws = c.columns["x"], c.columns["tx"], c.columns["T"], c.weights

        xu = self._prepare(xs, txs, Ts)

        def neg_ll(params: np.ndarray) -> float:
            return float(np.dot(ws, self._neg_ll_rows(params, xs, txs, Ts, xu)))

        grad = None
        if hasattr(self, "_neg_ll_grad_rows"):
            def grad(params: np.ndarray) -> tuple[float, np.ndarray]:
                rows, g = self._neg_ll_grad_rows(params, xs, txs, Ts, xu)
                return float(np.dot(ws, rows)), ws @ g

        result = fit_mle(neg_ll, self._x0(xs, txs, Ts, ws), c.n_customers, self.penalizer,
                         self._param_names, self.model_name, neg_ll_grad=grad)
        self._store(result, c.n_customers, len(ws))
        return self

    def log_likelihood_rows(self, data=None, *, frequency=None, recency=None, T=None) -> np.ndarray:
        self._check_fitted()
        cols = as_arrays(data, RFM, frequency=frequency, recency=recency, T=T)
        return -self._neg_ll_rows(self.params_.to_numpy(), cols["frequency"], cols["recency"], cols["T"])

    # --- predictions, implemented per model on arrays --------------------
    def _p_alive(self, p, x, tx, T):
        raise NotImplementedError

    def _expected(self, p, t, x, tx, T):
        raise NotImplementedError

    def _p_n(self, p, t, n, x, tx, T):
        raise NotImplementedError

    def _unconditional(self, p, t):
        raise NotImplementedError

    def _rfm(self, data, frequency, recency, T):
        cols = as_arrays(data, RFM, frequency=frequency, recency=recency, T=T)
        check_rfm(cols["frequency"], cols["recency"], cols["T"])
        return cols["frequency"], cols["recency"], cols["T"]

    def conditional_probability_alive(self, data=None, *, frequency=None, recency=None, T=None) -> np.ndarray:
        """P(the customer is still active at the calibration end | x, t_x, T)."""
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        return self._chunked(lambda s: self._p_alive(self.params_.to_numpy(), x[s], tx[s], TT[s]), len(x))

    def conditional_expected_purchases(self, t: float, data=None, *, frequency=None, recency=None,
                                       T=None) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units."""
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        return self._chunked(lambda s: self._expected(self.params_.to_numpy(), t, x[s], tx[s], TT[s]), len(x))

    def conditional_probability_of_purchases(self, t: float, n: int, data=None, *, frequency=None,
                                             recency=None, T=None) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): exactly ``n`` purchases in the next ``t`` units."""
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        return self._chunked(lambda s: self._p_n(self.params_.to_numpy(), t, int(n), x[s], tx[s], TT[s]), len(x))

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] for a customer just acquired (time 0 = first purchase; repeat purchases)."""
        self._check_fitted()
        return self._unconditional(self.params_.to_numpy(), np.atleast_1d(np.asarray(t, dtype=float)))

    def median_time_to_next_purchase(self, data=None, *, frequency=None, recency=None, T=None) -> np.ndarray:
        """Median wait from the calibration end to the next purchase, for a customer
        who is still active and keeps buying at the posterior rate Gamma(r + x, alpha + T)."""
        self._check_fitted()
        x, _, TT = self._rfm(data, frequency, recency, T)
        r, alpha = self.params_.iloc[0], self.params_.iloc[1]
        return (alpha + TT) * np.expm1(np.log(2.0) / (r + x))

    def intervals(self, t: float, data=None, *, frequency=None, recency=None, T=None,
                  level: float = 0.9) -> dict[str, np.ndarray]:
        """Parameter-uncertainty intervals of P(alive) and E[Y(t)] by the delta method.

        Both are differentiated numerically (central differences, step 1e-4 on
        the log-parameters) on a scale where the normal approximation holds
        and the interval stays in range — logit for P(alive), log for E[Y(t)] —
        and the variance is g' Σ g with Σ the log-parameter covariance. Eight
        evaluations per row instead of the dozens a parameter bootstrap needs.
        """
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        p0 = self.params_.to_numpy()
        cov_log = self.covariance_.to_numpy() / np.outer(p0, p0)
        z = special.ndtri(1 - (1 - level) / 2)
        eps = 1e-12

        def transformed(p, s):
            alive = np.clip(self._p_alive(p, x[s], tx[s], TT[s]), eps, 1 - eps)
            exp = np.maximum(self._expected(p, t, x[s], tx[s], TT[s]), 1e-300)
            return special.logit(alive), np.log(exp)

        def chunk(s):
            base_a, base_e = transformed(p0, s)
            ga, ge = [], []
            for e in np.eye(len(p0)) * 1e-4:
                up_a, up_e = transformed(p0 * np.exp(e), s)
                dn_a, dn_e = transformed(p0 * np.exp(-e), s)
                ga.append((up_a - dn_a) / 2e-4)
                ge.append((up_e - dn_e) / 2e-4)
            ga, ge = np.array(ga), np.array(ge)
            sd_a = np.sqrt(np.maximum(np.einsum("in,ij,jn->n", ga, cov_log, ga), 0.0))
            sd_e = np.sqrt(np.maximum(np.einsum("in,ij,jn->n", ge, cov_log, ge), 0.0))
            # An all-NaN covariance (unidentified) gives no interval rather than a false one.
            return np.stack([special.expit(base_a - z * sd_a), special.expit(base_a + z * sd_a),
                             np.exp(base_e - z * sd_e), np.exp(base_e + z * sd_e)])

        n = len(x)
        parts = [chunk(slice(i, min(i + CHUNK, n))) for i in range(0, max(n, 1), CHUNK)] if n else [np.zeros((4, 0))]
        out = np.concatenate(parts, axis=1)
        return {"p_alive_low": out[0], "p_alive_high": out[1], "expected_low": out[2], "expected_high": out[3]}

    @staticmethod
    def _chunked(fn, n: int) -> np.ndarray:
        if n <= CHUNK:
            return np.asarray(fn(slice(0, n)), dtype=float)
        return np.concatenate([np.asarray(fn(slice(i, min(i + CHUNK, n))), dtype=float) for i in range(0, n, CHUNK)])
