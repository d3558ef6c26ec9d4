"""The materialised customer view: written by the refresh beside the database, read by previews without a
rebuild, replaced whole when a newer run completes."""

from __future__ import annotations

import datetime as dt

from tests.act.conftest import NOW

from retentio.act import segments, view_store
from retentio.refresh import refresh


def test_refresh_writes_the_view_and_readers_use_it(shop, monkeypatch):
    for cid in range(1, 6):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(days=10 * cid), total=20.0 * cid)
    run = refresh(shop.engine, predictions=False)
    facts = run.summary["customer_view"]
    path = view_store.view_dir(shop.engine) / facts["file"]
    assert path.exists() and facts["rows"] == 5
    view_store.forget()

    def no_rebuild(*_a, **_k):
        raise AssertionError("the view was rebuilt instead of read")

    monkeypatch.setattr("retentio.act.view.load_view", no_rebuild)
    view, meta = view_store.current(shop.engine)
    assert meta["run_id"] == run.id and meta["rows"] == 5
    hits = view_store.run_query(view.filter(segments.compile_condition(view, {"field": "revenue", "gte": 60.0}))
                                .count()).as_py()
    assert hits == 3
    monkeypatch.undo()
    shop.customer(6)
    shop.order(6, NOW - dt.timedelta(days=1), total=99.0)
    run2 = refresh(shop.engine, predictions=False)
    _view, meta2 = view_store.current(shop.engine)
    assert meta2["run_id"] == run2.id and meta2["rows"] == 6
    assert not path.exists()  # the older run's file is gone
    assert not list(path.parent.glob(".*.tmp"))


def test_the_view_read_by_several_children_equals_the_one_read_in_process(shop, monkeypatch):
    from retentio.act.view import load_view
    from retentio.analytics import sqlite_reader

    for cid in range(1, 41):
        shop.customer(cid, consent="granted" if cid % 3 else None)
        shop.order(cid, NOW - dt.timedelta(days=3 * cid), total=7.5 * cid)
        if cid % 4 == 0:
            shop.feedback(cid, cid % 11, NOW - dt.timedelta(days=cid))
    run = refresh(shop.engine, predictions=False)
    expected = load_view(shop.engine, NOW, run_id=run.id)
    parts = []
    real = sqlite_reader.read_in_child
    monkeypatch.setattr(sqlite_reader, "CHILD_MIN_BYTES", 0)
    monkeypatch.setattr(sqlite_reader, "SPLIT_MIN_ROWS", 10)
    monkeypatch.setattr(sqlite_reader.os, "cpu_count", lambda: 3)
    monkeypatch.setattr(sqlite_reader, "read_in_child", lambda path, sql: parts.append(sql) or real(path, sql))
    got = load_view(shop.engine, NOW, run_id=run.id)
    assert len(parts) == (3 if shop.engine.dialect.name == "sqlite" else 0)  # PostgreSQL is read over ADBC
    assert got.num_rows == expected.num_rows == 40
    assert got.sort_by("customer_id").equals(expected.sort_by("customer_id"))
