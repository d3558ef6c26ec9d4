"""Out of core (docs/engines.md): orders through Parquet into a DuckDB file with a memory limit give the
same stored results as the in-memory path, on SQLite (child reader or in-process) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers import load_orders

from retentio.analytics import engine as engines
from retentio.analytics import orders_copy, sqlite_reader
from retentio.refresh import refresh
from retentio.results import kpis, predictions, scores
from retentio.storage import folder


def _shop(engine, tmp_path, customers: int = 250, seed: int = 11) -> int:
    """Berlin shop (times cross both DST changes), some guest orders and cancellations."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1)
    rows = []
    for c in range(customers):
        t = rng.uniform(0, 200)
        rate = rng.gamma(1.5, 1 / 30)
        life = rng.exponential(250)
        k = 0
        while t < 700 and (t <= life or k == 0):
            when = (start + dt.timedelta(days=t)).isoformat(timespec="seconds")
            rows.append((f"o{c}-{k}", "" if c % 25 == 0 else f"c{c}", when, f"{rng.gamma(4, 8):.2f}",
                         "cancelled" if rng.random() < 0.04 else "placed"))
            k += 1
            t += rng.exponential(1 / rate)
    load_orders(engine, tmp_path, rows, tz="Europe/Berlin")
    return len(rows)


def _results(engine) -> dict[str, pd.DataFrame]:
    month, _ = kpis(engine, "month")
    pred, _ = predictions(engine)
    return {"kpis": month.drop(columns=[c for c in month.columns if c in ("id", "run_id")]).reset_index(drop=True),
            "scores": scores(engine).drop(columns=["id", "run_id"], errors="ignore")
            .sort_values("customer_id").reset_index(drop=True),
            "predictions": pred[["customer_id", "p_alive", "clv", "churn_probability"]]
            .sort_values("customer_id").reset_index(drop=True)}


@pytest.mark.parametrize("reader", ["sqlite-child", "sqlite-in-process", "sqlite-orders-copy", "postgres"])
def test_out_of_core_refresh_stores_the_same_results(request, tmp_path, monkeypatch, reader):
    engine = request.getfixturevalue("pg_engine" if reader == "postgres" else "sqlite_engine")
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0 if reader != "sqlite-in-process" else 1 << 62)
    monkeypatch.setattr(orders_copy, "MIN_BYTES", 0 if reader == "sqlite-orders-copy" else 1 << 62)
    n = _shop(engine, tmp_path)
    with_predictions = reader == "sqlite-child"  # the prediction stage reads the same tables on every path
    in_memory = refresh(engine, predictions=with_predictions)
    assert in_memory.summary["out_of_core"] is None
    want = _results(engine)

    monkeypatch.setattr(engines, "OUT_OF_CORE_ROWS", 1)
    run = refresh(engine, predictions=with_predictions)
    assert run.status == "ok"
    assert run.summary["out_of_core"]["orders"] == n
    # The orders copy stands in for the refresh's own Parquet file (docs/engines.md, "The orders copy").
    assert (run.summary["orders_copy"] or {}).get("used", False) == (reader == "sqlite-orders-copy")
    got = _results(engine)
    assert len(got["scores"]) > 200 and (len(got["predictions"]) > 200) == with_predictions
    # Out of core the predictions are stored before the view is built, not beside it (memory).
    timings = run.summary["timings_s"]
    assert ("store_predictions_before_view" in timings) == with_predictions
    assert "store_predictions_beside_view" not in timings
    assert ("store_predictions_beside_view" in in_memory.summary["timings_s"]) == with_predictions
    pd.testing.assert_frame_equal(got["kpis"], want["kpis"])
    pd.testing.assert_frame_equal(got["scores"], want["scores"])
    # Sums taken in another row order differ in the last bits, and the fitted optimum moves within the
    # optimiser's tolerance (0.1 % of CLV seen): the data are the same, the fits agree to that tolerance.
    pd.testing.assert_frame_equal(got["predictions"], want["predictions"], rtol=2e-2)
    # The private folder (DuckDB file, Parquet, spill) is gone once the refresh is done.
    assert list(Path(folder(engine, "analytics")).iterdir()) == []


def test_a_child_that_cannot_write_falls_back_in_process(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader.sys, "executable", str(tmp_path / "no-python-here"))
    monkeypatch.setattr(engines, "OUT_OF_CORE_ROWS", 1)
    n = _shop(sqlite_engine, tmp_path, customers=60)
    run = refresh(sqlite_engine, predictions=False)
    assert run.status == "ok" and run.summary["out_of_core"]["orders"] == n
