"""Draw customer summaries from each model's own generating process.

Used to check that every fitter recovers known parameters, and by the
benchmarks to build data of any size. The draws are exact, not
discretised: given N(T) = n Poisson arrivals in [0, T], the k-th arrival
time is T times the k-th of n uniform order statistics, i.e.
``T * Beta(k, n - k + 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _last_arrival(rng: np.random.Generator, x: np.ndarray, n: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Time of the x-th of n arrivals spread uniformly over [0, span] (0 when x = 0)."""
    out = np.zeros(len(x))
    some = x > 0
    out[some] = span[some] * rng.beta(x[some], n[some] - x[some] + 1)
    return out


def bgnbd(r: float, alpha: float, a: float, b: float, T: np.ndarray, *, seed: int = 0,
          modified: bool = False) -> pd.DataFrame:
    """BG/NBD (or, with ``modified``, MBG/NBD) summaries for customers observed for ``T``."""
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1 / alpha, len(T))
    p = rng.beta(a, b, len(T))
    # Repeat purchases made before dropping out: dropout follows a purchase with
    # probability p (MBG/NBD: the first purchase at time 0 counts as one).
    k = rng.geometric(p) - (1 if modified else 0)
    n = rng.poisson(lam * T)
    x = np.minimum(k, n)
    tx = _last_arrival(rng, x, n, T)
    return pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": T, "lambda": lam, "p": p,
                         "alive": (k > n).astype(int)})


def paretonbd(r: float, alpha: float, s: float, beta: float, T: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(r, 1 / alpha, len(T))
    mu = rng.gamma(s, 1 / beta, len(T))
    tau = rng.exponential(1 / mu)
    span = np.minimum(tau, T)
    x = rng.poisson(lam * span)
    tx = _last_arrival(rng, x, x, span)
    return pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": T, "lambda": lam, "mu": mu,
                         "alive": (tau > T).astype(int)})


def gammagamma(p: float, q: float, gamma: float, frequency: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
    """Mean spend of ``frequency`` purchases per customer (0 where frequency is 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1 / gamma, len(x))
    # The mean of x Gamma(p, nu) amounts is Gamma(p x, x nu).
    shape = np.where(x > 0, p * x, 1.0)
    mean = rng.gamma(shape, 1 / (np.where(x > 0, x, 1.0) * nu))
    return pd.DataFrame({"frequency": x, "monetary_value": np.where(x > 0, mean, 0.0), "nu": nu})


def sbg(alpha: float, beta: float, n: int, horizon: int, *, seed: int = 0) -> pd.DataFrame:
    """Contracts observed for ``horizon`` periods: periods survived and whether they ended."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    life = rng.geometric(theta)  # the period in which the contract ends, >= 1
    ended = life <= horizon
    return pd.DataFrame({"periods": np.where(ended, life, horizon).astype(float), "churned": ended.astype(int)})
