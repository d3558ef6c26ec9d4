"""Per-customer predictions for a refresh, in stages that succeed or fail on their own.

* **transactions** (:mod:`~retentio.predictions.transactions`): backtest, model
  choice, expected purchases, P(alive), CLV — with **spend** (Gamma-Gamma)
  reported as a stage of its own;
* **churn** (:mod:`~retentio.predictions.churn`): the supervised churn model
  and its reasons; where it cannot be trained, P(no purchase within the
  horizon) from the transaction model stands in, with rule-based reasons;
* **contracts** (:mod:`~retentio.predictions.contracts`): sBG renewal.

Each stage's outcome — ``ok``, ``skipped`` with the reason (too little data,
no contracts) or ``failed`` with the kind of error — is in the run record,
``retentio refresh``, ``predict`` and the report. KPIs, cohorts and segments
never wait on them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.predictions.churn import churn_scores, rule_reasons
from retentio.predictions.contracts import contract_scores
from retentio.predictions.options import PredictionOptions, default_split, last_day
from retentio.predictions.transactions import backtest, transaction_scores

__all__ = ["PredictionOptions", "backtest", "default_split", "last_day", "predict"]
log = logging.getLogger(__name__)


def run_stage(name: str, fn: Callable[[], tuple[Any, dict[str, Any]]], stages: dict[str, Any]
              ) -> tuple[Any, dict[str, Any] | None]:
    """``fn()`` as one stage: its result, or None with the reason in ``stages``."""
    try:
        result, info = fn()
    except RetentioError as exc:
        stages[name] = {"status": "skipped", "reason": exc.to_json()}
        return None, None
    except Exception as exc:  # one stage's bug must not take the refresh down; the kind of error says where
        log.warning("prediction stage %s failed: %s", name, type(exc).__name__)
        log.debug("prediction stage %s failed", name, exc_info=True)
        stages[name] = {"status": "failed", "reason": Msg("unexpected error ({kind})", kind=type(exc).__name__)
                        .to_json()}
        return None, None
    stages[name] = {"status": "ok"}
    return result, info


def predict(ctx, facts: pd.DataFrame, typical_interval: float, opts: PredictionOptions | None = None
            ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All predictions for a refresh; the summary goes into the run record."""
    opts = opts or PredictionOptions()
    warnings: list[Msg] = []
    stages: dict[str, Any] = {}
    churn_h = float(ctx.window.days)
    bt, _ = run_stage("backtest", lambda: (backtest(ctx, opts), {}), stages)
    if bt is None:
        bt = {"fallback": stages["backtest"]["reason"], "models": {}, "best": None}
    stages.pop("backtest")
    tx, chosen = run_stage("transactions", lambda: transaction_scores(ctx, bt, opts, churn_h, warnings), stages)
    if chosen is not None:
        spend = chosen.get("spend") or {}
        stages["spend"] = {"status": spend.get("status", "ok"), **({"reason": spend["reason"]} if "reason" in spend
                                                                  else {})}
    else:
        stages["spend"] = {"status": "skipped", "reason": Msg("no transaction model").to_json()}
    who = facts[(facts["purchases"] > 0) | (facts["contract_running"] == 1)]
    scored = who["customer_id"].to_numpy(dtype="int64")
    churn, churn_info = run_stage("churn", lambda: churn_scores(ctx, churn_h, typical_interval, scored), stages)
    contracts, contract_info = run_stage("contracts", lambda: contract_scores(ctx), stages)

    scores = who[["customer_id", "lifecycle", "purchases", "returns"]].astype({"customer_id": "int64"})
    if tx is not None:
        scores = scores.merge(tx, on="customer_id", how="left")
    for col in ("p_alive", "expected_purchases", "p_no_purchase", "expected_spend", "clv", "next_purchase_in_days"):
        if col not in scores:
            scores[col] = np.nan
    scores["model"] = scores["model"].fillna("none") if "model" in scores else "none"
    if contracts is not None:
        scores = scores.merge(contracts, on="customer_id", how="left")
    if churn is not None:
        scores = scores.merge(churn, on="customer_id", how="left")
        scores["churn_source"] = np.where(scores["churn_probability"].notna(), "churn_model",
                                          np.where(scores["model"] == "rules", "rules", "btyd"))
    else:
        scores["churn_probability"] = np.nan
        scores["reasons"] = None
        scores["churn_source"] = np.where(scores["model"] == "rules", "rules", "btyd")
    missing = scores["churn_probability"].isna()
    scores.loc[missing, "churn_probability"] = scores.loc[missing, "p_no_purchase"]
    # Rule reasons where the model gave none; rows are turned into dicts only there (10M would not fit).
    # Every reason is JSON text from here on, as the model's are, so the store writes the column as it is.
    given = scores["reasons"].notna().to_numpy(bool)
    if not given.all():
        rules = [json.dumps(rule_reasons(row), ensure_ascii=False) for row in scores.loc[~given].to_dict("records")]
        scores["reasons"] = scores["reasons"].astype(object)
        scores.loc[~given, "reasons"] = pd.Series(rules, index=scores.index[~given], dtype=object)
    scores["value_at_risk"] = scores["clv"] * scores["churn_probability"]
    summary = {"backtest": bt, "chosen": chosen or {"model": None, "reason": stages["transactions"].get("reason")},
               "churn_model": churn_info or {"status": stages["churn"]["status"],
                                             "reason": stages["churn"].get("reason")},
               "contracts": contract_info or {"status": stages["contracts"]["status"],
                                              "reason": stages["contracts"].get("reason")},
               "stages": stages, "churn_horizon_days": churn_h,
               "prediction_horizon_days": ctx.cfg.prediction_horizon_days, "margin": ctx.cfg.margin,
               "discount_rate": ctx.cfg.discount_rate, "warnings": [w.to_json() for w in warnings]}
    return scores.drop(columns=["lifecycle", "purchases", "returns"]), summary
