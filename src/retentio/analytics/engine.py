"""Analytics engines: where the Ibis expressions run.

* ``duckdb`` (default): in-process; the operational tables are read as Arrow
  (ADBC) and handed to DuckDB without copying row by row.
* ``postgres``: the expressions compile to SQL and run inside the operational
  PostgreSQL database itself; nothing is moved.
* ``pyspark``: the same expressions on a Spark session — local mode, or a
  cluster through Spark Connect (``RETENTIO_SPARK_REMOTE=sc://host:15002``).
  Spark reads the data itself: the orders are written once as Parquet where
  the cluster can read them, never sent as Python rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine

from retentio.analytics import frames, orders_copy
from retentio.analytics.milestones import customer_milestones
from retentio.analytics.sources import estimated_orders, load_orders, load_subscriptions, orders_parquet
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.timezones import as_utc

log = logging.getLogger(__name__)
ENGINES = ("duckdb", "postgres", "pyspark")
# From this many orders on, the DuckDB engine works out of core (measured: docs/engines.md).
OUT_OF_CORE_ROWS = 30_000_000


@dataclass
class Tables:
    orders: ibis.Table  # order_id, customer_id, placed (local), net_total, status, currency
    subscriptions: ibis.Table  # customer_id, started, ended, cancelled (local)
    _cache: dict[str, ibis.Table] = field(default_factory=dict)

    def cached(self, key: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """Intermediate results several metrics share, materialised once in the engine
        (a temporary table on DuckDB and PostgreSQL, a cached DataFrame on Spark)."""
        if key not in self._cache:
            self._cache[key] = build().cache()
        return self._cache[key]

    @property
    def milestones(self) -> ibis.Table:
        """Per-customer first/second purchase and first seen."""
        return self.cached("milestones", lambda: customer_milestones(self.orders, self.subscriptions))

    def release(self) -> None:
        """Drop cached results while the connection is still open: newest first, because a later result may
        be built on an earlier one (Spark Connect re-analyses a result's plan to unpersist it)."""
        for table in reversed(list(self._cache.values())):
            try:
                table.release()
            except Exception as exc:  # a finished refresh must not fail on cleaning up its cache
                log.warning("cached result not released: %s", type(exc).__name__)
        self._cache.clear()


class Backend:
    name = "base"

    def __init__(self) -> None:
        self._n = 0

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        raise NotImplementedError

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        raise NotImplementedError

    def execute(self, expr: ibis.Expr) -> pd.DataFrame:
        return expr.to_pandas()

    def close(self) -> None:
        pass

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"rt_{prefix}_{self._n}"


class DuckDBBackend(Backend):
    """In-process DuckDB. Up to ``OUT_OF_CORE_ROWS`` orders the tables are held in memory; above, the
    orders go to Parquet batch by batch, then into a DuckDB database file in a private temporary folder,
    with a memory limit and spilling to that folder (docs/engines.md, "Out of core")."""

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.con = ibis.duckdb.connect()
        self.threads = threads
        if threads:
            self.con.raw_sql(f"SET threads = {int(threads)}")
        self.out_of_core: dict[str, Any] | None = None
        self.orders_copy: dict[str, Any] | None = None
        self._folder: str | None = None

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        return self.con.create_table(self._name("mem"), frame, temp=True)

    def register_arrow(self, name: str, table: pa.Table) -> ibis.Table:
        return self.con.create_table(name, table, temp=True, overwrite=True)

    def execute(self, expr: ibis.Expr) -> pd.DataFrame:
        return frames.execute(self.con, expr)

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        subs = load_subscriptions(engine, tz, as_of_utc)
        if estimated_orders(engine) >= OUT_OF_CORE_ROWS:
            orders = self._orders_out_of_core(engine, tz, as_of_utc)
        else:
            orders = self._orders_from_copy(engine, tz, as_of_utc, temp=True)
            if orders is None:
                orders = self.register_arrow("orders", load_orders(engine, tz, as_of_utc))
        return Tables(orders, self.register_arrow("subscriptions", subs))

    def _orders_from_copy(self, engine: Engine, tz: str, as_of_utc: dt.datetime, *, temp: bool) -> ibis.Table | None:
        """The orders up to ``as_of_utc`` from the columnar copy (:mod:`~retentio.analytics.orders_copy`), or
        None where there is none; the same rows, columns and local times as :func:`load_orders`."""
        with orders_copy.in_step(engine, tz) as copy:
            self.orders_copy = {"used": copy is not None}
            if copy is None:
                return None
            self.orders_copy.update(state=copy.state, rows=copy.rows, added=copy.added)
            files = ", ".join(orders_copy.quoted(f) for f in copy.files)
            # Epoch seconds, as SQLite hands them over: an order at 23:59:59.5 on the as-of day is in,
            # as in the text comparison of the direct read (as_of_utc is the day's end minus 1 µs).
            instant = as_utc(as_of_utc)
            assert instant is not None  # given a time, never None
            cutoff = math.floor(instant.timestamp())
            try:
                self.con.raw_sql(
                    f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE orders AS SELECT order_id, customer_id, "
                    f"placed, net_total, status, currency FROM read_parquet([{files}]) WHERE placed_at <= {cutoff}")
            except duckdb.Error as exc:  # a damaged file: read the database now, rebuild the copy next time
                log.warning("the columnar copy of the orders is unreadable (%s); reading the database",
                            type(exc).__name__)
                orders_copy.forget(copy)
                self.orders_copy = {"used": False, "unreadable": True}
                return None
        return self.con.table("orders")

    def _orders_out_of_core(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> ibis.Table:
        import tempfile
        from pathlib import Path

        from retentio.settings import get_settings
        from retentio.storage import folder

        self._folder = tempfile.mkdtemp(prefix="refresh-", dir=folder(engine, "analytics"))
        limit = get_settings().analytics_memory or _default_memory_limit()
        self.con.disconnect()
        self.con = ibis.duckdb.connect(str(Path(self._folder) / "analytics.duckdb"))
        for key, value in (("memory_limit", limit), ("temp_directory", str(Path(self._folder) / "spill")),
                           ("preserve_insertion_order", "false")):
            self.con.raw_sql(f"SET {key} = '{value.replace(chr(39), '')}'")
        if self.threads:
            self.con.raw_sql(f"SET threads = {int(self.threads)}")
        copied = self._orders_from_copy(engine, tz, as_of_utc, temp=False)
        if copied is not None:
            self.out_of_core = {"orders": int(copied.count().execute()), "memory_limit": limit}
            return copied
        parquet = Path(self._folder) / "orders.parquet"
        schema = orders_parquet(engine, as_of_utc, parquet)
        utc = "to_timestamp(placed_at)" if pa.types.is_integer(schema.field("placed_at").type) \
            else "placed_at AT TIME ZONE 'UTC'"
        zone = tz.replace("'", "")
        self.con.raw_sql(
            f"CREATE TABLE orders AS SELECT order_id, customer_id, timezone('{zone}', {utc}) AS placed, "
            f"net_total, status, currency FROM read_parquet('{parquet}')")
        parquet.unlink()
        self.out_of_core = {"orders": int(self.con.table("orders").count().execute()), "memory_limit": limit}
        return self.con.table("orders")

    def close(self) -> None:
        self.con.disconnect()
        if self._folder:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _default_memory_limit() -> str:
    """A third of the machine's memory, at most 8 GB: the rest is for the per-customer frames of the
    prediction stage, which live in Python."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(1, min(8, total // 3 >> 30))}GB"


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        if engine.dialect.name != "postgresql":
            raise ConfigError("the postgres engine needs a PostgreSQL operational database")
        url = engine.url
        self.con = ibis.postgres.connect(
            host=url.host or "localhost", port=url.port or 5432, user=url.username,
            password=url.password, database=url.database)

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        return self.con.create_table(self._name("mem"), frame, temp=True)

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        as_of = as_of_utc.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
        zone = tz.replace("'", "")

        def local(col: str) -> str:
            # Stored naive UTC -> wall-clock time in the shop's zone.
            return f"(({col} AT TIME ZONE 'UTC') AT TIME ZONE '{zone}')"

        orders = self.con.sql(
            f"SELECT id::bigint AS order_id, customer_id::bigint AS customer_id, {local('placed_at')} AS placed, "
            f"net_total::float8 AS net_total, status, currency FROM orders WHERE placed_at <= '{as_of}'")
        subs = self.con.sql(
            f"SELECT customer_id::bigint AS customer_id, {local('started_at')} AS started, "
            f"{local('COALESCE(ends_at, cancelled_at)')} AS ended, {local('cancelled_at')} AS cancelled "
            f"FROM subscriptions WHERE started_at <= '{as_of}'")
        return Tables(orders, subs)

    def close(self) -> None:
        self.con.disconnect()


class SparkBackend(Backend):
    name = "pyspark"

    def __init__(self, session: Any | None = None, data_url: str | None = None) -> None:
        super().__init__()
        self.session = session or spark_session()
        self.con = ibis.pyspark.connect(self.session)
        self.data_url = data_url
        self._written: list[str] = []

    def _view(self, frame: pd.DataFrame | pa.Table, prefix: str) -> ibis.Table:
        """Write ``frame`` as Parquet under the staging location and let Spark read it from there."""
        import uuid

        import pyarrow.parquet as pq
        from pyarrow import fs

        name = self._name(prefix)
        if isinstance(frame, pd.DataFrame):
            frame = pa.Table.from_pandas(frame, preserve_index=False)
        # Spark has no unsigned or nanosecond types: microsecond timestamps, signed integers.
        frame = frame.cast(pa.schema([pa.field(f.name, _spark_type(f.type)) for f in frame.schema]))
        base = (self.data_url or _default_data_url()).rstrip("/")
        uri = f"{base}/{uuid.uuid4().hex}/{name}.parquet"
        filesystem, path = fs.FileSystem.from_uri(uri if "://" in uri else "file://" + uri)
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pq.write_table(frame, path, filesystem=filesystem, compression="zstd")
        self._written.append(uri)
        self.session.read.parquet(uri).createOrReplaceTempView(name)
        return self.con.table(name)

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        return self._view(frame, "mem")

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        if self.data_url is None:
            from retentio.storage import folder

            self.data_url = str(folder(engine, "spark"))
        return Tables(self._view(load_orders(engine, tz, as_of_utc), "orders"),
                      self._view(load_subscriptions(engine, tz, as_of_utc), "subs"))

    def close(self) -> None:
        """Remove the staged Parquet files (local ones; a cluster store keeps its own lifecycle rules)."""
        import shutil
        from pathlib import Path

        for uri in self._written:
            if "://" not in uri or uri.startswith("file://"):
                shutil.rmtree(Path(uri.removeprefix("file://")).parent, ignore_errors=True)
        self._written.clear()


def _spark_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(t):
        # Labelled UTC (not shifted): Spark reads an adjusted-to-UTC timestamp as TimestampType and, with
        # the session in UTC, shows the same wall-clock values the other engines compute on.
        return pa.timestamp("us", tz=t.tz or "UTC")
    if pa.types.is_unsigned_integer(t) or pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_large_string(t) or pa.types.is_string(t):
        return pa.string()
    return t


def _default_data_url() -> str:
    import tempfile

    from retentio.settings import get_settings

    return get_settings().spark_data_url or tempfile.gettempdir() + "/retentio-spark"


_SPARK = None


def spark_session():
    """A Spark Connect session when RETENTIO_SPARK_REMOTE names a server, else the local one."""
    from retentio.settings import get_settings

    remote = get_settings().spark_remote
    if remote:
        # The Connect client's own class: pyspark's generic builder refuses a remote session in a process
        # that also holds a local one (a scheduler job and a test run may hold both).
        from pyspark.sql.connect.session import SparkSession as RemoteSession

        session = RemoteSession.builder.remote(remote).getOrCreate()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        return session
    return local_spark()


def local_spark():
    """One local Spark session per process, in UTC so naive times stay as given."""
    global _SPARK
    if _SPARK is None:
        from pyspark.sql import SparkSession

        _SPARK = (SparkSession.builder.master("local[2]").appName("retentio")
                  .config("spark.sql.session.timeZone", "UTC")
                  .config("spark.sql.shuffle.partitions", "4")
                  .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                  .config("spark.ui.enabled", "false")
                  .config("spark.driver.memory", "2g")
                  .getOrCreate())
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def make_backend(name: str, engine: Engine) -> Backend:
    if name == "duckdb":
        return DuckDBBackend()
    if name == "postgres":
        return PostgresBackend(engine)
    if name == "pyspark":
        from retentio.settings import get_settings

        return SparkBackend(data_url=get_settings().spark_data_url or None)
    raise ConfigError(Msg("unknown engine {name!r}; choose one of {value}", name=name, value=', '.join(ENGINES)))
