"""The sBG's geometric limit: one churn rate for all contracts, where the sBG cannot identify its spread."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.models.sbg import GeometricContractFitter, ShiftedBetaGeometricFitter, runs_off_together


def contracts(p: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Months each contract has completed (for an ended one, the month it ended in) and whether it ended,
    observed for 1 to 40 months."""
    rng = np.random.default_rng(seed)
    life = rng.geometric(p)
    seen = rng.integers(1, 41, len(p))
    ended = life <= seen
    return np.where(ended, life, seen), ended.astype(int)


@pytest.mark.parametrize("rate", [0.02, 0.06, 0.3])
def test_geometric_recovers_one_churn_rate(rate):
    periods, ended = contracts(np.full(20_000, rate), seed=3)
    model = GeometricContractFitter().fit(periods, ended)
    assert model.p_ == ended.sum() / periods.sum()  # the closed-form maximum
    assert abs(model.p_ - rate) < 4 * model.standard_errors_["churn_rate"]
    assert model.standard_errors_["churn_rate"] < 0.05 * rate


def test_geometric_is_the_sbg_at_infinite_alpha_and_beta():
    periods, ended = contracts(np.full(5_000, 0.06), seed=4)
    geo = GeometricContractFitter().fit(periods, ended)
    k = 1e7  # the Beta's precision: a spread of churn rates of 1e-4
    sbg = ShiftedBetaGeometricFitter.from_params(alpha=geo.p_ * k, beta=(1 - geo.p_) * k)
    tenure = np.array([0, 1, 5, 24])
    np.testing.assert_allclose(geo.survival(np.arange(25)), sbg.survival(np.arange(25)), rtol=1e-5)
    np.testing.assert_allclose(geo.retention_rate(np.arange(1, 13)), sbg.retention_rate(np.arange(1, 13)), rtol=1e-6)
    np.testing.assert_allclose(geo.renewal_probability(tenure), sbg.renewal_probability(tenure), rtol=1e-6)
    np.testing.assert_allclose(geo.expected_payments(tenure, 24, 0.008), sbg.expected_payments(tenure, 24, 0.008),
                               rtol=1e-5)


@pytest.mark.parametrize(("estimates", "limit"), [
    ({"alpha": 3511.0, "beta": 54871.0}, True),  # where the fit of tests/test_refresh.py's contracts stopped
    ({"alpha": 60.0, "beta": 940.0}, True),
    ({"alpha": 0.001, "beta": 5000.0}, False),  # alpha to 0: most never churn, not one rate for all
    ({"alpha": 2.0, "beta": 30.0}, False),  # a spread the data would have shown
    (None, False),
    ({"r": 1.0}, False),
])
def test_which_unidentified_fits_run_off_to_the_geometric_limit(estimates, limit):
    assert runs_off_together(estimates) is limit


def test_heterogeneous_contracts_keep_the_sbg():
    rng = np.random.default_rng(5)
    periods, ended = contracts(rng.beta(1.5, 20.0, 5_000), seed=6)
    model = ShiftedBetaGeometricFitter().fit(periods, ended)
    assert model.params_["alpha"] + model.params_["beta"] < 100  # identified: no fallback needed
