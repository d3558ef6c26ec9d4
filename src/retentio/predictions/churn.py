"""The churn-model stage: a supervised model of "no purchase (or no contract) within the horizon".

Features at a cutoff (RFM, gaps and their trend, returns, NPS, cases, events,
contract state and the shop's custom customer attributes); trained at
as-of − 2h with labels up to as-of − h, validated at as-of − h (ROC AUC, PR
AUC, Brier, lift, calibration), then retrained on the latest labelled window
and used to score every customer at as-of, with reasons.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.attributes import load_attribute_features
from retentio.models.churn import (
    MAX_JUDGED_ROWS,
    ChurnModel,
    calibration_table,
    classification_metrics,
    stratified_rows,
)
from retentio.models.features import feature_frame, sample_modulus

# Customers whose training and validation features are computed: enough for MAX_TRAIN_ROWS stratified
# rows to fit on and MAX_JUDGED_ROWS to judge on even where a tenth are too new to be labelled. Rows
# beyond that were computed only to be left out by the stratified samples (docs/models.md, "Sampling").
LABELLED_CUSTOMERS = 250_000


def churn_scores(ctx, horizon_days: float, typical_interval: float, customer_ids=None
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per customer churn probability and reasons; raises RetentioError when it cannot be trained.

    ``customer_ids``: every scored customer; from a multiple of ``LABELLED_CUSTOMERS`` on, the labelled
    frames (training and validation) are built for one customer in ``k`` only."""
    h = dt.timedelta(days=horizon_days)
    as_of = ctx.as_of_local
    if as_of - 2 * h - dt.timedelta(days=90) < ctx.first_local:
        raise RetentioError(Msg("less than two churn horizons ({days} days) plus 90 days of history",
                                days=int(2 * horizon_days)))
    attributes = load_attribute_features(ctx.engine)

    one_in = 1 if customer_ids is None else sample_modulus(customer_ids, LABELLED_CUSTOMERS)

    def frame(cutoff, label=True):
        return feature_frame(ctx.backend, ctx.tables, ctx.engine, cutoff, ctx.cfg.time_zone,
                             horizon_days=horizon_days if label else None, typical_interval=typical_interval,
                             attributes=attributes, one_in=one_in if label else 1)

    train, valid = frame(as_of - 2 * h), frame(as_of - h)
    features, reasons = valid.attrs["features"], valid.attrs["reasons"]
    check = ChurnModel().fit(train[features], train["churned"])
    # Metrics need no million rows (MAX_JUDGED_ROWS says why); scoring a million took 5.6 s. validated_on
    # says how many were judged.
    judged = valid.iloc[stratified_rows(valid["churned"].to_numpy(), MAX_JUDGED_ROWS)]
    p = check.predict_proba(judged[features])
    metrics = classification_metrics(judged["churned"], p)
    model = ChurnModel().fit(valid[features], valid["churned"])
    now = frame(as_of, label=False)
    probability, why = model.predict_with_reasons(now[features], reasons)
    out = pd.DataFrame({"customer_id": now["customer_id"].astype("int64"), "churn_probability": probability,
                        "reasons": why})  # JSON text: stored as is (refresh.store_predictions)
    return out, {"status": "ok", "horizon_days": horizon_days, "validation": metrics,
                 "train_cutoff": (as_of - 2 * h).date().isoformat(), "validation_cutoff": (as_of - h).date().isoformat(),
                 "calibration": calibration_table(judged["churned"].to_numpy(), p),
                 "validated_on": {"rows": len(judged), "of": len(valid)},
                 "labelled_customers": {"one_in": one_in, "frames": [len(train), len(valid)]},
                 "features": len(features), "attribute_features": [f for f in features if f.startswith("attr_")],
                 "trained_on": {"rows": (model.sampled_ or (len(valid),) * 2)[0], "of": len(valid)},
                 "importance": {k: round(float(v), 4) for k, v in model.importance().head(10).items()}}


def rule_reasons(row) -> list[dict[str, Any]]:
    """Reasons without a churn model: what the lifecycle and the order history say."""
    reasons = []
    if row.get("lifecycle") in ("at_risk", "inactive", "churned"):
        reasons.append({"reason": "lost_touch", "push": None})
    if (row.get("purchases") or 0) <= 1:
        reasons.append({"reason": "low_engagement", "push": None})
    if (row.get("returns") or 0) > 0:
        reasons.append({"reason": "quality", "push": None})
    return reasons

