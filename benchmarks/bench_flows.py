"""Benchmarks of the act layer (run by hand; figures go to docs/benchmarks.md).

``--segments N``: a segment over N customers. A synthetic customer view of N
rows (the view's own schema) is evaluated by the engine (DuckDB through Ibis,
compiled from the segment's condition) for membership and for the preview
aggregate; the baseline is the same condition as a hand-written NumPy/pandas
boolean mask over the same data in memory, in the same process. With
``--load`` the view is also read from a SQLite database of N customers with
scores and predictions (the flow runner's real path).

``--send N``: messages per second of one worker to a local SMTP server
(aiosmtpd on loopback, in this process): N rendered messages are queued by
the flow runner in a SQLite (and with ``--postgres URL``, a PostgreSQL)
database and sent with the full bookkeeping (claim, mark sending, send,
mark sent). The baseline is smtplib sending the same N pre-built messages
over one connection without any database: the transport's ceiling.

    python benchmarks/bench_flows.py --segments 1000000 --load
    python benchmarks/bench_flows.py --send 5000 [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONDITION = {"all": [{"field": "lifecycle", "in": ["at_risk", "inactive"]},
                     {"field": "churn_probability", "gte": 0.5},
                     {"field": "clv", "gte": 50.0},
                     {"field": "email_marketing", "eq": True}]}


def synthetic_view(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    churn = rng.random(n)
    churn[rng.random(n) < 0.1] = np.nan
    return pa.table({
        "customer_id": np.arange(n, dtype=np.int64), "external_id": pa.array([f"K{i}" for i in range(n)]),
        "lifecycle": pa.array(rng.choice(["new", "active", "reactivated", "at_risk", "inactive", "churned"], n)),
        "churn_probability": churn, "clv": rng.gamma(2.0, 60.0, n), "revenue": rng.gamma(2.0, 150.0, n),
        "value_at_risk": rng.gamma(1.0, 30.0, n), "email_marketing": rng.random(n) < 0.7,
        "first_name": pa.array(["Anna"] * n), "last_name": pa.array(["Muster"] * n),
        "purchases": rng.integers(0, 20, n),
    })


def timed(fn, repeat: int = 5) -> float:
    fn()
    return statistics.median(_once(fn) for _ in range(repeat))


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_segments(n: int, load: bool) -> None:
    import ibis

    from retentio.act import segments as seg

    table = synthetic_view(n)
    con = ibis.duckdb.connect()
    t_register = _once(lambda: con.create_table("customer_view", table, temp=True, overwrite=True))
    view = con.table("customer_view")
    frame = table.to_pandas()

    def engine_members():
        return seg.members(view, CONDITION)

    def engine_preview():
        return seg.preview(view, "bench", CONDITION)

    def pandas_members():
        m = (frame["lifecycle"].isin(["at_risk", "inactive"]).to_numpy() & (frame["churn_probability"] >= 0.5).to_numpy()
             & (frame["clv"] >= 50.0).to_numpy() & frame["email_marketing"].to_numpy())
        return frame["customer_id"].to_numpy()[m]

    k = engine_members().num_rows
    assert k == len(pandas_members()), "engine and baseline disagree"
    t_members, t_preview, t_pandas = timed(engine_members), timed(engine_preview), timed(pandas_members)
    print(f"segment over {n:,} customers ({k:,} members): register {t_register:.3f} s · members {t_members:.3f} s"
          f" · preview {t_preview:.3f} s · pandas mask {t_pandas:.3f} s · members/pandas {t_members / t_pandas:.1f}×")
    if load:
        bench_view_load(n)


def bench_view_load(n: int) -> None:
    from sqlalchemy import text

    from retentio.act.view import load_view
    from retentio.db.session import get_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/v.db")
        rng = np.random.default_rng(1)
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        cur = raw.cursor()
        cur.execute("INSERT INTO refresh_runs (id, started_at, status, as_of, engine, time_zone) VALUES "
                    "(1, '2026-01-01 00:00:00.000000', 'ok', '2026-01-01 00:00:00.000000', 'duckdb', 'UTC')")
        cur.executemany("INSERT INTO customers (id, external_id, email, first_name, locale) VALUES (?, ?, ?, ?, ?)",
                        ((i, f"K{i}", f"k{i}@x.org", "Anna", "de_DE") for i in range(n)))
        cur.executemany("INSERT INTO consents (customer_id, channel, purpose, status, recorded_at, double_opt_in_at) "
                        "VALUES (?, 'email', 'marketing', 'granted', '2025-01-01 00:00:00.000000', "
                        "'2025-01-01 00:00:00.000000')", ((i,) for i in range(n)))
        life = rng.choice(["new", "active", "at_risk", "inactive", "churned"], n)
        cur.executemany("INSERT INTO customer_scores (run_id, customer_id, purchases, revenue, lifecycle, "
                        "last_purchase_at) VALUES (1, ?, 3, ?, ?, '2025-10-01 00:00:00.000000')",
                        ((i, float(r), str(lc)) for i, r, lc in zip(range(n), rng.gamma(2, 100, n), life, strict=True)))
        cur.executemany("INSERT INTO customer_predictions (run_id, customer_id, model, churn_probability, clv) "
                        "VALUES (1, ?, 'bgnbd', ?, ?)",
                        ((i, float(c), float(v)) for i, c, v in zip(range(n), rng.random(n), rng.gamma(2, 60, n),
                                                                    strict=True)))
        raw.commit()
        raw.close()
        build = time.perf_counter() - t0
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM customers")).scalar() == n
        t_load = timed(lambda: load_view(engine, now), repeat=3)
        print(f"view of {n:,} customers from SQLite (scores, predictions, consents): {t_load:.2f} s "
              f"(database built in {build:.0f} s)")


def bench_send(n: int, pg_url: str | None) -> None:
    import smtplib

    from tests.act.servers import SmtpSink

    from retentio.act.channels import NO_FOLD, Outgoing, SmtpChannel
    from retentio.act.flow_model import parse_flow
    from retentio.act.flow_store import save_flow, set_enabled
    from retentio.act.runner import run_flows
    from retentio.act.worker import Worker
    from retentio.db.models import Consent, Customer, Order
    from retentio.db.session import get_engine

    targets = [("sqlite", None)] + ([("postgres", pg_url)] if pg_url else [])
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        for name, url in targets:
            if url:
                import sqlalchemy as sa

                admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.execute(sa.text("DROP DATABASE IF EXISTS retentio_bench WITH (FORCE)"))
                    c.execute(sa.text("CREATE DATABASE retentio_bench"))
                engine = get_engine(sa.engine.make_url(url).set(database="retentio_bench")
                                    .render_as_string(hide_password=False))
            else:
                engine = get_engine(f"sqlite:///{tmp}/send.db")
            t = now - dt.timedelta(hours=1)
            with engine.begin() as conn:
                conn.execute(Customer.__table__.insert(), [
                    {"id": i, "external_id": f"K{i}", "email": f"k{i}@example.org", "first_name": "Anna",
                     "locale": "de_DE" if i % 3 else "en_GB", "time_zone": "Europe/Berlin"} for i in range(1, n + 1)])
                conn.execute(Consent.__table__.insert(), [
                    {"customer_id": i, "channel": "email", "purpose": "marketing", "status": "granted",
                     "recorded_at": t, "double_opt_in_at": t} for i in range(1, n + 1)])
                conn.execute(Order.__table__.insert(), [
                    {"id": i, "external_id": f"O{i}", "customer_id": i, "placed_at": t, "net_total": 10,
                     "status": "placed"} for i in range(1, n + 1)])
            save_flow(engine, parse_flow({"key": "bench", "control_share": 0.0,
                                          "trigger": {"type": "event", "event": "order_placed"},
                                          "steps": [{"type": "send", "template": "feedback_request"}]}))
            set_enabled(engine, "bench", True)
            t0 = time.perf_counter()
            run_flows(engine, now)
            plan = time.perf_counter() - t0
            before = len(sink.messages)
            t0 = time.perf_counter()
            stats = Worker(engine, {"email": SmtpChannel(sink.url, "shop@example.com", "Shop")}).run(clock=lambda: now)
            worker_s = time.perf_counter() - t0
            assert stats["sent"] == n and len(sink.messages) - before == n
            # Baseline: the same messages, pre-built, over one SMTP connection, no database.
            with engine.connect() as conn:
                rows = conn.execute(sa_select_outbox()).all()
            ch = SmtpChannel(sink.url, "shop@example.com", "Shop")
            blobs = [ch.build(Outgoing(r.id, r.idempotency_key, "email", r.customer_id, r.address, "marketing",
                                       r.subject, r.body_text, r.body_html, None, r.locale, "bench"))
                     .as_bytes(policy=NO_FOLD) for r in rows]
            smtp = smtplib.SMTP("127.0.0.1", sink.port)
            t0 = time.perf_counter()
            for r, blob in zip(rows, blobs, strict=True):
                smtp.sendmail("shop@example.com", [r.address], blob)
            raw_s = time.perf_counter() - t0
            smtp.quit()
            print(f"{name}: {n:,} messages · planned and rendered by the flow run in {plan:.1f} s "
                  f"({n / plan:,.0f}/s) · worker {n / worker_s:,.0f} msg/s · raw smtplib {n / raw_s:,.0f} msg/s "
                  f"· worker/raw {raw_s / worker_s:.2f}")


def sa_select_outbox():
    from sqlalchemy import select

    from retentio.db.act_models import OutboxMessage

    return select(OutboxMessage).order_by(OutboxMessage.id)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--segments", type=int, nargs="*", default=[])
    p.add_argument("--load", action="store_true")
    p.add_argument("--send", type=int)
    p.add_argument("--postgres")
    a = p.parse_args()
    for n in a.segments:
        bench_segments(n, a.load)
    if a.send:
        bench_send(a.send, a.postgres)


if __name__ == "__main__":
    main()
