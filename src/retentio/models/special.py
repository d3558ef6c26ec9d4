"""Numerically careful building blocks the likelihoods and predictions share.

The closed forms in the papers multiply hypergeometric functions that grow
like ``(1 - z) ** (c - a - b)`` by powers that shrink just as fast; evaluated
as written they overflow to ``inf * 0 = nan`` for frequent buyers. Here:

* :func:`log_hyp2f1_euler` evaluates ``log 2F1(a, b; c; z)`` through Euler's
  transformation ``2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)``, used
  where the transformed function is bounded (the Pareto/NBD terms);
* :func:`beta_expectation` replaces the BG/NBD ``2F1`` expressions by their
  defining integral over the dropout probability ``p ~ Beta(a, b)``, computed
  with Gauss–Jacobi quadrature. The integrand is bounded for every ``a > 0``,
  so ``a <= 1`` and ``a + b < 1`` (where the closed form divides by
  ``a - 1`` or has a negative third argument) need no special case.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import linalg, special

QUAD_NODES = 48


def log_hyp2f1_euler(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log 2F1(a, b; c; z)`` for ``0 <= z < 1`` via Euler's transformation."""
    z = np.asarray(z, dtype=float)
    inner = special.hyp2f1(c - a, c - b, c, z)
    return (c - a - b) * np.log1p(-z) + np.log(inner)


@lru_cache(maxsize=4096)
def _jacobi(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights summing to 1 for the Beta(a, b) density.

    Golub–Welsch on the Jacobi recurrence (weight (1-x)^al (1+x)^be on [-1, 1]
    with al = b - 1, be = a - 1, p = (1 + x) / 2). scipy's ``roots_jacobi``
    scales its weights by the total mass 2^(al+be+1) B(al+1, be+1), which
    overflows for the large b of frequent buyers (b + x in the thousands);
    the eigenvector form needs no total mass.
    """
    al, be = b - 1.0, a - 1.0
    k = np.arange(n, dtype=float)
    s = 2 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(s == -2, 0.0, (be**2 - al**2) / (s * (s + 2)))
    diag[0] = (be - al) / (al + be + 2)
    m = k[1:]
    sm = 2 * m + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.sqrt(4 * m * (m + al) * (m + be) * (m + al + be) / (sm**2 * (sm + 1) * (sm - 1)))
    if n > 1:
        # For m = 1, (m + al + be) / (sm - 1) = 1: written out, so al + be = -1 is no 0/0.
        off[0] = np.sqrt(4 * (1 + al) * (1 + be) / ((2 + al + be) ** 2 * (3 + al + be)))
    x, vec = linalg.eigh_tridiagonal(diag, off)
    w = vec[0] ** 2
    return (1.0 + x) / 2.0, w / w.sum()


def beta_expectation(func: Callable[[np.ndarray, np.ndarray], np.ndarray], a: float, b: np.ndarray,
                     n: int = QUAD_NODES) -> np.ndarray:
    """``E[func(p, row)]`` with ``p ~ Beta(a, b_i)`` for each row ``i``.

    ``func(p, idx)`` receives a (rows, nodes) array of ``p`` and the row
    indices it covers; rows sharing ``b`` share nodes, so the cost is one
    root computation per distinct ``b`` (distinct frequencies, in practice).
    """
    b = np.asarray(b, dtype=float)
    out = np.empty(len(b))
    uniq, inverse = np.unique(b, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    for k, bk in enumerate(uniq):
        idx = order[bounds[k]:bounds[k + 1]]
        p, w = _jacobi(float(a), float(bk), n)
        out[idx] = func(np.broadcast_to(p, (len(idx), n)), idx) @ w
    return out


def nodes_for_pole(distance: float, tol: float = 1e-12, lo: int = 8, hi: int = 128) -> int:
    """Gauss nodes for an integrand on p in [0, 1] that is analytic except for a
    pole at p = -distance: the error falls like rho^(-2n), rho the Bernstein
    ellipse parameter of the pole (Trefethen, Approximation Theory and
    Approximation Practice, ch. 19)."""
    x = 1.0 + 2.0 * max(distance, 1e-12)  # the pole in [-1, 1] coordinates, mirrored
    rho = x + np.sqrt(x * x - 1.0)
    return int(np.clip(np.ceil(-np.log(tol) / (2.0 * np.log(rho))), lo, hi))


def one_minus_pow_over(k: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """``(1 - y**k) / k`` with ``log_y = log y``, continuous at ``k = 0`` (value ``-log y``)."""
    k = np.asarray(k, dtype=float)
    small = np.abs(k) < 1e-10
    safe = np.where(small, 1.0, k)
    return np.where(small, -log_y, -np.expm1(safe * log_y) / safe)


def log_nbd_pmf(n: np.ndarray | int, r: np.ndarray, alpha: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """``log P(N(t) = n)`` for a Poisson count with a Gamma(r, alpha) rate."""
    return (special.gammaln(r + n) - special.gammaln(r) - special.gammaln(np.asarray(n) + 1.0)
            + r * np.log(alpha / (alpha + t)) + n * np.log(t / (alpha + t)))


def nbd_sf(n: int, r: np.ndarray, alpha: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """``P(N(t) >= n)`` for the same count (regularised incomplete beta)."""
    if n <= 0:
        return np.ones(np.broadcast(r, alpha, t).shape)
    # P(N >= n) = I_{t/(alpha+t)}(n, r) for the negative binomial.
    return special.betainc(n, r, t / (alpha + t))
