"""The command line, end to end through Typer, on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.helpers import write_csv
from typer.testing import CliRunner

from retentio.cli import app

runner = CliRunner()


@pytest.fixture
def shop(tmp_path):
    db = tmp_path / "shop.db"
    rows = []
    for c in range(40):
        for k in range(1 + c % 4):
            rows.append([f"o{c}-{k}", f"c{c}", f"2024-{1 + (c + 3 * k) % 12:02d}-{1 + c % 27:02d}T12:00:00", str(10 + c)])
    path = write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "placed_at", "total"], rows)
    res = runner.invoke(app, ["--db", str(db), "import", "orders", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["rows_read"] == summary["rows_imported"] == len(rows)
    res = runner.invoke(app, ["--db", str(db), "refresh", "--format", "json"])
    assert res.exit_code == 0, res.output
    return db


def test_kpis_json_has_every_metric(shop):
    res = runner.invoke(app, ["--db", str(shop), "kpis", "--period", "month", "--active-window", "90", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["active_window_days"] == 90 and out["active_window_source"] == "call"
    keys = {"period_start", "s", "e", "n", "crr", "retained_share", "churn_rate", "repeat_purchase_rate",
            "purchase_frequency", "aov"}
    assert out["rows"] and keys <= set(out["rows"][0])


@pytest.mark.parametrize("command", [["kpis"], ["cohorts"], ["segments"], ["segments", "--by", "lifecycle"]])
def test_listing_commands_take_csv_and_json(shop, command):
    for fmt in ("csv", "json"):
        res = runner.invoke(app, ["--db", str(shop), *command, "--format", fmt])
        assert res.exit_code == 0, res.output
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(res.output)))
            assert rows
        else:
            assert json.loads(res.output)


@pytest.mark.parametrize(("lang", "word"), [("de", "Kundenbindung je Monat"), ("en", "Retention by month")])
def test_table_output_in_both_languages(shop, lang, word):
    res = runner.invoke(app, ["--db", str(shop), "kpis", "--lang", lang], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert word in res.output


def test_customer_profile_and_unknown_customer(shop):
    res = runner.invoke(app, ["--db", str(shop), "customer", "c3", "--format", "json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    assert p["customer"]["external_id"] == "c3" and len(p["orders"]) == 4
    assert p["scores"]["purchases"] == 4 and p["scores"]["lifecycle"]
    res = runner.invoke(app, ["--db", str(shop), "customer", "nobody"])
    assert res.exit_code != 0


def test_commands_before_refresh_say_what_to_do(tmp_path):
    from retentio.cli import main  # noqa: F401 - the entry point wraps errors

    res = runner.invoke(app, ["--db", str(tmp_path / "new.db"), "kpis"])
    assert res.exit_code != 0
    assert "retentio refresh" in str(res.exception)


def test_config_set_and_show(tmp_path):
    db = str(tmp_path / "c.db")
    assert runner.invoke(app, ["--db", db, "config", "set", "time_zone", "Europe/Vienna"]).exit_code == 0
    out = json.loads(runner.invoke(app, ["--db", db, "config", "show", "--format", "json"]).output)
    assert {"key": "time_zone", "value": "Europe/Vienna"} in out
    bad = runner.invoke(app, ["--db", db, "config", "set", "time_zone", "Mars/Base"])
    assert bad.exit_code != 0


def test_date_only_orders_are_listed_without_a_time(tmp_path):
    db = str(tmp_path / "d.db")
    assert runner.invoke(app, ["--db", db, "config", "set", "time_zone", "Europe/Berlin"]).exit_code == 0
    path = write_csv(tmp_path / "o.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [["1", "K1", "2024-01-03", "19.90"], ["2", "K1", "2024-02-14T18:30:00", "5.00"]])
    assert runner.invoke(app, ["--db", db, "import", "orders", str(path)]).exit_code == 0
    res = runner.invoke(app, ["--db", db, "customer", "K1", "--lang", "en"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "3 Jan 2024" in res.output and "00:00:00" not in res.output
    assert "14 Feb 2024, 18:30:00" in res.output


@pytest.mark.parametrize(("lang", "rows", "said"), [
    ("de", 1, "1 Zeile gelesen = 1 importiert + 0 abgewiesen"),
    ("de", 2, "2 Zeilen gelesen = 2 importiert + 0 abgewiesen"),
    ("en", 1, "read 1 row = 1 imported + 0 rejected"),
    ("en", 2, "read 2 rows = 2 imported + 0 rejected"),
])
def test_import_line_counts_rows_in_the_right_number(tmp_path, lang, rows, said):
    path = write_csv(tmp_path / "o.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [[str(i), "K1", "2024-01-03", "19.90"] for i in range(rows)])
    res = runner.invoke(app, ["--db", str(tmp_path / "d.db"), "--lang", lang, "import", "orders", str(path)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert said in " ".join(res.output.split())


@pytest.mark.parametrize(("lang", "line"), [("de", "Einwilligung E-Mail/Werbung: erteilt seit"),
                                             ("en", "Consent E-mail/advertising: granted since")])
def test_the_profile_names_consent_channel_and_purpose_in_the_language_asked(shop, lang, line):
    import datetime as dt

    import sqlalchemy as sa

    from retentio.consent import GRANTED, Statement, record
    from retentio.db.session import get_engine

    engine = get_engine(f"sqlite:///{shop}")
    with engine.begin() as conn:
        cid = conn.execute(sa.text("SELECT id FROM customers WHERE external_id = 'c3'")).scalar()
        at = dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
        record(conn, [Statement(cid, GRANTED, "test", at, at)], require_doi=True, now=at)
    res = runner.invoke(app, ["--db", str(shop), "--lang", lang, "customer", "c3"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert line in res.output


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_at_risk_lists_customers_with_and_without_a_name(shop, fmt):
    import sqlalchemy as sa

    from retentio.db.session import get_engine

    with get_engine(f"sqlite:///{shop}").begin() as conn:  # some named, most not: a text column with gaps
        conn.execute(sa.text("UPDATE customers SET first_name = 'Zoë', last_name = 'O''Brien' "
                             "WHERE external_id IN ('c3', 'c7')"))
    res = runner.invoke(app, ["--db", str(shop), "--lang", "en", "at-risk", "--top", "50", "--format", fmt],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    if fmt == "json":
        rows = json.loads(res.output)["rows"]
        names = {r["external_id"]: r["name"] for r in rows}
        assert names.get("c3") == "Zoë O'Brien" and all(v is None for k, v in names.items() if k not in ("c3", "c7"))
