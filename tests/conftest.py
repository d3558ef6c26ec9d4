"""Shared fixtures: real databases in tmp_path, PostgreSQL, Spark, real datasets.

Anything not available is skipped, except what RETENTIO_TEST_REQUIRE names
(comma-separated: postgres, spark, data): CI sets it so that nothing it must
run can silently turn into a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from retentio.db.session import get_engine

# Messages are asserted in English unless a test asks for German (--lang de, i18n.using("de")).
os.environ["RETENTIO_LANG"] = "en"
# Files beside a PostgreSQL database (the materialised view) go to the cache folder: a temporary one here.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="retentio-test-cache-")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RETENTIO_TEST_DATA", ROOT.parent / "shared" / "data"))
PG_URL = os.environ.get("RETENTIO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRED = {x.strip() for x in os.environ.get("RETENTIO_TEST_REQUIRE", "").split(",") if x.strip()}


@pytest.fixture(autouse=True)
def english_unless_asked():
    """A test that runs the CLI with --lang de sets the process's language; the next test starts in English."""
    from retentio import i18n

    token = i18n._current.set(None)
    yield
    i18n._current.reset(token)


def unavailable(what: str, why: str):
    if what in REQUIRED:
        pytest.fail(f"{what} is required in this run (RETENTIO_TEST_REQUIRE) but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'retentio.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_admin():
    try:
        import psycopg  # noqa: F401

        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as exc:
        unavailable("postgres", str(exc).splitlines()[0])
    yield admin
    admin.dispose()


@pytest.fixture
def pg_engine(pg_admin):
    name = f"retentio_test_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name)
    engine = get_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    get_engine.cache_clear()
    with pg_admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def db(request):
    """An operational database of each kind (no analytics engine choice)."""
    return request.getfixturevalue("pg_engine" if request.param == "postgres" else "sqlite_engine")


@pytest.fixture(scope="session")
def spark_ok():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable("spark", "pyspark is not installed (pip install -e '.[spark]')")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        unavailable("spark", "no Java runtime found")
    return True


@pytest.fixture(scope="session")
def spark_connect(spark_ok, tmp_path_factory):
    """A Spark Connect server of our own (pyspark's spark-submit, another JVM), as a cluster would be."""
    import socket
    import subprocess
    import time

    import pyspark

    try:
        import grpc  # noqa: F401
    except ImportError:
        unavailable("spark", "the Spark Connect client needs grpcio (pip install -e '.[spark]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = os.path.dirname(pyspark.__file__)
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": home}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [os.path.join(home, "bin", "spark-submit"), "--class",
             "org.apache.spark.sql.connect.service.SparkConnectServer", "--driver-memory", "1g",
             "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.session.timeZone=UTC", "--conf", "spark.sql.shuffle.partitions=4",
             "spark-internal"], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            unavailable("spark", f"the Spark Connect server ended: {log.read_text()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(1)
    else:
        proc.kill()
        unavailable("spark", "the Spark Connect server did not start within 180 s")
    yield f"sc://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


# (operational database, analytics engine)
ENGINE_MATRIX = [
    pytest.param(("sqlite", "duckdb"), id="sqlite-duckdb"),
    pytest.param(("postgres", "duckdb"), id="postgres-duckdb", marks=pytest.mark.postgres),
    pytest.param(("postgres", "postgres"), id="postgres-postgres", marks=pytest.mark.postgres),
    pytest.param(("sqlite", "pyspark"), id="sqlite-pyspark", marks=[pytest.mark.spark, pytest.mark.slow]),
    pytest.param(("sqlite", "spark-connect"), id="sqlite-spark-connect", marks=[pytest.mark.spark, pytest.mark.slow]),
]


@pytest.fixture(params=ENGINE_MATRIX)
def shop_db(request, tmp_path):
    """A fresh operational database and the analytics engine to run on it."""
    db, analytics = request.param
    if analytics == "pyspark":
        request.getfixturevalue("spark_ok")
    if analytics == "spark-connect":
        from retentio.settings import get_settings

        request.getfixturevalue("monkeypatch").setenv("RETENTIO_SPARK_REMOTE", request.getfixturevalue("spark_connect"))
        get_settings.cache_clear()
        request.addfinalizer(get_settings.cache_clear)
        analytics = "pyspark"
    engine = request.getfixturevalue("pg_engine") if db == "postgres" else request.getfixturevalue("sqlite_engine")
    return engine, analytics


@pytest.fixture(scope="session")
def data_dir():
    if not DATA.is_dir():
        unavailable("data", f"{DATA} not found")
    return DATA
