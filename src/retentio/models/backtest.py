"""Calibration/holdout backtest of the transaction models.

Every model is fitted on the calibration period and judged on what the same
customers then did in the holdout: aggregate tracking of cumulative repeat
purchases, conditional expectations by calibration frequency, per-customer
error and correlation, and calibration of the probability of no purchase.
The refresh uses the winner (lowest per-customer mean absolute error).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.models.base import collapse
from retentio.models.bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from retentio.models.paretonbd import ParetoNBDFitter
from retentio.models.transactions import TransactionModel

MODELS: dict[str, type[TransactionModel]] = {
    "bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "paretonbd": ParetoNBDFitter,
}
FREQ_CLASSES = 7  # 0..6 and "7+"


@dataclass
class Thresholds:
    """Below these the models are not trusted and the refresh falls back to rules."""

    min_customers: int = 200
    min_repeaters: int = 50
    min_holdout_repeaters: int = 20


@dataclass
class ModelResult:
    key: str
    model: TransactionModel | None
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _distinct(sm: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) rows, their weights and each customer's row."""
    c = collapse({k: sm[k].to_numpy() for k in ("frequency", "recency", "T")})
    return c.columns, c.weights, c.inverse


def evaluate(model: TransactionModel, sm: pd.DataFrame, horizon: float, steps: pd.DataFrame) -> dict[str, Any]:
    uniq, weights, pos = _distinct(sm)
    predicted = model.conditional_expected_purchases(horizon, **uniq)[pos]
    p_none = model.conditional_probability_of_purchases(horizon, 0, **uniq)[pos]
    actual = sm["holdout_frequency"].to_numpy()
    err = predicted - actual
    freq_class = np.minimum(sm["frequency"].to_numpy(), FREQ_CLASSES).astype(int)
    by_freq = [{"frequency": (str(k) if k < FREQ_CLASSES else f"{FREQ_CLASSES}+"),
                "customers": int((freq_class == k).sum()),
                "actual": float(actual[freq_class == k].mean()), "predicted": float(predicted[freq_class == k].mean())}
               for k in range(FREQ_CLASSES + 1) if (freq_class == k).any()]
    n_steps = int(np.ceil(horizon - 1e-9))
    counts = steps.set_index("step")["purchases"].reindex(range(1, n_steps + 1), fill_value=0).cumsum()
    tracking = [{"step": k, "actual": int(counts.loc[k]),
                 "predicted": float(np.dot(weights, model.conditional_expected_purchases(min(k, horizon), **uniq)))}
                for k in range(1, n_steps + 1)]
    none = (actual == 0).astype(float)
    edges = np.quantile(p_none, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges[1:-1], p_none, side="right"), 0, 9)
    calibration = [{"bin": int(b) + 1, "customers": int((bins == b).sum()),
                    "predicted": float(p_none[bins == b].mean()), "observed": float(none[bins == b].mean())}
                   for b in range(10) if (bins == b).any()]
    corr = float(np.corrcoef(predicted, actual)[0, 1]) if actual.std() > 0 and predicted.std() > 0 else None
    return {
        "predicted_total": float(predicted.sum()), "actual_total": int(actual.sum()),
        "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean())), "correlation": corr,
        "brier_no_purchase": float(((p_none - none) ** 2).mean()),
        "by_frequency": by_freq, "tracking": tracking, "calibration": calibration,
    }


def run_backtest(sm: pd.DataFrame, horizon: float, steps: pd.DataFrame, models=tuple(MODELS),
                 penalizer: float = 0.0, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Fit each model on the calibration summary ``sm`` (with holdout columns) and score the holdout."""
    th = thresholds or Thresholds()
    repeaters = int((sm["frequency"] > 0).sum())
    holdout_repeaters = int((sm["holdout_frequency"] > 0).sum())
    out: dict[str, Any] = {"customers": len(sm), "repeaters": repeaters, "holdout_repeaters": holdout_repeaters,
                           "horizon": horizon, "models": {}, "best": None, "fallback": None}
    problems = []
    if len(sm) < th.min_customers:
        problems.append(f"{len(sm)} customers in the calibration period (need {th.min_customers})")
    if repeaters < th.min_repeaters:
        problems.append(f"{repeaters} repeat buyers in the calibration period (need {th.min_repeaters})")
    if holdout_repeaters < th.min_holdout_repeaters:
        problems.append(f"{holdout_repeaters} customers buying in the holdout (need {th.min_holdout_repeaters})")
    if problems:
        out["fallback"] = "; ".join(problems)
        return out
    for key in models:
        if key not in MODELS:
            raise RetentioError(f"unknown model {key!r}; choose from {', '.join(MODELS)}")
        started = time.perf_counter()
        try:
            model = MODELS[key](penalizer=penalizer).fit(sm)
        except RetentioError as exc:
            out["models"][key] = {"name": MODELS[key].model_name, "error": str(exc)}
            continue
        fit_s = time.perf_counter() - started
        out["models"][key] = {"name": model.model_name, **model.describe(), "fit_seconds": fit_s,
                              "holdout": evaluate(model, sm, horizon, steps)}
    fitted = {k: v for k, v in out["models"].items() if "holdout" in v}
    if not fitted:
        out["fallback"] = "no model could be fitted: " + "; ".join(v["error"] for v in out["models"].values())
        return out
    out["best"] = min(fitted, key=lambda k: (fitted[k]["holdout"]["mae"], -fitted[k]["log_likelihood"]))
    return out
