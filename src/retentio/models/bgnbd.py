"""BG/NBD and modified BG/NBD: purchases at a Gamma-heterogeneous Poisson rate,
dropout with a Beta-heterogeneous probability after each purchase.

References
----------
.. [FHL05] Fader, P. S., Hardie, B. G. S., Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   Marketing Science 24(2), 275–284. Likelihood eq. (6), P(alive) eq. (13)
   of the note "Computing P(alive) using the BG/NBD model", E[Y(t)|·] eq. (10),
   P(X(t)=x) eq. (8).
.. [BDF07] Batislam, E. P., Denizel, M., Filiztekin, A. (2007). Empirical
   validation and comparison of models for customer base analysis.
   International Journal of Research in Marketing 24(3), 201–209 (MBG/NBD:
   dropout is possible at time 0 as well, so customers without repeat
   purchases can be inactive).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from retentio.models.special import beta_expectation, log_nbd_pmf, nbd_sf, nodes_for_pole
from retentio.models.transactions import TransactionModel


class _BetaGeoFamily(TransactionModel):
    """Shared predictions; ``_shift`` is 0 for BG/NBD and 1 for MBG/NBD."""

    _param_names = ("r", "alpha", "a", "b")
    _shift = 0

    def _terms(self, params, x, tx, T, xu=None):
        """The two log terms of the likelihood ([FHL05] eq. 6; [BDF07] with shift 1):
        B(a, b+x+k)/B(a,b) (alpha+T)^-(r+x) and B(a+1, b+x+k-1)/B(a,b) (alpha+t_x)^-(r+x).

        ``xu`` = (distinct x, each row's index): the special functions depend on
        x only, so they are evaluated once per distinct purchase count."""
        r, alpha, a, b = params
        k = self._shift
        ux, inv = xu if xu is not None else np.unique(x, return_inverse=True)
        # The dropout-after-last-purchase term exists only for x + k > 0; for BG/NBD's
        # x = 0 with b < 1 its B(a+1, b-1) is not even defined, so it is never evaluated.
        has2_u = (ux + k) > 0
        bb_u = np.where(has2_u, b + ux + k - 1, 1.0)
        log_b = special.betaln(a, b)
        beta1_u = special.betaln(a, b + ux + k) - log_b
        beta2_u = np.where(has2_u, special.betaln(a + 1, bb_u) - log_b, -np.inf)
        term1 = beta1_u[inv] - (r + x) * np.log(alpha + T)
        term2 = beta2_u[inv] - (r + x) * np.log(alpha + tx)
        return term1, term2, (ux, inv, has2_u, bb_u)

    def _neg_ll_rows(self, params, x, tx, T, xu=None):
        r, alpha = params[0], params[1]
        term1, term2, (ux, inv, _, _) = self._terms(params, x, tx, T, xu)
        base = (special.gammaln(r + ux) - special.gammaln(r))[inv] + r * np.log(alpha)
        return -(base + np.logaddexp(term1, term2))

    def _neg_ll_grad_rows(self, params, x, tx, T, xu=None):
        """Rows of -log L and of its gradient in (r, alpha, a, b)."""
        r, alpha, a, b = params
        k = self._shift
        term1, term2, (ux, inv, has2_u, bb_u) = self._terms(params, x, tx, T, xu)
        total = np.logaddexp(term1, term2)
        w1, w2 = np.exp(term1 - total), np.exp(term2 - total)
        psi = special.digamma
        top_u = psi(a + b + ux + k)  # a + (b+x+k) = (a+1) + (b+x+k-1)
        da1_u = psi(a) - top_u
        da2_u = np.where(has2_u, psi(a + 1) - top_u, 0.0)
        db1_u = psi(b + ux + k) - top_u
        db2_u = np.where(has2_u, psi(bb_u) - top_u, 0.0)
        log_at, log_atx = np.log(alpha + T), np.log(alpha + tx)
        d_r = (psi(r + ux) - psi(r))[inv] + np.log(alpha) - w1 * log_at - w2 * log_atx
        d_alpha = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx))
        d_a = w1 * da1_u[inv] + w2 * da2_u[inv] - (psi(a) - psi(a + b))
        d_b = w1 * db1_u[inv] + w2 * db2_u[inv] - (psi(b) - psi(a + b))
        ll = (special.gammaln(r + ux) - special.gammaln(r))[inv] + r * np.log(alpha) + total
        return -ll, -np.column_stack([d_r, d_alpha, d_a, d_b])

    def _future(self, p: np.ndarray, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[(1/p)(1 - e^{-lambda p t})] for an active customer: lambda ~ Gamma(r+x, alpha+T),
        p ~ Beta(a, b+x+shift). Equal to the 2F1 closed form of [FHL05] eq. (10)
        but finite for every a > 0 (the closed form divides by a - 1)."""
        r, alpha, a, b = p
        rr, aa = r + x, alpha + T

        def g(q: np.ndarray, idx: np.ndarray) -> np.ndarray:
            # (1 - (aa/(aa + q t))^rr) / q, and its limit rr t / aa as q -> 0.
            ratio = q * t / aa[idx, None]
            return -np.expm1(-rr[idx, None] * np.log1p(ratio)) / q

        # The integrand's pole sits at q = -(alpha+T)/t; its distance sets the node count.
        n = nodes_for_pole(float(np.min(aa)) / t) if len(aa) and t > 0 else 8
        return beta_expectation(g, a, b + x + self._shift, n)

    def _expected(self, p, t, x, tx, T):
        return self._p_alive(p, x, tx, T) * self._future(p, t, x, T)

    def _p_n(self, p, t, n, x, tx, T):
        """[FHL05]'s process forward from T: with N ~ NBD(r+x, alpha+T) purchases offered in t,
        P(Y=n | active) = E[(1-p)^(n-1) p] P(N>=n) + E[(1-p)^n] P(N=n) (n >= 1)."""
        r, alpha, a, b = p
        alive = self._p_alive(p, x, tx, T)
        rr, aa, bb = r + x, alpha + T, b + x + self._shift
        if n == 0:
            active = np.exp(log_nbd_pmf(0, rr, aa, t))
            return (1 - alive) + alive * active
        log_b = special.betaln(a, bb)
        stop = np.exp(special.betaln(a + 1, bb + n - 1) - log_b)
        go_on = np.exp(special.betaln(a, bb + n) - log_b)
        active = stop * nbd_sf(n, rr, aa, t) + go_on * np.exp(log_nbd_pmf(n, rr, aa, t))
        return alive * active

    def _unconditional(self, p, t):
        r, alpha, a, b = p
        out = np.empty(len(t))
        start_alive = 1.0 if self._shift == 0 else b / (a + b)
        for i, ti in enumerate(t):
            def g(q: np.ndarray, _idx: np.ndarray, ti=ti) -> np.ndarray:
                return -np.expm1(-r * np.log1p(q * ti / alpha)) / q

            n = nodes_for_pole(alpha / ti) if ti > 0 else 8
            out[i] = start_alive * beta_expectation(g, a, np.array([b + self._shift]), n)[0] if ti > 0 else 0.0
        return out


class BetaGeoFitter(_BetaGeoFamily):
    """BG/NBD model [FHL05].

    Parameters
    ----------
    penalizer : float
        Weight of ``sum(log(param)**2)`` added to the *mean* negative
        log-likelihood; 0 (default) is plain maximum likelihood.
    min_customers, min_repeaters : int
        Below these the fit raises :class:`InsufficientDataError`.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha, a, b``.
    standard_errors_, covariance_ : from the observed information matrix.
    log_likelihood_ : float
        Total log-likelihood at the estimates, eq. (6) summed over customers.
    """

    model_name = "BG/NBD"

    def _p_alive(self, p, x, tx, T):
        r, alpha, a, b = p
        repeat = x > 0
        log_odds = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * (
            np.log(alpha + T) - np.log(alpha + tx))
        return np.where(repeat, special.expit(-log_odds), 1.0)

    def probability_of_purchases(self, t: float, n: int) -> float:
        """P(X(t) = n) for a customer just acquired, [FHL05] eq. (8)."""
        self._check_fitted()
        r, alpha, a, b = self.params_.to_numpy()
        log_b = special.betaln(a, b)
        first = np.exp(special.betaln(a, b + n) - log_b + log_nbd_pmf(n, r, alpha, t))
        if n == 0:
            return float(first)
        second = np.exp(special.betaln(a + 1, b + n - 1) - log_b) * nbd_sf(n, r, alpha, t)
        return float(first + second)


class ModifiedBetaGeoFitter(_BetaGeoFamily):
    """MBG/NBD model [BDF07]: like BG/NBD, but a customer may drop out right
    after the first purchase, so P(alive) < 1 also without repeat purchases.

    Parameters and attributes as in :class:`BetaGeoFitter`.
    """

    model_name = "MBG/NBD"
    _shift = 1

    def _p_alive(self, p, x, tx, T):
        r, alpha, a, b = p
        log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return special.expit(-log_odds)
