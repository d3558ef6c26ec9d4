"""Run one import: read, map, parse, validate, upsert, account for every row."""

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

from retentio.db.models import ImportRun
from retentio.db.session import session_scope
from retentio.ingest.kinds import HANDLERS, NEEDS_RAW, ImportState
from retentio.ingest.mapping import layered_spec, resolve
from retentio.ingest.parse import ParseOptions, parse_field
from retentio.ingest.readers import ReadOptions, open_source
from retentio.ingest.schema import fields_for

SHOWN_REJECTS = 20


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
            "mapping": self.mapping, "rejects": [r.__dict__ for r in self.rejects[:SHOWN_REJECTS]],
        }


def run_import(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    preset: str | None = None,
    mapping_file: Path | None = None,
    map_flags: dict[str, str] | None = None,
    option_flags: dict[str, Any] | None = None,
    shop_time_zone: str = "UTC",
    default_currency: str = "EUR",
    report_path: Path | None = None,
    chunk_rows: int = 50_000,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportSummary:
    fields = {f.name: f for f in fields_for(kind)}
    columns, options = layered_spec(kind, preset, mapping_file, map_flags or {}, option_flags or {})
    read_opts = ReadOptions(delimiter=options.get("delimiter"), encoding=options.get("encoding"),
                            sheet=options.get("sheet"), header=options.get("header"), chunk_rows=chunk_rows)
    source, chunks = open_source(path, read_opts)
    mapping = resolve(kind, source.columns, columns, options, path)
    decimal = options.get("decimal") or ("," if source.delimiter == ";" else ".")
    popts = ParseOptions(decimal=decimal, date_format=options.get("date_format"),
                         time_zone=options.get("time_zone") or shop_time_zone)
    summary = ImportSummary(kind, str(path), mapping=mapping.columns,
                            options={**options, "decimal": decimal, "time_zone": popts.time_zone})
    state = ImportState(mapping, path.name, default_currency)
    started = dt.datetime.now(dt.UTC)
    fname = str(path)
    required = mapping.required()
    for chunk in chunks:
        n = len(chunk.frame)
        summary.rows_read += n
        if n == 0:
            continue
        frame = chunk.frame.reset_index(drop=True)
        lines = np.asarray(chunk.lines)
        parsed: dict[str, pd.Series] = {}
        bad = np.zeros(n, dtype=bool)
        for name, col in mapping.columns.items():
            p = parse_field(frame[col], fields[name], popts)
            parsed[name] = p.values
            errs = p.errors.notna().to_numpy()
            if name in required:
                missing = p.values.isna().to_numpy() & ~errs
                for i in np.flatnonzero(missing):
                    summary.rejects.append(Reject(fname, int(lines[i]), col, f"missing value for required field {name}"))
                bad |= missing
            for i in np.flatnonzero(errs):
                summary.rejects.append(Reject(fname, int(lines[i]), col, p.errors.iloc[i], _cell(frame[col].iloc[i])))
            bad |= errs
        good_pos = np.flatnonzero(~bad)
        typed = pd.DataFrame({k: v.iloc[good_pos].reset_index(drop=True) for k, v in parsed.items()})
        raw = frame.iloc[good_pos].reset_index(drop=True)
        good_lines = lines[good_pos]
        if len(typed):
            with engine.begin() as conn:
                if kind in NEEDS_RAW:
                    refused = NEEDS_RAW[kind](conn, typed, good_lines, state, raw)
                else:
                    refused = HANDLERS[kind](conn, typed, good_lines, state)
        else:
            refused = []
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
        if progress:
            progress(summary.rows_read, source.total_hint)
    for raw_reject in source.raw_rejects:
        summary.rejects.append(Reject(fname, raw_reject.line, "", raw_reject.reason))
    summary.rows_read += len(source.raw_rejects)
    summary.rows_rejected += len(source.raw_rejects)
    summary.rejects.sort(key=lambda r: r.line)
    summary.customers_created = state.customers.created
    if summary.rejects:
        out = report_path or path.with_name(path.name + ".rejects.csv")
        try:
            _write_report(out, summary.rejects)
        except OSError:  # read-only folder next to the data: fall back to cwd
            out = Path.cwd() / (path.name + ".rejects.csv")
            _write_report(out, summary.rejects)
        summary.report_path = str(out)
    with session_scope(engine) as s:
        s.add(ImportRun(kind=kind, source=str(path), started_at=started,
                        finished_at=dt.datetime.now(dt.UTC), rows_read=summary.rows_read,
                        rows_imported=summary.rows_imported, rows_rejected=summary.rows_rejected,
                        reject_report=summary.report_path))
    return summary


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v)[:200]


def _write_report(path: Path, rejects: list[Reject]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "column", "reason", "value"])
        for r in rejects:
            w.writerow([r.file, r.line, r.column, r.reason, r.value])
