"""Every model recovers known parameters from data drawn from its own process."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.models import simulate
from retentio.models.bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from retentio.models.gammagamma import GammaGammaFitter
from retentio.models.paretonbd import ParetoNBDFitter
from retentio.models.sbg import ShiftedBetaGeometricFitter

N = 30_000


def observation_times(n: int, seed: int) -> np.ndarray:
    """Customers acquired over a year, observed until week 78: T between 26 and 78 weeks."""
    return np.round(np.random.default_rng(seed).uniform(26, 78, n) * 7) / 7


def assert_recovered(model, truth: dict) -> None:
    for name, value in truth.items():
        est, se = model.params_[name], model.standard_errors_[name]
        # Within four standard errors, and the standard error itself plausible.
        assert abs(est - value) < 4 * se, (name, est, value, se)
        assert se < 0.25 * value, (name, se)


@pytest.mark.parametrize(("model", "truth", "modified"), [
    (BetaGeoFitter, {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, False),
    (BetaGeoFitter, {"r": 1.2, "alpha": 10.0, "a": 2.0, "b": 0.7}, False),  # b < 1
    (ModifiedBetaGeoFitter, {"r": 0.75, "alpha": 6.0, "a": 0.8, "b": 4.0}, True),  # the demo shop's truth
    (ModifiedBetaGeoFitter, {"r": 0.5, "alpha": 3.0, "a": 0.3, "b": 0.5}, True),  # a + b < 1
])
def test_bgnbd_family_recovers_parameters(model, truth, modified):
    data = simulate.bgnbd(**truth, T=observation_times(N, 1), seed=2, modified=modified)
    assert_recovered(model().fit(data), truth)


@pytest.mark.parametrize("truth", [
    {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7},  # CDNOW-like, alpha < beta
    {"r": 2.0, "alpha": 8.0, "s": 1.0, "beta": 4.0},  # alpha > beta, s exactly 1 in truth
])
def test_paretonbd_recovers_parameters(truth):
    data = simulate.paretonbd(**truth, T=observation_times(N, 3), seed=4)
    assert_recovered(ParetoNBDFitter().fit(data), truth)


def test_gammagamma_recovers_parameters():
    truth = {"p": 6.0, "q": 4.0, "gamma": 22.0}
    freq = np.random.default_rng(5).poisson(3, N).astype(float)
    data = simulate.gammagamma(**truth, frequency=freq, seed=6)
    model = GammaGammaFitter().fit(data)
    assert_recovered(model, truth)
    assert model.population_mean_ == pytest.approx(6 * 22 / 3, rel=0.05)


def test_sbg_recovers_parameters():
    data = simulate.sbg(0.7, 1.2, N, horizon=12, seed=7)
    assert_recovered(ShiftedBetaGeometricFitter().fit(data["periods"], data["churned"]), {"alpha": 0.7, "beta": 1.2})


def test_probability_alive_is_calibrated_against_the_simulated_truth():
    """Among simulated customers given P(alive) ≈ p, a share ≈ p are in fact alive."""
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    data = simulate.bgnbd(**truth, T=observation_times(N, 8), seed=9)
    model = BetaGeoFitter().fit(data)
    p = model.conditional_probability_alive(data)
    bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8, 0.95])
    for k in np.unique(bins):
        sel = bins == k
        if sel.sum() > 500:
            assert data["alive"][sel].mean() == pytest.approx(p[sel].mean(), abs=0.03)


def test_expected_purchases_match_simulated_future():
    """E[Y(t) | history] against purchases the same simulated customers then make."""
    truth = {"r": 0.75, "alpha": 6.0, "s": 0.8, "beta": 9.0}
    rng = np.random.default_rng(10)
    T = observation_times(N, 11)
    data = simulate.paretonbd(**truth, T=T, seed=12)
    # Continue each customer's own process for 26 more weeks.
    lam, mu, alive = data["lambda"].to_numpy(), data["mu"].to_numpy(), data["alive"].to_numpy()
    remaining = rng.exponential(1 / mu)  # memoryless: residual lifetime of the living
    future = np.where(alive == 1, rng.poisson(lam * np.minimum(remaining, 26.0)), 0)
    model = ParetoNBDFitter().fit(data)
    expected = model.conditional_expected_purchases(26, data)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.05)
    for x in (0, 1, 2, 5):
        sel = data["frequency"].to_numpy() == x
        assert expected[sel].mean() == pytest.approx(future[sel].mean(), rel=0.15, abs=0.02), x
