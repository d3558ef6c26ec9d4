"""Common mistakes end in one line on stderr and exit code 2, in the session's language — never a traceback.

Each case runs the real command in a subprocess, the way a user meets it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from tests.helpers import write_csv


def run(args: list[str], tmp_path, lang: str = "en", extra_env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETENTIO_LANG": lang, "RETENTIO_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
           **(extra_env or {})}
    env.pop("RETENTIO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "retentio", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=timeout)


def one_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr and len(err.splitlines()) == 1, res.stderr
    assert err.startswith(("Error:", "Fehler:")), err
    return err


@pytest.fixture
def orders_csv(tmp_path):
    return write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [["1", "c1", "2024-01-02", "10"], ["2", "c2", "2024-01-05", "20"]])


# (arguments, words the English line must contain, words the German line must contain)
MISTAKES = [
    pytest.param(["--db", "sqlite:///{tmp}/no/such/folder/shop.db", "kpis"], ["folder"], ["Ordner"], id="db-folder"),
    pytest.param(["--db", "{tmp}/no/such/folder/shop.db", "kpis"], ["folder"], ["Ordner"], id="db-path-folder"),
    pytest.param(["kpis", "--period", "fortnight"], ["fortnight", "--period"], ["fortnight", "--period"],
                 id="bad-option-value"),
    pytest.param(["kpis", "--active-window", "many"], ["many"], ["many"], id="not-a-number"),
    pytest.param(["kpis", "--colour"], ["--colour"], ["--colour"], id="unknown-option"),
    pytest.param(["import", "orders", "{tmp}/missing.csv"], ["missing.csv"], ["missing.csv"], id="missing-file"),
    pytest.param(["import", "invoices", "{tmp}/orders.csv"], ["invoices"], ["invoices"], id="unknown-kind"),
    pytest.param(["--lang", "fr", "kpis"], ["fr", "de", "en"], ["fr", "de", "en"], id="unsupported-language"),
    pytest.param(["kpis"], ["retentio refresh"], ["retentio refresh"], id="before-refresh"),
    pytest.param(["customer", "K404"], ["K404"], ["K404"], id="unknown-customer"),
    pytest.param(["import", "orders", "{tmp}/orders.csv", "--mapping", "{tmp}/none.toml"], ["none.toml"],
                 ["none.toml"], id="missing-mapping"),
]


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize(("args", "en_words", "de_words"), MISTAKES)
def test_common_mistakes_are_one_line(tmp_path, orders_csv, lang, args, en_words, de_words):
    line = one_line(run([a.replace("{tmp}", str(tmp_path)) for a in args], tmp_path, lang))
    for word in en_words if lang == "en" else de_words:
        assert word in line, line
    assert line.startswith("Error:" if lang == "en" else "Fehler:")


def test_postgres_url_without_the_driver_names_the_extra(tmp_path):
    # A Python without the PostgreSQL driver: a sitecustomize hides it, as if it were not installed.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nfor m in ('psycopg', 'psycopg2', 'psycopg_binary'):\n    sys.modules[m] = None\n")
    res = run(["--db", "postgresql://nobody@127.0.0.1:5432/nothing", "kpis"], tmp_path,
              extra_env={"PYTHONPATH": str(site)})
    assert "pip install 'retentio[postgres]'" in one_line(res)


def test_a_locked_database_says_so(tmp_path, orders_csv):
    assert run(["import", "orders", str(orders_csv)], tmp_path).returncode == 0
    holder = sqlite3.connect(tmp_path / "shop.db")
    holder.execute("begin exclusive")
    try:
        res = run(["import", "orders", str(orders_csv)], tmp_path, extra_env={"RETENTIO_SQLITE_TIMEOUT": "0.2"})
    finally:
        holder.rollback()
        holder.close()
    assert "locked" in one_line(res)


def test_a_weak_secret_is_refused_without_printing_it(tmp_path):
    res = run(["kpis"], tmp_path, extra_env={"RETENTIO_SECRET_KEY": "hunter2-hunter2"})
    line = one_line(res)
    assert "RETENTIO_SECRET_KEY" in line and "32" in line and "hunter2" not in res.stderr + res.stdout


def test_version_and_help_work_everywhere(tmp_path):
    res = run(["--version"], tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("retentio ")
    de = run(["--help"], tmp_path, "de")
    en = run(["--help"], tmp_path, "en")
    assert de.returncode == en.returncode == 0
    assert "Befehle" in de.stdout or "Kommandos" in de.stdout, de.stdout
    assert "Commands" in en.stdout and "Befehle" not in en.stdout
    # The --mapping help once lost its words to markup; it is plain text now.
    imp = run(["import", "orders", "--help"], tmp_path)
    assert "TOML" in imp.stdout and "with  and" not in imp.stdout
