"""Run one import: read, map, parse, validate, upsert, account for every row.

A file lands whole or not at all: every chunk is written in one database
transaction, which also holds the import's record (rows read, imported,
rejected, the rules applied). A file-level problem found at line 60,000 rolls
everything back; the failed attempt is recorded with its reason in a
transaction of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from retentio.db.bulk import begin_sqlite, large_cache
from retentio.db.models import ImportRun
from retentio.db.types import table_of
from retentio.errors import InputFileError, RetentioError
from retentio.i18n import Msg, _
from retentio.ingest.kinds import HANDLERS
from retentio.ingest.mapping import (
    Mapping,
    Spec,
    detect_preset,
    layered_spec,
    load_preset,
    preset_read_options,
    resolve,
)
from retentio.ingest.parse import ParseOptions, parse_field
from retentio.ingest.readers import Chunk, ReadOptions, Source, open_source
from retentio.ingest.schema import fields_for
from retentio.ingest.state import ImportState
from retentio.spreadsheet import neutralise

SHOWN_REJECTS = 20
# From this many rows on, a first order import builds the secondary indexes after the rows (defer_indexes).
DEFER_INDEXES_ROWS = 100_000


@dataclass
class Reject:
    file: str
    line: int
    column: str
    reason: str
    value: str = ""


@dataclass
class ImportSummary:
    kind: str
    file: str
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    customers_created: int = 0
    rejects: list[Reject] = field(default_factory=list)
    report_path: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    preset_detected: bool = False
    encoding: str | None = None
    # Documented rules that changed how a row was stored, with how often (docs/import.md).
    adjustments: Counter = field(default_factory=Counter)
    consent: Counter = field(default_factory=Counter)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_imported + self.rows_rejected

    def reasons(self) -> Counter:
        return Counter(r.reason.split(":")[0].split("'")[0].strip() for r in self.rejects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "rows_read": self.rows_read,
            "rows_imported": self.rows_imported, "rows_rejected": self.rows_rejected,
            "customers_created": self.customers_created, "report": self.report_path,
            "preset": self.preset, "preset_detected": self.preset_detected, "encoding": self.encoding,
            "mapping": self.mapping, "adjustments": dict(self.adjustments), "consent": dict(self.consent),
            "rejects": [r.__dict__ for r in self.rejects[:SHOWN_REJECTS]],
        }


def _read_options(options: dict[str, Any], chunk_rows: int) -> ReadOptions:
    return ReadOptions(delimiter=options.get("delimiter"), encoding=options.get("encoding"),
                       sheet=options.get("sheet"), header=options.get("header"), chunk_rows=chunk_rows)


def _open(kind: str, path: Path, spec: Spec, chunk_rows: int) -> tuple[Source, Any, Mapping]:
    """Open the file; without an explicit mapping, a preset that fits its columns is used."""
    source, chunks = open_source(path, _read_options(spec.options, chunk_rows))
    detected = None
    if not spec.explicit:
        detected = detect_preset(kind, source.columns)
        if detected:
            preset = load_preset(detected)
            options = {**preset.get("options", {}), **spec.options}
            spec = Spec(dict(preset.get("columns", {})), options, detected)
            if any(spec.options.get(k) != v for k, v in preset_read_options(detected).items()):
                source, chunks = open_source(path, _read_options(spec.options, chunk_rows))
    mapping = resolve(kind, source.columns, spec, path)
    mapping.preset_detected = detected is not None
    return source, chunks, mapping


def _nul_rows(frame: pd.DataFrame, text_only: bool) -> tuple[np.ndarray, list[str | None]]:
    """Rows with a NUL byte in any cell (PostgreSQL cannot store it), and the first such column."""
    bad = np.zeros(len(frame), dtype=bool)
    where: list[str | None] = [None] * len(frame)
    for col in frame.columns:
        s = frame[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
            continue
        if text_only:
            hit = s.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        else:
            hit = s.map(lambda v: isinstance(v, (str, bytes)) and ("\x00" in v if isinstance(v, str)
                                                                   else b"\x00" in v)).to_numpy(dtype=bool)
        for i in np.flatnonzero(hit & ~bad):
            where[i] = col
        bad |= hit
    return bad, where


def run_import(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    preset: str | None = None,
    mapping_file: Path | None = None,
    map_flags: dict[str, str] | None = None,
    option_flags: dict[str, Any] | None = None,
    shop_time_zone: str | None = None,
    default_currency: str | None = None,
    require_double_opt_in: bool | None = None,
    report_path: Path | None = None,
    chunk_rows: int = 50_000,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportSummary:
    """Import one file of ``kind``; the shop's settings give what the call leaves out."""
    fields = {f.name: f for f in fields_for(kind)}
    started = dt.datetime.now(dt.UTC)
    if shop_time_zone is None or default_currency is None or require_double_opt_in is None:
        from retentio.shop import load_config

        cfg = load_config(engine)
        shop_time_zone = shop_time_zone or cfg.time_zone
        default_currency = default_currency or cfg.currency
        require_double_opt_in = cfg.require_double_opt_in if require_double_opt_in is None else require_double_opt_in
    spec = layered_spec(kind, preset, mapping_file, map_flags or {}, option_flags or {})
    summary = ImportSummary(kind, str(path))
    last_line = [0]
    try:
        source, chunks, mapping = _open(kind, path, spec, chunk_rows)
        options = mapping.options
        decimal = options.get("decimal") or ("," if source.delimiter == ";" else ".")
        popts = ParseOptions(decimal=decimal, date_format=options.get("date_format"),
                             time_zone=options.get("time_zone") or shop_time_zone,
                             now=pd.Timestamp(started), excel_epoch=source.excel_epoch)
        summary = ImportSummary(kind, str(path), mapping=mapping.columns, preset=mapping.preset,
                                preset_detected=mapping.preset_detected, encoding=source.encoding,
                                options={**options, "decimal": decimal, "time_zone": popts.time_zone})
        state = ImportState(mapping, path.name, default_currency, require_double_opt_in, started, popts.time_zone)
        with engine.begin() as conn, large_cache(conn):
            deferred = defer_indexes(conn, kind, source.total_hint)
            for chunk in chunks:
                _chunk(conn, chunk, summary, mapping, fields, popts, state)
                last_line[0] = state.last_line
                if progress:
                    progress(summary.rows_read, source.total_hint)
            for sql in deferred:
                conn.exec_driver_sql(sql)
            _finish(summary, source, state)
            if summary.rejects:
                summary.report_path = str(_report(summary.rejects, report_path or path.with_name(
                    path.name + ".rejects.csv"), path))
            conn.execute(table_of(ImportRun).insert().values(**_run_record(summary, kind, path, started, "ok")))
    except DBAPIError as exc:
        # Never the statement or its parameters (customers' data) in the message.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        error = InputFileError(Msg("{path}: the database refused the data near line {line} ({reason}); nothing "
                                   "of the file was imported", path=str(path), line=last_line[0], reason=reason))
        _record_failure(engine, summary, kind, path, started, error)
        raise error from None
    except RetentioError as exc:
        _record_failure(engine, summary, kind, path, started, exc)
        raise
    _reapply_erasures(engine, summary)
    return summary


def defer_indexes(conn, kind: str, expected_rows: int | None) -> list[str]:
    """A first large order import on SQLite: drop the secondary indexes of ``orders`` for the import and
    return the statements that build them again, to run before the commit.

    Sorting 1M rows into two indexes once takes a fraction of updating them row by row (6 s instead of
    21 s for the bare write; docs/benchmarks.md). DDL is transactional in SQLite: a failed import rolls
    the indexes back with everything else, and readers (WAL) see the old snapshot with its indexes until
    the commit. The unique key stays, because the importer's duplicate handling relies on it. Not on
    PostgreSQL, where dropping an index locks the table against every reader for the whole import.
    """
    if conn.dialect.name != "sqlite" or kind != "orders" or (expected_rows or 0) < DEFER_INDEXES_ROWS:
        return []
    if conn.exec_driver_sql("SELECT 1 FROM orders LIMIT 1").first() is not None:
        return []
    found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' "
                                 "AND sql IS NOT NULL").all()
    secondary = [(name, sql) for name, sql in found if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
    if secondary:
        begin_sqlite(conn.connection.driver_connection)
    for name, _sql in secondary:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in secondary]


def _reapply_erasures(engine: Engine, summary: ImportSummary) -> None:
    """An old export or backup must not bring an erased person back (docs/privacy.md)."""
    from retentio.privacy.erase import reapply

    again = reapply(engine)
    if again["erased_again"]:
        summary.adjustments["erasure_reapplied"] += again["erased_again"]


def _report(rejects: list[Reject], out: Path, path: Path) -> Path:
    try:
        write_report(out, rejects)
    except OSError:  # read-only folder next to the data: fall back to cwd
        out = Path.cwd() / (path.name + ".rejects.csv")
        write_report(out, rejects)
    return out


def _chunk(conn, chunk: Chunk, summary: ImportSummary, mapping: Mapping, fields: dict, popts: ParseOptions,
           state: ImportState) -> None:
    fname = summary.file
    n = len(chunk.frame)
    summary.rows_read += n
    if n == 0:
        return
    frame = chunk.frame.reset_index(drop=True)
    lines = np.asarray(chunk.lines)
    state.last_line = int(lines[-1])
    bad, nul_col = _nul_rows(frame, chunk.text_only)
    for i in np.flatnonzero(bad):
        summary.rejects.append(Reject(fname, int(lines[i]), str(nul_col[i]), _("contains a NUL byte")))
    required = mapping.required()
    parsed: dict[str, pd.Series] = {}
    for name, col in mapping.columns.items():
        p = parse_field(frame[col], fields[name], popts, text_only=chunk.text_only)
        parsed[name] = p.values
        errs = p.errors.notna().to_numpy() & ~bad
        if name in required:
            missing = p.values.isna().to_numpy() & ~errs & ~bad
            tmpl = _("missing value for required field {field}")
            for i in np.flatnonzero(missing):
                summary.rejects.append(Reject(fname, int(lines[i]), col, tmpl.format(field=name)))
            bad |= missing
        for i in np.flatnonzero(errs):
            summary.rejects.append(Reject(fname, int(lines[i]), col, p.errors.iloc[i], _cell(frame[col].iloc[i])))
        bad |= errs
    good_pos = np.flatnonzero(~bad)
    typed = pd.DataFrame({k: v.iloc[good_pos].reset_index(drop=True) for k, v in parsed.items()})
    raw = frame.iloc[good_pos].reset_index(drop=True)
    good_lines = lines[good_pos]
    refused = HANDLERS[mapping.kind](conn, typed, good_lines, state, raw) if len(typed) else []
    seen = set()
    for pos, column, reason in refused:
        if pos in seen:
            continue
        seen.add(pos)
        col = mapping.columns.get(column, column)
        value = _cell(raw[col].iloc[pos]) if col in raw else ""
        summary.rejects.append(Reject(fname, int(good_lines[pos]), col, reason, value))
    summary.rows_rejected += int(bad.sum()) + len(seen)
    summary.rows_imported += len(good_pos) - len(seen)


def _finish(summary: ImportSummary, source: Source, state: ImportState) -> None:
    for raw_reject in source.raw_rejects:
        summary.rejects.append(Reject(summary.file, raw_reject.line, "", raw_reject.reason))
    summary.rows_read += len(source.raw_rejects)
    summary.rows_rejected += len(source.raw_rejects)
    summary.rejects.sort(key=lambda r: r.line)
    summary.customers_created = state.customers.created
    if source.merged_filled:
        state.adjustments["merged_cells_filled"] += source.merged_filled
    summary.adjustments.update({k: v for k, v in state.adjustments.items() if v})
    summary.consent.update({k: v for k, v in state.consent.items() if v})


def _run_record(summary: ImportSummary, kind: str, path: Path, started: dt.datetime, status: str,
                error: RetentioError | None = None) -> dict[str, Any]:
    return {"kind": kind, "source": str(path)[:1000], "started_at": started, "finished_at": dt.datetime.now(dt.UTC),
            "rows_read": summary.rows_read if status == "ok" else 0,
            "rows_imported": summary.rows_imported if status == "ok" else 0,
            "rows_rejected": summary.rows_rejected if status == "ok" else 0,
            "reject_report": summary.report_path if status == "ok" else None, "status": status, "error": error.to_json() if error else None,
            "summary": {"preset": summary.preset, "preset_detected": summary.preset_detected,
                        "encoding": summary.encoding, "adjustments": dict(summary.adjustments),
                        "consent": dict(summary.consent), "mapping": summary.mapping}}


def _record_failure(engine: Engine, summary: ImportSummary, kind: str, path: Path, started: dt.datetime,
                    error: RetentioError) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(table_of(ImportRun).insert().values(**_run_record(summary, kind, path, started, "failed",
                                                                         error)))
    except DBAPIError:
        pass  # the database itself is the problem; the error above says what happened


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).replace("\x00", "\\0")[:200]


def write_report(path: Path, rejects: list[Reject]) -> None:
    """The rejected rows as CSV; cells that a spreadsheet would run as formulas are neutralised. With a BOM,
    as the call lists: Excel reads a CSV without one in the system's code page ("gÃ¼ltige")."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "column", "reason", "value"])
        for r in rejects:
            w.writerow([neutralise(x) for x in (r.file, r.line, r.column, r.reason, r.value)])
