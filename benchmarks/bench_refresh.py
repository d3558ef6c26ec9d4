"""Import and refresh at scale, against a bare DuckDB group-by in the same process.

    python benchmarks/bench_refresh.py --orders 1000000 --customers 100000
    python benchmarks/bench_refresh.py --orders 10000000 --customers 1000000 --skip-import
    python benchmarks/bench_refresh.py --real uci      # or cdnow: the public files in ../shared/data
    python benchmarks/bench_refresh.py --orders 10000000 --customers 1000000 --skip-import --reuse-db --cold-copy

A database of at least 64 MB is read from its columnar copy of the orders (analytics/orders_copy.py):
the first refresh builds it, later ones read it (``orders_copy.state`` in the output says which);
``--cold-copy`` removes it first, to time a refresh that has to build it.

Writes a synthetic canonical orders CSV, imports it (SQLite), refreshes with
DuckDB, and times the baseline: one DuckDB GROUP BY customer over the same
Arrow table (count, min, max, sum), which is the floor for any per-customer
aggregation. Prints a JSON line with the timings and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

OUT = Path(__file__).parent / "out"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = {"uci": ("online_retail/online_retail_2010_2011.parquet", "uci-online-retail"),
        "cdnow": ("cdnow/CDNOW_master.txt", "cdnow")}


def make_orders(n: int, customers: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, customers, n)
    start = np.datetime64("2022-01-01T00:00:00")
    secs = rng.integers(0, 3 * 365 * 86400, n)
    total = np.round(rng.gamma(3.0, 15.0, n), 2)
    status = np.where(rng.random(n) < 0.03, "cancelled", "placed")
    return pa.table({
        "order_id": pa.array(np.char.add("o", np.arange(n).astype(str))),
        "customer_id": pa.array(np.char.add("c", cust.astype(str))),
        "placed_at": pa.array(start + secs.astype("timedelta64[s]")),
        "total": total, "status": status,
    })


def bulk_load(engine, table: pa.Table) -> None:
    """Operational rows through the bulk path (the refresh benchmark's fixture, not the importer)."""
    import pandas as pd

    from retentio.db.bulk import append_frame
    from retentio.db.models import Customer, Order

    frame = table.to_pandas()
    cust_ids = pd.Index(pd.unique(frame["customer_id"]))
    append_frame(engine, Customer.__table__, pd.DataFrame({"id": range(1, len(cust_ids) + 1), "external_id": cust_ids}))
    append_frame(engine, Order.__table__, pd.DataFrame({
        "id": range(1, len(frame) + 1), "external_id": frame["order_id"],
        "customer_id": cust_ids.get_indexer(frame["customer_id"]) + 1,
        "placed_at": pd.to_datetime(frame["placed_at"]).dt.tz_localize("UTC"), "currency": "EUR",
        "net_total": frame["total"], "status": frame["status"], "channel": "online"}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--skip-import", action="store_true", help="load rows via Arrow instead of timing the importer")
    ap.add_argument("--reuse-db", action="store_true", help="keep a database from an earlier run of the same size")
    ap.add_argument("--real", choices=sorted(REAL), help="import a public dataset from ../shared/data instead")
    ap.add_argument("--cold-copy", action="store_true",
                    help="remove the columnar copy of the orders first: the refresh rebuilds it (a user's first "
                         "refresh, or the one after orders were changed)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import duckdb

    from retentio.analytics.sources import load_orders, load_subscriptions
    from retentio.db.session import get_engine
    from retentio.ingest.importer import run_import
    from retentio.refresh import refresh

    OUT.mkdir(exist_ok=True)
    tag = args.real or f"{args.orders}"
    db = OUT / f"bench-{tag}.db"
    reuse = args.reuse_db and db.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    engine = get_engine(f"sqlite:///{db}")
    result = {"orders": args.orders, "customers_param": args.customers, "machine": platform.machine(),
              "cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__}
    if reuse:
        result["reused_db"] = str(db)
    elif args.real:
        path, preset = REAL[args.real]
        t = time.perf_counter()
        s = run_import(engine, "orders", DATA / path, preset=preset)
        result.update(dataset=args.real, orders=s.rows_read, import_s=time.perf_counter() - t)
    elif args.skip_import:
        table = make_orders(args.orders, args.customers)
        t = time.perf_counter()
        bulk_load(engine, table)
        result["bulk_load_s"] = time.perf_counter() - t
    else:
        table = make_orders(args.orders, args.customers)
        csv_path = OUT / f"orders-{tag}.csv"
        pacsv.write_csv(table, csv_path)
        t = time.perf_counter()
        s = run_import(engine, "orders", csv_path, chunk_rows=100_000)
        result["import_s"] = time.perf_counter() - t
        result["import_rows_per_s"] = s.rows_read / result["import_s"]
        assert s.rows_read == s.rows_imported + s.rows_rejected

    if args.cold_copy:
        from retentio.analytics import orders_copy

        orders_copy.discard(engine)
    t = time.perf_counter()
    run = refresh(engine, active_window=None if args.real else 90)
    result["refresh_s"] = time.perf_counter() - t
    result["refresh_parts_s"] = run.summary["timings_s"]
    result["customers"] = run.summary["customers"]
    result["orders_copy"] = run.summary.get("orders_copy")

    # Baseline in the same process: the Arrow table the refresh reads, one bare group-by.
    import datetime as dt

    arrow = load_orders(engine, "UTC", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    con = duckdb.connect()
    con.register("o", arrow)
    t = time.perf_counter()
    con.execute("SELECT customer_id, count(*), min(placed), max(placed), sum(net_total) FROM o "
                "WHERE status = 'placed' AND net_total > 0 GROUP BY customer_id").arrow()
    result["baseline_groupby_s"] = time.perf_counter() - t
    # The comparable step of the refresh: the per-customer aggregation (Ibis on DuckDB).
    from retentio.analytics.customers import customer_facts
    from retentio.analytics.engine import DuckDBBackend, Tables

    backend = DuckDBBackend()
    tables = Tables(backend.register_arrow("orders", arrow), backend.register_arrow(
        "subscriptions", load_subscriptions(engine, "UTC", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))))
    t = time.perf_counter()
    facts = customer_facts(tables, dt.datetime(2100, 1, 1)).to_pyarrow()
    result["customer_aggregation_s"] = time.perf_counter() - t
    result["aggregation_vs_groupby"] = result["customer_aggregation_s"] / result["baseline_groupby_s"]
    result["full_compute_vs_groupby"] = run.summary["timings_s"]["compute"] / result["baseline_groupby_s"]
    assert facts.num_rows == result["customers"]
    import resource

    # Peak resident memory of this process and of the largest child (the SQLite readers), in GB.
    result["peak_rss_gb"] = {"process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                             "largest_child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
