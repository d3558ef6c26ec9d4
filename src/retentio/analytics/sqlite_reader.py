"""Reading a large SQLite database into Arrow in a child process.

Python's ``sqlite3`` hands rows over as Python objects: 10M orders take about
20 s to become Arrow that way. The ADBC SQLite driver fills Arrow arrays in C,
three times faster, but it bundles its own SQLite library, and two SQLite
copies in one process release each other's POSIX locks
(sqlite.org/howtocorrupt.html, 2.2.1). A child process has a library and
locks of its own: it is an ordinary second reader of the database, which
SQLite's WAL mode is made for. The child writes the rows as an Arrow IPC file
into a private temporary folder; the parent reads it only after the child
has exited successfully, so it never sees a half-written copy.

A large table is read by several children at once, each a range of its
integer key (the rowid, so each child reads only its own pages): SQLite's
per-row work is one core's, and the parent waits meanwhile (10M orders:
9.0 s with one child, 5.3 s with two on 2 cores; the customer view of 1M
customers 5.7–6.5 s, 2.8–4.2 s). Each child reads in its own
transaction; a write that commits while they run may be seen by some of
them, as it may between the orders and the contracts, and the next refresh
sees all of it.

Small databases are read in-process (a child costs half a second to start),
and whenever the child cannot run — the driver is not installed, it fails,
a column changes type in a way the driver refuses — the caller reads
in-process as before, and the refresh goes on.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

log = logging.getLogger(__name__)
# Below this the in-process read is as fast as starting a child (measured: docs/benchmarks.md).
CHILD_MIN_BYTES = 64 << 20
TIMEOUT_S = 6 * 3600
ROW_GROUP = 1 << 20
# A table of fewer rows is read by one child: another one's start-up would cost more than it saves.
SPLIT_MIN_ROWS = 500_000
MAX_READERS = 4


def worth_a_child(path: str | None) -> bool:
    if not path or path == ":memory:" or importlib.util.find_spec("adbc_driver_sqlite") is None:
        return False
    try:
        size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
    except OSError:
        return False
    return size >= CHILD_MIN_BYTES


def read_in_child(path: str, sql: str) -> pa.Table | None:
    """The rows of ``sql`` (parameters already inlined), or None when the child could not read them."""
    with tempfile.TemporaryDirectory(prefix="retentio-read-") as folder:
        out = Path(folder) / "rows.arrow"
        try:
            proc = subprocess.run([sys.executable, "-m", "retentio.analytics.sqlite_reader"],
                                  input=json.dumps({"db": path, "sql": sql, "out": str(out)}), text=True,
                                  capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("the SQLite reader process did not run (%s); reading in-process", type(exc).__name__)
            return None
        if proc.returncode != 0 or not out.exists():
            # the last line names the error's kind; the driver's messages hold no row values
            last = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
            log.warning("the SQLite reader process failed (%s); reading in-process", last)
            return None
        with pa.OSFile(str(out), "rb") as src:
            return pa.ipc.open_file(src).read_all()


def readers(rows: int) -> int:
    """How many children read a table of about ``rows`` rows at once."""
    if rows < SPLIT_MIN_ROWS:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_READERS, rows // (SPLIT_MIN_ROWS // 2)))


def read_parts_in_child(path: str, sqls: list[str]) -> pa.Table | None:
    """The rows of every query in ``sqls``, concatenated in that order, each read by a child of its own
    at the same time; None when any child could not read (the caller then reads everything itself)."""
    if len(sqls) == 1:
        return read_in_child(path, sqls[0])
    with ThreadPoolExecutor(len(sqls)) as pool:  # each thread only waits on its child
        parts = list(pool.map(lambda sql: read_in_child(path, sql), sqls))
    if any(p is None for p in parts):
        return None
    return pa.concat_tables(parts, promote_options="permissive")


def to_parquet(path: str, sql: str, out: Path, schema: pa.Schema, *, local_time: str | None = None) -> bool:
    """Write the rows of ``sql`` to the Parquet file ``out`` batch by batch (bounded memory at any size);
    False when the child could not. ``local_time``: a time zone; ``placed_at`` (epoch seconds) gets a
    column ``placed`` beside it, the same wall-clock time :func:`local_times` gives."""
    job = {"db": path, "sql": sql, "out": str(out), "parquet": schema.serialize().to_pybytes().hex(),
           "local_time": local_time}
    try:
        proc = subprocess.run([sys.executable, "-m", "retentio.analytics.sqlite_reader"], input=json.dumps(job),
                              text=True, capture_output=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the SQLite reader process did not run (%s)", type(exc).__name__)
        return False
    if proc.returncode != 0 or not out.exists():
        log.warning("the SQLite reader process failed (%s)", (proc.stderr.strip().splitlines() or ["?"])[-1][:200])
        return False
    return True


def local_times(batch: pa.RecordBatch, tz: str, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``placed`` = ``placed_at`` (epoch seconds, UTC) as naive wall-clock time in ``tz``,
    converted as :func:`retentio.analytics.sources.to_local` does it; columns in ``schema``'s order."""
    from retentio.analytics.sources import to_local

    utc = batch.column("placed_at").cast(pa.int64()).cast(pa.timestamp("s")).cast(pa.timestamp("us"))
    placed = to_local(utc, tz)
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns["placed"] = placed
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def write_parquet(batches, out: str, schema: pa.Schema) -> int:
    """Record batches into one Parquet file under a temporary name, renamed when complete: a reader never
    sees a half-written file. Every batch is cast to ``schema`` (a driver may type an all-NULL batch as null)."""
    import pyarrow.parquet as pq

    tmp, rows = out + ".part", 0
    pending: list[pa.RecordBatch] = []

    def flush(writer) -> None:
        # one row group per write: gather small driver batches into groups of about a million rows
        writer.write_table(pa.Table.from_batches([b.cast(schema) for b in pending], schema))
        pending.clear()

    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for batch in batches:
            if batch.num_rows:
                pending.append(batch)
                rows += batch.num_rows
                if sum(b.num_rows for b in pending) >= ROW_GROUP:
                    flush(writer)
        if pending:
            flush(writer)
    os.replace(tmp, out)
    return rows


def main() -> None:
    import adbc_driver_sqlite.dbapi as adbc

    job = json.loads(sys.stdin.read())
    with adbc.connect(job["db"]) as conn, conn.cursor() as cur:
        # the driver's default of 1,024 rows per batch costs more in per-batch work than the reading itself
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 16)})
        cur.execute(job["sql"])
        if job.get("parquet"):
            schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(job["parquet"])))
            batches = cur.fetch_record_batch()
            if job.get("local_time"):
                batches = (local_times(b, job["local_time"], schema) for b in batches)
            write_parquet(batches, job["out"], schema)
            return
        table = cur.fetch_arrow_table()
    tmp = job["out"] + ".part"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, job["out"])


if __name__ == "__main__":
    main()
