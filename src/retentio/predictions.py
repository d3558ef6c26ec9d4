"""Per-customer predictions for a refresh: backtest, model choice, scores, reasons.

1. The history is split into calibration and holdout; BG/NBD, MBG/NBD and
   Pareto/NBD are fitted on the calibration and judged on the holdout
   (:mod:`retentio.models.backtest`). The best one is refitted on the whole
   history. Below the data thresholds the refresh uses rules and says so.
2. Gamma-Gamma gives the expected spend per purchase; CLV is discounted over
   the shop's prediction horizon with its margin.
3. The supervised churn model (features at a cutoff, label "no purchase
   within the churn horizon") is trained on the latest labelled window,
   validated on the one before, and gives the churn probability and reasons.
   Where it cannot be trained, P(no purchase within the horizon) from the
   transaction model stands in, with rule-based reasons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.models.backtest import MODELS, Thresholds, run_backtest
from retentio.models.churn import ChurnModel, classification_metrics
from retentio.models.features import FEATURES, REASON_OF, feature_frame
from retentio.models.gammagamma import GammaGammaFitter, frequency_spend_correlation
from retentio.models.sbg import ShiftedBetaGeometricFitter
from retentio.models.scoring import fit_rows, score
from retentio.models.summary import customer_summary, holdout_days, holdout_steps, unit_days
from retentio.models.value import MONTH_DAYS

RULE_RISK = {"active": 0.1, "reactivated": 0.3, "new": 0.4, "at_risk": 0.5, "inactive": 0.8, "churned": 0.95}


@dataclass
class PredictionOptions:
    unit: str = "weeks"
    calibration_end: dt.date | None = None
    holdout_end: dt.date | None = None
    models: tuple[str, ...] = tuple(MODELS)
    penalizer: float = 0.0
    intervals: bool = True
    thresholds: Thresholds | None = None


def last_day(ctx) -> dt.date:
    """The last day with data in the refresh (as_of_local is the start of the next day)."""
    return ctx.as_of_local.date() - dt.timedelta(days=1)


def default_split(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """Holdout = the last third of the history, between 4 weeks and a year, in whole weeks."""
    span = (last - first).days
    weeks = int(min(max(span / 3, 28), 365) // 7)
    return last - dt.timedelta(days=7 * weeks), last


def backtest(ctx, opts: PredictionOptions) -> dict[str, Any]:
    last = last_day(ctx)
    cal_end, hold_end = default_split(ctx.first_local.date(), last)
    cal_end = opts.calibration_end or cal_end
    hold_end = opts.holdout_end or (last if opts.calibration_end is None or opts.calibration_end < last else None)
    if hold_end is None or hold_end <= cal_end:
        raise RetentioError("the calibration end must lie before the holdout end (and the last day with data)")
    if cal_end <= ctx.first_local.date():
        raise RetentioError("the calibration end lies before the first order")
    sm = customer_summary(ctx.backend, ctx.tables, cal_end, observation_end=hold_end, unit=opts.unit)
    steps = holdout_steps(ctx.backend, ctx.tables, cal_end, hold_end, opts.unit)
    horizon = holdout_days(cal_end, hold_end, opts.unit)
    out = run_backtest(sm, horizon, steps, opts.models, opts.penalizer, opts.thresholds)
    out.update(calibration_end=cal_end.isoformat(), holdout_end=hold_end.isoformat(), unit=opts.unit)
    return out


def _spend(fit_on: pd.DataFrame, sm: pd.DataFrame, warnings: list[str]) -> tuple[np.ndarray, dict[str, Any] | None]:
    try:
        gg = GammaGammaFitter().fit(fit_on)
    except RetentioError as exc:
        warnings.append(f"Gamma-Gamma not used ({exc}); expected spend = each customer's mean order value")
        own = np.where(sm["frequency"] > 0, sm["monetary_value"], np.nan)
        fallback = np.nanmean(own) if np.isfinite(own).any() else 0.0
        return np.where(np.isfinite(own), own, fallback), None
    warnings.extend(gg.warnings_)
    corr = frequency_spend_correlation(fit_on["frequency"], fit_on["monetary_value"])
    if abs(corr) > 0.3:
        warnings.append(f"Gamma-Gamma assumes spend independent of frequency; their correlation is {corr:.2f}")
    info = {**gg.describe(), "population_mean": gg.population_mean_, "frequency_spend_correlation": corr}
    return gg.conditional_expected_average_profit(sm), info


def model_scores(ctx, key: str, opts: PredictionOptions, facts: pd.DataFrame,
                 churn_horizon_days: float, warnings: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    cfg = ctx.cfg
    sm = customer_summary(ctx.backend, ctx.tables, last_day(ctx), unit=opts.unit)
    sample = fit_rows(sm)
    if len(sample) < len(sm):
        warnings.append(f"the models were fitted on a random sample of {len(sample):,} of {len(sm):,} customers")
    model = MODELS[key](penalizer=opts.penalizer).fit(sample)
    spend, spend_info = _spend(sample, sm, warnings)
    scores = score(model, spend, sm, unit_days=unit_days(opts.unit), horizon_days=cfg.prediction_horizon_days,
                   churn_days=churn_horizon_days, margin=cfg.margin, discount_rate=cfg.discount_rate,
                   intervals=opts.intervals)
    out = pd.concat([sm[["customer_id"]].astype("int64").reset_index(drop=True).assign(model=key), scores], axis=1)
    return out, {"model": key, "name": model.model_name, **model.describe(), "spend": spend_info}


def rule_scores(facts: pd.DataFrame, cfg, churn_horizon_days: float) -> pd.DataFrame:
    """What is said without a model: the customer's own rate, if still active, over the horizon."""
    buyers = facts[facts["purchases"] > 0]
    tenure = (buyers["recency_days"] + (buyers["last_purchase"] - buyers["first_purchase"]).dt.total_seconds()
              / 86400).clip(lower=buyers["expected_interval_days"].fillna(30))
    active = buyers["lifecycle"].isin(["new", "active", "reactivated", "at_risk"])
    rate = buyers["purchases"] / tenure
    expected = np.where(active, rate * cfg.prediction_horizon_days, 0.0)
    spend = buyers["revenue"].clip(lower=0) / buyers["purchases"]
    return pd.DataFrame({
        "customer_id": buyers["customer_id"].astype("int64"), "model": "rules", "p_alive": np.nan,
        "expected_purchases": expected, "p_no_purchase": buyers["lifecycle"].map(RULE_RISK).astype(float),
        "expected_spend": spend, "clv": cfg.margin * spend * expected,
        "next_purchase_in_days": np.where(active, (buyers["expected_interval_days"] - buyers["recency_days"])
                                          .clip(lower=0), np.nan),
    })


def churn_scores(ctx, horizon_days: float, typical_interval: float) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Train at as_of - 2h (labels up to as_of - h), validate at as_of - h, then
    retrain on the latest window and score at as_of."""
    h = dt.timedelta(days=horizon_days)
    as_of = ctx.as_of_local
    if as_of - 2 * h - dt.timedelta(days=90) < ctx.first_local:
        return None, {"status": "skipped", "reason": f"less than two churn horizons ({2 * horizon_days:.0f} days) "
                                                     "plus 90 days of history"}

    def frame(cutoff, label=True):
        return feature_frame(ctx.backend, ctx.tables, ctx.engine, cutoff, ctx.cfg.time_zone,
                             horizon_days=horizon_days if label else None, typical_interval=typical_interval)

    train, valid = frame(as_of - 2 * h), frame(as_of - h)
    try:
        check = ChurnModel().fit(train[FEATURES], train["churned"])
        p = check.predict_proba(valid[FEATURES])
        metrics = classification_metrics(valid["churned"], p)
        model = ChurnModel().fit(valid[FEATURES], valid["churned"])
    except RetentioError as exc:
        return None, {"status": "skipped", "reason": str(exc)}
    now = frame(as_of, label=False)
    out = pd.DataFrame({"customer_id": now["customer_id"].astype("int64"),
                        "churn_probability": model.predict_proba(now[FEATURES]),
                        "reasons": model.reasons(now[FEATURES], REASON_OF)})
    edges = np.linspace(0, 1, 11)
    bins = np.clip(np.digitize(p, edges[1:-1]), 0, 9)
    y = valid["churned"].to_numpy()
    calibration = [{"bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}", "customers": int((bins == b).sum()),
                    "predicted": float(p[bins == b].mean()), "observed": float(y[bins == b].mean())}
                   for b in range(10) if (bins == b).any()]
    return out, {"status": "ok", "horizon_days": horizon_days, "validation": metrics,
                 "train_cutoff": (as_of - 2 * h).date().isoformat(), "validation_cutoff": (as_of - h).date().isoformat(),
                 "calibration": calibration,
                 "importance": {k: round(float(v), 4) for k, v in model.importance().head(10).items()}}


CONTRACT_HORIZON_MONTHS = 24


def contract_scores(ctx) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """sBG on the contracts in monthly periods: per customer with a running
    contract the probability of renewing next month and the discounted months
    still expected within two years; the cohort retention curve for the report."""
    subs = ctx.backend.execute(ctx.tables.subscriptions)
    if subs.empty:
        return None, {"status": "skipped", "reason": "no contracts"}
    as_of = pd.Timestamp(ctx.as_of_local)
    started = pd.to_datetime(subs["started"])
    end = pd.to_datetime(subs["cancelled"]).fillna(pd.to_datetime(subs["ended"]))
    churned = end.notna() & (end < as_of)
    stop = end.where(churned, as_of)
    months = np.floor((stop - started).dt.total_seconds() / 86400 / MONTH_DAYS).astype(int)
    # A contract ended within its first month ended in period 1.
    periods = np.where(churned, np.maximum(months, 0) + 1, months)
    try:
        model = ShiftedBetaGeometricFitter().fit(periods, churned.astype(int))
    except RetentioError as exc:
        return None, {"status": "skipped", "reason": str(exc)}
    running = ~churned
    monthly = (1 + ctx.cfg.discount_rate) ** (1 / 12) - 1
    per = pd.DataFrame({"customer_id": subs["customer_id"][running].astype("int64"),
                        "contract_renewal_probability": model.renewal_probability(periods[running]),
                        "contract_expected_months": model.expected_payments(periods[running],
                                                                            CONTRACT_HORIZON_MONTHS, monthly)})
    # One row per customer: their longest-running contract.
    per = per.sort_values("contract_expected_months", ascending=False).drop_duplicates("customer_id")
    info = {"status": "ok", "model": "sBG", "period": "month", "contracts": len(subs), "ended": int(churned.sum()),
            **{k: v for k, v in model.describe().items() if k != "distinct_rows"},
            "survival": [float(v) for v in model.survival(np.arange(CONTRACT_HORIZON_MONTHS + 1))],
            "retention_rate": [float(v) for v in model.retention_rate(np.arange(1, CONTRACT_HORIZON_MONTHS + 1))]}
    return per, info


def rule_reasons(row) -> list[dict[str, Any]]:
    reasons = []
    if row.get("lifecycle") in ("at_risk", "inactive", "churned"):
        reasons.append({"reason": "lost_touch", "push": None})
    if row.get("purchases", 0) <= 1:
        reasons.append({"reason": "low_engagement", "push": None})
    if row.get("returns", 0) > 0:
        reasons.append({"reason": "quality", "push": None})
    return reasons


def predict(ctx, facts: pd.DataFrame, typical_interval: float, opts: PredictionOptions | None = None
            ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All predictions for a refresh; the summary goes into the run record."""
    opts = opts or PredictionOptions()
    warnings: list[str] = []
    churn_h = float(ctx.window.days)
    try:
        bt = backtest(ctx, opts)
    except RetentioError as exc:
        bt = {"fallback": str(exc), "models": {}, "best": None}
    if bt.get("best"):
        scores, chosen = model_scores(ctx, bt["best"], opts, facts, churn_h, warnings)
    else:
        scores, chosen = rule_scores(facts, ctx.cfg, churn_h), {"model": "rules", "reason": bt["fallback"]}
    churn, churn_info = churn_scores(ctx, churn_h, typical_interval)
    contracts, contract_info = contract_scores(ctx)
    if contracts is not None:
        scores = scores.merge(contracts, on="customer_id", how="left")
    scores = scores.merge(facts[["customer_id", "lifecycle", "purchases", "returns"]], on="customer_id", how="left")
    if churn is not None:
        scores = scores.merge(churn, on="customer_id", how="left")
        scores["churn_source"] = np.where(scores["churn_probability"].notna(), "churn_model", "btyd")
    else:
        scores["churn_probability"] = np.nan
        scores["reasons"] = None
        scores["churn_source"] = "btyd" if chosen["model"] != "rules" else "rules"
    missing = scores["churn_probability"].isna()
    scores.loc[missing, "churn_probability"] = scores.loc[missing, "p_no_purchase"]
    scores["reasons"] = [r if isinstance(r, list) else rule_reasons(row)
                         for r, row in zip(scores["reasons"], scores.to_dict("records"), strict=True)]
    scores["value_at_risk"] = scores["clv"] * scores["churn_probability"]
    summary = {"backtest": bt, "chosen": chosen, "churn_model": churn_info, "contracts": contract_info,
               "churn_horizon_days": churn_h,
               "prediction_horizon_days": ctx.cfg.prediction_horizon_days, "margin": ctx.cfg.margin,
               "discount_rate": ctx.cfg.discount_rate, "warnings": warnings}
    return scores.drop(columns=["lifecycle", "purchases", "returns"]), summary
