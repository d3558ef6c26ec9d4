"""NBD: purchases at a Gamma-heterogeneous Poisson rate, nobody drops out.

The limiting case of BG/NBD (a → 0, or p → 0) and Pareto/NBD (s/β → 0). On
data where dropout is not identified — every customer still buys, only at
different rates, as in UCI Online Retail's one year — the dropout models run
their dropout parameters off to a boundary; the NBD is then the model the
data do identify, and it competes in the backtest like the others.

References
----------
.. [Ehr59] Ehrenberg, A. S. C. (1959). The Pattern of Consumer Purchases.
   Applied Statistics 8(1), 26–41.
.. [Mor69] Morrison, D. G., Schmittlein, D. C. (1988). Generalizing the NBD
   Model for Customer Purchases. Journal of Business & Economic Statistics 6(2).
.. [FH05n] Fader, P. S., Hardie, B. G. S. (2005). A Note on Deriving the
   Pareto/NBD Model and Related Expressions (the NBD as the s → 0 limit).

With x repeat purchases in (0, T], the likelihood is the NBD probability
``Γ(r+x)/Γ(r) (α/(α+T))^r (1/(α+T))^x`` (the factor ``T^x / x!`` does not
depend on the parameters), and the rate's posterior is Gamma(r+x, α+T), so
``E[Y(t) | x, T] = t (r+x)/(α+T)`` and future counts are NBD(r+x, α+T).
Recency plays no role: without dropout, when the last purchase was tells
nothing about the rate.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from retentio.models.special import log_nbd_pmf
from retentio.models.transactions import TransactionModel


class NBDFitter(TransactionModel):
    """NBD model [Ehr59]_ (no dropout).

    Parameters
    ----------
    penalizer, min_customers, min_repeaters : as in :class:`~retentio.models.bgnbd.BetaGeoFitter`.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha`` of the Gamma distribution of purchase rates.
    """

    _param_names = ("r", "alpha")
    model_name = "NBD"

    def _neg_ll_rows(self, params, x, tx, T, xu=None):
        r, alpha = params
        ux, inv = xu if xu is not None else np.unique(x, return_inverse=True)
        base = (special.gammaln(r + ux) - special.gammaln(r))[inv]
        return -(base + r * np.log(alpha) - (r + x) * np.log(alpha + T))

    def _neg_ll_grad_rows(self, params, x, tx, T, xu=None):
        r, alpha = params
        ux, inv = xu if xu is not None else np.unique(x, return_inverse=True)
        ll = (special.gammaln(r + ux) - special.gammaln(r))[inv] + r * np.log(alpha) - (r + x) * np.log(alpha + T)
        d_r = (special.digamma(r + ux) - special.digamma(r))[inv] + np.log(alpha) - np.log(alpha + T)
        d_alpha = r / alpha - (r + x) / (alpha + T)
        return -ll, -np.column_stack([d_r, d_alpha])

    def _p_alive(self, p, x, tx, T):
        return np.ones(len(x))

    def _expected(self, p, t, x, tx, T):
        r, alpha = p
        return t * (r + x) / (alpha + T)

    def _p_n(self, p, t, n, x, tx, T):
        r, alpha = p
        return np.exp(log_nbd_pmf(n, r + x, alpha + T, t))

    def _unconditional(self, p, t):
        r, alpha = p
        return r * t / alpha
