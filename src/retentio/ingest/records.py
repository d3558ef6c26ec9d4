"""Importing records that arrive as JSON (the ingestion API, shop webhooks) through the importer's own checks.

A batch of records is one "file": its keys are the canonical field names
(docs/import.md), every record gets the same parsing, validation and upsert
by external id as a row of a file, and the batch lands whole or not at all
with its import-run record. The result says per record whether it was
imported or rejected, and why: record *i* is "line" *i + 1*.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from retentio.db.models import ImportRun
from retentio.db.types import table_of
from retentio.errors import ConfigError, InputFileError, RetentioError
from retentio.i18n import Msg
from retentio.ingest.importer import ImportSummary, _chunk, _finish, _record_failure, _run_record
from retentio.ingest.mapping import Spec, resolve
from retentio.ingest.parse import ParseOptions
from retentio.ingest.readers import Chunk, Source
from retentio.ingest.schema import fields_for
from retentio.ingest.state import ImportState

MAX_RECORDS = 1000
JSON_FIELDS = {"properties"}


def _cell(name: str, value: Any) -> Any:
    # Event properties arrive as JSON objects; the importer checks them as JSON text (depth, NaN, size).
    if name in JSON_FIELDS and isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    return value


def import_records(engine: Engine, kind: str, records: list[dict[str, Any]], *, source: str = "api",
                   options: dict[str, Any] | None = None) -> tuple[ImportSummary, list[dict[str, Any]]]:
    """Import ``records`` of ``kind``; returns the summary and one result per record."""
    from retentio.shop import load_config

    fields = {f.name: f for f in fields_for(kind)}
    if not isinstance(records, list) or not records:
        raise ConfigError(Msg("send a list of 1 to {n} records", n=MAX_RECORDS))
    if len(records) > MAX_RECORDS:
        raise ConfigError(Msg("at most {n} records per request", n=MAX_RECORDS))
    if not all(isinstance(r, dict) for r in records):
        raise ConfigError(Msg("every record must be a JSON object"))
    columns = list(dict.fromkeys(str(k) for r in records for k in r))
    if kind != "customers":
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise ConfigError(Msg("`import {kind}` has no field(s) {names}; fields: {fields}", kind=kind,
                                  names=str(unknown[:10]), fields=", ".join(sorted(fields))))
    started = dt.datetime.now(dt.UTC)
    cfg = load_config(engine)
    path = Path(f"{source}:{kind}")
    summary = ImportSummary(kind, str(path))
    try:
        mapping = resolve(kind, columns, Spec({}, dict(options or {}), explicit=True), path)
        popts = ParseOptions(decimal=".", time_zone=cfg.time_zone, now=pd.Timestamp(started))
        frame = pd.DataFrame({c: pd.Series([_cell(c, r.get(c)) for r in records], dtype=object) for c in columns})
        chunk = Chunk(frame, list(range(1, len(records) + 1)), text_only=False)
        src = Source(path, "json", columns)
        summary = ImportSummary(kind, str(path), mapping=mapping.columns, options=dict(mapping.options))
        state = ImportState(mapping, source, cfg.currency, cfg.require_double_opt_in, started, cfg.time_zone)
        with engine.begin() as conn:
            _chunk(conn, chunk, summary, mapping, fields, popts, state)
            _finish(summary, src, state)
            conn.execute(table_of(ImportRun).insert().values(**_run_record(summary, kind, path, started, "ok")))
    except DBAPIError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        error = InputFileError(Msg("the database refused the records ({reason}); none was imported", reason=reason))
        _record_failure(engine, summary, kind, path, started, error)
        raise error from None
    except RetentioError as exc:
        _record_failure(engine, summary, kind, path, started, exc)
        raise
    _reapply_erasures(engine, state.customers.created)
    by_line: dict[int, list[dict[str, str]]] = {}
    for r in summary.rejects:
        by_line.setdefault(r.line, []).append({"field": r.column, "reason": r.reason})
    results = [{"index": i, "status": "rejected" if i + 1 in by_line else "imported",
                "errors": by_line.get(i + 1, [])} for i in range(len(records))]
    return summary, results


def _reapply_erasures(engine: Engine, created: int) -> None:
    """A shop resending an erased person's old records must not bring them back (docs/privacy.md).
    Only the customers this batch created (or refilled) can match, so only those are checked."""
    from retentio.privacy.erase import reapply

    if created:
        reapply(engine, newest=created)  # returns at once when nothing was ever erased
