"""Large SQLite databases are read by a child process: the same rows, and the in-process read when it fails."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from retentio.analytics import sqlite_reader
from retentio.analytics.sources import load_orders, load_subscriptions
from retentio.db.bulk import append_frame
from retentio.db.models import Customer, Order, Subscription

AS_OF = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def filled(sqlite_engine):
    n = 3000
    append_frame(sqlite_engine, Customer.__table__, pd.DataFrame({"id": range(1, 101),
                                                                  "external_id": [f"c{i}" for i in range(1, 101)]}))
    placed = pd.Timestamp("2024-03-30 23:30", tz="UTC") + pd.to_timedelta(range(n), unit="h")
    append_frame(sqlite_engine, Order.__table__, pd.DataFrame({
        "id": range(1, n + 1), "external_id": [f"o{i}" for i in range(n)],
        # guest orders (no customer) and orders without an amount are part of real data
        "customer_id": [None if i % 97 == 0 else 1 + i % 100 for i in range(n)],
        "placed_at": placed, "currency": "EUR",
        "net_total": [None if i % 89 == 0 else round(10 + i * 0.37, 2) for i in range(n)],
        "status": ["cancelled" if i % 31 == 0 else "placed" for i in range(n)], "channel": "online"}))
    append_frame(sqlite_engine, Subscription.__table__, pd.DataFrame({
        "external_id": ["s1", "s2"], "customer_id": [1, 2], "plan": "basic",
        "started_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
        "ends_at": [pd.NaT, pd.Timestamp("2025-01-01", tz="UTC")],
        "cancelled_at": [pd.NaT, pd.Timestamp("2024-06-01", tz="UTC")]}))
    return sqlite_engine


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_child_reads_the_same_rows(filled, monkeypatch, tz):
    inproc = load_orders(filled, tz, AS_OF), load_subscriptions(filled, tz, AS_OF)
    calls = []
    real = sqlite_reader.read_in_child
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader, "read_in_child", lambda *a: calls.append(a) or real(*a))
    child = load_orders(filled, tz, AS_OF), load_subscriptions(filled, tz, AS_OF)
    assert len(calls) == 2
    assert child[0].num_rows == 3000
    assert child[0].equals(inproc[0])
    assert child[1].equals(inproc[1])
    # the as-of filter reaches the child
    early = load_orders(filled, tz, dt.datetime(2024, 4, 1, tzinfo=dt.UTC))
    assert 0 < early.num_rows < 100


def test_the_parent_never_loads_a_second_sqlite(filled, monkeypatch):
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    code = ("import sys, datetime as dt; from retentio.db.session import get_engine; "
            "from retentio.analytics import sqlite_reader as r; r.CHILD_MIN_BYTES = 0; "
            "from retentio.analytics.sources import load_orders; "
            f"t = load_orders(get_engine({str(filled.url)!r}), 'UTC', dt.datetime(2030, 1, 1, tzinfo=dt.UTC)); "
            "assert t.num_rows == 3000; print(sorted(m for m in sys.modules if 'adbc' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_failing_child_falls_back_in_process(filled, monkeypatch, caplog):
    expected = load_orders(filled, "UTC", AS_OF)
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader.sys, "executable", "/nonexistent/python")
    assert load_orders(filled, "UTC", AS_OF).equals(expected)
    assert "reading in-process" in caplog.text


def test_small_and_memory_databases_stay_in_process(filled, tmp_path):
    assert not sqlite_reader.worth_a_child(None)
    assert not sqlite_reader.worth_a_child(":memory:")
    assert not sqlite_reader.worth_a_child(str(filled.url.database))  # a few hundred kB
    assert not sqlite_reader.worth_a_child(str(tmp_path / "missing.db"))


@pytest.mark.parametrize("cpus", [2, 3, 8])
def test_a_large_table_is_read_by_several_children_in_key_order(filled, monkeypatch, cpus):
    expected = load_orders(filled, "Europe/Berlin", AS_OF)
    sqls = []
    real = sqlite_reader.read_in_child
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader, "SPLIT_MIN_ROWS", 1000)
    monkeypatch.setattr(sqlite_reader.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(sqlite_reader, "read_in_child", lambda path, sql: sqls.append(sql) or real(path, sql))
    got = load_orders(filled, "Europe/Berlin", AS_OF)
    assert len(sqls) == min(cpus, sqlite_reader.MAX_READERS)
    assert got.equals(expected)  # every row once, in the order one scan gives


def test_one_failing_part_makes_the_whole_read_in_process(filled, monkeypatch):
    expected = load_orders(filled, "UTC", AS_OF)
    real = sqlite_reader.read_in_child
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader, "SPLIT_MIN_ROWS", 1000)
    monkeypatch.setattr(sqlite_reader.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(sqlite_reader, "read_in_child",
                        lambda path, sql: None if "id >= 1 " in sql else real(path, sql))
    assert load_orders(filled, "UTC", AS_OF).equals(expected)
