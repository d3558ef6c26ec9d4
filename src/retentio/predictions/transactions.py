"""The transaction-model stage: backtest every candidate, refit the best, score, keep it plausible.

1. The history is split into calibration and holdout; BG/NBD, MBG/NBD,
   Pareto/NBD, the NBD and the rules are fitted on the calibration and judged
   on the holdout (:mod:`retentio.models.backtest`).
2. The best is refitted on the whole history; if that fit fails (a parameter
   the longer history no longer identifies), the next best is taken, and so
   on down to the rules, which always fit. Below the data thresholds the
   rules are used without a backtest, and the run says why.
3. Gamma-Gamma gives the expected spend per purchase; CLV is discounted over
   the shop's prediction horizon with its margin.
4. Every expected-purchase and CLV value is held to what the shop's
   customers actually did over an equal horizon
   (:mod:`retentio.models.plausibility`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.backtest import make_model, run_backtest
from retentio.models.base import InsufficientDataError
from retentio.models.gammagamma import GammaGammaFitter, frequency_spend_correlation
from retentio.models.plausibility import apply_bounds, observed_bounds
from retentio.models.scoring import fit_rows, score
from retentio.models.summary import customer_summary, holdout_days, holdout_steps, repeat_steps, unit_days
from retentio.predictions.options import PredictionOptions, default_split, last_day


def backtest(ctx, opts: PredictionOptions) -> dict[str, Any]:
    last = last_day(ctx)
    cal_end, hold_end = default_split(ctx.first_local.date(), last)
    cal_end = opts.calibration_end or cal_end
    hold_end = opts.holdout_end or (last if opts.calibration_end is None or opts.calibration_end < last else None)
    if hold_end is None or hold_end <= cal_end:
        raise RetentioError(Msg("the calibration end must lie before the holdout end (and the last day with data)"))
    if cal_end <= ctx.first_local.date():
        raise RetentioError(Msg("the calibration end lies before the first order"))
    sm = customer_summary(ctx.backend, ctx.tables, cal_end, observation_end=hold_end, unit=opts.unit)
    steps = holdout_steps(ctx.backend, ctx.tables, cal_end, hold_end, opts.unit)
    calendar = repeat_steps(ctx.backend, ctx.tables, cal_end, hold_end, opts.unit)
    horizon = holdout_days(cal_end, hold_end, opts.unit)
    out = run_backtest(sm, horizon, steps, opts.models, opts.penalizer, opts.thresholds,
                       overdue=ctx.cfg.lifecycle_at_risk, calendar=calendar, unit_days=unit_days(opts.unit))
    out.update(calibration_end=cal_end.isoformat(), holdout_end=hold_end.isoformat(), unit=opts.unit)
    return out


def _spend(fit_on: pd.DataFrame, sm: pd.DataFrame, warnings: list[Msg]) -> tuple[np.ndarray, dict[str, Any]]:
    money = sm["monetary_value"].to_numpy(dtype=float)
    if not np.isfinite(money[sm["frequency"].to_numpy() > 0]).any() and (sm["frequency"] > 0).any():
        warnings.append(Msg("the orders have no amounts (a count-only import): no spend and no CLV"))
        return np.full(len(sm), np.nan), {"status": "skipped", "reason": Msg("the orders have no amounts").to_json()}
    try:
        gg = GammaGammaFitter().fit(fit_on.assign(monetary_value=fit_on["monetary_value"].fillna(0.0)))
    except RetentioError as exc:
        warnings.append(Msg("Gamma-Gamma could not be used ({why}): each customer's expected spend per order is "
                            "their own average order value", why=exc.msg))
        own = np.where(sm["frequency"] > 0, money, np.nan)
        fallback = np.nanmean(own) if np.isfinite(own).any() else 0.0
        return np.where(np.isfinite(own), own, fallback), {"status": "skipped", "reason": exc.to_json()}
    warnings.extend(Msg(w) for w in gg.warnings_)
    corr = frequency_spend_correlation(fit_on["frequency"], fit_on["monetary_value"].fillna(0.0))
    if abs(corr) > 0.3:
        warnings.append(Msg("Gamma-Gamma assumes spend independent of frequency; their correlation is {corr}",
                            corr=round(corr, 2)))
    info = {"status": "ok", **gg.describe(), "population_mean": gg.population_mean_,
            "frequency_spend_correlation": corr}
    return gg.conditional_expected_average_profit(sm.assign(monetary_value=sm["monetary_value"].fillna(0.0))), info


def transaction_scores(ctx, bt: dict[str, Any], opts: PredictionOptions, churn_days: float,
                       warnings: list[Msg]) -> tuple[pd.DataFrame, dict[str, Any]]:
    cfg = ctx.cfg
    sm = customer_summary(ctx.backend, ctx.tables, last_day(ctx), unit=opts.unit)
    if sm.empty:
        raise InsufficientDataError(Msg("no customer has a purchase yet"))
    sample = fit_rows(sm)
    if len(sample) < len(sm):
        warnings.append(Msg("the models were fitted on a random sample of {n} of {total} customers",
                            n=len(sample), total=len(sm)))
    candidates = [k for k in bt.get("ranking") or [] if k in opts.models] or ["rules"]
    if "rules" not in candidates:
        candidates.append("rules")
    failures = []
    for key in candidates:
        model = make_model(key, opts.penalizer, cfg.lifecycle_at_risk)
        try:
            model.fit(sample)
            break
        except RetentioError as exc:
            failures.append({"model": key, "error": exc.to_json()})
    if failures:
        warnings.append(Msg("refitted on the whole history, {failed} could not be estimated; {name} is used instead",
                            failed=", ".join(f["model"] for f in failures), name=model.model_name))
    spend, spend_info = _spend(sample, sm, warnings)
    scores = score(model, spend, sm, unit_days=unit_days(opts.unit), horizon_days=cfg.prediction_horizon_days,
                   churn_days=churn_days, margin=cfg.margin, discount_rate=cfg.discount_rate,
                   intervals=opts.intervals)
    history = (ctx.as_of_local - ctx.first_local).total_seconds() / 86400
    bounds = observed_bounds(ctx.backend, ctx.tables, cfg.prediction_horizon_days, history)
    capped = apply_bounds(scores, bounds, cfg.margin)
    if capped["expected_purchases"] or capped["clv"]:
        warnings.append(Msg("{n} expected-purchase and {m} CLV values lay above what any customer of the shop did "
                            "within {days} days and were set to that bound", n=capped["expected_purchases"],
                            m=capped["clv"], days=int(cfg.prediction_horizon_days)))
    out = pd.concat([sm[["customer_id"]].astype("int64").reset_index(drop=True).assign(model=key), scores], axis=1)
    info: dict[str, Any] = {"model": key, "name": model.model_name, **model.describe(), "spend": spend_info,
                            "refit_failures": failures, "plausibility": {**bounds, "capped": capped}}
    if bt.get("fallback"):
        info["reason"] = bt["fallback"]
    return out, info
