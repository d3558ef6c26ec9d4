"""Benchmarks of the prediction models (run by hand; figures go to docs/benchmarks.md).

Two parts:

``--lifetimes``: BG/NBD and Pareto/NBD on the full CDNOW master file
(23,502 customers with purchases, calibration to 1997-09-30, weeks at daily
resolution), Retentio against the lifetimes package in the same process on
the same summary: log-likelihood of both estimates under one likelihood,
and the fit-time ratio (median of repeated fits). lifetimes is installed only
for this benchmark: ``pip install lifetimes``.

``--scale N [N ...]``: fit + score N simulated customers (MBG/NBD truth,
Gamma-Gamma spend, three years at daily resolution), each size in a fresh
subprocess so that its peak memory (max RSS) is its own. Fit and score are
the refresh's own functions: the fit on a random sample of at most 500,000
customers, scoring over everyone (P(alive), expected purchases, P(no
purchase), spend, discounted CLV and delta-method intervals).

    python benchmarks/bench_models.py --lifetimes
    python benchmarks/bench_models.py --scale 1000000 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def cdnow_summary():
    from retentio.db.session import get_engine
    from retentio.ingest.importer import run_import
    from retentio.models.summary import summary_from_database
    from retentio.shop import set_config

    tmp = Path(tempfile.mkdtemp())
    engine = get_engine(f"sqlite:///{tmp / 'cdnow.db'}")
    set_config(engine, "time_zone", "UTC")
    run_import(engine, "orders", DATA / "cdnow" / "CDNOW_master.txt", preset="cdnow", shop_time_zone="UTC")
    return summary_from_database(engine, dt.date(1997, 9, 30), unit="weeks")


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def compare_lifetimes(repeat: int) -> dict:
    import lifetimes

    from retentio.models.bgnbd import BetaGeoFitter
    from retentio.models.paretonbd import ParetoNBDFitter

    sm = cdnow_summary()
    x, tx, T = sm["frequency"], sm["recency"], sm["T"]
    out = {"customers": len(sm), "lifetimes_version": lifetimes.__version__, "models": {}}
    pairs = {"BG/NBD": (BetaGeoFitter, lifetimes.BetaGeoFitter),
             "Pareto/NBD": (ParetoNBDFitter, lifetimes.ParetoNBDFitter)}
    for name, (ours, theirs) in pairs.items():
        t_ours, m_ours = timed(lambda ours=ours: ours().fit(sm), repeat)
        t_theirs, m_theirs = timed(lambda theirs=theirs: theirs().fit(x, tx, T), repeat)
        their_params = np.array([m_theirs.params_[k] for k in m_ours.params_.index])
        ll_theirs = float(-np.sum(m_ours._neg_ll_rows(their_params, x.to_numpy(), tx.to_numpy(), T.to_numpy())))
        out["models"][name] = {
            "retentio_s": t_ours, "lifetimes_s": t_theirs, "speedup": t_theirs / t_ours,
            "retentio_ll": m_ours.log_likelihood_, "lifetimes_ll": ll_theirs,
            "ll_difference": m_ours.log_likelihood_ - ll_theirs,
            "retentio_params": m_ours.params_.round(6).to_dict(),
            "lifetimes_params": {k: round(float(v), 6) for k, v in m_theirs.params_.items()},
        }
    return out


def scale_run(n: int, intervals: bool, seed: int = 0) -> dict:
    """Simulate, fit on a sample, score everyone; called in a child process."""
    from retentio.models import simulate
    from retentio.models.bgnbd import ModifiedBetaGeoFitter
    from retentio.models.gammagamma import GammaGammaFitter
    from retentio.models.scoring import fit_rows, score

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    # Daily resolution over a three-year history, as the summary from the engine has.
    T = np.floor(rng.uniform(1, 156 * 7, n)) / 7
    data = simulate.bgnbd(0.75, 6.0, 0.8, 4.0, T, seed=seed + 1, modified=True)
    data["recency"] = np.floor(data["recency"] * 7) / 7
    amounts = simulate.gammagamma(6.0, 4.0, 22.0, data["frequency"].to_numpy(), seed=seed + 2)
    data["monetary_value"] = amounts["monetary_value"].to_numpy()
    data = data[["frequency", "recency", "T", "monetary_value"]]
    t_sim = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample = fit_rows(data)
    model = ModifiedBetaGeoFitter().fit(sample)
    gg = GammaGammaFitter().fit(sample)
    t_fit = time.perf_counter() - t0

    t0 = time.perf_counter()
    spend = gg.conditional_expected_average_profit(data)
    scores = score(model, spend, data, unit_days=7, horizon_days=365, churn_days=131, margin=1.0,
                   discount_rate=0.1, intervals=intervals)
    t_score = time.perf_counter() - t0
    alive, exp, clv = scores["p_alive"], scores["expected_purchases"], scores["clv"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"customers": n, "fit_sample": len(sample), "distinct_fit_rows": model.n_rows_, "intervals": intervals,
            "simulate_s": t_sim, "fit_s": t_fit, "score_s": t_score, "fit_plus_score_s": t_fit + t_score,
            "peak_rss_mb": peak_mb, "params": model.params_.round(4).to_dict(),
            "mean_p_alive": float(alive.mean()), "mean_expected": float(exp.mean()), "total_clv": float(clv.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lifetimes", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", type=int, nargs="*")
    ap.add_argument("--no-intervals", action="store_true", help="score without the delta-method intervals")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(scale_run(args.child, not args.no_intervals)))
        return
    results = {}
    if args.lifetimes:
        results["lifetimes"] = compare_lifetimes(args.repeat)
    for n in args.scale or []:
        extra = ["--no-intervals"] if args.no_intervals else []
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), *extra],
                              capture_output=True, text=True, check=True)
        results[f"scale_{n}"] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / f"models_{time.strftime('%Y%m%d_%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
