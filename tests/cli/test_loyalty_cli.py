"""`retentio loyalty …`, `retentio surveys …`, `retentio cases …` on a small demo shop, in both languages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retentio.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    import datetime as dt

    from retentio.db.session import get_engine
    from retentio.demo.generator import generate
    from retentio.demo.run import store
    from retentio.demo.voice import run_demo_loyalty, run_demo_surveys
    from retentio.refresh import refresh

    db = tmp_path_factory.mktemp("cli-loyalty") / "shop.db"
    engine = get_engine(f"sqlite:///{db}")
    data = generate(500, 3)
    store(engine, data)
    run = refresh(engine, predictions=False)
    end = dt.datetime.combine(run.as_of, dt.time(), dt.UTC) if not isinstance(run.as_of, dt.datetime) else run.as_of
    run_demo_loyalty(engine, end)
    run_demo_surveys(engine, data.latent, end)
    return db


def run(db, *args, lang: str = "en"):
    return runner.invoke(app, ["--db", str(db), "--lang", lang, *args])


def test_loyalty_report_check_and_member(shop):
    r = run(shop, "loyalty", "report", "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    liab = rep["liability"]
    assert liab["issued_points"] == (liab["available_points"] + liab["pending_points"] + liab["redeemed_points"]
                                     + liab["expired_points"] - liab["adjusted_points"])
    assert rep["effect"]["method"] == "randomised_control"
    assert liab["expired_points"] > 0 and liab["redeemed_points"] > 0  # a year of earning, redeeming, expiring
    assert sum(m["up"] + m["down"] for m in rep["tiers"]["movements"]) > 0
    assert run(shop, "loyalty", "check").exit_code == 0
    member = next(m for m in json.loads(run(shop, "loyalty", "report", "--format", "json").output)["monthly"])
    assert member["issued"] >= 0
    de = run(shop, "loyalty", "report", lang="de")
    assert de.exit_code == 0 and "Mitglieder" in de.output and "members" not in de.output
    assert all(len(line) <= 80 for line in run(shop, "loyalty", "report").output.splitlines())


def test_redeem_is_once_per_key_and_never_below_zero(shop):
    rich = json.loads(run(shop, "loyalty", "report", "--format", "json").output)
    assert rich["members"]["member"] > 0
    from retentio.db.session import get_engine

    engine = get_engine(f"sqlite:///{shop}")
    with engine.connect() as conn:
        ext, balance = conn.exec_driver_sql(
            "SELECT c.external_id, a.balance FROM ledger_accounts a JOIN customers c ON c.id = a.customer_id "
            "WHERE a.kind = 'available' AND a.balance > 10 ORDER BY a.balance DESC LIMIT 1").one()
    first = run(shop, "loyalty", "redeem", ext, "10", "--key", "cli-1")
    again = run(shop, "loyalty", "redeem", ext, "10", "--key", "cli-1")
    assert first.exit_code == 0 and again.exit_code == 0
    left = json.loads(run(shop, "loyalty", "member", ext, "--format", "json").output)["available"]
    assert left == balance - 10
    too_much = run(shop, "loyalty", "redeem", ext, str(left + 1), "--key", "cli-2")
    assert too_much.exit_code != 0 and "not enough points" in str(too_much.exception or too_much.output)


def test_surveys_and_cases_reports(shop):
    rep = json.loads(run(shop, "surveys", "report", "--format", "json").output)
    o = rep["overall"]
    assert o["n"] > 0 and o["promoters"] + o["passives"] + o["detractors"] == o["n"]
    assert rep["decisions"].get("asked", 0) > 0
    cases = json.loads(run(shop, "cases", "list", "--state", "all", "--format", "json").output)
    assert any(c["origin"] == "survey" for c in cases["cases"])
    assert run(shop, "cases", "report").exit_code == 0
    assert run(shop, "surveys", "report", "--by", "tier").exit_code == 0
    bad = run(shop, "surveys", "report", "--by", "shoe_size")
    assert bad.exit_code != 0


def test_the_report_shows_the_programme_the_nps_and_the_cases(shop, tmp_path):
    out = tmp_path / "report.html"
    r = run(shop, "report", "--out", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "Loyalty, NPS and service cases" in html and "Bohnenclub" in html and "NPS " in html
    assert "resolved complaint" in html
