"""`retentio privacy …` on a small demo shop: export, objection, erasure, retention, registry, in both languages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retentio.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from retentio.db.session import get_engine
    from retentio.demo.generator import generate
    from retentio.demo.run import store
    from retentio.refresh import refresh

    db = tmp_path_factory.mktemp("cli-privacy") / "shop.db"
    engine = get_engine(f"sqlite:///{db}")
    store(engine, generate(300, 3))
    refresh(engine, predictions=False)
    return db


def run(db, *args, lang: str = "en"):
    return runner.invoke(app, ["--db", str(db), "--lang", lang, *args])


def _someone(db) -> dict:
    import sqlalchemy as sa

    from retentio.db.session import get_engine

    with get_engine(f"sqlite:///{db}").connect() as conn:
        row = conn.execute(sa.text("SELECT c.external_id, c.email FROM customers c JOIN orders o ON o.customer_id = c.id "
                                   "WHERE c.email IS NOT NULL AND c.erased_at IS NULL ORDER BY c.id LIMIT 1")).one()
    return {"ref": row[0], "email": row[1]}


def test_export_writes_json_and_csvs(shop, tmp_path):
    who = _someone(shop)
    r = run(shop, "privacy", "export", who["ref"], "--out", str(tmp_path / "x"))
    assert r.exit_code == 0, r.output
    bundle = json.loads((tmp_path / "x" / "customer.json").read_text())
    assert bundle["tables"]["customers"][0]["email"] == who["email"]
    assert (tmp_path / "x" / "orders.csv").read_text().count("\n") == len(bundle["tables"]["orders"]) + 1
    as_json = json.loads(run(shop, "privacy", "export", who["ref"], "--format", "json").output)
    assert as_json["tables"]["orders"] == bundle["tables"]["orders"]
    rows, files = sum(len(t) for t in bundle["tables"].values()), len(list((tmp_path / "x").iterdir()))
    assert f"{rows} rows in {files} files written to" in " ".join(r.output.split())
    de = run(shop, "privacy", "export", who["ref"], "--out", str(tmp_path / "y"), lang="de")
    assert f"{rows} Zeilen in {files} Dateien nach" in " ".join(de.output.split())


def test_erase_then_log_and_the_export_shows_nobody(shop):
    who = _someone(shop)
    assert run(shop, "privacy", "erase", who["ref"]).exit_code == 1  # asks, and "no" is the default answer
    r = run(shop, "privacy", "erase", who["ref"], "--yes", lang="de")
    assert r.exit_code == 0 and "gelöscht" in r.output, r.output
    log = json.loads(run(shop, "privacy", "log", "--format", "json").output)
    assert log[-1]["reason"] == "request" and who["email"] not in json.dumps(log)
    assert run(shop, "privacy", "export", who["ref"]).exit_code != 0  # the number is gone with the person


def test_objection_and_retention_dry_run(shop):
    who = _someone(shop)
    r = run(shop, "privacy", "object", who["ref"])
    assert r.exit_code == 0 and "profiling" in r.output
    out = json.loads(run(shop, "privacy", "retention", "--years", "1", "--format", "json").output)
    assert out["dry_run"] is True and out["erased"] == 0 and out["customers"] >= 0
    reg = json.loads(run(shop, "privacy", "registry", "--format", "json").output)
    assert {(r["table"], r["column"], r["class"]) for r in reg} >= {("customers", "email", "contact"),
                                                                    ("orders", "net_total", "behavioural")}


@pytest.mark.parametrize(("lang", "one", "many"), [
    ("en", "{n} customer inactive for {y} would be erased", "{n} customers inactive for {y} would be erased"),
    ("de", "{n} Kunde, der {y} inaktiv ist, würde gelöscht", "{n} Kunden, die {y} inaktiv sind, würden gelöscht"),
])
@pytest.mark.parametrize("years", [1, 2])
def test_retention_dry_run_counts_in_the_right_number(shop, lang, one, many, years):
    n = json.loads(run(shop, "privacy", "retention", "--years", str(years), "--format", "json").output)["customers"]
    r = run(shop, "privacy", "retention", "--years", str(years), lang=lang)
    assert r.exit_code == 0, r.output
    unit = {("en", 1): "1 year", ("en", 2): "2 years", ("de", 1): "1 Jahr", ("de", 2): "2 Jahre"}[lang, years]
    assert (one if n == 1 else many).format(n=n, y=unit) in " ".join(r.output.split())
