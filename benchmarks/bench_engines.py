"""The same refresh on each analytics engine, over one PostgreSQL database, in one run.

    python benchmarks/bench_engines.py --orders 10000000 --customers 1000000
    python benchmarks/bench_engines.py --orders 1000000 --customers 100000 --engines duckdb postgres

Loads synthetic orders (bench_refresh's generator) into a fresh PostgreSQL
database (``RETENTIO_BENCH_PG``), then refreshes it with each engine in turn:
``duckdb`` (reads the tables over ADBC into the process), ``postgres`` (the
expressions run inside the database) and ``pyspark`` (local[2]; Spark reads
the staged Parquet itself). Every run computes the same KPIs, cohorts and
customer facts; ``--predictions`` adds the prediction stage, which runs in
Python whatever the engine and so is the same work each time. Prints the
parts of each refresh and the ratio to the DuckDB run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("RETENTIO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--engines", nargs="+", default=["duckdb", "postgres", "pyspark"])
    ap.add_argument("--predictions", action="store_true", help="include the prediction stage (same for all)")
    ap.add_argument("--reuse-db", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    sys.path.insert(0, str(HERE))
    import sqlalchemy as sa
    from bench_refresh import bulk_load, make_orders

    from retentio.db.session import get_engine
    from retentio.refresh import refresh

    name = f"retentio_engines_{args.orders}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not (args.reuse_db and exists):
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            exists = None
    admin.dispose()
    engine = get_engine(str(sa.engine.make_url(PG_URL).set(database=name)))
    result: dict = {"orders": args.orders, "customers_param": args.customers, "predictions": args.predictions,
                    "cpus": os.cpu_count(), "runs": {}}
    if not exists:
        t = time.perf_counter()
        bulk_load(engine, make_orders(args.orders, args.customers))
        result["bulk_load_s"] = round(time.perf_counter() - t, 1)
    for eng in args.engines:
        t = time.perf_counter()
        try:
            run = refresh(engine, engine_name=eng, active_window=90, predictions=args.predictions)
        except Exception as exc:  # a benchmark reports what broke and goes on with the next engine
            result["runs"][eng] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            continue
        result["runs"][eng] = {"refresh_s": round(time.perf_counter() - t, 1),
                               "parts_s": {k: round(v, 1) for k, v in run.summary["timings_s"].items()},
                               "customers": run.summary["customers"]}
    base = result["runs"].get("duckdb", {}).get("refresh_s")
    if base:
        for r in result["runs"].values():
            if "refresh_s" in r:
                r["vs_duckdb"] = round(r["refresh_s"] / base, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
