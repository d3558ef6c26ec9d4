"""Supervised churn model: gradient boosting with calibrated probabilities and
per-customer reasons.

* LightGBM (histogram gradient boosting; categorical columns natively) fits
  the log-odds of churn.
* Probabilities are calibrated on scores the trees produced for rows they
  never saw (out-of-fold, as scikit-learn's ``CalibratedClassifierCV`` with
  ``ensemble=False``), by Platt scaling (Platt 1999): a logistic map of the
  log-odds, strictly monotone, so the ranking (ROC AUC) is kept and "30 %"
  means about 30 of 100.
* Reasons are exact TreeSHAP contributions (Lundberg et al. 2020, "From local
  explanations to global understanding with explainable AI for trees",
  Nature Machine Intelligence 2, 56–67) as LightGBM computes them
  (``pred_contrib``): per customer, each feature's push on the log-odds.
  Features map to churn reasons (price, service, lost touch, …); the reasons
  with the largest positive push are reported in German and English.

Why LightGBM and not scikit-learn's HistGradientBoosting: the same algorithm,
but LightGBM also computes the TreeSHAP contributions, which would otherwise
need the heavy ``shap`` package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.base import InsufficientDataError
from retentio.models.treeshap import grouped_contributions


def lift_at(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the top ``share`` by score, over the overall churn rate."""
    n = max(1, round(len(p) * share))
    top = np.argsort(-p, kind="stable")[:n]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float | int | str]]:
    """Mean forecast and observed rate in equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [{"bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}", "customers": int((idx == b).sum()),
             "predicted": float(p[idx == b].mean()), "observed": float(y[idx == b].mean())}
            for b in range(bins) if (idx == b).any()]


def classification_metrics(y, p) -> dict[str, float]:
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if len(np.unique(y)) < 2:
        raise RetentioError("the evaluation data contain only one class")
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p)), "lift_at_10": lift_at(y, p, 0.1),
            "base_rate": float(y.mean()), "customers": len(y)}


# Rows the trees are trained on; more add little (docs/models.md, "Sampling": on 1M simulated customers
# 100,000 rows gave a ROC AUC 0.00005 below 200,000 and 0.0003 below everyone) and cost linear time.
MAX_TRAIN_ROWS = 100_000
# Rows the check model is judged on: the ROC AUC's standard error is below 0.002 on 200,000 even at a 10 %
# base rate (Hanley & McNeil 1982, eq. 2).
MAX_JUDGED_ROWS = 200_000


def stratified_rows(y: np.ndarray, limit: int = MAX_TRAIN_ROWS, seed: int = 0) -> np.ndarray:
    """All row numbers of ``y``, or a sorted sample of ``limit`` of them with the label's shares kept."""
    rows = np.arange(len(y))
    if len(y) <= limit:
        return rows
    keep, _ = train_test_split(rows, train_size=limit, stratify=y, random_state=seed)
    return np.sort(keep)


class ChurnModel:
    """Gradient-boosted churn classifier with isotonic calibration and reasons.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample, l2 :
        LightGBM hyper-parameters: small trees, slow learning, L2 shrinkage
        (chosen on the Telco data by repeated random splits; see docs/models.md).
    cv : int
        Folds for the out-of-fold calibration scores.
    min_rows, min_positives : int
        Fewer rows or churners than this raise :class:`InsufficientDataError`.
    max_rows : int or None
        Above this many rows the trees and the calibration are fitted on a
        sample of that size, stratified by the label (``sampled_`` says so);
        what this costs in accuracy is measured in docs/models.md, "Sampling".
    seed : int

    Attributes
    ----------
    booster_ : lightgbm.Booster
    calibrator_ : sklearn.linear_model.LogisticRegression (Platt scaling of the log-odds)
    features_ : list of str
    categories_ : dict of column -> categories seen in training
    sampled_ : tuple (rows fitted on, rows given) or None
    """

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.04, num_leaves: int = 7,
                 min_child_samples: int = 50, subsample: float = 0.8, colsample: float = 0.8,
                 l2: float = 1.0, cv: int = 3, min_rows: int = 200, min_positives: int = 20,
                 max_rows: int | None = MAX_TRAIN_ROWS, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.l2 = l2
        self.cv = cv
        self.min_rows = min_rows
        self.min_positives = min_positives
        self.max_rows = max_rows
        self.seed = seed

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X[self.features_].copy()
        for col, cats in self.categories_.items():
            X[col] = pd.Categorical(X[col].astype("object"), categories=cats)
        return X

    def _train(self, X: pd.DataFrame, y: np.ndarray, threads: int = 2) -> lgb.Booster:
        # Row-wise histograms: the same trees as column-wise, 1.1x faster at 200,000 rows x 24 features.
        params = {"objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                  "min_child_samples": self.min_child_samples, "bagging_fraction": self.subsample,
                  "bagging_freq": 1, "feature_fraction": self.colsample, "lambda_l2": self.l2,
                  "seed": self.seed, "deterministic": True, "force_row_wise": True, "verbose": -1,
                  "num_threads": threads}
        data = lgb.Dataset(X, label=y, categorical_feature=list(self.categories_) or "auto")
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    def fit(self, X: pd.DataFrame, y) -> ChurnModel:
        """Fit the trees on all of ``X, y``; the calibration on out-of-fold scores."""
        y = np.asarray(y, dtype=int)
        if len(y) < self.min_rows or y.sum() < self.min_positives or (len(y) - y.sum()) < self.min_positives:
            raise InsufficientDataError(
                Msg("churn model: {n_y} rows with {value} churners — need at least {min_rows} rows and {min_positives} of each outcome", n_y=len(y), value=int(y.sum()), min_rows=self.min_rows, min_positives=self.min_positives))
        self.sampled_ = None
        if self.max_rows is not None and len(y) > self.max_rows:
            keep = stratified_rows(y, self.max_rows, self.seed)
            self.sampled_ = (len(keep), len(y))
            X, y = X.iloc[keep], y[keep]
        self.features_ = list(X.columns)
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist())
                            for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])}
        frame = self._frame(X)
        oof = np.empty(len(y))
        folds = list(StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.seed).split(frame, y))

        def fold(train: np.ndarray, held: np.ndarray) -> None:
            oof[held] = self._train(frame.iloc[train], y[train], threads=1).predict(frame.iloc[held], raw_score=True)

        # The folds side by side, one LightGBM thread each: their small histograms gain little from a second
        # thread, and three at once keep both cores busy (docs/benchmarks.md, "Stop 25"). One thread per
        # fold also makes each fold's trees independent of how the threads are scheduled.
        with ThreadPoolExecutor(max_workers=self.cv, thread_name_prefix="retentio-cv") as pool:
            for done in [pool.submit(fold, train, held) for train, held in folds]:
                done.result()
        self.calibrator_ = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), y)
        self.booster_ = self._train(frame, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) per row."""
        if not hasattr(self, "booster_"):
            raise RetentioError("ChurnModel is not fitted yet")
        raw = self.booster_.predict(self._frame(X), raw_score=True)
        return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions to the (uncalibrated) log-odds, one column per feature."""
        contrib = self.booster_.predict(self._frame(X), pred_contrib=True)
        return pd.DataFrame(contrib[:, :-1], columns=self.features_, index=X.index)

    def reason_matrix(self, X: pd.DataFrame, reason_of: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """Reason names and, per row, each reason's push: the TreeSHAP contributions of its features, summed
        (exact, over distinct decisions: :mod:`retentio.models.treeshap`)."""
        names, values, _ = self._reasons_and_raw(X, reason_of)
        return names, values

    def _reasons_and_raw(self, X: pd.DataFrame, reason_of: Mapping[str, str]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        unmapped = [f for f in self.features_ if f not in reason_of]
        if unmapped:
            raise RetentioError(Msg("no churn reason for feature(s) {value}", value=', '.join(unmapped)))
        names, group_of = np.unique([reason_of[f] for f in self.features_], return_inverse=True)
        values, raw = grouped_contributions(self.booster_, self._frame(X), group_of, len(names), with_raw=True)
        return names, values, raw

    def predict_with_reasons(self, X: pd.DataFrame, reason_of: Mapping[str, str], top: int = 3,
                             min_push: float = 0.05) -> tuple[np.ndarray, list[str]]:
        """:meth:`predict_proba` and :meth:`reasons_json` in one pass over the trees (the raw scores come
        with the contributions: a second prediction of 1M rows took 4.8 s)."""
        names, values, raw = self._reasons_and_raw(X, reason_of)
        return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1], self._as_json(names, values, top, min_push)

    def reasons(self, X: pd.DataFrame, reason_of: Mapping[str, str], top: int = 3,
                min_push: float = 0.05) -> list[list[dict[str, float | str]]]:
        """Per row, up to ``top`` churn reasons with the largest positive push
        (summed over the features mapped to each reason)."""
        names, values = self.reason_matrix(X, reason_of)
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        return [[{"reason": str(names[j]), "push": round(float(values[i, j]), 4)}
                 for j in order[i] if values[i, j] >= min_push] for i in range(len(values))]

    def reasons_json(self, X: pd.DataFrame, reason_of: Mapping[str, str], top: int = 3,
                     min_push: float = 0.05) -> list[str]:
        """:meth:`reasons` as JSON text per row: a tenth of the memory of the lists at 10M customers."""
        names, values = self.reason_matrix(X, reason_of)
        return self._as_json(names, values, top, min_push)

    @staticmethod
    def _as_json(names: np.ndarray, values: np.ndarray, top: int, min_push: float) -> list[str]:
        """Per row ``[{"reason": …, "push": …}, …]``, as ``json.dumps`` writes it, built column-wise by
        Arrow (a Python f-string per row took 6.2 s for 1M customers)."""
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        exact = np.take_along_axis(values, order, axis=1)
        top_values = np.round(exact, 4)
        keep = exact >= min_push  # a push of 0.049996 is below 0.05, though it is shown rounded as 0.05
        if order.shape[1] == 0:
            return ["[]"] * len(values)
        labels = pa.array([json.dumps(str(n)) for n in names], pa.string())
        pieces = []
        for k in range(order.shape[1]):
            number = pa.array(top_values[:, k]).cast(pa.string())
            # Arrow writes the shortest round-trip digits like repr(), but 2.0 as "2": JSON's 2.0 is a float.
            whole = pc.invert(pc.match_substring_regex(number, r"[.eEna]"))
            number = pc.if_else(whole, pc.binary_join_element_wise(number, ".0", ""), number)
            piece = pc.binary_join_element_wise(", " if k else "", '{"reason": ', labels.take(pa.array(order[:, k])),
                                                ', "push": ', number, "}", "")
            # The pushes fall along each row, so the kept reasons are a prefix: no separator to skip.
            # (null_handling="skip" would have done it, but drops the rows that are all null: pyarrow 26.)
            pieces.append(pc.if_else(pa.array(keep[:, k]), piece, ""))
        return pc.binary_join_element_wise("[", *pieces, "]", "").to_pylist()

    def importance(self) -> pd.Series:
        gain = self.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain / gain.sum(), index=self.features_).sort_values(ascending=False)
