"""Bulk appends: JSON columns read back as the values written, whether given as values or as JSON text."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from retentio.db.bulk import append_frame
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
