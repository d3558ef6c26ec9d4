"""What every buy-till-you-die fitter shares: input checks, collapsing, the
maximum-likelihood fit, standard errors and the errors it raises.

The estimators follow scikit-learn's contract: hyper-parameters in
``__init__``, ``fit(...) -> self``, fitted attributes end in ``_``. Input is
the canonical summary (``frequency, recency, T`` and, for spend models,
``monetary_value``), one row per customer, or arrays of the same.

Why the fit is written here and not taken from lifetimes or PyMC-Marketing:
lifetimes is unmaintained since 2020 and fails in the ways the docs list
(overflow in the hypergeometric terms, a penalty scaled with the data);
PyMC-Marketing fits by sampling, which is slow at scale. The likelihoods are
a few lines of vectorised numpy; what needs care is done here once:

* identical summary rows are collapsed into weights, so a fit costs the
  number of distinct rows, not customers;
* parameters are optimised on the log scale (they are all positive), with the
  gradient by central differences;
* the optional penalty is added to the *mean* negative log-likelihood, so its
  pull on the estimates does not change with the number of customers;
* a fit that does not converge, ends at a degenerate boundary or has a
  non-finite likelihood raises :class:`ModelFitError` instead of returning
  numbers that look like an answer.
* a long walk that gains (almost) nothing is cut short and put to the same
  test, instead of following a ridge to its end (UCI's Pareto/NBD: 226
  likelihoods, now 150).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from retentio.errors import RetentioError
from retentio.i18n import Msg

LOG_BOUND = 18.0  # exp(±18): parameters beyond this are degenerate, not estimates
MAX_LOG_VARIANCE = 400.0  # a log-scale standard error above 20: the data do not pin the parameter down
# A walk of FLAT_SPAN on the log scale that gains less than FLAT_GAIN in total log-likelihood implies
# a log-scale variance of at least FLAT_SPAN**2 / (2 * FLAT_GAIN) = 450 > MAX_LOG_VARIANCE.
FLAT_SPAN = 3.0
FLAT_GAIN = 0.01


class ModelFitError(RetentioError):
    """The optimiser did not find a proper maximum. ``estimates``: where it stopped (natural scale), when
    the fit ran off along a parameter the data do not identify, so a caller can tell which limit the data
    point to (the sBG with alpha and beta running off together: one churn rate for all)."""

    estimates: dict[str, float] | None = None


class InsufficientDataError(RetentioError):
    """Too few customers or repeat buyers to estimate the model."""


@dataclass(frozen=True)
class Collapsed:
    """Distinct rows of the summary with how many customers share each."""

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    n_customers: float
    inverse: np.ndarray  # each input row's distinct row


def as_arrays(data, columns: Sequence[str], **given) -> dict[str, np.ndarray]:
    """Columns from a DataFrame or keyword arrays, as float arrays, checked."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        if given.get(col) is not None:
            values = given[col]
        elif data is not None and col in data:
            values = data[col]
        else:
            raise RetentioError(Msg("summary column {col!r} is missing", col=col))
        arr = np.asarray(values, dtype=float)
        if arr.ndim != 1:
            arr = arr.reshape(-1)
        if not np.all(np.isfinite(arr)):
            raise RetentioError(Msg("summary column {col!r} has missing or infinite values", col=col))
        out[col] = arr
    n = {len(a) for a in out.values()}
    if len(n) > 1:
        raise RetentioError("summary columns have different lengths")
    return out


def check_rfm(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> None:
    if np.any(frequency < 0) or np.any(frequency != np.round(frequency)):
        raise RetentioError("frequency must be a whole number ≥ 0 (repeat purchases)")
    if np.any(recency < 0) or np.any(T < 0):
        raise RetentioError("recency and T must be ≥ 0")
    if np.any(recency > T * (1 + 1e-9)):
        raise RetentioError("recency must not exceed T (the last purchase lies after the calibration end)")
    if np.any((frequency == 0) & (recency > 0)):
        raise RetentioError("customers without repeat purchases must have recency 0")


def collapse(cols: dict[str, np.ndarray], weights: np.ndarray | None = None) -> Collapsed:
    names = list(cols)
    n = len(cols[names[0]])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if n == 0:
        return Collapsed(dict(cols), w, 0.0, np.zeros(0, dtype=np.int64))
    # lexsort + boundaries: np.unique(axis=0) sorts a structured view and is 20× slower.
    arrays = [cols[k] for k in names]
    order = np.lexsort(arrays[::-1])
    sorted_cols = [a[order] for a in arrays]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = np.any([np.diff(a) != 0 for a in sorted_cols], axis=0)
    group_of_sorted = np.cumsum(new_group) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_of_sorted
    firsts = np.flatnonzero(new_group)
    summed = np.bincount(group_of_sorted, weights=w[order], minlength=len(firsts))
    return Collapsed({k: a[firsts].copy() for k, a in zip(names, sorted_cols, strict=True)}, summed,
                     float(w.sum()), inverse)


def numeric_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian (x on the log scale, so the step is relative)."""
    k = len(x)
    h = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        h[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / step**2
        for j in range(i + 1, k):
            ej = np.zeros(k)
            ej[j] = step
            h[i, j] = h[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * step**2)
    return h


def forward_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Forward-difference Hessian: 1 + k + k(k+1)/2 calls instead of central differences' 1 + 2k²,
    accurate enough to tell a flat direction (used for that test only)."""
    k = len(x)
    f0 = f(x)
    e = np.eye(k) * step
    fi = np.array([f(x + e[i]) for i in range(k)])
    h = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            h[i, j] = h[j, i] = (f(x + e[i] + e[j]) - fi[i] - fi[j] + f0) / step**2
    return h


def jacobian_hessian(g: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Hessian as the central-difference Jacobian of an exact gradient (2k gradient calls)."""
    cols = [(g(x + e) - g(x - e)) / (2 * step) for e in np.eye(len(x)) * step]
    h = np.column_stack(cols)
    return (h + h.T) / 2


def _covariance_log(hess_obj: np.ndarray, penalizer: float, n_customers: float) -> np.ndarray:
    """Covariance on the log scale from the observed information of the total
    log-likelihood (the penalty taken out)."""
    hess = (hess_obj - 2 * penalizer * np.eye(len(hess_obj))) * n_customers
    try:
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(hess.shape, np.nan)


def _degenerate(names: Sequence[str], x: np.ndarray, hess_obj: np.ndarray, penalizer: float,
                n_customers: float) -> list[str]:
    """A parameter at the edge of the space, or one the likelihood is flat in
    (no finite or a huge relative standard error), is not estimated by the data."""
    var_log = np.diag(_covariance_log(hess_obj, penalizer, n_customers))
    return [n for n, v, var in zip(names, x, var_log, strict=True)
            if abs(v) >= LOG_BOUND or not np.isfinite(var) or var <= 0 or var > MAX_LOG_VARIANCE]


def _unidentified(model: str, degenerate: list[str], names: Sequence[str], x: np.ndarray) -> ModelFitError:
    err = ModelFitError(
        Msg("{model}: the data do not identify parameter(s) {value} (they run off to 0 or infinity, or the likelihood is flat in them — e.g. nobody drops out, or too little history)", model=model, value=', '.join(degenerate)))
    err.estimates = {n: float(np.exp(v)) for n, v in zip(names, x, strict=True)}
    return err


def fit_mle(*args, **kwargs) -> dict:
    """:func:`_fit_mle` with BLAS on one thread: its matrices are 4 × 4, and idle
    BLAS threads spinning on a busy machine made fits three times slower."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_mle(*args, **kwargs)


def _fit_mle(neg_ll: Callable[[np.ndarray], float], x0: np.ndarray, n_customers: float, penalizer: float,
            names: Sequence[str], model: str, tol: float = 1e-10, maxiter: int = 2000,
            neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None) -> dict:
    """Maximise the log-likelihood over log-parameters.

    ``neg_ll(params)`` returns the total negative log-likelihood (weights
    applied); ``neg_ll_grad(params)``, where a model has it, also its exact
    gradient with respect to the (natural) parameters. The objective is the
    mean negative log-likelihood plus ``penalizer * sum(log(p)**2)``: a pull
    towards 1 whose strength is the same for 100 or 10 million rows.
    """
    k = len(x0)

    def objective(logp: np.ndarray) -> float:
        if np.any(np.abs(logp) > LOG_BOUND + 5):
            return 1e100
        value = neg_ll(np.exp(logp)) / n_customers + penalizer * float(np.sum(logp**2))
        return value if np.isfinite(value) else 1e100

    def objective_grad(logp: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(np.abs(logp) > LOG_BOUND + 5):
            return 1e100, np.zeros(k)
        p = np.exp(logp)
        value, grad = neg_ll_grad(p)
        # Chain rule to the log scale: d/dlog(p) = p * d/dp.
        g = grad * p / n_customers + 2 * penalizer * logp
        value = value / n_customers + penalizer * float(np.sum(logp**2))
        if not (np.isfinite(value) and np.all(np.isfinite(g))):
            return 1e100, np.zeros(k)
        return value, g

    history: list[tuple[np.ndarray, float]] = []

    def watch(intermediate_result: optimize.OptimizeResult) -> None:
        # A ridge towards a nested model (Pareto/NBD with nobody dropping out: s -> 0, beta -> inf)
        # was walked for a hundred likelihoods that gained nothing. Once the walk is long and flat
        # enough to imply a variance above MAX_LOG_VARIANCE, stop and ask the Hessian test now.
        # A plateau followed by a real optimum would be refused too; these likelihoods have none
        # (their flat directions are limits), and the published and simulated fits are unchanged.
        x_now, f_now = intermediate_result.x.copy(), float(intermediate_result.fun)
        for x_old, f_old in history:
            if np.max(np.abs(x_now - x_old)) >= FLAT_SPAN and (f_old - f_now) * n_customers < FLAT_GAIN:
                raise StopIteration
        history.append((x_now, f_now))

    if neg_ll_grad is not None:
        # With an exact gradient the Newton steps below converge quadratically, so
        # L-BFGS-B only has to get close.
        options = {"ftol": 1e-12, "gtol": 1e-6, "maxiter": maxiter, "maxls": 50}

        def minimize(start: np.ndarray, callback=None) -> optimize.OptimizeResult:
            return optimize.minimize(objective_grad, start, method="L-BFGS-B", jac=True, options=options,
                                     callback=callback)

        def gradient(x):
            return objective_grad(x)[1]

        def hessian(x):
            return jacobian_hessian(gradient, x)

        flat_hessian = hessian
    else:
        # The Newton steps below land on the optimum here too; a tighter stop only bought more
        # finite-difference gradients (a Pareto/NBD that was rejected in the end: 223 likelihoods, now 201).
        options = {"ftol": tol, "gtol": 1e-6, "maxiter": maxiter, "maxls": 50}

        def minimize(start: np.ndarray, callback=None) -> optimize.OptimizeResult:
            return optimize.minimize(objective, start, method="L-BFGS-B", jac="2-point", options=options,
                                     callback=callback)

        def gradient(x):
            return np.array([(objective(x + e) - objective(x - e)) / 2e-5 for e in np.eye(k) * 1e-5])

        def hessian(x):
            return numeric_hessian(objective, x)

        def flat_hessian(x):
            return forward_hessian(objective, x)

    res = minimize(x0, watch)
    if res.status == 99 or "StopIteration" in str(res.message):
        # Stopped on a flat walk: the same test as at the end decides, at this point.
        degenerate = _degenerate(names, res.x, flat_hessian(res.x), penalizer, n_customers)
        if degenerate:
            raise _unidentified(model, degenerate, names, res.x)
        res = minimize(res.x)  # flat but identified after all: finish the fit as before

    # L-BFGS-B stops on small relative steps, a little short of the optimum;
    # Newton steps with the Hessian (needed for the standard errors anyway)
    # land on it. The Hessian is computed once: near the optimum it barely moves.
    x, fx = res.x, float(res.fun)
    hess_obj = hessian(x)
    for _ in range(3):
        try:
            step = np.linalg.solve(hess_obj, gradient(x))
        except np.linalg.LinAlgError:
            break
        candidate = x - step
        fc = objective(candidate)
        if not fc <= fx:
            break
        x, fx = candidate, fc
        if np.max(np.abs(step)) < 1e-8:
            break
    params = np.exp(x)
    total_ll = -neg_ll(params)
    if not np.isfinite(total_ll) or fx >= 1e99:
        raise ModelFitError(Msg("{model}: the likelihood is not finite at any tried parameters; check the summary data", model=model))
    degenerate = _degenerate(names, x, hess_obj, penalizer, n_customers)
    if degenerate:
        raise _unidentified(model, degenerate, names, x)
    cov_log = _covariance_log(hess_obj, penalizer, n_customers)
    jac = np.diag(params)
    cov = jac @ cov_log @ jac
    se = np.sqrt(np.diag(cov))
    return {"params": params, "log_likelihood": float(total_ll), "cov": cov, "se": se,
            "iterations": int(res.nit), "converged": bool(res.success or fx < res.fun)}


class BaseFitter:
    """Shared plumbing for the maximum-likelihood estimators."""

    _param_names: tuple[str, ...] = ()
    model_name = "model"

    def __init__(self, penalizer: float = 0.0, min_customers: int = 30, min_repeaters: int = 10) -> None:
        self.penalizer = penalizer
        self.min_customers = min_customers
        self.min_repeaters = min_repeaters

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RetentioError(Msg("{name} is not fitted yet: call fit() first", name=type(self).__name__))

    def _store(self, result: dict, n_customers: float, n_rows: int) -> None:
        self.params_ = pd.Series(result["params"], index=list(self._param_names), name="estimate")
        self.standard_errors_ = pd.Series(result["se"], index=list(self._param_names), name="se")
        self.covariance_ = pd.DataFrame(result["cov"], index=list(self._param_names),
                                        columns=list(self._param_names))
        self.log_likelihood_ = result["log_likelihood"]
        self.n_customers_ = n_customers
        self.n_rows_ = n_rows
        self.converged_ = result["converged"]

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % Wald intervals."""
        self._check_fitted()
        df = pd.DataFrame({"estimate": self.params_, "se": self.standard_errors_})
        df["lower_95"] = df["estimate"] - 1.96 * df["se"]
        df["upper_95"] = df["estimate"] + 1.96 * df["se"]
        return df

    @classmethod
    def from_params(cls, **params: float):
        """A model with given parameters and no fit (e.g. published estimates), for predictions;
        standard errors are unknown (NaN), so no intervals."""
        names = list(cls._param_names)
        if sorted(params) != sorted(names):
            raise RetentioError(Msg("{model_name} needs exactly the parameters {value}", model_name=cls.model_name, value=', '.join(names)))
        k = len(names)
        model = cls()
        model._store({"params": np.array([float(params[n]) for n in names]), "se": np.full(k, np.nan),
                      "cov": np.full((k, k), np.nan), "log_likelihood": float("nan"), "converged": True}, 0, 0)
        return model

    def describe(self) -> dict:
        """Estimates, standard errors and fit statistics as plain JSON-able values."""
        self._check_fitted()
        return {"params": {k: float(v) for k, v in self.params_.items()},
                "se": {k: (float(v) if np.isfinite(v) else None) for k, v in self.standard_errors_.items()},
                "log_likelihood": float(self.log_likelihood_), "customers": int(self.n_customers_),
                "distinct_rows": int(self.n_rows_)}

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"
