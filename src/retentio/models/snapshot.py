"""A labelled snapshot: a customer table with a "churned" column (like IBM's Telco file), modelled and scored.

The other columns are the features (:mod:`retentio.models.attributes` decides
which are numbers, which categories, which are left out). The churn model is
judged by stratified k-fold cross-validation — every customer scored by a
model that never saw them — with ROC AUC, PR AUC, Brier score and a
calibration table, then fitted on all rows to score every customer with
their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.attributes import attribute_features
from retentio.models.churn import ChurnModel, calibration_table, classification_metrics

YES = {"1", "yes", "y", "true", "ja", "j", "churned", "churn", "gekuendigt", "gekündigt", "cancelled", "canceled",
       "lost", "x"}
NO = {"0", "no", "n", "false", "nein", "active", "aktiv", "retained", "stayed", "kept"}


@dataclass
class SnapshotResult:
    label: str
    customers: int
    churners: int
    folds: int
    metrics: dict[str, float]
    fold_auc: list[float]
    calibration: list[dict[str, Any]]
    features: list[str]
    importance: dict[str, float]
    scores: pd.DataFrame = field(repr=False)  # customer, churn_probability, reasons, label
    unlabelled: int = 0  # customers with an empty label: scored, not used for training or validation

    def as_dict(self, top: int | None = None) -> dict[str, Any]:
        rows = self.scores.sort_values("churn_probability", ascending=False)
        if top:
            rows = rows.head(top)
        return {"label": self.label, "customers": self.customers, "churners": self.churners,
                "unlabelled": self.unlabelled, "folds": self.folds,
                "cross_validated": self.metrics, "fold_roc_auc": self.fold_auc, "calibration": self.calibration,
                "features": self.features, "importance": self.importance,
                "scores": rows.to_dict("records")}


def _label_text(values: pd.Series) -> pd.Series:
    return values.astype(object).map(lambda v: "" if v is None or v != v else str(v).strip().lower())


def labels(values: pd.Series, label: str) -> np.ndarray:
    text = _label_text(values)
    unknown = sorted(set(text) - YES - NO)
    if unknown:
        raise RetentioError(Msg("the label column {label!r} holds values that are neither yes nor no: {values}",
                                label=label, values=", ".join(repr(u) for u in unknown[:5])))
    return text.isin(YES).to_numpy(dtype=int)


def fit_snapshot(table: pd.DataFrame, label: str, *, folds: int = 5, seed: int = 0,
                 model_params: dict[str, Any] | None = None) -> SnapshotResult:
    """``table``: ``customer`` (the customer number), ``customer_id`` (any integer key) and ``attributes``
    (dict per row, the label among them)."""
    present = table["attributes"].map(lambda a: isinstance(a, dict) and label in a)
    if not present.any():
        raise RetentioError(Msg("no customer has the column {label!r}; columns: {columns}", label=label,
                                columns=", ".join(sorted({k for a in table["attributes"] if isinstance(a, dict)
                                                          for k in a})[:30])))
    table = table[present].reset_index(drop=True)
    # An empty label is not a "no": those customers are scored but neither trained nor validated on.
    known = (_label_text(table["attributes"].map(lambda a: a.get(label))) != "").to_numpy()
    frame, reasons = attribute_features(table[["customer_id", "attributes"]], exclude=(label,))
    features = list(reasons)
    if not features:
        raise RetentioError(Msg("no column besides {label!r} is usable as a feature", label=label))
    everyone = frame[features]
    table_known = table[known].reset_index(drop=True)
    y = labels(table_known["attributes"].map(lambda a: a.get(label)), label)
    X = everyone[known].reset_index(drop=True)
    params = model_params or {}
    oof = np.empty(len(y))
    fold_auc = []
    if min(int(y.sum()), int(len(y) - y.sum())) < folds:
        raise RetentioError(Msg("too few churners or non-churners for {k}-fold cross-validation", k=folds))
    for train, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        model = ChurnModel(seed=seed, **params).fit(X.iloc[train], y[train])
        oof[held] = model.predict_proba(X.iloc[held])
        fold_auc.append(classification_metrics(y[held], oof[held])["roc_auc"])
    final = ChurnModel(seed=seed, **params).fit(X, y)
    label_all = pd.array([None] * len(table), dtype="Int64")
    label_all[known] = y
    cv = np.full(len(table), np.nan)
    cv[known] = oof
    scores = pd.DataFrame({"customer": table["customer"].to_numpy(), "label": label_all,
                           "churn_probability": final.predict_proba(everyone),
                           "cross_validated_probability": cv,
                           "reasons": final.reasons(everyone, reasons)})
    return SnapshotResult(label, len(y), int(y.sum()), folds, classification_metrics(y, oof), fold_auc,
                          calibration_table(y, oof), features,
                          {k: round(float(v), 4) for k, v in final.importance().head(10).items()}, scores,
                          unlabelled=int((~known).sum()))
