"""The common interface of the transaction models (BG/NBD, MBG/NBD, Pareto/NBD).

Subclasses provide the per-row log-likelihood and the conditional
quantities; fitting, collapsing, scoring in chunks and parameter-uncertainty
intervals are shared here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retentio.models.base import BaseFitter, InsufficientDataError, as_arrays, check_rfm, collapse, fit_mle

RFM = ("frequency", "recency", "T")
CHUNK = 250_000


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
                f"{self.model_name}: {n:.0f} customers, {repeaters:.0f} with a repeat purchase — "
                f"need at least {self.min_customers} and {self.min_repeaters}")
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

    def intervals(self, t: float, data=None, *, frequency=None, recency=None, T=None, draws: int = 40,
                  level: float = 0.9, seed: int = 0) -> dict[str, np.ndarray]:
        """Parameter-uncertainty intervals of P(alive) and E[Y(t)]: both are
        recomputed for draws from the estimates' asymptotic normal (on the log
        scale), on the distinct (x, t_x, T) rows only."""
        self._check_fitted()
        x, tx, TT = self._rfm(data, frequency, recency, T)
        c = collapse({"x": x, "tx": tx, "T": TT})
        pos = c.inverse
        xs, txs, Ts = c.columns["x"], c.columns["tx"], c.columns["T"]
        alive, exp = [], []
        for p in self._param_draws(draws, seed):
            alive.append(self._p_alive(p, xs, txs, Ts))
            exp.append(self._expected(p, t, xs, txs, Ts))
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        a, e = np.array(alive), np.array(exp)
        return {"p_alive_low": np.quantile(a, lo, axis=0)[pos], "p_alive_high": np.quantile(a, hi, axis=0)[pos],
                "expected_low": np.quantile(e, lo, axis=0)[pos], "expected_high": np.quantile(e, hi, axis=0)[pos]}

    @staticmethod
    def _chunked(fn, n: int) -> np.ndarray:
        if n <= CHUNK:
            return np.asarray(fn(slice(0, n)), dtype=float)
        return np.concatenate([np.asarray(fn(slice(i, min(i + CHUNK, n))), dtype=float) for i in range(0, n, CHUNK)])
