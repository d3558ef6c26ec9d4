"""Storing a run's predictions in SQLite: index kept vs index rebuilt, in the same process.

    python benchmarks/bench_store.py --customers 1000000

A database holds ``--customers`` customers and the previous run's predictions
for each (as after any refresh). The new run's predictions are appended by
``append_frame`` twice, each time into a fresh copy of that database: once with
the value-at-risk index kept (every row a random B-tree insert), once with the
index dropped and rebuilt in the same transaction. Then the previous run's rows
are deleted, as the refresh does when it publishes the new run, again both ways.
Prints a JSON document with the times and the ratios kept / rebuilt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "out"
INDEX = "ix_customer_predictions_value_at_risk"
FLOATS = ("p_alive", "p_alive_low", "p_alive_high", "expected_purchases", "expected_purchases_low",
          "expected_purchases_high", "p_no_purchase", "expected_spend", "clv", "clv_low", "clv_high",
          "churn_probability", "value_at_risk")


def predictions(n: int, run_id: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "run_id": run_id, "customer_id": np.arange(1, n + 1), "model": "paretonbd",
        **{c: rng.random(n) for c in FLOATS}, "churn_source": "model",
        "reasons": ['[{"reason": "lost_touch", "push": 0.31}, {"reason": "fewer_orders", "push": 0.12}]'] * n,
        "next_purchase_at": (pd.Timestamp("2026-01-01", tz="UTC")
                             + pd.to_timedelta(rng.random(n) * 100, unit="D")).floor("s")})


def customers_and_two_runs(path: Path, n: int):
    """A new database at ``path`` with ``n`` customers and two complete runs (1 and 2) to store results under;
    also used by bench_scores_indexes.py."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import sqlalchemy as sa

    from retentio.db.bulk import append_frame
    from retentio.db.models import Customer, RefreshRun
    from retentio.db.session import get_engine

    OUT.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = get_engine(f"sqlite:///{path}")
    append_frame(engine, Customer.__table__, pd.DataFrame({"id": np.arange(1, n + 1),
                                                           "external_id": [f"c{i}" for i in range(n)]}))
    with engine.begin() as conn:
        for run_id in (1, 2):
            conn.execute(sa.insert(RefreshRun.__table__).values(
                id=run_id, started_at=dt.datetime.now(dt.UTC), as_of=dt.datetime.now(dt.UTC), engine="duckdb",
                time_zone="UTC", status="ok"))
    return engine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.customers
    base = OUT / f"store-{n}.db"
    engine = customers_and_two_runs(base, n)
    import sqlalchemy as sa

    from retentio.db.bulk import append_frame, rebuilding
    from retentio.db.models import CustomerPrediction
    from retentio.db.session import make_engine

    append_frame(engine, CustomerPrediction.__table__, predictions(n, 1, seed=1), json_text=("reasons",))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    new = predictions(n, 2, seed=2)

    result: dict = {"customers": n}
    for mode in ("kept", "rebuilt", "kept", "rebuilt"):  # alternated: the page cache warms both alike
        copy = OUT / f"store-{n}-{mode}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        shutil.copyfile(base, copy)
        eng = make_engine(f"sqlite:///{copy}")
        rebuild = (INDEX,) if mode == "rebuilt" else ()
        t = time.perf_counter()
        append_frame(eng, CustomerPrediction.__table__, new, json_text=("reasons",), rebuild=rebuild)
        append_s = time.perf_counter() - t
        t = time.perf_counter()
        with eng.begin() as conn, rebuilding(conn, CustomerPrediction.__table__, rebuild):
            conn.execute(sa.delete(CustomerPrediction).where(CustomerPrediction.run_id != 2))
        delete_s = time.perf_counter() - t
        with eng.connect() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM customer_predictions").scalar()
            plan = " ".join(str(r) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM customer_predictions ORDER BY value_at_risk DESC LIMIT 50"))
        assert rows == n and INDEX in plan
        eng.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        best = result.setdefault(mode, {"append_s": np.inf, "delete_previous_s": np.inf})
        best["append_s"] = min(best["append_s"], append_s)
        best["delete_previous_s"] = min(best["delete_previous_s"], delete_s)
    result["append_kept_vs_rebuilt"] = result["kept"]["append_s"] / result["rebuilt"]["append_s"]
    result["delete_kept_vs_rebuilt"] = result["kept"]["delete_previous_s"] / result["rebuilt"]["delete_previous_s"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
