"""The budget advisor: the guides' bands, the value of retention points against simulated truth, the order rate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.helpers import load_orders

from retentio.auth.roles import OPERATOR
from retentio.errors import ConfigError
from retentio.planning.budget import order_rate, payback_split, retention_gain, rule_split
from retentio.services import planning


@pytest.mark.parametrize(("per_day", "acquisition", "band"), [
    (0.0, 85, "up_to_5_a_week"), (0.5, 85, "up_to_5_a_week"), (5 / 7, 85, "up_to_5_a_week"),
    (0.8, 70, "about_1_a_day"), (1.0, 70, "about_1_a_day"), (3.0, 70, "about_1_a_day"),
    (3.2, 50, "about_10_a_day"), (10.0, 50, "about_10_a_day"), (10.01, 40, "more_than_10_a_day"),
    (500.0, 40, "more_than_10_a_day"),
])
def test_the_guides_bands(per_day, acquisition, band):
    out = rule_split(per_day)
    assert (out["acquisition"], out["retention"], out["band"]) == (acquisition, 100 - acquisition, band)


def _preds(rng, n: int, mu: float = 120.0, band: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    value = rng.gamma(2.0, mu / 2.0, n)  # value of a customer who stays; E = mu
    alive = rng.uniform(0.1, 1.0, n)
    clv = value * alive
    return pd.DataFrame({"clv": clv, "clv_low": clv * (1 - band), "clv_high": clv * (1 + band),
                         "p_alive": alive}), value


def test_retention_points_are_worth_share_times_customers_times_value_if_alive():
    rng = np.random.default_rng(1)
    preds, value = _preds(rng, 5000)
    g = retention_gain(preds, 5)
    assert g["profit"] == pytest.approx(0.05 * 5000 * value.mean(), rel=1e-9)
    assert g["low"] < g["profit"] < g["high"]
    assert retention_gain(preds.head(10), 5) is None  # too few customers to say anything


def test_the_80_percent_interval_covers_the_truth_about_80_percent_of_the_time():
    rng = np.random.default_rng(2)
    n, mu, hits, reps = 300, 120.0, 0, 120
    for seed in range(reps):
        preds, _ = _preds(rng, n, mu)
        g = retention_gain(preds, 5, seed=seed)
        truth = 0.05 * n * mu
        hits += g["low"] <= truth <= g["high"]
    assert 0.68 <= hits / reps <= 0.92, hits / reps


def test_a_model_band_widens_the_interval():
    rng = np.random.default_rng(3)
    preds, _ = _preds(rng, 2000)
    narrow = retention_gain(preds, 5)
    wide = retention_gain(preds.assign(clv_low=preds.clv * 0.6, clv_high=preds.clv * 1.5), 5)
    assert (wide["high"] - wide["low"]) > 2 * (narrow["high"] - narrow["low"])


def test_order_rate_and_the_advice_without_evidence(sqlite_engine, tmp_path):
    end = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    rows = [(f"O{i}", f"K{i % 40}", (end - dt.timedelta(hours=12 * i)).isoformat(), 30) for i in range(400)]
    load_orders(sqlite_engine, tmp_path, rows)
    rate = order_rate(sqlite_engine)
    assert rate["orders"] == 180 and rate["per_day"] == pytest.approx(2.0)  # two a day in the last 90 days
    out = planning.budget(sqlite_engine, OPERATOR, cac=40)
    assert (out["rule"]["acquisition"], out["rule"]["retention"]) == (70, 30)
    assert out["recommended"] is None and {"flow_effect", "predictions"} <= set(out["missing"])
    with pytest.raises(ConfigError):
        planning.budget(sqlite_engine, OPERATOR, cac=-1)


@pytest.mark.parametrize(("acquisition_months", "retention_months", "retention"), [
    (6.0, 6.0, 50),    # equal payback: equal budgets
    (12.0, 4.0, 75),   # retention pays back three times as fast: three quarters
    (4.0, 12.0, 25),
    (100.0, 0.5, 90),  # never beyond 90 %: acquisition keeps a floor
    (0.5, 100.0, 10),
    (7.0, 3.0, 70),    # 0.7 exactly
])
def test_the_split_follows_payback_speed(acquisition_months, retention_months, retention):
    out = payback_split(acquisition_months, retention_months)
    assert out == {"acquisition": 100 - retention, "retention": retention}
