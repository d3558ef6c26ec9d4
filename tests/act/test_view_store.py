"""The materialised customer view: written by the refresh beside the database, read by previews without a
rebuild, replaced whole when a newer run completes."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute
import pytest
import sqlalchemy as sa
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


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_the_view_a_refresh_builds_from_its_frames_equals_the_one_read_back_from_the_tables(db, tmp_path, tz):
    """The refresh writes the view while its predictions are being stored, from the frames it stores: the file
    must hold exactly what the stored path (``load_view`` reading the run's rows) gives at the same moment."""
    import numpy as np
    import pyarrow.parquet as pq
    from tests.helpers import load_orders

    from retentio.act.view import load_view
    from retentio.privacy.objection import set_objection

    rng = np.random.default_rng(5)
    rows = []
    for c in range(220):
        t = rng.uniform(0, 300)
        while t < 730:
            at = dt.datetime(2023, 1, 1) + dt.timedelta(days=t, microseconds=int(rng.integers(0, 10**6)))
            rows.append((f"o{len(rows)}", f"c{c}", at.isoformat(), f"{rng.gamma(4, 8):.2f}",
                         "returned" if rng.random() < 0.05 else ""))
            t += rng.exponential(40)
    rows.append(("g1", "", "2024-06-01T10:00:00", "12.00"))  # a guest order
    load_orders(db, tmp_path, rows, tz=tz)
    with db.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM customers ORDER BY id"))]
    set_objection(db, ids[3], True)  # no predictions, no RFM scores
    run = refresh(db)
    assert run.summary["predictions"]["stages"]["transactions"]["status"] == "ok"
    path = view_store.view_dir(db) / run.summary["customer_view"]["file"]
    got = pq.read_table(path)
    built = dt.datetime.fromisoformat(got.schema.metadata[b"retentio.built_at"].decode())
    expected = load_view(db, built, run_id=run.id)
    got = got.replace_schema_metadata(None)
    assert got.schema == expected.schema
    assert got.num_rows == expected.num_rows == len(ids)
    order = pa.compute.sort_indices(got, [("customer_id", "ascending")])
    got, expected = got.take(order), expected.take(pa.compute.sort_indices(expected, [("customer_id", "ascending")]))
    for name in got.column_names:
        assert got.column(name).equals(expected.column(name)), name
    objector = got.filter(pa.compute.equal(got.column("customer_id"), ids[3]))
    assert objector.column("churn_probability")[0].as_py() is None and objector.column("r_score")[0].as_py() is None
    assert objector.column("purchases")[0].as_py() > 0
    assert pa.compute.count(got.column("churn_probability")).as_py() > 200
    assert pa.compute.count(got.column("r_score")).as_py() > 200


def _five_customers_refreshed(shop) -> None:
    for cid in range(1, 6):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(days=10 * cid), total=20.0 * cid)
    refresh(shop.engine, predictions=False)


def test_an_erasure_while_the_refresh_writes_its_view_reaches_that_view(shop, monkeypatch):
    """The view is written before the run is complete; an erasure in between rewrites the view readers open
    then (the previous run's), so the refresh writes its own again once it is the newest."""
    import pyarrow.parquet as pq

    from retentio import refresh as refresh_module
    from retentio.privacy.erase import erase

    _five_customers_refreshed(shop)
    real = refresh_module._materialise_view

    def then_erased(*args, **kwargs):
        facts = real(*args, **kwargs)
        erase(shop.engine, 3, actor="test")
        return facts

    monkeypatch.setattr(refresh_module, "_materialise_view", then_erased)
    run = refresh(shop.engine, predictions=False)
    assert run.summary["customer_view"]["rewritten"] == "rewritten"
    view = pq.read_table(view_store.view_dir(shop.engine) / run.summary["customer_view"]["file"])
    assert view.num_rows == 4 and 3 not in view.column("customer_id").to_pylist()
    assert "k3@example.org" not in view.column("email").to_pylist()
    view_store.forget()
    _table, meta = view_store.current(shop.engine)
    assert meta["run_id"] == run.id and meta["rows"] == 4


def test_a_view_that_cannot_be_rewritten_after_such_an_erasure_is_removed(shop, monkeypatch):
    from retentio import refresh as refresh_module
    from retentio.privacy.erase import erase

    _five_customers_refreshed(shop)
    real, real_materialise = refresh_module._materialise_view, view_store.materialise

    def broken(*_a, **_k):
        raise RuntimeError("disk gone bad")

    def then_erased_and_broken(*args, **kwargs):
        facts = real(*args, **kwargs)
        erase(shop.engine, 3, actor="test")
        monkeypatch.setattr(view_store, "materialise", broken)
        return facts

    monkeypatch.setattr(refresh_module, "_materialise_view", then_erased_and_broken)
    run = refresh(shop.engine, predictions=False)
    assert run.status == "ok" and run.summary["customer_view"]["rewritten"] == "removed (RuntimeError)"
    assert not list(view_store.view_dir(shop.engine).glob("customer_view-run*.parquet"))
    monkeypatch.setattr(view_store, "materialise", real_materialise)
    view_store.forget()
    table, meta = view_store.current(shop.engine)  # rebuilt from the tables
    assert meta["run_id"] == run.id and meta["rows"] == 4
    assert 3 not in view_store.run_query(table.select("customer_id")).column("customer_id").to_pylist()
