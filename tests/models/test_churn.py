"""The supervised churn model: Telco benchmark, calibration, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from retentio.errors import RetentioError
from retentio.labels import REASONS
from retentio.models.base import InsufficientDataError
from retentio.models.churn import ChurnModel, classification_metrics, lift_at
from retentio.models.features import REASON_OF

# How the Telco columns map to churn reasons (the contract, price, service, … list).
TELCO_REASONS = {
    "gender": "other", "SeniorCitizen": "other", "Partner": "other", "Dependents": "other",
    "tenure": "low_engagement", "PhoneService": "other", "MultipleLines": "other",
    "InternetService": "quality", "OnlineSecurity": "service", "OnlineBackup": "service",
    "DeviceProtection": "service", "TechSupport": "service", "StreamingTV": "other", "StreamingMovies": "other",
    "Contract": "contract", "PaperlessBilling": "checkout", "PaymentMethod": "checkout",
    "MonthlyCharges": "price", "TotalCharges": "price",
}


@pytest.fixture(scope="module")
def telco(data_dir):
    d = pd.read_csv(data_dir / "telco" / "Telco-Customer-Churn.csv")
    y = (d["Churn"] == "Yes").astype(int)
    X = d.drop(columns=["customerID", "Churn"])
    # 11 new customers have a blank TotalCharges: missing, not zero.
    X["TotalCharges"] = pd.to_numeric(X["TotalCharges"].str.strip().replace("", np.nan))
    return X, y


@pytest.mark.realdata
@pytest.mark.parametrize("seed", [42, 7])
def test_telco_held_out_auc_reaches_published_level(telco, seed):
    X, y = telco
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    model = ChurnModel(seed=seed).fit(X_train, y_train)
    m = classification_metrics(y_test, model.predict_proba(X_test))
    assert m["roc_auc"] >= 0.84
    assert m["pr_auc"] > 0.6 and m["lift_at_10"] > 2.5
    # Calibrated: a Brier score well below the base-rate forecast's, and mean forecast ≈ churn rate.
    assert m["brier"] < 0.75 * (y_test.mean() * (1 - y_test.mean()))
    assert model.predict_proba(X_test).mean() == pytest.approx(y_test.mean(), abs=0.03)


@pytest.mark.realdata
def test_telco_reasons_follow_the_contributions(telco):
    X, y = telco
    model = ChurnModel().fit(X, y)
    reasons = model.reasons(X, TELCO_REASONS)
    contrib = model.contributions(X)
    # TreeSHAP: contributions plus the bias add up to the raw score.
    raw = model.booster_.predict(model._frame(X), raw_score=True)
    bias = model.booster_.predict(model._frame(X.head(1)), pred_contrib=True)[0, -1]
    np.testing.assert_allclose(contrib.sum(axis=1) + bias, raw, atol=1e-6)
    # The month-to-month customer with high charges is told "contract" and "price".
    risky = X.index[(X["Contract"] == "Month-to-month") & (X["MonthlyCharges"] > 95) & (X["tenure"] < 6)][0]
    top = {r["reason"] for r in reasons[risky]}
    assert "contract" in top
    for r in reasons[risky]:
        assert r["reason"] in REASONS and r["push"] >= 0.05
    # A two-year contract customer of long standing has no strong reason to leave.
    loyal = X.index[(X["Contract"] == "Two year") & (X["tenure"] > 60)]
    assert np.mean([len(reasons[i]) == 0 or "contract" not in {r["reason"] for r in reasons[i]} for i in loyal]) > 0.95


def test_every_feature_has_a_reason_with_both_languages():
    from retentio.i18n import tr

    for reason in set(REASON_OF.values()) | set(TELCO_REASONS.values()):
        assert reason in REASONS
        assert tr("de", REASONS[reason]) != REASONS[reason]  # German text from the catalogue


def test_unmapped_features_are_named():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = (X["a"] + rng.normal(size=600) > 0).astype(int)
    model = ChurnModel(n_estimators=20).fit(X, y)
    with pytest.raises(RetentioError, match="no churn reason for feature"):
        model.reasons(X, {"a": "price"})


def test_too_few_churners_is_refused():
    X = pd.DataFrame({"a": np.arange(500.0)})
    y = np.r_[np.ones(5), np.zeros(495)]
    with pytest.raises(InsufficientDataError, match="5 churners"):
        ChurnModel().fit(X, y)


def test_lift_is_relative_to_the_base_rate():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 10)
    p = np.where(y == 1, 0.9, 0.1)
    assert lift_at(y, p, 0.1) == pytest.approx(5.0)
