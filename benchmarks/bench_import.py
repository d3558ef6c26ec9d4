"""The orders importer against the floor of writing the same rows, in the same process.

    python benchmarks/bench_import.py --orders 1000000 --customers 100000
    python benchmarks/bench_import.py --orders 1000000 --formats csv parquet --postgres
    python benchmarks/bench_import.py --orders 200000 --profile     # where the importer spends its time

Writes a synthetic canonical orders file (CSV and/or Parquet), imports it with
the full validation and reject accounting (``run_import``) into a fresh
database, then times the floor: the same rows, already parsed into Python
tuples, written by one bare ``executemany`` in one transaction into the same
``orders`` table of another fresh database (SQLite: the ``sqlite3`` module;
PostgreSQL: psycopg's ``COPY``). On SQLite also a tuned floor: the same write
with the importer's large page cache and the secondary indexes built once after
the rows. Prints a JSON document with rows/s and the ratios importer / floor.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_refresh import make_orders  # the same synthetic orders as the refresh benchmark

OUT = Path(__file__).parent / "out"
PG_URL = os.environ.get("RETENTIO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _fresh_sqlite(tag: str):
    from retentio.db.session import get_engine

    db = OUT / f"import-{tag}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return get_engine(f"sqlite:///{db}")


def _fresh_pg(tag: str):
    import sqlalchemy as sa

    from retentio.db.session import get_engine

    name = f"retentio_bench_{tag}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return get_engine(str(sa.engine.make_url(PG_URL).set(database=name)))


def _floor_rows(table: pa.Table) -> tuple[list[tuple], int]:
    """The rows as the importer stores them (customers numbered 1…), parsed already: the floor's input."""
    cust = table.column("customer_id").to_numpy(zero_copy_only=False)
    uniq, codes = np.unique(cust, return_inverse=True)
    placed = table.column("placed_at").to_pylist()
    rows = list(zip(table.column("order_id").to_pylist(), (codes + 1).tolist(),
                    [p.strftime("%Y-%m-%d %H:%M:%S.%f") for p in placed], ["EUR"] * table.num_rows,
                    table.column("total").to_pylist(), table.column("status").to_pylist(),
                    ["online"] * table.num_rows, strict=True))
    return rows, len(uniq)


def floor_sqlite(engine, rows: list[tuple], n_customers: int) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t = time.perf_counter()
        cur.execute("BEGIN")
        cur.executemany("INSERT INTO customers (id, external_id) VALUES (?, ?)",
                        ((i, f"c{i}") for i in range(1, n_customers + 1)))
        cur.executemany("INSERT INTO orders (external_id, customer_id, placed_at, currency, net_total, status, "
                        "channel) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        raw.commit()
        return time.perf_counter() - t
    finally:
        raw.close()


def floor_sqlite_tuned(engine, rows: list[tuple], n_customers: int) -> float:
    """The same bare write with what the importer does to SQLite around it: the large page cache and
    the secondary indexes of ``orders`` built once after the rows instead of row by row."""
    from retentio.db.bulk import BULK_CACHE_KIB

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        found = cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' "
                            "AND sql IS NOT NULL").fetchall()
        secondary = [(n, q) for n, q in found if not q.lstrip().upper().startswith("CREATE UNIQUE")]
        t = time.perf_counter()
        cur.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        cur.execute("BEGIN")
        for name, _sql in secondary:
            cur.execute(f'DROP INDEX "{name}"')
        cur.executemany("INSERT INTO customers (id, external_id) VALUES (?, ?)",
                        ((i, f"c{i}") for i in range(1, n_customers + 1)))
        cur.executemany("INSERT INTO orders (external_id, customer_id, placed_at, currency, net_total, status, "
                        "channel) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        for _name, sql in secondary:
            cur.execute(sql)
        raw.commit()
        return time.perf_counter() - t
    finally:
        raw.close()


def floor_postgres(engine, rows: list[tuple], n_customers: int) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t = time.perf_counter()
        with cur.copy("COPY customers (id, external_id) FROM STDIN") as cp:
            for i in range(1, n_customers + 1):
                cp.write_row((i, f"c{i}"))
        with cur.copy("COPY orders (external_id, customer_id, placed_at, currency, net_total, status, channel) "
                      "FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        raw.commit()
        return time.perf_counter() - t
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--formats", nargs="+", default=["csv"], choices=["csv", "parquet"])
    ap.add_argument("--postgres", action="store_true", help="also import into PostgreSQL (RETENTIO_BENCH_PG)")
    ap.add_argument("--profile", action="store_true", help="print the importer's 25 costliest functions")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from retentio.ingest.importer import run_import

    OUT.mkdir(exist_ok=True)
    table = make_orders(args.orders, args.customers)
    files = {}
    if "csv" in args.formats:
        files["csv"] = OUT / f"orders-{args.orders}.csv"
        pacsv.write_csv(table, files["csv"])
    if "parquet" in args.formats:
        files["parquet"] = OUT / f"orders-{args.orders}.parquet"
        pq.write_table(table, files["parquet"])
    rows, n_customers = _floor_rows(table)
    result: dict = {"orders": args.orders, "customers": n_customers, "machine": platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version(), "runs": []}
    databases = [("sqlite", _fresh_sqlite, floor_sqlite)]
    if args.postgres:
        databases.append(("postgresql", _fresh_pg, floor_postgres))
    for db_name, fresh, floor in databases:
        engine = fresh("floor")
        floor_s = floor(engine, rows, n_customers)
        engine.dispose()
        tuned_s = None
        if db_name == "sqlite":
            engine = fresh("floor-tuned")
            tuned_s = floor_sqlite_tuned(engine, rows, n_customers)
            engine.dispose()
        for fmt, path in files.items():
            engine = fresh(fmt)
            profiler = cProfile.Profile() if args.profile else None
            t = time.perf_counter()
            if profiler:
                profiler.enable()
            s = run_import(engine, "orders", path, shop_time_zone="UTC", default_currency="EUR",
                           require_double_opt_in=True)
            if profiler:
                profiler.disable()
            took = time.perf_counter() - t
            engine.dispose()
            assert s.rows_imported == args.orders and s.rows_rejected == 0, s.to_dict()
            result["runs"].append({
                "database": db_name, "format": fmt, "import_s": round(took, 3),
                "rows_per_s": round(args.orders / took), "floor_s": round(floor_s, 3),
                "floor_rows_per_s": round(args.orders / floor_s), "ratio_to_floor": round(took / floor_s, 2),
                **({"tuned_floor_s": round(tuned_s, 3), "ratio_to_tuned_floor": round(took / tuned_s, 2)}
                   if tuned_s else {})})
            if profiler:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    result["when"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
