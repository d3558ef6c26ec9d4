"""A labelled snapshot: cross-validated, every customer scored, an empty label never read as "no"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retentio.errors import RetentioError
from retentio.models.snapshot import fit_snapshot


def table(n: int = 600, seed: int = 3, labels=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    charges = rng.uniform(20, 120, n)
    plan = rng.choice(["monthly", "yearly"], n)
    # Truth: monthly plans with high charges churn.
    p = 1 / (1 + np.exp(-(-2.0 + 0.03 * (charges - 60) + 1.6 * (plan == "monthly"))))
    churned = rng.random(n) < p
    lab = labels if labels is not None else np.where(churned, "Yes", "No")
    attrs = [{"charges": float(c), "plan": str(pl), "Churn": lv} for c, pl, lv in zip(charges, plan, lab, strict=True)]
    return pd.DataFrame({"customer_id": range(n), "customer": [f"K{i}" for i in range(n)], "attributes": attrs})


def test_cross_validated_scores_follow_the_simulated_truth():
    r = fit_snapshot(table(), "Churn", folds=5)
    assert r.customers == 600 and r.unlabelled == 0 and len(r.fold_auc) == 5
    assert r.metrics["roc_auc"] > 0.7
    assert {"attr_charges", "attr_plan"} <= set(r.features)
    assert r.scores["cross_validated_probability"].between(0, 1).all()


def test_an_empty_label_is_unlabelled_not_no():
    t = table()
    labs = [a["Churn"] for a in t["attributes"]]
    for i in range(0, 600, 10):
        labs[i] = "" if i % 20 else None
    t = table(labels=labs)
    r = fit_snapshot(t, "Churn", folds=5)
    assert r.unlabelled == 60 and r.customers == 540
    assert len(r.scores) == 600
    blank = r.scores["label"].isna()
    assert blank.sum() == 60 and r.scores.loc[blank, "churn_probability"].notna().all()
    assert r.scores.loc[blank, "cross_validated_probability"].isna().all()
    assert r.as_dict()["unlabelled"] == 60


@pytest.mark.parametrize(("labels", "message"), [
    (["maybe"] * 300 + ["No"] * 300, "maybe"),
    (["Yes"] * 2 + ["No"] * 598, "too few churners"),
])
def test_labels_that_cannot_train_are_refused_with_the_reason(labels, message):
    with pytest.raises(RetentioError, match=message):
        fit_snapshot(table(labels=labels), "Churn", folds=5)


def test_a_missing_label_column_names_the_columns():
    with pytest.raises(RetentioError, match="charges"):
        fit_snapshot(table(), "Gekündigt", folds=5)
