"""Terminal tables fit 80 columns in both languages; what does not fit is named, with the way to get it."""

from __future__ import annotations

import pytest
from tests.helpers import write_csv
from typer.testing import CliRunner

from retentio.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("width")
    db = tmp / "shop.db"
    rows = []
    for c in range(300):
        for k in range(1 + c % 5):
            rows.append([f"o{c}-{k}", f"Kundennummer-{c:05d}", f"202{3 + k % 2}-{1 + (c + 3 * k) % 12:02d}-"
                         f"{1 + c % 27:02d}T12:00:00", f"{10 + c * 3.37:.2f}"])
    path = write_csv(tmp / "orders.csv", ["order_id", "customer_id", "placed_at", "total"], rows)
    for args in (["import", "orders", str(path)], ["refresh"]):
        res = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "80"})
        assert res.exit_code == 0, res.output
    return db


COMMANDS = [["kpis"], ["kpis", "--period", "week"], ["cohorts"], ["cohorts", "--metric", "revenue"], ["segments"],
            ["segments", "--by", "lifecycle"], ["at-risk"], ["predict"], ["customer", "Kundennummer-00004"],
            ["flows", "list"], ["flows", "outbox"], ["flows", "report"], ["targets", "--cost", "2"],
            ["config", "show"], ["budget"], ["budget", "--cac", "40"], ["calendar"]]


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_tables_fit_80_columns(shop, lang, command):
    res = runner.invoke(app, ["--db", str(shop), "--lang", lang, *command], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    wide = [line for line in res.stdout.splitlines() if len(line) > 80]
    assert wide == [], "\n".join(wide)
    assert res.stdout.strip()


def test_columns_left_out_are_named_with_the_way_to_see_them(shop):
    res = runner.invoke(app, ["--db", str(shop), "--lang", "en", "kpis"], env={"COLUMNS": "80"})
    assert "--format csv" in res.stdout
    # Periods with less than one activity window of history before them are marked, as in the report.
    assert "* warm-up" in res.stdout and "Jan 2023 *" in res.stdout
    assert "Nov 2024 *" not in res.stdout
    res = runner.invoke(app, ["--db", str(shop), "--lang", "de", "kpis"], env={"COLUMNS": "80"})
    assert "--format csv" in res.stdout and "Spalten" in res.stdout


@pytest.mark.parametrize(("lang", "words"), [("en", "pays back the acquisition cost of"),
                                              ("de", "amortisiert die Akquisekosten von")])
def test_the_budget_gives_its_reasons_in_full_and_what_the_entered_cac_pays_back_in(shop, lang, words):
    import json

    res = runner.invoke(app, ["--db", str(shop), "--lang", lang, "budget", "--cac", "40"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "\u2026" not in res.stdout  # no reason cut off with an ellipsis
    text = " ".join(res.stdout.split())
    assert ("sales a day (" if lang == "en" else "Verkäufe am Tag (") in text
    out = json.loads(runner.invoke(app, ["--db", str(shop), "budget", "--cac", "40", "--format", "json"]).stdout)
    months = out["payback"]["acquisition_months"]
    assert (words in text) == (months is not None and out["recommended"] is None)
    if months is not None and out["recommended"] is None:
        assert (f"{months:.1f}" if lang == "en" else f"{months:.1f}".replace(".", ",")) in text
