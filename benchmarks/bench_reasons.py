"""Churn reasons: exact TreeSHAP over distinct decisions against LightGBM's ``pred_contrib``.

    python benchmarks/bench_reasons.py --customers 1000000

Simulated customers (bench_sampling.py's MBG/NBD shop with a 90-day churn label, missing values
included), the churn model as the refresh trains it (400 trees on a 200,000-row sample), then every
customer's contributions summed per reason both ways in the same process. Prints the times, the ratio
and the largest difference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    from bench_sampling import _churn_frame

    from retentio.models.churn import ChurnModel
    from retentio.models.treeshap import grouped_contributions

    X, y = _churn_frame(args.customers, 10)
    reason_of = {"purchases": "low_engagement", "recency_days": "lost_touch", "tenure_days": "attachment",
                 "mean_gap_days": "declining", "avg_order_value": "low_value", "noise_a": "price",
                 "noise_b": "service"}
    model = ChurnModel().fit(X, y)
    frame = model._frame(X)
    names, group_of = np.unique([reason_of[f] for f in model.features_], return_inverse=True)

    t = time.perf_counter()
    contrib = model.booster_.predict(frame, pred_contrib=True)[:, :-1]
    base = np.stack([contrib[:, group_of == g].sum(axis=1) for g in range(len(names))], axis=1)
    baseline_s = time.perf_counter() - t
    t = time.perf_counter()
    fast = grouped_contributions(model.booster_, frame, group_of, len(names))
    fast_s = time.perf_counter() - t
    print(json.dumps({"customers": args.customers, "trees": model.booster_.num_trees(),
                      "pred_contrib_s": round(baseline_s, 2), "distinct_decisions_s": round(fast_s, 2),
                      "speedup": round(baseline_s / fast_s, 1),
                      "max_abs_difference": float(np.abs(base - fast).max())}, indent=2))


if __name__ == "__main__":
    main()
