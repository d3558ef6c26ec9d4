"""The materialised customer view: written once per refresh, read by pages, segment previews and flow runs.

Building the view joins customers with scores, predictions, consent, feedback,
cases and the last 90 days of orders (seven seconds for a million customers
on SQLite). A dashboard cannot do that per request, so each refresh writes the
view as a Parquet file next to the database, named after its run; readers
open the file of the newest complete run and keep it in one in-process DuckDB
table until a newer run appears. The file is written under a temporary name
and renamed, so no reader ever sees half of it.

The refresh writes its view before its run is complete, while its
predictions are being stored: the run's scores and predictions come from the
frames it stores rather than from the tables (``results``;
tests/act/test_view_store.py holds the two equal), and older runs' files are
removed only once the run is complete, since readers open those until then.

What it does not hold is newer than the refresh: a consent withdrawn an hour
ago still counts as reachable in a preview, but the worker checks consent
again before anything is sent (docs/delivery.md).

The file lives in the data folder (:mod:`retentio.storage`). A reader that
finds no file (another machine, a deleted folder) builds the view from the
database once and writes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

log = logging.getLogger(__name__)
_lock = threading.RLock()
_cache: dict[str, tuple[tuple, ibis.Table, pa.Table, dict[str, Any]]] = {}


def view_dir(engine: Engine) -> Path:
    from retentio.storage import data_root

    return data_root(engine) / "views"


def _path(engine: Engine, run_id: int) -> Path:
    return view_dir(engine) / f"customer_view-run{int(run_id)}.parquet"


def materialise(engine: Engine, run_id: int, now: dt.datetime | None = None, *, results: pa.Table | None = None,
                prune: bool = True) -> dict[str, Any]:
    """Write the view of run ``run_id`` as of ``now``; older runs' files are removed unless ``prune`` is
    False (a refresh writes its view before its run is complete: readers still open the previous one's).
    ``results``: the run's scores and predictions, given by the refresh that computed them
    (:func:`retentio.act.view.result_columns`)."""
    from retentio.act.view import load_view
    from retentio.shop import load_config

    now = now or dt.datetime.now(dt.UTC)
    cfg = load_config(engine)
    table = load_view(engine, now, run_id=run_id, require_double_opt_in=cfg.require_double_opt_in, results=results)
    table = table.replace_schema_metadata({b"retentio.built_at": now.isoformat().encode(),
                                           b"retentio.run_id": str(run_id).encode()})
    path = _path(engine, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=256_000)
    os.replace(tmp, path)
    if prune:
        prune_older(engine, run_id)
    return {"file": path.name, "rows": table.num_rows, "built_at": now.isoformat()}


def prune_older(engine: Engine, run_id: int) -> None:
    """Remove the files of runs older than ``run_id``."""
    for old in view_dir(engine).glob("customer_view-run*.parquet"):
        try:
            if int(old.stem.rsplit("run", 1)[1]) < run_id:
                old.unlink(missing_ok=True)
        except (ValueError, OSError):
            continue


def generation(engine: Engine) -> str:
    """Changes whenever :func:`rematerialise` starts: a refresh that built its view before its switch
    compares it before and after, since an erasure in between rewrote the previous run's view, not its own."""
    try:
        return (view_dir(engine) / ".rewritten").read_text()
    except OSError:
        return ""


def rematerialise(engine: Engine) -> str:
    """Write the newest run's view again from the tables now (after an erasure or an objection changed
    them); a file that cannot be rewritten is removed, so no stale copy keeps what the tables lost."""
    try:
        view_dir(engine).mkdir(parents=True, exist_ok=True)
        (view_dir(engine) / ".rewritten").write_text(uuid.uuid4().hex)
    except OSError:  # no writable folder: no view file either
        pass
    forget(engine)
    run_id = _latest_run_id(engine)
    if run_id is None:
        return "none"
    try:
        materialise(engine, run_id)
    except OSError as exc:
        for old in view_dir(engine).glob("customer_view-run*.parquet"):
            old.unlink(missing_ok=True)
        return f"removed ({type(exc).__name__})"
    finally:
        forget(engine)
    return "rewritten"


def _latest_run_id(engine: Engine) -> int | None:
    from retentio.results import latest_run

    run = latest_run(engine, required=False)
    return run.id if run is not None else None


def current(engine: Engine) -> tuple[ibis.Table, dict[str, Any]]:
    """The view of the newest complete run as an Ibis table in the process's DuckDB, and its facts."""
    run_id = _latest_run_id(engine)
    url = engine.url.render_as_string(hide_password=True)
    path = _path(engine, run_id) if run_id is not None else None
    if path is not None and not path.exists():
        try:
            materialise(engine, run_id)  # type: ignore[arg-type]
        except OSError as exc:  # no writable folder: build in memory each time the run changes
            log.warning("customer view not written: %s", type(exc).__name__)
    stamp = (run_id, path.stat().st_mtime_ns if path is not None and path.exists() else None)
    with _lock:
        hit = _cache.get(url)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[3]
        if path is not None and path.exists():
            arrow = pq.read_table(path)
            meta = arrow.schema.metadata or {}
            built = meta.get(b"retentio.built_at", b"").decode() or None
        else:
            from retentio.act.view import load_view

            now = dt.datetime.now(dt.UTC)
            arrow, built = load_view(engine, now, run_id=run_id), now.isoformat()
        con = ibis.duckdb.connect()
        table = con.create_table("customer_view", arrow.replace_schema_metadata(None), temp=True, overwrite=True)
        facts = {"run_id": run_id, "built_at": built, "rows": arrow.num_rows}
        _cache[url] = (stamp, table, arrow, facts)
        return table, facts


def run_query(expr):
    """Execute an expression over the cached view; DuckDB connections are not shared across threads."""
    with _lock:
        return expr.to_pyarrow()


def forget(engine: Engine | None = None) -> None:
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(engine.url.render_as_string(hide_password=True), None)
