"""The columnar copy of the orders (docs/engines.md, "The orders copy"): the engine reads from it exactly the
table it would read from the database, whatever happened to the orders since the copy was taken."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from tests.helpers import load_orders, write_csv

from retentio.analytics import orders_copy, sources, sqlite_reader
from retentio.analytics.engine import DuckDBBackend
from retentio.db.session import get_engine
from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.results import kpis, scores
from retentio.shop import set_config
from retentio.storage import data_root

AS_OF = dt.datetime(2024, 12, 31, 22, 59, 59, 999999, tzinfo=dt.UTC)  # the end of 31 Dec in Berlin, minus 1 µs
ORDERS = [
    ("a1", "c1", "2024-03-31T01:59:59", "10.00"),   # just before the spring change (Berlin)
    ("a2", "c1", "2024-03-31T03:00:00", "20.50"),   # just after it
    ("a3", "c2", "2024-10-27T02:30:00+01:00", "7.25"),  # the repeated hour in autumn, second time
    ("a4", "c2", "2024-10-27T02:30:00+02:00", "8.00"),  # ... and the first time
    ("a5", "", "2024-06-01T12:00:00", "99.99"),     # a guest order
    ("a6", "c3", "2024-07-01T12:00:00", "-5.00", "returned"),
    ("a7", "c3", "2024-12-31T23:59:59", "1.00"),    # the last second of the as-of day: in
    ("a8", "c3", "2025-01-01T00:00:00", "2.00"),    # the first second after it: out
    ("a9", "c4", "2024-02-29T10:00:00", "0.01"),    # a leap day
]


@pytest.fixture
def shop(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(orders_copy, "MIN_BYTES", 0)
    load_orders(sqlite_engine, tmp_path, ORDERS, tz="Europe/Berlin")
    return sqlite_engine


def _copied(engine, tz="Europe/Berlin", as_of=AS_OF):
    backend = DuckDBBackend()
    try:
        table = backend._orders_from_copy(engine, tz, as_of, temp=True)
        assert table is not None
        return table.to_pyarrow(), backend.orders_copy
    finally:
        backend.close()


def _same_as_direct(engine, tz="Europe/Berlin", as_of=AS_OF) -> str:
    got, info = _copied(engine, tz, as_of)
    want = sources.load_orders(engine, tz, as_of)
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
    return info["state"]


def test_the_copy_gives_the_table_the_database_gives(shop):
    assert _same_as_direct(shop) == "rebuilt"
    got, info = _copied(shop)
    assert info == {"used": True, "state": "in_step", "rows": len(ORDERS), "added": 0}
    placed = {r["order_id"]: r["placed"] for r in got.to_pylist()}
    assert len(placed) == len(ORDERS) - 1  # a8 lies after the as-of day
    # Wall-clock times in Berlin, both times through the repeated autumn hour.
    assert sorted(placed.values())[:2] == [dt.datetime(2024, 2, 29, 10), dt.datetime(2024, 3, 31, 1, 59, 59)]
    assert dt.datetime(2024, 12, 31, 23, 59, 59) in placed.values()
    assert sum(v == dt.datetime(2024, 10, 27, 2, 30) for v in placed.values()) == 2


def _import(engine, tmp_path, rows, name):
    norm = [list(r) + [""] * (5 - len(r)) for r in rows]
    path = write_csv(tmp_path / name, ["order_id", "customer_id", "placed_at", "total", "status"], norm)
    summary = run_import(engine, "orders", path, shop_time_zone="Europe/Berlin")
    assert summary.rows_rejected == 0, summary.rejects[:3]


def _restore(engine, snapshot):
    """As an admin restores a backup: the service stopped, the file replaced, no write-ahead log left."""
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(engine.url.database + suffix).unlink(missing_ok=True)
    shutil.copyfile(snapshot, engine.url.database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders WHERE external_id = 'z1'")).scalar() == 0


CHANGES = {
    "new orders are appended": (
        lambda e, p, s: _import(e, p, [("b1", "c5", "2024-11-01T09:00:00", "30.00"),
                                       ("b2", "c1", "2024-11-02T09:00:00", "12.00")], "more.csv"), "appended"),
    "the same file again changes nothing": (lambda e, p, s: _import(e, p, ORDERS, "again.csv"), "in_step"),
    "another amount in a re-import": (
        lambda e, p, s: _import(e, p, [("a2", "c1", "2024-03-31T03:00:00", "21.50")], "fix.csv"), "rebuilt"),
    "another status in a re-import": (
        lambda e, p, s: _import(e, p, [("a1", "c1", "2024-03-31T01:59:59", "10.00", "cancelled")], "st.csv"),
        "rebuilt"),
    "a deleted order": (lambda e, p, s: _sql(e, "DELETE FROM orders WHERE external_id = 'a3'"), "rebuilt"),
    "an order moved to another customer": (
        lambda e, p, s: _sql(e, "UPDATE orders SET customer_id = (SELECT min(id) FROM customers) "
                                "WHERE external_id = 'a6'"), "rebuilt"),
    "another channel (not in the copy)": (
        lambda e, p, s: _sql(e, "UPDATE orders SET channel = 'store'"), "in_step"),
    "an older backup restored": (lambda e, p, s: _restore(e, s), "rebuilt"),
}


def _sql(engine, statement):
    with engine.begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_copy_follows_every_change_of_the_orders(shop, tmp_path, change):
    snapshot = tmp_path / "backup.db"
    raw = sqlite3.connect(shop.url.database)
    raw.execute(f"VACUUM INTO '{snapshot}'")
    raw.close()
    _import(shop, tmp_path, [("z1", "c9", "2024-05-05T05:05:05", "5.00")], "first.csv")
    assert _same_as_direct(shop) == "rebuilt"
    act, state = CHANGES[change]
    act(shop, tmp_path, snapshot)
    assert _same_as_direct(shop) == state
    assert _same_as_direct(shop) == "in_step"


def test_another_time_zone_rebuilds_the_copy(shop):
    _same_as_direct(shop)
    set_config(shop, "time_zone", "America/New_York")
    assert _same_as_direct(shop, "America/New_York") == "rebuilt"


def test_a_copy_of_another_database_is_never_read(shop, tmp_path, monkeypatch):
    """Two databases sharing one data folder: each one's token tells its copy from the other's."""
    monkeypatch.setenv("RETENTIO_DATA_DIR", str(tmp_path / "shared-data"))
    from retentio.settings import get_settings

    get_settings.cache_clear()
    try:
        other = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
        load_orders(other, tmp_path, [("x1", "k1", "2024-04-01T10:00:00", "3.00")], tz="Europe/Berlin",
                    name="other.csv")
        assert _same_as_direct(shop) == "rebuilt"
        assert _same_as_direct(other) == "rebuilt"
        assert _same_as_direct(shop) == "rebuilt"
        other.dispose()
    finally:
        get_settings.cache_clear()


def test_many_appends_are_merged_into_one_file(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(orders_copy, "MAX_PARTS", 2)
    _same_as_direct(shop)
    for k in range(4):
        _import(shop, tmp_path, [(f"n{k}", f"c{k}", f"2024-09-0{k + 1}T10:00:00", f"{k + 1}.00")], f"n{k}.csv")
        assert _same_as_direct(shop) == "appended"
        manifest = orders_copy.read_manifest(data_root(shop) / orders_copy.FOLDER)
        assert manifest is not None and len(manifest.parts) <= 2
    assert manifest.rows == len(ORDERS) + 4


def test_a_merge_that_fails_leaves_the_direct_read_and_the_copy_as_it_was(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(orders_copy, "MAX_PARTS", 1)
    _same_as_direct(shop)
    monkeypatch.setattr(orders_copy, "quoted", lambda path: "'/no/such/folder/x.parquet'")
    _import(shop, tmp_path, [("m1", "c1", "2024-09-01T10:00:00", "1.00")], "m1.csv")
    run = refresh(shop, predictions=False)
    assert run.status == "ok" and run.summary["orders_copy"] == {"used": False}
    monkeypatch.undo()
    monkeypatch.setattr(orders_copy, "MIN_BYTES", 0)
    assert _same_as_direct(shop) == "appended"


def test_leftovers_of_a_crash_are_removed_and_never_read(shop):
    _same_as_direct(shop)
    where = data_root(shop) / orders_copy.FOLDER
    shutil.copyfile(next(where.glob("part-*.parquet")), where / "part-left-over.parquet")
    (where / "part-half.parquet.part").write_bytes(b"PAR1 cut off")
    assert _same_as_direct(shop) == "in_step"
    assert not (where / "part-left-over.parquet").exists() and not (where / "part-half.parquet.part").exists()
    (where / orders_copy.MANIFEST).write_text("{not json", encoding="utf-8")
    assert _same_as_direct(shop) == "rebuilt"


def test_a_reader_process_that_fails_leaves_the_direct_read(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_reader.sys, "executable", str(tmp_path / "no-python-here"))
    run = refresh(shop, predictions=False)
    assert run.status == "ok" and run.summary["orders_copy"] == {"used": False}
    assert not list((data_root(shop) / orders_copy.FOLDER).glob("part-*"))


def test_a_damaged_copy_is_read_around_and_rebuilt(shop):
    first = refresh(shop, predictions=False)
    assert first.summary["orders_copy"]["state"] == "rebuilt"
    part = next((data_root(shop) / orders_copy.FOLDER).glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])  # a disk that lost half a file
    second = refresh(shop, predictions=False)
    assert second.status == "ok" and second.summary["orders_copy"] == {"used": False, "unreadable": True}
    assert second.summary["orders"] == first.summary["orders"]
    assert _same_as_direct(shop) == "rebuilt"


def test_a_refresh_stores_the_same_results_from_the_copy(shop, monkeypatch):
    monkeypatch.setattr(orders_copy, "MIN_BYTES", 1 << 62)
    direct = refresh(shop, predictions=False)
    want = (kpis(shop, "month")[0].drop(columns=["id", "run_id"], errors="ignore"),
            scores(shop).drop(columns=["id", "run_id"], errors="ignore").sort_values("customer_id"))
    monkeypatch.setattr(orders_copy, "MIN_BYTES", 0)
    copied = refresh(shop, predictions=False)
    assert direct.summary["orders_copy"] == {"used": False}
    assert copied.summary["orders_copy"]["state"] == "rebuilt"
    got = (kpis(shop, "month")[0].drop(columns=["id", "run_id"], errors="ignore"),
           scores(shop).drop(columns=["id", "run_id"], errors="ignore").sort_values("customer_id"))
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_second_refresh_waits_for_the_first_ones_copy(shop):
    """The lock: while one refresh brings the copy in step and reads it, another waits."""
    finished = []
    with orders_copy.in_step(shop, "Europe/Berlin") as copy:
        assert copy is not None
        other = threading.Thread(target=lambda: finished.append(_copied(shop)[1]["state"]))
        other.start()
        time.sleep(0.5)
        assert finished == []
    other.join(timeout=30)
    assert finished == ["in_step"]


@pytest.mark.parametrize(("statement", "counted"), [
    ("UPDATE orders SET net_total = net_total + 1 WHERE external_id = 'a1'", 1),
    ("UPDATE orders SET net_total = net_total WHERE external_id = 'a1'", 0),
    ("UPDATE orders SET channel = 'phone'", 0),
    ("UPDATE orders SET placed_at = placed_at, status = 'cancelled' WHERE external_id IN ('a1', 'a2')", 2),
    ("DELETE FROM orders WHERE external_id IN ('a1', 'a2', 'a3')", 3),
    ("INSERT INTO orders (external_id, placed_at, currency, status, channel) "
     "VALUES ('new', '2024-01-01 00:00:00.000000', 'EUR', 'placed', 'online')", 0),
])
def test_the_triggers_count_what_the_copy_holds(shop, statement, counted):
    def count():
        with shop.connect() as conn:
            return conn.execute(text("SELECT changes FROM data_changes WHERE name = 'orders'")).scalar()

    before = count()
    _sql(shop, statement)
    assert count() - before == counted
