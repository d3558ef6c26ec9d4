"""``retentio churn fit``: a labelled customer table, from the database or straight from a file, modelled.

From the database: the imported customers, their custom attributes as
features and one of them as the label (``retentio import customers
telco.csv`` keeps every unmapped column). From a file: read with the same
readers as an import (any encoding, delimiter, Excel or Parquet), the
customer number found by the same names, nothing stored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from retentio.db.models import Customer
from retentio.errors import InputFileError
from retentio.i18n import Msg
from retentio.models.snapshot import SnapshotResult, fit_snapshot


def table_from_database(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(Customer.id, Customer.external_id, Customer.attributes)).all()
    return pd.DataFrame(rows, columns=["customer_id", "customer", "attributes"])


def table_from_file(path: Path) -> pd.DataFrame:
    from retentio.ingest.mapping import Spec, resolve
    from retentio.ingest.readers import ReadOptions, open_source
    from retentio.ingest.text import as_text, normalise_key

    source, chunks = open_source(path, ReadOptions())
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    mapping = resolve("customers", source.columns, Spec({}, {}), path)
    id_col = mapping.columns.get("customer_id")
    if id_col is None:  # pragma: no cover - resolve() requires it
        raise InputFileError(Msg("{path}: no customer number column", path=str(path)))
    ids = normalise_key(as_text(frame[id_col]))
    others = [c for c in frame.columns if c != id_col]
    attrs = frame[others].astype(object).where(frame[others].notna(), None).to_dict("records")
    return pd.DataFrame({"customer_id": range(len(frame)), "customer": ids.to_numpy(), "attributes": attrs})


def fit(engine: Engine | None, label: str, *, file: Path | None = None, folds: int = 5,
        seed: int = 0) -> SnapshotResult:
    table = table_from_file(file) if file is not None else table_from_database(engine)  # type: ignore[arg-type]
    return fit_snapshot(table, label, folds=folds, seed=seed)
