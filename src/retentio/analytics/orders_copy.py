"""A columnar copy of the orders beside a large SQLite database, kept in step with it.

Reading ten million orders out of SQLite takes 4–5 s on every refresh, even with two reader processes
(:mod:`retentio.analytics.sqlite_reader`); DuckDB reads the same rows from Parquet in 0.7 s. So the
refresh keeps the orders as Parquet files in the data folder (``orders-copy/``) and reads those:

* **New orders** (ids above the copy's highest) are read from SQLite and appended as a file of their own;
  SQLite gives a new row an id above every existing one, and no writer of Retentio chooses ids.
* **A changed or deleted order** — a re-import with other amounts, a merge of customers, an erasure —
  bumps ``data_changes.changes`` by trigger (migration 0009), and the copy is rebuilt. So does a database
  that is not the one the copy was taken from (a random token per database) or that has fewer orders
  (a restored backup).
* **Readers never see a half-written copy.** Files are written under a temporary name and renamed when
  complete; ``manifest.json`` lists the files that make up the copy and is replaced in one rename. The
  whole step — bringing the copy in step and reading it into the engine — holds an exclusive lock on the
  folder, so a second refresh waits rather than reading files that are being replaced. Files the manifest
  does not list (left by a crash) are removed.
* **Nothing personal beyond the database's own orders**: internal order and customer ids, time, amount,
  status and currency — the behavioural columns an erasure keeps (docs/privacy.md).

Small databases (below the child reader's 64 MB) are read directly: there the copy would save nothing.
Whenever the copy cannot be brought in step (the reader process fails, the disk is full), the refresh
reads the database directly and says so in the run record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from retentio.analytics import sqlite_reader

log = logging.getLogger(__name__)
FOLDER = "orders-copy"
MANIFEST = "manifest.json"
MIN_BYTES = sqlite_reader.CHILD_MIN_BYTES
MAX_PARTS = 8  # more files than this are merged into one
# placed_at: epoch seconds, UTC (the as-of filter compares it as the direct read does); placed: the shop's
# wall-clock time, converted once when the rows are copied (DuckDB's own conversion took 1.4 s per refresh
# at 10M orders). The copy is rebuilt when the shop's time zone changes.
SCHEMA = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()), ("placed_at", pa.int64()),
                    ("placed", pa.timestamp("us")), ("net_total", pa.float64()), ("status", pa.string()),
                    ("currency", pa.string())])
SQL = ("SELECT id AS order_id, customer_id, CAST(strftime('%s', placed_at) AS INTEGER) AS placed_at, "
       "NULL AS placed, CAST(net_total AS REAL) AS net_total, status, currency FROM orders WHERE id <= {hi}")


@dataclass
class Manifest:
    token: str
    changes: int
    high_id: int
    time_zone: str
    parts: list[str] = field(default_factory=list)
    rows: int = 0


@dataclass
class Copy:
    """The files to read, in id order, and what bringing them in step took (for the run record)."""

    files: list[Path]
    state: str  # "in_step", "appended" or "rebuilt"
    rows: int
    added: int
    folder: Path


def forget(copy: Copy) -> None:
    """Drop the manifest of a copy that turned out unreadable (call while the lock is held, inside
    :func:`in_step`): the next refresh rebuilds it."""
    (copy.folder / MANIFEST).unlink(missing_ok=True)


def usable(engine: Engine) -> bool:
    import importlib.util

    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return False
    if importlib.util.find_spec("adbc_driver_sqlite") is None:
        return False
    try:
        return os.path.getsize(path) >= MIN_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def in_step(engine: Engine, time_zone: str) -> Iterator[Copy | None]:
    """The copy, in step with the database while the block runs; None where it is not used or could not be
    brought in step (the caller reads the database instead)."""
    if not usable(engine):
        yield None
        return
    from retentio.storage import folder

    where = folder(engine, FOLDER)
    with _locked(where):
        try:
            copy = _bring_in_step(engine, where, time_zone)
        except (OSError, CopyError, ValueError, SQLAlchemyError) as exc:
            log.warning("the columnar copy of the orders was not brought in step (%s); reading the database",
                        type(exc).__name__)
            copy = None
        yield copy


class CopyError(Exception):
    pass


@contextlib.contextmanager
def _locked(where: Path) -> Iterator[None]:
    with open(where / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _state(engine: Engine) -> tuple[str, int, int]:
    """token, changes and the highest order id, read in one transaction."""
    with engine.connect() as conn, conn.begin():
        row = conn.execute(text("SELECT token, changes FROM data_changes WHERE name = 'orders'")).one_or_none()
        if row is None:
            raise CopyError("no change count")
        high = conn.execute(text("SELECT max(id) FROM orders")).scalar()
    return str(row[0]), int(row[1]), int(high or 0)


def _bring_in_step(engine: Engine, where: Path, tz: str) -> Copy | None:
    token, changes, high = _state(engine)
    old = read_manifest(where)
    fits = (old is not None and old.token == token and old.changes == changes and old.high_id <= high
            and old.time_zone == tz and all((where / p).is_file() for p in old.parts))
    if fits and old is not None:
        if old.high_id == high:
            manifest, state, added = old, "in_step", 0
        else:
            names, added = _write_parts(engine, where, old.high_id, high, tz)
            manifest = Manifest(token, changes, high, tz, old.parts + names, old.rows + added)
            state = "appended"
            if len(manifest.parts) > MAX_PARTS:
                manifest = _compact(where, manifest)
    else:
        names, added = _write_parts(engine, where, None, high, tz)
        manifest, state = Manifest(token, changes, high, tz, names, added), "rebuilt"
    if manifest is not old:
        _write_manifest(where, manifest)
    _remove_unlisted(where, manifest)
    if not manifest.parts:
        return None  # no orders yet: nothing to read from files
    return Copy([where / p for p in manifest.parts], state, manifest.rows, added, where)


def _write_parts(engine: Engine, where: Path, lo: int | None, hi: int, tz: str) -> tuple[list[str], int]:
    """Orders with ``lo < id <= hi`` as new Parquet files (one per reader process, in id order)."""
    if hi <= (lo or 0):
        return [], 0
    start = (lo or 0) + 1
    parts = sqlite_reader.readers(hi - start + 1)
    cuts = [start + (hi - start + 1) * i // parts for i in range(parts + 1)]
    base = SQL.format(hi=hi)
    sqls = [f"{base} AND id >= {a} AND id < {b}" for a, b in pairwise(cuts)]
    names = [f"part-{uuid.uuid4().hex}.parquet" for _ in sqls]
    path = str(engine.url.database)
    with ThreadPoolExecutor(len(sqls)) as pool:  # each thread only waits on its child
        done = list(pool.map(lambda job: sqlite_reader.to_parquet(path, job[0], where / job[1], SCHEMA,
                                                                  local_time=tz),
                             zip(sqls, names, strict=True)))
    if not all(done):
        for name in names:
            (where / name).unlink(missing_ok=True)
        raise CopyError("a reader process failed")
    import pyarrow.parquet as pq

    return names, sum(pq.read_metadata(where / n).num_rows for n in names)


def _compact(where: Path, manifest: Manifest) -> Manifest:
    """All files merged into one, in id order (DuckDB streams it: bounded memory at any size)."""
    import duckdb

    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = where / (name + ".part")
    files = ", ".join(quoted(where / p) for p in manifest.parts)
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO {quoted(tmp)} (FORMAT parquet)")
    except duckdb.Error as exc:  # a full disk, a damaged file: the refresh reads the database instead
        raise CopyError(type(exc).__name__) from None
    finally:
        con.close()
    os.replace(tmp, where / name)
    return Manifest(manifest.token, manifest.changes, manifest.high_id, manifest.time_zone, [name], manifest.rows)


def quoted(path: Path) -> str:
    """A path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def read_manifest(where: Path) -> Manifest | None:
    try:
        data = json.loads((where / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(str(data["token"]), int(data["changes"]), int(data["high_id"]), str(data["time_zone"]),
                        [str(p) for p in data["parts"]], int(data["rows"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: rebuilt


def _write_manifest(where: Path, manifest: Manifest) -> None:
    tmp = where / (MANIFEST + ".part")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(asdict(manifest), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, where / MANIFEST)


def _remove_unlisted(where: Path, manifest: Manifest) -> None:
    keep = {MANIFEST, ".lock", *manifest.parts}
    for path in where.iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)


def discard(engine: Engine) -> None:
    """Remove the copy (it is rebuilt by the next refresh that needs it)."""
    from retentio.storage import data_root

    where = data_root(engine) / FOLDER
    if not where.is_dir():
        return
    with _locked(where):
        for path in where.iterdir():
            if path.name != ".lock":
                path.unlink(missing_ok=True)
