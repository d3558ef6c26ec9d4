"""The contracts stage: sBG on the contracts in monthly periods (its geometric limit where the contracts
show one churn rate for all).

Per customer with a running contract: the probability of renewing next
month and the discounted months still expected within two years; the
cohort retention curve for the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.models.base import ModelFitError
from retentio.models.sbg import GeometricContractFitter, ShiftedBetaGeometricFitter, runs_off_together
from retentio.models.value import MONTH_DAYS

CONTRACT_HORIZON_MONTHS = 24


def contract_scores(ctx) -> tuple[pd.DataFrame, dict[str, Any]]:
    subs = ctx.backend.execute(ctx.tables.subscriptions)
    if subs.empty:
        raise RetentioError(Msg("no contracts"))
    as_of = pd.Timestamp(ctx.as_of_local)
    started = pd.to_datetime(subs["started"])
    end = pd.to_datetime(subs["cancelled"]).fillna(pd.to_datetime(subs["ended"]))
    churned = end.notna() & (end < as_of)
    stop = end.where(churned, as_of)
    months = np.floor((stop - started).dt.total_seconds() / 86400 / MONTH_DAYS).astype(int)
    # A contract ended within its first month ended in period 1.
    periods = np.where(churned, np.maximum(months, 0) + 1, months)
    notes = []
    try:
        model: ShiftedBetaGeometricFitter | GeometricContractFitter = ShiftedBetaGeometricFitter().fit(
            periods, churned.astype(int))
    except ModelFitError as exc:
        if not runs_off_together(exc.estimates):
            raise
        # One churn rate for all: the limit the sBG ran off to, and the honest model for these contracts.
        model = GeometricContractFitter().fit(periods, churned.astype(int))
        notes.append(Msg("the contracts show no difference in churn rates between customers (the sBG's alpha "
                         "and beta run off to infinity together): one churn rate for all").to_json())
    running = ~churned
    monthly = (1 + ctx.cfg.discount_rate) ** (1 / 12) - 1
    per = pd.DataFrame({"customer_id": subs["customer_id"][running].astype("int64"),
                        "contract_renewal_probability": model.renewal_probability(periods[running]),
                        "contract_expected_months": model.expected_payments(periods[running],
                                                                            CONTRACT_HORIZON_MONTHS, monthly)})
    # One row per customer: their longest-running contract.
    per = per.sort_values("contract_expected_months", ascending=False).drop_duplicates("customer_id")
    info = {"status": "ok", "model": "sBG" if isinstance(model, ShiftedBetaGeometricFitter) else "geometric",
            "notes": notes, "period": "month", "contracts": len(subs), "ended": int(churned.sum()),
            **{k: v for k, v in model.describe().items() if k != "distinct_rows"},
            "survival": [float(v) for v in model.survival(np.arange(CONTRACT_HORIZON_MONTHS + 1))],
            "retention_rate": [float(v) for v in model.retention_rate(np.arange(1, CONTRACT_HORIZON_MONTHS + 1))]}
    return per, info
