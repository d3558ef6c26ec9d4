"""Writing and removing a run's customer scores with and without the lifecycle and segment indexes.

    python benchmarks/bench_scores_indexes.py --customers 1000000

Migration 0010 dropped ``ix_customer_scores_lifecycle`` and ``ix_customer_scores_rfm_segment``: no reader
selects scores by either column alone. This measures what they cost, in one process: a database holding
the previous run's scores gets the new run's appended by ``append_frame`` (the refresh's path), then the
previous run's are deleted, once with the two indexes created again and once without, alternated twice.
Prints a JSON document with the best times and the ratios with / without.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "out"
INDEXES = {"ix_customer_scores_lifecycle": "lifecycle", "ix_customer_scores_rfm_segment": "rfm_segment"}


def scores(n: int, run_id: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2022-01-01", tz="UTC") + pd.to_timedelta(rng.random(n) * 900, unit="D")
    return pd.DataFrame({
        "run_id": run_id, "customer_id": np.arange(1, n + 1),
        "first_purchase_at": first.floor("s"), "last_purchase_at": (first + pd.to_timedelta(rng.random(n) * 300,
                                                                                            unit="D")).floor("s"),
        "purchases": rng.integers(1, 30, n), "revenue": (rng.random(n) * 900).round(2),
        "recency_days": rng.random(n) * 400, "r_score": rng.integers(1, 6, n), "f_score": rng.integers(1, 6, n),
        "m_score": rng.integers(1, 6, n),
        "rfm_segment": rng.choice(["champions", "loyal", "at_risk", "hibernating", "new"], n),
        "lifecycle": rng.choice(["new", "active", "at_risk", "inactive", "lost"], n),
        "recovery_track": rng.choice([None, "inactive", "churned"], n), "expected_interval_days": rng.random(n) * 90,
        "interval_source": "own", "days_to_second_purchase": rng.random(n) * 100})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import sqlalchemy as sa
    from bench_store import customers_and_two_runs

    from retentio.db.bulk import append_frame
    from retentio.db.models import CustomerScore
    from retentio.db.session import get_engine

    n = args.customers
    result: dict = {"customers": n}
    old, new = scores(n, 1, seed=1), scores(n, 2, seed=2)
    for mode in ("with", "without", "with", "without"):  # alternated: the page cache warms both alike
        path = OUT / f"scores-{n}-{mode}.db"
        engine = customers_and_two_runs(path, n)
        if mode == "with":
            with engine.begin() as conn:
                for name, column in INDEXES.items():
                    conn.exec_driver_sql(f"CREATE INDEX {name} ON customer_scores ({column})")
        append_frame(engine, CustomerScore.__table__, old)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        t = time.perf_counter()
        append_frame(engine, CustomerScore.__table__, new)
        append_s = time.perf_counter() - t
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.delete(CustomerScore).where(CustomerScore.run_id != 2))
        delete_s = time.perf_counter() - t
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM customer_scores").scalar() == n
        engine.dispose()
        get_engine.cache_clear()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        best = result.setdefault(mode, {"append_s": np.inf, "delete_previous_s": np.inf})
        best["append_s"] = min(best["append_s"], append_s)
        best["delete_previous_s"] = min(best["delete_previous_s"], delete_s)
    result["append_with_vs_without"] = result["with"]["append_s"] / result["without"]["append_s"]
    result["delete_with_vs_without"] = result["with"]["delete_previous_s"] / result["without"]["delete_previous_s"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
