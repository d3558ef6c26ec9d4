"""The whole refresh at 100M orders / 10M customers on one machine, out of core.

    python benchmarks/bench_scale.py --orders 100000000 --customers 10000000 [--reuse-db]
    python benchmarks/bench_scale.py --orders 2000000 --customers 200000 --compare

Builds a SQLite database of synthetic orders (the distribution of
bench_refresh.py, written in chunks so the fixture itself fits in memory),
then times ``retentio refresh`` with every prediction stage, part by part,
and reports the peak resident memory of the process and of its children.

Correctness at scale: a random sample of customers is checked against their
orders read straight from SQLite (purchases, revenue, first and last
purchase). ``--compare`` also refreshes the same database with the in-memory
path and compares every stored score and prediction.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
CHUNK = 2_000_000


def build(db: Path, orders: int, customers: int, seed: int = 1) -> float:
    """Customers 1..N and ``orders`` orders in chunks; the secondary indexes are built once at the end."""
    from retentio.db.session import get_engine

    get_engine(f"sqlite:///{db}").dispose()  # creates the schema
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous = OFF")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' "
                          "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'").fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    con.executemany("INSERT INTO customers (id, external_id) VALUES (?, ?)",
                    ((i, f"c{i}") for i in range(1, customers + 1)))
    con.commit()
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-01-01T00:00:00")
    for lo in range(0, orders, CHUNK):
        n = min(CHUNK, orders - lo)
        cust = rng.integers(1, customers + 1, n)
        placed = (start + rng.integers(0, 3 * 365 * 86400, n).astype("timedelta64[s]")).astype(str)
        total = np.round(rng.gamma(3.0, 15.0, n), 2)
        status = np.where(rng.random(n) < 0.03, "cancelled", "placed")
        ids = range(lo + 1, lo + n + 1)
        con.executemany(
            "INSERT INTO orders (id, external_id, customer_id, placed_at, currency, net_total, status, channel) "
            "VALUES (?, ?, ?, ?, 'EUR', ?, ?, 'online')",
            zip(ids, (f"o{i}" for i in ids), cust.tolist(), np.char.replace(placed, "T", " ").tolist(),
                total.tolist(), status.tolist(), strict=True))
        con.commit()
    for _, sql in indexes:
        con.execute(sql)
    con.commit()
    con.close()
    return time.perf_counter() - t


class PeakRss(threading.Thread):
    """Samples the resident memory of this process and its children (ru_maxrss misses a child's
    peak while it is still running)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak = max(self.peak, tree_rss(os.getpid()))


def tree_rss(pid: int) -> int:
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            total = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) * 1024
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            total += sum(tree_rss(int(c)) for c in f.read().split())
    except (OSError, StopIteration):
        pass
    return total


def sample_check(db: Path, run_id: int, n: int = 2000, seed: int = 7) -> dict:
    """The stored per-customer figures of ``n`` random customers against their orders read directly."""
    con = sqlite3.connect(db)
    rng = np.random.default_rng(seed)
    (top,) = con.execute("SELECT max(id) FROM customers").fetchone()
    ids = sorted({int(i) for i in rng.integers(1, top + 1, n)})
    marks = ",".join("?" * len(ids))
    direct = {cid: (cnt, rev, first, last) for cid, cnt, rev, first, last in con.execute(
        f"SELECT customer_id, count(*), round(sum(net_total), 2), min(substr(placed_at, 1, 19)), "
        f"max(substr(placed_at, 1, 19)) FROM orders WHERE customer_id IN ({marks}) AND status = 'placed' "
        f"AND net_total > 0 GROUP BY customer_id", ids)}
    stored = {cid: (cnt, rev, first, last) for cid, cnt, rev, first, last in con.execute(
        f"SELECT customer_id, purchases, revenue, substr(first_purchase_at, 1, 19), "
        f"substr(last_purchase_at, 1, 19) FROM customer_scores WHERE run_id = ? AND customer_id IN ({marks})",
        [run_id, *ids])}
    con.close()
    bad = [c for c in direct if c not in stored or stored[c][0] != direct[c][0]
           or abs(stored[c][1] - direct[c][1]) > 0.011 or stored[c][2:] != direct[c][2:]]
    return {"sampled": len(ids), "with_purchases": len(direct), "mismatches": len(bad)}


COMPARED = {"customer_scores": ["purchases", "revenue", "recency_days", "r_score", "f_score", "m_score",
                                 "rfm_segment", "lifecycle"],
            "customer_predictions": ["p_alive", "expected_purchases", "clv", "churn_probability"]}


def snapshot(engine, run_id: int) -> dict:
    """The stored per-customer results of one run (read before the next refresh replaces them)."""
    import pandas as pd

    return {table: pd.read_sql(f"SELECT customer_id, {', '.join(cols)} FROM {table} WHERE run_id = {run_id}",
                               engine).set_index("customer_id").sort_index() for table, cols in COMPARED.items()}


def compare(a: dict, b: dict) -> dict:
    """Largest absolute difference per numeric column, count of differing labels otherwise."""
    import pandas as pd

    out: dict = {}
    for table, cols in COMPARED.items():
        x, y = a[table], b[table]
        out[table] = {"rows": [len(x), len(y)], "same_customers": bool(x.index.equals(y.index))}
        y = y.reindex(x.index)
        for c in cols:
            if pd.api.types.is_numeric_dtype(x[c]):
                out[table][c] = float(np.nanmax(np.abs(x[c].to_numpy(float) - y[c].to_numpy(float))))
            else:
                out[table][c] = int((x[c] != y[c]).sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=100_000_000)
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--reuse-db", action="store_true")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--out-of-core-from", type=int, help="orders from which the engine works out of core")
    ap.add_argument("--compare", action="store_true", help="also refresh in memory and compare the results")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import duckdb

    from retentio.analytics import engine as engines
    from retentio.db.session import get_engine
    from retentio.refresh import refresh

    OUT.mkdir(exist_ok=True)
    db = OUT / f"scale-{args.orders}.db"
    result: dict = {"orders": args.orders, "customers": args.customers, "cpus": os.cpu_count(),
                    "python": platform.python_version(), "duckdb": duckdb.__version__}
    if not (args.reuse_db and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        result["build_s"] = build(db, args.orders, args.customers)
    result["db_bytes"] = db.stat().st_size
    if args.build_only:
        print(json.dumps(result, indent=2))
        return
    engine = get_engine(f"sqlite:///{db}")
    if args.out_of_core_from is not None:
        engines.OUT_OF_CORE_ROWS = args.out_of_core_from
    watch = PeakRss()
    watch.start()
    t = time.perf_counter()
    run = refresh(engine, active_window=90)
    result["refresh_s"] = time.perf_counter() - t
    watch.stop.set()
    result["peak_rss_bytes"] = max(watch.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    result["peak_rss_children_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result["parts_s"] = run.summary["timings_s"]
    result["out_of_core"] = run.summary.get("out_of_core")
    result["customers_scored"] = run.summary["customers"]
    result["sample_check"] = sample_check(db, run.id)
    if args.compare:
        first = snapshot(engine, run.id)
        engines.OUT_OF_CORE_ROWS, saved = 1 << 62, engines.OUT_OF_CORE_ROWS
        try:
            t = time.perf_counter()
            again = refresh(engine, active_window=90)
            result["in_memory_refresh_s"] = time.perf_counter() - t
        finally:
            engines.OUT_OF_CORE_ROWS = saved
        result["compare"] = compare(first, snapshot(engine, again.id))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
