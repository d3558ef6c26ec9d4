"""Looking up stored ids by external key, and resolving a chunk's customer numbers to ids."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from retentio.db.models import Customer
from retentio.db.types import table_of
from retentio.ingest import writer
from retentio.ingest.writer import CustomerIds, lookup_ids

# Keys real files carry: umlauts, quotes and backslashes (JSON escapes them), emoji (outside the BMP),
# SQL wildcards, a key that looks like a number, and one that only differs from another by case.
KEYS = ["K-1", "Müller", 'say "hi"', "back\\slash", "😀-7", "50%_off", "007", "k-1", "Ω"]


def _stored(conn, keys) -> dict[str, int]:
    table = table_of(Customer)
    conn.execute(sa.insert(table), [{"external_id": k} for k in keys])
    return {r.external_id: r.id for r in conn.execute(sa.select(table.c.external_id, table.c.id))}


@pytest.mark.parametrize("batch", [writer.BULK_LOOKUP_BATCH, 2], ids=["one-batch", "batches-of-2"])
def test_lookup_finds_exactly_the_stored_keys(db, monkeypatch, batch):
    monkeypatch.setattr(writer, "BULK_LOOKUP_BATCH", batch)
    with db.begin() as conn:
        stored = _stored(conn, KEYS)
        asked = [*KEYS, "absent", "MÜLLER", None, "Müller", "müller "]
        found = lookup_ids(conn, table_of(Customer), "external_id", asked)
    assert found == stored


def test_lookup_of_nothing_asks_nothing(db):
    with db.begin() as conn:
        assert lookup_ids(conn, table_of(Customer), "external_id", []) == {}
        assert lookup_ids(conn, table_of(Customer), "external_id", [None]) == {}


def test_resolve_keeps_missing_ids_missing_and_creates_each_new_customer_once(db):
    ids = CustomerIds()
    with db.begin() as conn:
        stored = _stored(conn, ["A", "Ä"])
        chunk = pd.Series(["Ä", None, "B", "A", "B", pd.NA, "C"], index=[10, 11, 12, 13, 14, 15, 16], dtype="string")
        first = ids.resolve(conn, chunk)
        again = ids.resolve(conn, pd.Series(["C", "A"], dtype="string"))
        rows = {r.external_id: r.id for r in conn.execute(sa.select(table_of(Customer).c.external_id,
                                                                    table_of(Customer).c.id))}
    assert ids.created == 2 and set(rows) == {"A", "Ä", "B", "C"}
    assert rows["A"] == stored["A"] and rows["Ä"] == stored["Ä"]
    assert first.dtype == "Int64" and list(first.index) == [10, 11, 12, 13, 14, 15, 16]
    assert first.tolist() == [rows["Ä"], pd.NA, rows["B"], rows["A"], rows["B"], pd.NA, rows["C"]]
    assert again.tolist() == [rows["C"], rows["A"]]


def test_resolve_of_a_chunk_without_ids(db):
    with db.begin() as conn:
        out = CustomerIds().resolve(conn, pd.Series([None, None], dtype="string"))
    assert out.dtype == "Int64" and out.isna().all()
