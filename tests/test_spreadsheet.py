"""Spreadsheet formulas in customer data are written as text (OWASP CSV injection), in every export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.helpers import write_csv
from typer.testing import CliRunner

from retentio.cli import app
from retentio.spreadsheet import neutralise

runner = CliRunner()

FORMULAS = ['=HYPERLINK("http://evil.example","Klick")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "＝1+1"]


@pytest.mark.parametrize(("value", "expected"), [
    *[(f, "'" + f) for f in FORMULAS],
    ("Anna", "Anna"), ("", ""), (None, None), (-5, -5), (3.5, 3.5), ("K-1", "K-1"), ("a=b", "a=b"),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.fixture
def shop(tmp_path):
    db = tmp_path / "shop.db"
    ids = FORMULAS[:4] + [f"K{i}" for i in range(30)]
    customers = write_csv(tmp_path / "customers.csv", ["customer_id", "email", "first_name"],
                          [[cid, f"k{i}@example.org", FORMULAS[i % 4]] for i, cid in enumerate(ids)])
    orders = write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "placed_at", "total"],
                       [[f"O{i}-{k}", cid, f"2024-{1 + (i + 4 * k) % 12:02d}-{1 + i % 27:02d}", "25"]
                        for i, cid in enumerate(ids) for k in range(1 + i % 3)])
    for kind, path in (("customers", customers), ("orders", orders)):
        res = runner.invoke(app, ["--db", str(db), "import", kind, str(path), "--format", "json"])
        assert res.exit_code == 0 and json.loads(res.stdout)["rows_rejected"] == 0, res.output
    assert runner.invoke(app, ["--db", str(db), "refresh"]).exit_code == 0
    return db


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_segment_members_csv(shop):
    res = runner.invoke(app, ["--db", str(shop), "segments", "save", "all", "--where",
                              '{"field": "revenue", "gte": 0}'])
    assert res.exit_code == 0, res.output
    out = runner.invoke(app, ["--db", str(shop), "segments", "members", "all", "--format", "csv"]).stdout
    cells = _cells(out)
    assert "'" + FORMULAS[0] in cells and "'" + FORMULAS[2] in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


@pytest.mark.parametrize("command", [["at-risk", "--top", "50"], ["segments"], ["targets", "--cost", "0.5"]])
def test_cli_csv_never_starts_a_cell_with_a_formula(shop, command):
    res = runner.invoke(app, ["--db", str(shop), *command, "--format", "csv"])
    assert res.exit_code == 0, res.output
    cells = _cells(res.stdout)
    assert cells and not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
    if command[0] != "segments":
        assert any(c.startswith("'=") for c in cells)
