"""What fitting on a sample costs in accuracy and saves in time, against the fit on everyone.

    python benchmarks/bench_sampling.py --customers 1000000                 # transaction model, simulated truth
    python benchmarks/bench_sampling.py --churn-db benchmarks/out/bench-10000000.db   # churn model, a refresh's data

Transaction model: customers simulated from an MBG/NBD with known parameters
(three years, daily resolution, as the engine's summary has them); the model
is fitted on everyone and on the refresh's sample (``FIT_SAMPLE``) in the
same process. Reported: time, parameters against the truth, and how far the
sampled fit's per-customer expected purchases and total CLV lie from the full
fit's.

Churn model, simulated truth (``--churn-sim N``): N customers drawn from an
MBG/NBD (as above) with their next 90 days drawn from the same process; the
label is "no purchase in those 90 days", the features are what the churn
model sees of such a customer (purchases, recency, tenure, gap, spend) plus
two columns of noise. The model is trained on all N and on
``MAX_TRAIN_ROWS``, and both are judged on another N customers.

Churn model on a refresh's data (``--churn-db``): the training and
validation feature frames a refresh builds (``predictions.churn``) from a
benchmark database, judged alike. (bench_refresh's synthetic orders are
drawn uniformly, so they carry no churn signal: that run measures time only.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np


def transaction_run(n: int, seed: int = 0) -> dict:
    from retentio.models import simulate
    from retentio.models.bgnbd import ModifiedBetaGeoFitter
    from retentio.models.gammagamma import GammaGammaFitter
    from retentio.models.scoring import FIT_SAMPLE, fit_rows, score

    truth = {"r": 0.75, "alpha": 6.0, "a": 0.8, "b": 4.0}
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(1, 156 * 7, n)) / 7
    data = simulate.bgnbd(truth["r"], truth["alpha"], truth["a"], truth["b"], T, seed=seed + 1, modified=True)
    data["recency"] = np.floor(data["recency"] * 7) / 7
    data["monetary_value"] = simulate.gammagamma(6.0, 4.0, 22.0, data["frequency"].to_numpy(),
                                                 seed=seed + 2)["monetary_value"].to_numpy()
    out: dict = {"customers": n, "sample": FIT_SAMPLE, "truth": truth, "fits": {}}
    scored = {}
    for label, rows in (("everyone", data), ("sample", fit_rows(data))):
        t0 = time.perf_counter()
        model = ModifiedBetaGeoFitter().fit(rows)
        gg = GammaGammaFitter().fit(rows)
        fit_s = time.perf_counter() - t0
        scores = score(model, gg.conditional_expected_average_profit(data), data, unit_days=7, horizon_days=365,
                       churn_days=90, margin=1.0, discount_rate=0.1, intervals=False)
        scored[label] = scores
        out["fits"][label] = {"rows": len(rows), "fit_s": round(fit_s, 3),
                              "params": {k: round(float(v), 4) for k, v in model.params_.items()},
                              "param_se": {k: round(float(v), 4) for k, v in model.standard_errors_.items()}
                              if hasattr(model, "standard_errors_") else None,
                              "total_clv": float(scores["clv"].sum())}
    full, part = scored["everyone"], scored["sample"]
    rel = np.abs(part["expected_purchases"] - full["expected_purchases"]) / np.maximum(full["expected_purchases"],
                                                                                       1e-9)
    out["sample_vs_everyone"] = {
        "expected_purchases_median_rel_diff": float(np.median(rel)),
        "expected_purchases_p99_rel_diff": float(np.quantile(rel, 0.99)),
        "p_alive_max_abs_diff": float(np.abs(part["p_alive"] - full["p_alive"]).max()),
        "total_clv_rel_diff": float(part["clv"].sum() / full["clv"].sum() - 1),
    }
    return out


def _churn_frame(n: int, seed: int):
    import pandas as pd

    from retentio.models import simulate

    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(91, 156 * 7, n)) / 7
    d = simulate.bgnbd(0.75, 6.0, 0.8, 4.0, T, seed=seed + 1, modified=True)
    d["recency"] = np.floor(d["recency"] * 7) / 7
    # the next 90 days (12.86 weeks): alive customers buy at their rate until the next dropout coin says stop
    buys = (d["alive"].to_numpy() == 1) & (rng.poisson(d["lambda"].to_numpy() * 90 / 7) > 0)
    spend = simulate.gammagamma(6.0, 4.0, 22.0, d["frequency"].to_numpy(), seed=seed + 2)["monetary_value"]
    X = pd.DataFrame({"purchases": d["frequency"] + 1, "recency_days": (d["T"] - d["recency"]) * 7,
                      "tenure_days": d["T"] * 7, "mean_gap_days": np.where(d["frequency"] > 0,
                                                                          d["recency"] * 7 / d["frequency"].clip(1),
                                                                          np.nan),
                      "avg_order_value": spend.to_numpy(), "noise_a": rng.normal(size=n),
                      "noise_b": rng.integers(0, 5, n).astype(float)})
    return X, (~buys).astype(int)


def churn_sim_run(n: int) -> dict:
    from retentio.models.churn import MAX_TRAIN_ROWS, ChurnModel, classification_metrics

    X, y = _churn_frame(n, 10)
    Xv, yv = _churn_frame(n, 20)
    out: dict = {"customers": n, "sample": MAX_TRAIN_ROWS, "base_rate": float(y.mean()), "fits": {}}
    # 200,000: the sample before stop 22, beside the current one
    for label, limit in (("everyone", None), ("sample_200000", 200_000), ("sample", MAX_TRAIN_ROWS)):
        t0 = time.perf_counter()
        model = ChurnModel(max_rows=limit).fit(X, y)
        fit_s = time.perf_counter() - t0
        p = model.predict_proba(Xv)
        out["fits"][label] = {"rows": (model.sampled_ or (len(y),))[0], "fit_s": round(fit_s, 2),
                              **{k: round(v, 5) for k, v in classification_metrics(yv, p).items()
                                 if k not in ("customers", "base_rate")}}
    return out


def churn_run(db: Path) -> dict:
    from retentio.analytics import customers, lifecycle
    from retentio.db.session import get_engine
    from retentio.models.attributes import load_attribute_features
    from retentio.models.churn import MAX_TRAIN_ROWS, ChurnModel, classification_metrics
    from retentio.models.features import feature_frame
    from retentio.refresh import open_context

    engine = get_engine(f"sqlite:///{db}")
    ctx = open_context(engine, active_window=90)
    facts = customers.load_facts(ctx.backend, ctx.tables, ctx.as_of_local)
    interval = lifecycle.typical_interval(facts, ctx.window.days)
    h = dt.timedelta(days=float(ctx.window.days))
    attrs = load_attribute_features(engine)

    def frame(cutoff):
        return feature_frame(ctx.backend, ctx.tables, engine, cutoff, ctx.cfg.time_zone,
                             horizon_days=float(ctx.window.days), typical_interval=interval, attributes=attrs)

    train, valid = frame(ctx.as_of_local - 2 * h), frame(ctx.as_of_local - h)
    features = valid.attrs["features"]
    out: dict = {"train_rows": len(train), "validation_rows": len(valid), "sample": MAX_TRAIN_ROWS, "fits": {}}
    for label, limit in (("everyone", None), ("sample", MAX_TRAIN_ROWS)):
        t0 = time.perf_counter()
        model = ChurnModel(max_rows=limit).fit(train[features], train["churned"])
        fit_s = time.perf_counter() - t0
        p = model.predict_proba(valid[features])
        out["fits"][label] = {"rows": (model.sampled_ or (len(train),))[0], "fit_s": round(fit_s, 2),
                              **{k: round(v, 5) for k, v in classification_metrics(valid["churned"], p).items()
                                 if k != "customers"}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, nargs="*", default=[])
    ap.add_argument("--churn-sim", type=int, nargs="*", default=[])
    ap.add_argument("--churn-db", type=Path)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    result: dict = {}
    for n in args.customers:
        result[f"transactions_{n}"] = transaction_run(n)
    for n in args.churn_sim:
        result[f"churn_simulated_{n}"] = churn_sim_run(n)
    if args.churn_db:
        result["churn"] = churn_run(args.churn_db)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
