"""Data: uploads with a column mapping suggested from the aliases and presets, import and refresh jobs,
saved mappings, and the history of imports and refreshes.

An upload is kept in the data folder (``uploads/<id>/``) until its import ran;
the browser sees columns, the first rows and a suggested mapping, edits it,
and starts the import as a job. The job writes the reject report beside the
upload, where the page and the API offer it for download.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, desc, select

from retentio.auth.roles import Principal, require
from retentio.db.models import ImportRun, RefreshRun, ShopSetting
from retentio.db.session import session_scope
from retentio.errors import ConfigError, NotFound, RetentioError
from retentio.i18n import Msg, message_text
from retentio.ingest.mapping import OPTION_KEYS
from retentio.ingest.schema import KINDS, fields_for
from retentio.services.common import check_limit, plain

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAPPING_NAME = re.compile(r"^[\w][\w .\-]{0,59}$", re.UNICODE)
SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xlsm")
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
SAMPLE_ROWS = 5
WEB_OPTIONS = ("delimiter", "encoding", "decimal", "date_format", "time_zone", "currency", "sheet",
               "synthesize_order_id", "count_only")


def _uploads(engine: Engine) -> Path:
    from retentio.storage import folder

    return folder(engine, "uploads")


def _safe_name(filename: str) -> str:
    name = Path(filename or "upload").name
    name = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._") or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(Msg("upload a CSV, Parquet or Excel file (.csv, .txt, .tsv, .parquet, .xlsx)"))
    return name[-120:]


def _upload_path(engine: Engine, upload_id: str) -> Path:
    if not UPLOAD_ID.match(upload_id or ""):
        raise NotFound(Msg("no such upload"))
    folder = _uploads(engine) / upload_id
    files = [p for p in folder.glob("*") if p.is_file() and not p.name.endswith((".rejects.csv", ".json"))] \
        if folder.is_dir() else []
    if not files:
        raise NotFound(Msg("no such upload"))
    return files[0]


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(Msg("unknown import kind {kind!r}; choose one of {kinds}", kind=kind,
                              kinds=", ".join(KINDS)))
    return kind


def save_upload(engine: Engine, actor: Principal, filename: str, stream: BinaryIO) -> dict[str, Any]:
    """Keep an uploaded file (up to 1 GiB) for inspection and import."""
    require(actor, "imports")
    name = _safe_name(filename)
    upload_id = secrets.token_urlsafe(18)
    folder = _uploads(engine) / upload_id
    folder.mkdir(parents=True)
    target = folder / name
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise ConfigError(Msg("the file is larger than {n} MiB", n=MAX_UPLOAD_BYTES // (1024 * 1024)))
            out.write(chunk)
    (folder / "upload.json").write_text(json.dumps({"filename": name, "by": actor.ref, "bytes": size}))
    return {"upload_id": upload_id, "filename": name, "bytes": size}


def inspect_upload(engine: Engine, actor: Principal, upload_id: str, kind: str,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Columns, the first rows and a suggested mapping (from a fitting preset, else the aliases)."""
    from retentio.ingest.mapping import Spec, detect_preset, load_preset, resolve
    from retentio.ingest.readers import ReadOptions, open_source

    require(actor, "imports")
    kind = _check_kind(kind)
    path = _upload_path(engine, upload_id)
    opts = _options(options)
    problems: list[str] = []
    try:
        source, chunks = open_source(path, ReadOptions(delimiter=opts.get("delimiter"), encoding=opts.get("encoding"),
                                                       sheet=opts.get("sheet"), chunk_rows=SAMPLE_ROWS))
        first = next(iter(chunks), None)
    except RetentioError as exc:
        return {"upload_id": upload_id, "filename": path.name, "kind": kind, "columns": [], "sample": [],
                "suggested": {}, "preset": None, "fields": _fields(kind), "problems": [str(exc)]}
    columns = list(source.columns)
    sample = [] if first is None else [[_cell(v) for v in row] for row in first.frame.head(SAMPLE_ROWS)
                                       .itertuples(index=False)]
    preset = detect_preset(kind, columns)
    spec = Spec(dict(load_preset(preset).get("columns", {})), {}, preset) if preset else Spec({}, {})
    try:
        mapping = resolve(kind, columns, spec, path)
        suggested = dict(mapping.columns)
    except RetentioError as exc:
        problems.append(str(exc))
        suggested = _aliases_only(kind, columns)
    return {"upload_id": upload_id, "filename": path.name, "kind": kind, "columns": columns, "sample": sample,
            "suggested": suggested, "preset": preset, "encoding": source.encoding, "delimiter": source.delimiter,
            "fields": _fields(kind), "problems": problems}


def _aliases_only(kind: str, columns: list[str]) -> dict[str, str]:
    from retentio.ingest.mapping import _auto, _by_norm

    by_norm = _by_norm(columns)
    out: dict[str, str] = {}
    for f in fields_for(kind):
        match = _auto(f, by_norm)
        if match is not None and match not in out.values():
            out[f.name] = match
    return out


def _fields(kind: str) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": f.type, "required": f.required} for f in fields_for(kind)]


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v if not isinstance(v, str) else v[:200]
    return str(v)[:200]


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for key, value in (options or {}).items():
        if key not in WEB_OPTIONS:
            raise ConfigError(Msg("unknown import option {key!r}; options: {names}", key=key,
                                  names=", ".join(WEB_OPTIONS)))
        if value in (None, "", False):
            continue
        out[key] = bool(value) if key in ("synthesize_order_id", "count_only") else str(value)[:60]
    return out


def _mapping(kind: str, mapping: dict[str, Any] | None) -> dict[str, str]:
    known = {f.name for f in fields_for(kind)}
    out = {}
    for name, column in (mapping or {}).items():
        if name not in known:
            raise ConfigError(Msg("`import {kind}` has no field(s) {names}; fields: {fields}", kind=kind,
                                  names=str([name]), fields=", ".join(sorted(known))))
        if column:
            out[name] = str(column)[:200]
    return out


def start_import(engine: Engine, actor: Principal, upload_id: str, kind: str, *,
                 mapping: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
                 preset: str | None = None, save_as: str | None = None) -> dict[str, Any]:
    """Queue the import of an upload with the (edited) mapping; optionally keep the mapping by name."""
    from retentio import jobs

    require(actor, "imports")
    kind = _check_kind(kind)
    path = _upload_path(engine, upload_id)
    columns = _mapping(kind, mapping)
    opts = _options(options)
    if preset:
        from retentio.ingest.mapping import load_preset

        load_preset(preset)
    if save_as:
        save_mapping(engine, actor, save_as, kind, columns, opts)
    return jobs.enqueue(engine, actor, "import", {"kind": kind, "path": str(path), "filename": path.name,
                                                  "upload_id": upload_id, "mapping": columns, "options": opts,
                                                  "preset": preset})


def reject_report(engine: Engine, actor: Principal, job_id: int) -> Path:
    from retentio import jobs
    from retentio.db.web_models import Job

    require(actor, "imports")
    jobs.get_job(engine, actor, job_id)
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        path = Path((job.params or {}).get("path", "")) if job is not None and job.kind == "import" else None
    report = path.with_name(path.name + ".rejects.csv") if path else None
    if report is None or not report.is_file():
        raise NotFound(Msg("this import has no reject report"))
    return report


def save_mapping(engine: Engine, actor: Principal, name: str, kind: str, columns: dict[str, str],
                 options: dict[str, Any] | None = None) -> dict[str, Any]:
    require(actor, "imports")
    name = (name or "").strip()
    if not MAPPING_NAME.match(name):
        raise ConfigError(Msg("a mapping name has 1 to 60 letters, digits, spaces, dots, dashes or underscores"))
    kind = _check_kind(kind)
    value = {"kind": kind, "columns": _mapping(kind, columns), "options": _options(options)}
    with session_scope(engine) as s:
        row = s.get(ShopSetting, f"mapping:{name}")
        if row is None:
            s.add(ShopSetting(key=f"mapping:{name}", value=value))
        else:
            row.value = value
    return {"name": name, **value}


def list_mappings(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    require(actor, "imports")
    with session_scope(engine) as s:
        rows = s.scalars(select(ShopSetting).where(ShopSetting.key.like("mapping:%")).order_by(ShopSetting.key))
        return [{"name": r.key.split(":", 1)[1], **(r.value if isinstance(r.value, dict) else {})} for r in rows]


def start_refresh(engine: Engine, actor: Principal) -> dict[str, Any]:
    from retentio import jobs

    return jobs.enqueue(engine, actor, "refresh", {})


def history(engine: Engine, actor: Principal, lang: str | None = None, limit: int | None = 20) -> dict[str, Any]:
    """The latest imports and refreshes with their outcome."""
    require(actor, "jobs:read")
    limit = check_limit(limit, 20)
    with session_scope(engine) as s:
        imports = [{"id": r.id, "kind": r.kind, "file": Path(r.source).name, "status": r.status,
                    "started_at": r.started_at, "finished_at": r.finished_at, "rows_read": r.rows_read,
                    "rows_imported": r.rows_imported, "rows_rejected": r.rows_rejected,
                    "error": message_text(r.error, lang) if r.error else None}
                   for r in s.scalars(select(ImportRun).order_by(desc(ImportRun.id)).limit(limit))]
        refreshes = [{"id": r.id, "status": r.status, "started_at": r.started_at, "finished_at": r.finished_at,
                      "duration_s": r.duration_s, "as_of": r.as_of, "engine": r.engine,
                      "error": r.error, "warnings": [message_text(w, lang) for w in r.warnings or []],
                      "stages": {k: v.get("status") for k, v in ((r.summary or {}).get("predictions") or {})
                                 .get("stages", {}).items()}}
                     for r in s.scalars(select(RefreshRun).order_by(desc(RefreshRun.id)).limit(limit))]
    return plain({"imports": imports, "refreshes": refreshes})


def option_keys() -> tuple[str, ...]:
    assert set(WEB_OPTIONS) <= OPTION_KEYS
    return WEB_OPTIONS
