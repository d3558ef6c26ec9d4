"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from retentio.db.models import Base


def test_the_migrated_schema_is_the_models_schema(db):
    with warnings.catch_warnings():
        # Expression indexes (lower(name)) cannot be reflected by SQLite's dialect; they are compared on PostgreSQL.
        warnings.simplefilter("ignore")
        with db.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


@pytest.mark.parametrize("index", ["ix_customer_scores_lifecycle", "ix_customer_scores_rfm_segment"])
def test_scores_carry_no_index_that_only_slows_their_writes(db, index):
    names = {ix["name"] for ix in inspect(db).get_indexes("customer_scores")}
    assert index not in names
    assert any(set(ix["column_names"]) == {"run_id", "customer_id"} for ix in inspect(db).get_indexes("customer_scores")) \
        or any(set(u["column_names"]) == {"run_id", "customer_id"} for u in inspect(db).get_unique_constraints(
            "customer_scores"))
