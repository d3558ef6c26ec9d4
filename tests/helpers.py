"""Building small shops for tests through the real import path."""

from __future__ import annotations

import csv
import datetime as dt
from contextlib import contextmanager
from pathlib import Path

from retentio.analytics.engine import make_backend
from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.results import kpis
from retentio.shop import set_config


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def load_orders(engine, tmp_path: Path, rows: list[tuple], tz: str = "UTC", name: str = "orders.csv"):
    """rows: (order_id, customer_id or '', placed_at ISO, total[, status])."""
    set_config(engine, "time_zone", tz)
    norm = [list(r) + [""] * (5 - len(r)) for r in rows]
    path = write_csv(tmp_path / name, ["order_id", "customer_id", "placed_at", "total", "status"], norm)
    summary = run_import(engine, "orders", path, shop_time_zone=tz)
    assert summary.rows_rejected == 0, summary.rejects[:3]
    return summary


def kpi_rows(engine, analytics: str, *, window: int, period: str = "month", as_of: dt.date | None = None):
    refresh(engine, as_of=as_of, engine_name=analytics, active_window=window, predictions=False)
    df, _ = kpis(engine, period, window, engine_name=analytics)
    return {r["period_start"]: r for r in df.to_dict("records")}


@contextmanager
def loaded_tables(engine, analytics: str, tz: str, until: dt.datetime):
    """The analytics engine ``analytics`` with the operational tables loaded up to ``until``; closed after."""
    backend = make_backend(analytics, engine)
    try:
        tables = backend.load(engine, tz, until)
        yield backend, tables
        tables.release()
    finally:
        backend.close()
