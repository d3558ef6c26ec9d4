"""Bulk appends: JSON columns read back as the values written, whether given as values or as JSON text."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

from retentio.db.bulk import BULK_CACHE_KIB, append_frame, large_cache
from retentio.db.types import JSONType

DOCS = [[{"reason": "lost_touch", "push": 0.25}], [], None, [{"reason": "qualität \"x\"", "push": 1e-4}]]


def _table(engine) -> sa.Table:
    md = sa.MetaData()
    table = sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("doc", JSONType))
    md.create_all(engine)
    return table


def _read(engine, table) -> list:
    with engine.connect() as conn:
        return [r.doc for r in conn.execute(sa.select(table.c.doc).order_by(table.c.id))]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
@pytest.mark.parametrize("as_text", [False, True], ids=["values", "json-text"])
def test_json_column_round_trips(request, db, as_text):
    engine = request.getfixturevalue("pg_engine" if db == "postgres" else "sqlite_engine")
    table = _table(engine)
    docs = [None if d is None else json.dumps(d, ensure_ascii=False) for d in DOCS] if as_text else DOCS
    # A plain list column: pandas 3 infers its string dtype for text, which must not matter.
    frame = pd.DataFrame({"id": range(1, len(DOCS) + 1), "doc": docs})
    append_frame(engine, table, frame, json_text=("doc",) if as_text else ())
    assert _read(engine, table) == DOCS


def _scores(engine) -> sa.Table:
    md = sa.MetaData()
    table = sa.Table("scores", md, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("score", sa.Float), sa.Index("ix_scores_score", "score"))
    md.create_all(engine)
    return table


def _index_sql(engine) -> list:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_scores_score'").fetchall()


def test_a_rebuilt_index_is_there_after_the_append_and_after_a_failed_one(sqlite_engine):
    table = _scores(sqlite_engine)
    before = _index_sql(sqlite_engine)
    append_frame(sqlite_engine, table, pd.DataFrame({"id": [1, 2, 3], "score": [0.5, 0.1, 0.9]}),
                 rebuild=("ix_scores_score",))
    assert _index_sql(sqlite_engine) == before != []
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(r) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM scores ORDER BY score DESC LIMIT 2"))
        assert "ix_scores_score" in plan
        assert [r.id for r in conn.execute(sa.select(table.c.id).order_by(table.c.score.desc()))] == [3, 1, 2]
    # A duplicate id fails the whole append: no row of it stays, and neither does the dropped index.
    with pytest.raises(sqlite3.IntegrityError):
        append_frame(sqlite_engine, table, pd.DataFrame({"id": [4, 1], "score": [0.7, 0.2]}),
                     rebuild=("ix_scores_score",))
    assert _index_sql(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM scores").scalar() == 3


def test_a_delete_with_the_index_rebuilt_keeps_it_and_a_failure_rolls_both_back(sqlite_engine):
    from retentio.db.bulk import rebuilding

    table = _scores(sqlite_engine)
    before = _index_sql(sqlite_engine)
    append_frame(sqlite_engine, table, pd.DataFrame({"id": [1, 2, 3, 4], "score": [0.5, 0.1, 0.9, 0.3]}))
    with sqlite_engine.begin() as conn, rebuilding(conn, table, ("ix_scores_score",)):
        conn.execute(table.delete().where(table.c.score < 0.4))
    assert _index_sql(sqlite_engine) == before
    with pytest.raises(RuntimeError), sqlite_engine.begin() as conn, rebuilding(conn, table, ("ix_scores_score",)):
        conn.execute(table.delete())
        raise RuntimeError("the disk is full")
    assert _index_sql(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert [r.id for r in conn.execute(sa.select(table.c.id).order_by(table.c.score.desc()))] == [3, 1]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_times_are_written_as_sqlalchemy_writes_them(request, db):
    import datetime as dt

    from retentio.db.types import UTCDateTime

    engine = request.getfixturevalue("pg_engine" if db == "postgres" else "sqlite_engine")
    md = sa.MetaData()
    table = sa.Table("stamps", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UTCDateTime))
    md.create_all(engine)
    times = [dt.datetime(2026, 1, 1, 12, 3, 4, 500000, tzinfo=dt.UTC), None,
             dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)]
    append_frame(engine, table, pd.DataFrame({"id": [1, 2, 3, 4], "at": pd.Series(times, dtype="datetime64[us, UTC]")}))
    with engine.begin() as conn:  # the same values through SQLAlchemy, for the stored text
        conn.execute(table.insert(), [{"id": 10 + i, "at": t} for i, t in enumerate(times)])
        rows = conn.execute(sa.select(table.c.id, table.c.at).order_by(table.c.id)).all()
        assert [r.at for r in rows[:4]] == times == [r.at for r in rows[4:]]
        if db == "sqlite":
            text = [r[0] for r in conn.exec_driver_sql("SELECT at FROM stamps ORDER BY id")]
            assert text[:4] == text[4:]


def test_large_cache_is_set_back_after_the_block_even_when_it_fails(sqlite_engine):
    with sqlite_engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        with large_cache(conn):
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -BULK_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before
        with pytest.raises(RuntimeError), large_cache(conn):
            raise RuntimeError("import failed")
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before


def test_large_cache_leaves_postgres_alone(pg_engine):
    with pg_engine.connect() as conn, large_cache(conn):
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
