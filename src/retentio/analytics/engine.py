"""Analytics engines: where the Ibis expressions run.

* ``duckdb`` (default): in-process; the operational tables are read as Arrow
  (ADBC) and handed to DuckDB without copying row by row.
* ``postgres``: the expressions compile to SQL and run inside the operational
  PostgreSQL database itself; nothing is moved.
* ``pyspark``: the same expressions on a Spark session (local mode here, a
  cluster in production), fed from Arrow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine

from retentio.analytics.milestones import customer_milestones
from retentio.analytics.sources import load_orders, load_subscriptions
from retentio.errors import ConfigError
from retentio.i18n import Msg

ENGINES = ("duckdb", "postgres", "pyspark")


@dataclass
class Tables:
    orders: ibis.Table  # order_id, customer_id, placed (local), net_total, status
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
        """Drop cached results while the connection is still open."""
        for table in self._cache.values():
            table.release()
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
    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.con = ibis.duckdb.connect()
        if threads:
            self.con.raw_sql(f"SET threads = {int(threads)}")

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        return self.con.create_table(self._name("mem"), frame, temp=True)

    def register_arrow(self, name: str, table: pa.Table) -> ibis.Table:
        return self.con.create_table(name, table, temp=True, overwrite=True)

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        return Tables(
            self.register_arrow("orders", load_orders(engine, tz, as_of_utc)),
            self.register_arrow("subscriptions", load_subscriptions(engine, tz, as_of_utc)),
        )

    def close(self) -> None:
        self.con.disconnect()


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
            f"net_total::float8 AS net_total, status FROM orders WHERE placed_at <= '{as_of}'")
        subs = self.con.sql(
            f"SELECT customer_id::bigint AS customer_id, {local('started_at')} AS started, "
            f"{local('COALESCE(ends_at, cancelled_at)')} AS ended, {local('cancelled_at')} AS cancelled "
            f"FROM subscriptions WHERE started_at <= '{as_of}'")
        return Tables(orders, subs)

    def close(self) -> None:
        self.con.disconnect()


class SparkBackend(Backend):
    name = "pyspark"

    def __init__(self, session: Any | None = None) -> None:
        super().__init__()
        self.session = session or local_spark()
        self.con = ibis.pyspark.connect(self.session)

    def _view(self, frame: pd.DataFrame | pa.Table, prefix: str) -> ibis.Table:
        name = self._name(prefix)
        if isinstance(frame, pd.DataFrame):
            frame = pa.Table.from_pandas(frame, preserve_index=False)
        # An explicit schema keeps nullable integers (guest orders' customer_id)
        # integer; inferred from pandas they would turn into doubles.
        schema = _spark_schema(frame)
        # Plain Python values (datetime, int, None): what Spark's verifier accepts.
        rows = [tuple(r.values()) for r in frame.to_pylist()]
        sdf = self.session.createDataFrame(rows, schema=schema)
        sdf.createOrReplaceTempView(name)
        return self.con.table(name)

    def memtable(self, frame: pd.DataFrame) -> ibis.Table:
        return self._view(frame, "mem")

    def load(self, engine: Engine, tz: str, as_of_utc: dt.datetime) -> Tables:
        return Tables(self._view(load_orders(engine, tz, as_of_utc), "orders"),
                      self._view(load_subscriptions(engine, tz, as_of_utc), "subs"))


def _spark_schema(table: pa.Table) -> str:
    def kind(t: pa.DataType) -> str:
        if pa.types.is_integer(t):
            return "bigint"
        if pa.types.is_floating(t):
            return "double"
        if pa.types.is_timestamp(t):
            return "timestamp"
        if pa.types.is_boolean(t):
            return "boolean"
        return "string"

    return ", ".join(f"`{f.name}` {kind(f.type)}" for f in table.schema)


_SPARK = None


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
        return SparkBackend()
    raise ConfigError(Msg("unknown engine {name!r}; choose one of {value}", name=name, value=', '.join(ENGINES)))
