"""Pareto/NBD: purchases at a Gamma(r, alpha) Poisson rate, an exponential
lifetime with a Gamma(s, beta) dropout rate.

References
----------
.. [SMC87] Schmittlein, D. C., Morrison, D. G., Colombo, R. (1987). Counting
   Your Customers: Who Are They and What Will They Do Next? Management
   Science 33(1), 1–24.
.. [FH05] Fader, P. S., Hardie, B. G. S. (2005). A Note on Deriving the
   Pareto/NBD Model and Related Expressions. brucehardie.com/notes/009.
   Likelihood eq. (19)–(22), P(alive) eq. (18), E[Y(t)|·] eq. (27).

The likelihood's A_0 term is a difference of two ``2F1`` values divided by
``(max(alpha, beta) + t) ** (r + s + x)``; both parts are computed as
logarithms, the ``2F1`` through Euler's transformation so the function that
is actually evaluated stays bounded (see :mod:`retentio.models.special`).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from retentio.models.special import log_hyp2f1_euler, log_nbd_pmf, one_minus_pow_over
from retentio.models.transactions import TransactionModel

LEGENDRE_NODES = 48


class ParetoNBDFitter(TransactionModel):
    """Pareto/NBD model [SMC87]_, [FH05]_.

    Parameters
    ----------
    penalizer, min_customers, min_repeaters : as in :class:`BetaGeoFitter`.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha, s, beta``.
    """

    _param_names = ("r", "alpha", "s", "beta")
    model_name = "Pareto/NBD"

    def _prepare(self, x, tx, T):
        """Distinct (x, t) pairs among (x, t_x) and (x, T): the 2F1 terms depend on
        nothing else, and there are far fewer pairs than rows."""
        pairs = np.concatenate([np.column_stack([x, tx]), np.column_stack([x, T])])
        uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        return uniq[:, 0], uniq[:, 1], inv[: len(x)], inv[len(x):]

    @staticmethod
    def _log_parts(params, x, tx, T, pairs=None):
        """log of the two terms inside the bracket of [FH05] eq. (19)."""
        r, alpha, s, beta = params
        first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        # The second 2F1 argument is s+1 when alpha >= beta, r+x otherwise (eq. 22).
        big, small = (alpha, beta) if alpha >= beta else (beta, alpha)

        def log_f(xv, t):
            rsx = r + s + xv
            b_arg = s + 1.0 if alpha >= beta else r + xv
            z = (big - small) / (big + t)
            return log_hyp2f1_euler(rsx, b_arg, rsx + 1.0, z) - rsx * np.log(big + t)

        if pairs is None:
            lf_tx, lf_T = log_f(x, tx), log_f(x, T)
        else:
            px, pt, i_tx, i_T = pairs
            lf = log_f(px, pt)
            lf_tx, lf_T = lf[i_tx], lf[i_T]
        diff = np.minimum(lf_T - lf_tx, 0.0)
        with np.errstate(divide="ignore"):
            log_a0 = lf_tx + np.log(-np.expm1(diff))
        second = np.log(s) - np.log(r + s + x) + log_a0
        return first, second

    def _neg_ll_rows(self, params, x, tx, T, xu=None):
        r, alpha, s, beta = params
        first, second = self._log_parts(params, x, tx, T, xu)
        base = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        # Far out in the parameter space the 2F1 overflows to NaN; the optimiser treats a non-finite
        # likelihood as a wall (models.base), so the warning would only alarm the user's console.
        with np.errstate(invalid="ignore"):
            return -(base + np.logaddexp(first, second))

    def _x0(self, x, tx, T, w):
        start = super()._x0(x, tx, T, w)
        start[3] = start[1]  # beta of the order of alpha
        return start

    def _p_alive(self, p, x, tx, T):
        first, second = self._log_parts(p, x, tx, T)
        return np.exp(first - np.logaddexp(first, second))

    def _expected(self, p, t, x, tx, T):
        r, alpha, s, beta = p
        bt = beta + T
        # (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)], stable at s = 1.
        scale = (r + x) / (alpha + T) * bt * one_minus_pow_over(s - 1.0, np.log(bt / (bt + t)))
        return self._p_alive(p, x, tx, T) * scale

    def _p_n(self, p, t, n, x, tx, T):
        """Given activity at T: lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+T), death time
        tau ~ Exp(mu); P(Y=n) = P(tau > t) NBD(n; t) + int_0^t f_tau(u) NBD(n; u) du,
        the integral by Gauss–Legendre quadrature over u."""
        r, alpha, s, beta = p
        alive = self._p_alive(p, x, tx, T)
        rr, aa, bb = r + x, alpha + T, beta + T
        survive = np.exp(s * np.log(bb / (bb + t)) + log_nbd_pmf(n, rr, aa, t))
        nodes, weights = np.polynomial.legendre.leggauss(LEGENDRE_NODES)
        u = (nodes + 1.0) * t / 2.0
        w = weights * t / 2.0
        dens = np.exp(np.log(s) + s * np.log(bb[:, None]) - (s + 1) * np.log(bb[:, None] + u[None, :]))
        integral = (dens * np.exp(log_nbd_pmf(n, rr[:, None], aa[:, None], u[None, :]))) @ w
        active = survive + integral
        if n == 0:
            return (1 - alive) + alive * active
        return alive * active

    def _unconditional(self, p, t):
        r, alpha, s, beta = p
        return r * beta / alpha * one_minus_pow_over(s - 1.0, np.log(beta / (beta + t)))
