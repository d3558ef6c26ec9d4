"""Targeting by value: who gets a costly action (a voucher, a call) under a budget.

The expected incremental value of treating customer *i* is

    EIV_i = uplift × P(churn)_i × CLV_i − cost_i

— the share of the value at risk the action is expected to save, less what it
costs. Candidates with positive EIV are taken in decreasing EIV until the
budget is spent (the greedy solution, exact when costs are equal). ``uplift``
should come from the flow's own control-group report once one exists
(docs/flows.md, "Proof of effect"); until then it is the flow's assumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rank_by_value(frame: pd.DataFrame, *, uplift: float, budget: float | None) -> pd.DataFrame:
    """Adds ``eiv``, ``selected`` and ``reason`` to a frame with churn_probability, clv and cost."""
    out = frame.copy()
    churn = out["churn_probability"].astype(float).fillna(0.0)
    clv = out["clv"].astype(float).fillna(0.0).clip(lower=0)
    out["eiv"] = uplift * churn * clv - out["cost"].astype(float)
    out = out.sort_values(["eiv", "customer_id"], ascending=[False, True])
    positive = out["eiv"].to_numpy() > 0
    spend = np.cumsum(np.where(positive, out["cost"].to_numpy(float), 0.0))
    within = spend <= (budget if budget is not None else np.inf)
    out["selected"] = positive & within
    out["reason"] = [None if ok else ("not_worth_cost" if not pos else "budget")
                     for ok, pos in zip(positive & within, positive, strict=True)]
    return out
