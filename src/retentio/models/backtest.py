"""Calibration/holdout backtest of the transaction models, the rules, and the spend model.

Every candidate — BG/NBD, MBG/NBD, Pareto/NBD, the NBD (no dropout) and the
rules a shop would use without a model — is fitted on the calibration period
and judged on what the same customers then did in the holdout: aggregate
tracking of cumulative repeat purchases (holdout only, and over calibration
and holdout as [FHL05] Figure 3 reports it), conditional expectations by
calibration frequency, per-customer error and correlation, and calibration
of the probability of no purchase. The refresh uses the winner (lowest
per-customer mean absolute error). Gamma-Gamma is fitted on the calibration
too and checked against the mean spend of the holdout's purchasers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.base import collapse
from retentio.models.bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from retentio.models.gammagamma import GammaGammaFitter
from retentio.models.nbd import NBDFitter
from retentio.models.paretonbd import ParetoNBDFitter
from retentio.models.rules import RulesModel
from retentio.models.scoring import fit_rows
from retentio.models.transactions import TransactionModel

MODELS: dict[str, type[TransactionModel]] = {
    "bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "paretonbd": ParetoNBDFitter,
    "nbd": NBDFitter, "rules": RulesModel,
}
STOCHASTIC = ("bgnbd", "mbgnbd", "paretonbd", "nbd")
FREQ_CLASSES = 7  # 0..6 and "7+"
# Customers the backtest fits and judges its candidates on; beyond this the parameters' standard errors
# are a fraction of their differences between models (docs/models.md, "Sampling").
BACKTEST_SAMPLE = 200_000


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


def evaluate(model: TransactionModel, sm: pd.DataFrame, horizon: float, steps: pd.DataFrame,
             scale: float = 1.0) -> dict[str, Any]:
    """Holdout metrics over the customers of ``sm``; ``scale``: how many customers each row of a
    sample stands for, so the expected cumulative purchases track the whole shop's ``steps``."""
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
                 "predicted": scale * float(np.dot(weights, model.conditional_expected_purchases(min(k, horizon),
                                                                                               **uniq)))}
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


def make_model(key: str, penalizer: float = 0.0, overdue: float | None = None) -> TransactionModel:
    if key not in MODELS:
        raise RetentioError(Msg("unknown model {key!r}; choose from {names}", key=key, names=", ".join(MODELS)))
    if key == "rules" and overdue is not None:
        return RulesModel(overdue=overdue)
    return MODELS[key](penalizer=penalizer)


def ranking(results: dict[str, Any]) -> list[str]:
    """Fitted candidates, best first: lowest holdout MAE, then the higher likelihood."""
    fitted = {k: v for k, v in results.items() if "holdout" in v}
    return sorted(fitted, key=lambda k: (fitted[k]["holdout"]["mae"], -(fitted[k]["log_likelihood"] or 0.0)))


def run_backtest(sm: pd.DataFrame, horizon: float, steps: pd.DataFrame, models=tuple(MODELS),
                 penalizer: float = 0.0, thresholds: Thresholds | None = None, *, overdue: float | None = None,
                 calendar: pd.DataFrame | None = None, unit_days: float = 7.0,
                 sample: int = BACKTEST_SAMPLE) -> dict[str, Any]:
    """Fit each model on the calibration summary ``sm`` (with holdout columns) and score the holdout.

    ``calendar``: repeat purchase days of the calibration customers per time unit since the first
    purchase (``step, purchases``), for the tracking over calibration and holdout.
    ``sample``: above this many customers, the models are fitted and judged on a random sample of
    that size (the result says so); the thresholds still count the whole shop. What this costs
    in accuracy is measured in docs/models.md."""
    th = thresholds or Thresholds()
    repeaters = int((sm["frequency"] > 0).sum())
    holdout_repeaters = int((sm["holdout_frequency"] > 0).sum())
    out: dict[str, Any] = {"customers": len(sm), "repeaters": repeaters, "holdout_repeaters": holdout_repeaters,
                           "horizon": horizon, "models": {}, "best": None, "fallback": None}
    problems: list[Msg] = []
    if len(sm) < th.min_customers:
        problems.append(Msg("{n} customers in the calibration period (need {need})", n=len(sm),
                            need=th.min_customers))
    if repeaters < th.min_repeaters:
        problems.append(Msg("{n} repeat buyers in the calibration period (need {need})", n=repeaters,
                            need=th.min_repeaters))
    if holdout_repeaters < th.min_holdout_repeaters:
        problems.append(Msg("{n} customers buying in the holdout (need {need})", n=holdout_repeaters,
                            need=th.min_holdout_repeaters))
    if problems:
        out["fallback"] = [p.to_json() for p in problems]
        return out
    fitted_models: dict[str, TransactionModel] = {}
    whole = sm
    sm = fit_rows(whole, sample)
    scale = len(whole) / len(sm)
    if len(sm) < len(whole):
        out["sampled"] = {"customers": len(sm), "of": len(whole)}
    for key in models:
        model = make_model(key, penalizer, overdue)
        started = time.perf_counter()
        try:
            model.fit(sm)
        except RetentioError as exc:
            out["models"][key] = {"name": model.model_name, "error": exc.to_json()}
            continue
        fit_s = time.perf_counter() - started
        fitted_models[key] = model
        out["models"][key] = {"name": model.model_name, **model.describe(), "fit_seconds": fit_s,
                              "holdout": evaluate(model, sm, horizon, steps, scale)}
    order = ranking(out["models"])
    if not order:
        out["fallback"] = Msg("no model could be fitted: {why}",
                              why=[Msg.from_json(v["error"]) for v in out["models"].values()]).to_json()
        return out
    out["best"] = order[0]
    out["ranking"] = order
    out["spend"] = spend_backtest(sm)
    if calendar is not None:
        out["paper_tracking"] = paper_tracking({k: m for k, m in fitted_models.items() if k in STOCHASTIC}, whole,
                                               calendar, horizon, unit_days)
    return out


def spend_backtest(sm: pd.DataFrame) -> dict[str, Any]:
    """Gamma-Gamma on the calibration period; its prediction of each holdout purchaser's mean
    spend per purchase day against what they spent ([FHL05b] eq. 5 applied out of sample)."""
    try:
        gg = GammaGammaFitter().fit(sm)
    except RetentioError as exc:
        return {"status": "skipped", "reason": exc.to_json()}
    hold = sm[(sm["holdout_frequency"] > 0) & sm["holdout_amount"].notna()]
    predicted = gg.conditional_expected_average_profit(hold)
    actual = (hold["holdout_amount"] / hold["holdout_frequency"]).to_numpy()
    return {"status": "ok", "name": gg.model_name, **gg.describe(), "population_mean": gg.population_mean_,
            "holdout": {"customers": len(hold), "predicted_mean": float(np.mean(predicted)) if len(hold) else None,
                        "actual_mean": float(np.mean(actual)) if len(hold) else None,
                        "mae": float(np.mean(np.abs(predicted - actual))) if len(hold) else None}}


def paper_tracking(models: dict[str, TransactionModel], sm: pd.DataFrame, calendar: pd.DataFrame,
                   horizon: float, unit_days: float) -> dict[str, Any]:
    """Cumulative repeat purchases per time unit from the first purchase, over calibration and
    holdout, actual and expected, as [FHL05] Figure 3 (and CLVTools' plots) report it.

    Expected at step k: the sum over customers of E[X(k − o_i)], the unconditional expected
    repeat purchases of a customer acquired at offset o_i ([FHL05] eq. 7), from their first purchase."""
    first = pd.to_datetime(sm["first_purchase"])
    start = first.min().normalize()
    offset_days = ((first - start).dt.total_seconds() / 86400).round().astype(int).to_numpy()
    cal_days = round(float(sm["T"].max()) * unit_days) + int(offset_days.min())
    total_days = cal_days + round(horizon * unit_days)
    n_steps = int(np.ceil(total_days / unit_days - 1e-9))
    counts = calendar.set_index("step")["purchases"].reindex(range(1, n_steps + 1), fill_value=0).cumsum()
    offsets, weights = np.unique(offset_days, return_counts=True)
    grid = np.arange(0, n_steps * int(np.ceil(unit_days)) + 1) / unit_days
    predicted = {}
    for key, model in models.items():
        ex = model.expected_purchases(grid)
        out = []
        for k in range(1, n_steps + 1):
            idx = np.clip(np.round(k * unit_days - offsets).astype(int), 0, len(grid) - 1)
            age = np.maximum(k * unit_days - offsets, 0)
            out.append(float(np.dot(weights, np.where(age > 0, ex[idx], 0.0))))
        predicted[key] = out
    return {"start": start.date().isoformat(), "calibration_steps": int(np.ceil(cal_days / unit_days - 1e-9)),
            "steps": [{"step": k, "actual": int(counts.loc[k]),
                       "predicted": {key: vals[k - 1] for key, vals in predicted.items()}}
                      for k in range(1, n_steps + 1)]}
