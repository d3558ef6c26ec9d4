"""Postings per second through the ledger, against bare INSERTs of the same rows in the same run.

For SQLite and (when reachable) PostgreSQL:

* **service**: ``services.loyalty.redeem_points`` — role check, customer lookup, idempotency
  key, balanced legs, the conditional balance update under the row lock, postings with running balance
  — one database transaction per redemption, as the checkout API does;
* **batch**: ``Ledger.redeem`` for 1,000 redemptions per database transaction, as ``loyalty sync`` books;
* **bare**: plain INSERTs of the same transaction and posting rows (no checks, no balance update), with
  the same commit pattern — the floor.

Then the nightly tier recomputation (``store.computed``) for ``--members`` members with three
earnings each.

    python benchmarks/bench_loyalty.py [--n 3000] [--members 200000] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from retentio.auth.roles import OPERATOR
from retentio.db.loyalty_models import LedgerPosting, LedgerTransaction
from retentio.db.models import Customer
from retentio.db.session import get_engine
from retentio.loyalty import program as prog
from retentio.loyalty import store
from retentio.loyalty.ledger import Ledger
from retentio.services import loyalty

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
CUSTOMERS = 500


def setup(engine) -> prog.Program:
    with engine.begin() as conn:
        conn.execute(sa.insert(Customer), [{"id": i, "external_id": f"K{i}", "created_at": T0}
                                           for i in range(1, CUSTOMERS + 1)])
        p = prog.create(conn, "club", "Club", "EUR", {"min_redeem_points": 1}, T0, "bench", now=T0)
        prog.enrol(conn, p, list(range(1, CUSTOMERS + 1)), T0)
        led = Ledger(conn, p.id)
        for i in range(1, CUSTOMERS + 1):
            led.bonus(f"seed:{i}", i, 10**9, at=T0, expires_at=None)
    return p


def bench_service(engine, n: int) -> float:
    t = time.perf_counter()
    for k in range(n):
        loyalty.redeem_points(engine, OPERATOR, f"K{k % CUSTOMERS + 1}", 1, f"svc-{k}")
    return time.perf_counter() - t


def bench_batch(engine, p: prog.Program, n: int) -> float:
    t = time.perf_counter()
    for start in range(0, n, 1000):
        with engine.begin() as conn:
            led = Ledger(conn, p.id)
            for k in range(start, min(n, start + 1000)):
                led.redeem(f"batch-{k}", k % CUSTOMERS + 1, 1, at=T0)
    return time.perf_counter() - t


def bench_bare(engine, p: prog.Program, n: int, per_txn: bool) -> float:
    txn, post = LedgerTransaction.__table__, LedgerPosting.__table__
    with engine.connect() as conn:
        acc = conn.execute(sa.text("SELECT id, customer_id, kind FROM ledger_accounts")).all()
    avail = {r.customer_id: r.id for r in acc if r.kind == "available"}
    redeemed = next(r.id for r in acc if r.kind == "redeemed")
    tag = uuid.uuid4().hex[:6]
    t = time.perf_counter()
    step = 1 if per_txn else 1000
    version = 10**9 + (0 if per_txn else 10**8)  # bare rows must not collide with real versions
    for start in range(0, n, step):
        with engine.begin() as conn:
            for k in range(start, min(n, start + step)):
                tid = conn.execute(txn.insert().values(
                    program_id=p.id, idem_key=f"bare-{tag}-{k}", kind="redeem", customer_id=k % CUSTOMERS + 1,
                    points=1, effective_at=T0, booked_at=T0).returning(txn.c.id)).scalar_one()
                version += 1
                conn.execute(post.insert(), [
                    {"transaction_id": tid, "account_id": avail[k % CUSTOMERS + 1], "amount": -1, "balance_after": 0,
                     "account_version": version},
                    {"transaction_id": tid, "account_id": redeemed, "amount": 1, "balance_after": 0,
                     "account_version": version}])
    return time.perf_counter() - t


def bench_tiers(engine, members: int) -> dict:
    with engine.begin() as conn:
        start = conn.execute(sa.select(sa.func.max(Customer.id))).scalar_one() + 1
        ids = list(range(start, start + members))
        for i in range(0, members, 50_000):
            chunk = ids[i:i + 50_000]
            conn.execute(sa.insert(Customer), [{"id": c, "external_id": f"M{c}", "created_at": T0} for c in chunk])
        p = prog.create(conn, "tiers", "Tiers", "EUR", {"tiers": {"levels": [
            {"key": "bronze", "enter": 0, "keep": 0}, {"key": "silver", "enter": 500, "keep": 400},
            {"key": "gold", "enter": 1500, "keep": 1200}]}}, T0, "bench", now=T0)
        prog.enrol(conn, p, ids, T0)
        txn = LedgerTransaction.__table__
        rows = [{"program_id": p.id, "idem_key": f"e{c}:{j}", "kind": "earn", "customer_id": c,
                 "points": (c * 37 + j * 101) % 900, "effective_at": T0 + dt.timedelta(days=30 * j + c % 29),
                 "booked_at": T0} for c in ids for j in range(3)]
        for i in range(0, len(rows), 50_000):
            conn.execute(txn.insert(), rows[i:i + 50_000])
    with engine.connect() as conn:
        t = time.perf_counter()
        out = store.computed(conn, p, T0 + dt.timedelta(days=400))
        took = time.perf_counter() - t
    return {"members": len(out), "seconds": round(took, 2), "members_per_s": round(len(out) / took)}


def run(name: str, engine, n: int, members: int) -> dict:
    p = setup(engine)
    service = bench_service(engine, n)
    batch = bench_batch(engine, p, n)
    bare1 = bench_bare(engine, p, n, per_txn=True)
    bare_b = bench_bare(engine, p, n, per_txn=False)
    res = {"database": name, "redemptions": n, "postings": 2 * n,
           "service_postings_per_s": round(2 * n / service), "bare_per_txn_postings_per_s": round(2 * n / bare1),
           "service_vs_bare": round(service / bare1, 2),
           "batch_postings_per_s": round(2 * n / batch), "bare_batch_postings_per_s": round(2 * n / bare_b),
           "batch_vs_bare": round(batch / bare_b, 2)}
    if members:
        res["tiers"] = bench_tiers(engine, members)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--members", type=int, default=200_000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run("sqlite", get_engine(f"sqlite:///{Path(tmp) / 'bench.db'}"), args.n, args.members))
    try:
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"retentio_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: SQLite only, and say so
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
    else:
        try:
            eng = get_engine(sa.engine.make_url(args.pg).set(database=name).render_as_string(hide_password=False))
            results.append(run("postgresql", eng, args.n, args.members))
            eng.dispose()
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
