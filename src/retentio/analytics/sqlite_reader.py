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
from pathlib import Path

import pyarrow as pa

log = logging.getLogger(__name__)
# Below this the in-process read is as fast as starting a child (measured: docs/benchmarks.md).
CHILD_MIN_BYTES = 64 << 20
TIMEOUT_S = 6 * 3600


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


def main() -> None:
    import adbc_driver_sqlite.dbapi as adbc

    job = json.loads(sys.stdin.read())
    with adbc.connect(job["db"]) as conn, conn.cursor() as cur:
        cur.execute(job["sql"])
        table = cur.fetch_arrow_table()
    tmp = job["out"] + ".part"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, job["out"])


if __name__ == "__main__":
    main()
