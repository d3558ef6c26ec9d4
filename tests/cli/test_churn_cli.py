"""`retentio churn fit --label Churn` on the public IBM Telco file: from the file and from imported customers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retentio.cli import app

pytestmark = pytest.mark.realdata
runner = CliRunner()


def _check(result: dict) -> None:
    m = result["cross_validated"]
    assert result["customers"] == 7043 and result["churners"] == 1869 and result["folds"] == 5
    assert m["roc_auc"] >= 0.84, m  # published gradient-boosting results on this file: 0.84–0.85
    assert 0.6 < m["pr_auc"] < 0.8 and m["brier"] < 0.15
    assert len(result["fold_roc_auc"]) == 5 and min(result["fold_roc_auc"]) > 0.8
    bins = [b for b in result["calibration"] if b["customers"] >= 100]
    assert all(abs(b["predicted"] - b["observed"]) < 0.08 for b in bins), bins  # calibrated, not just ranked
    top = result["scores"][0]
    assert top["reasons"] and top["churn_probability"] > 0.8
    assert {"attr_Contract", "attr_tenure", "attr_MonthlyCharges"} <= set(result["features"])


def test_from_the_file(data_dir, tmp_path):
    path = data_dir / "telco" / "Telco-Customer-Churn.csv"
    out = tmp_path / "scores.csv"
    res = runner.invoke(app, ["--db", str(tmp_path / "x.db"), "churn", "fit", "--label", "Churn", str(path),
                              "--format", "json", "--out", str(out), "--top", "5"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    _check(result)
    assert len(result["scores"]) == 5 and len(out.read_text(encoding="utf-8").splitlines()) == 7044


@pytest.mark.slow
def test_from_imported_customers(data_dir, tmp_path):
    db = str(tmp_path / "telco.db")
    path = data_dir / "telco" / "Telco-Customer-Churn.csv"
    res = runner.invoke(app, ["--db", db, "import", "customers", str(path), "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["rows_imported"] == 7043, res.output
    res = runner.invoke(app, ["--db", db, "churn", "fit", "--label", "Churn", "--format", "json"])
    assert res.exit_code == 0, res.output
    _check(json.loads(res.stdout))
    table = runner.invoke(app, ["--db", db, "--lang", "de", "churn", "fit", "--label", "Churn", "--top", "3"],
                          env={"COLUMNS": "80"})
    assert "ROC AUC 0,8" in table.stdout and "Kalibrierung" in table.stdout
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
