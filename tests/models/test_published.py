"""Fits and predictions against published values (CDNOW, Fader–Hardie papers, BTYD)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retentio.models.bgnbd import BetaGeoFitter
from retentio.models.gammagamma import GammaGammaFitter
from retentio.models.paretonbd import ParetoNBDFitter
from retentio.models.sbg import ShiftedBetaGeometricFitter

# ../shared/data/README.md: Fader, Hardie & Lee (2005) and CLVTools' correctness tests.
PUBLISHED = {
    BetaGeoFitter: ({"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}, -9582.429),
    ParetoNBDFitter: ({"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}, -9594.976),
}


@pytest.fixture(scope="module")
def cdnow(request):
    data = request.getfixturevalue("data_dir")
    return pd.read_csv(data / "cdnow" / "cdnow_customers_summary.csv")


@pytest.mark.realdata
@pytest.mark.parametrize("model", list(PUBLISHED), ids=lambda m: m.model_name)
def test_cdnow_fit_reproduces_published_parameters(cdnow, model):
    params, ll = PUBLISHED[model]
    fitted = model().fit(cdnow)
    for name, value in params.items():
        assert fitted.params_[name] == pytest.approx(value, rel=1e-3), name
    assert fitted.log_likelihood_ == pytest.approx(ll, rel=1e-3)
    # Tighter than the 0.1 % asked for: the optimum is found, not approached.
    assert abs(fitted.log_likelihood_ - ll) < 0.01
    assert fitted.n_customers_ == len(cdnow)
    assert fitted.n_rows_ < len(cdnow)  # identical rows were collapsed into weights
    assert np.all(fitted.standard_errors_ > 0)


@pytest.mark.realdata
def test_cdnow_bgnbd_conditional_expectation_checkpoint(cdnow):
    fitted = BetaGeoFitter().fit(cdnow)
    value = fitted.conditional_expected_purchases(39, frequency=[2], recency=[30.43], T=[38.86])[0]
    assert value == pytest.approx(1.226, abs=5e-4)


# The R package BTYD's documented values at its rounded CDNOW estimates
# (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426).
BTYD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BTYD_PMF_30 = [0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
               0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260]


def test_bgnbd_probability_of_purchases_matches_btyd():
    m = BetaGeoFitter.from_params(**BTYD)
    assert m.probability_of_purchases(39, 0) == pytest.approx(0.5737864, rel=1e-6)
    assert m.probability_of_purchases(2, 10) == pytest.approx(1.07869e-07, rel=1e-4)
    got = [m.probability_of_purchases(30, n) for n in range(11, 21)]
    np.testing.assert_allclose(got, BTYD_PMF_30, rtol=1e-6)


def test_bgnbd_pmf_sums_to_one_and_matches_expectation():
    m = BetaGeoFitter.from_params(**BTYD)
    pmf = np.array([m.probability_of_purchases(20, n) for n in range(400)])
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (np.arange(400) * pmf).sum() == pytest.approx(m.expected_purchases(20)[0], rel=1e-6)


@pytest.mark.parametrize(("name", "survivors", "alpha", "beta", "ll"), [
    # Fader & Hardie (2007), "How to Project Customer Retention", Table 1 and Figure 4.
    ("high end", [1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806, -1611.2),
    ("regular", [1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182, -1680.3),
])
def test_sbg_reproduces_fader_hardie_2007(name, survivors, alpha, beta, ll):
    m = ShiftedBetaGeometricFitter().fit_cohort(survivors)
    assert m.params_["alpha"] == pytest.approx(alpha, abs=6e-4)
    assert m.params_["beta"] == pytest.approx(beta, abs=6e-4)
    assert m.log_likelihood_ == pytest.approx(ll, abs=0.06)
    # The fitted curve follows the data it was fitted on (their Figure 4).
    np.testing.assert_allclose(m.survival(np.arange(8)) * 1000, survivors, rtol=0.04)


@pytest.mark.realdata
def test_cdnow_gammagamma_reproduces_fader_hardie_note_025(data_dir):
    """Fader & Hardie (2013), note 025: p 6.25, q 3.74, gamma 15.44 on the 946 repeat buyers of the 2,357
    CDNOW sample customers, 39-week calibration, one purchase occasion per day."""
    d = pd.read_csv(data_dir / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                    names=["id", "sample_id", "date", "cds", "amount"])
    d["date"] = pd.to_datetime(d["date"].astype(str), format="%Y%m%d")
    days = (d[d["date"] <= "1997-09-30"].groupby(["id", "date"])["amount"].sum().reset_index()
            .sort_values(["id", "date"]))
    per = days.groupby("id")["amount"]
    frequency = per.size() - 1
    monetary = ((per.sum() - per.first()) / frequency.where(frequency > 0)).fillna(0.0)
    assert len(frequency) == 2357 and int((frequency > 0).sum()) == 946
    fitted = GammaGammaFitter().fit(frequency=frequency.to_numpy(float), monetary_value=monetary.to_numpy(float))
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert fitted.params_[name] == pytest.approx(value, abs=0.005), name
