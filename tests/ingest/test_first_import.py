"""A first large order import on SQLite builds the secondary indexes after the rows, and never loses them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.helpers import write_csv

from retentio.errors import InputFileError
from retentio.ingest import importer
from retentio.ingest.importer import defer_indexes, run_import
from retentio.ingest.kinds import HANDLERS


def indexes(engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        return sorted(tuple(r) for r in c.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'")))


def orders_file(tmp_path, n: int, start: int = 0):
    return write_csv(tmp_path / f"o{start}.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [[str(i), f"c{i % 13}", f"2024-02-{1 + i % 28:02d} 10:{i % 60:02d}", str(5 + i % 50)]
                      for i in range(start, start + n)])


def test_indexes_are_rebuilt_identically_and_used(sqlite_engine, tmp_path, monkeypatch):
    before = indexes(sqlite_engine)
    assert any(name == "ix_orders_placed_at" for name, _ in before)
    monkeypatch.setattr(importer, "DEFER_INDEXES_ROWS", 0)
    dropped = []
    real = importer.defer_indexes
    monkeypatch.setattr(importer, "defer_indexes", lambda *a: dropped.extend(real(*a)) or dropped)
    s = run_import(sqlite_engine, "orders", orders_file(tmp_path, 500), chunk_rows=100)
    assert s.rows_imported == 500
    assert len(dropped) == 2  # the two secondary indexes; the unique key stayed
    assert indexes(sqlite_engine) == before
    with sqlite_engine.connect() as c:
        assert c.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
        plan = " ".join(str(r[-1]) for r in c.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT id FROM orders WHERE customer_id = 3 AND placed_at > '2024-02-10'")))
    assert "ix_orders_customer_placed" in plan


def test_a_failed_import_keeps_the_indexes(sqlite_engine, tmp_path, monkeypatch):
    before = indexes(sqlite_engine)
    monkeypatch.setattr(importer, "DEFER_INDEXES_ROWS", 0)
    real = HANDLERS["orders"]
    calls = []

    def second_chunk_fails(*a):
        calls.append(1)
        if len(calls) == 2:
            raise InputFileError("the file broke in the middle")
        return real(*a)

    monkeypatch.setitem(HANDLERS, "orders", second_chunk_fails)
    with pytest.raises(InputFileError):
        run_import(sqlite_engine, "orders", orders_file(tmp_path, 300), chunk_rows=100)
    assert indexes(sqlite_engine) == before
    with sqlite_engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM orders")).scalar_one() == 0


def test_only_first_imports_on_sqlite(db, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "DEFER_INDEXES_ROWS", 10)
    with db.begin() as conn:
        first = defer_indexes(conn, "orders", 1000)
        conn.rollback()
    assert bool(first) == (db.dialect.name == "sqlite")
    run_import(db, "orders", orders_file(tmp_path, 20))
    with db.begin() as conn:
        assert defer_indexes(conn, "orders", 1000) == []  # orders exist: updated in place
        assert defer_indexes(conn, "customers", 1000) == []
    with db.begin() as conn:
        assert defer_indexes(conn, "orders", 5) == []  # a small file is not worth it
