"""Predictions in a refresh, on the demo shop whose generating parameters are known."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from retentio.cli import app
from retentio.db.session import get_engine
from retentio.demo.generator import generate
from retentio.demo.run import store
from retentio.i18n import message_text
from retentio.models.bgnbd import ModifiedBetaGeoFitter
from retentio.models.gammagamma import GammaGammaFitter
from retentio.models.summary import summary_from_database
from retentio.refresh import refresh
from retentio.results import predictions, scores
from retentio.shop import set_config

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = get_engine(f"sqlite:///{path}")
    data = generate(n_customers=8000, seed=11)
    set_config(engine, "time_zone", "Europe/Berlin")
    store(engine, data)
    run = refresh(engine)
    yield engine, path, data, run
    engine.dispose()


def test_demo_truth_is_recovered_through_the_whole_pipeline(demo_shop):
    """The demo simulates MBG/NBD (dropout possible right after the first purchase) and
    Gamma-Gamma spend; fitted on the stored orders, the estimates meet the truth."""
    engine, _, data, _ = demo_shop
    sm = summary_from_database(engine, dt.date(2026, 10, 31), unit="weeks")
    truth = data.truth
    m = ModifiedBetaGeoFitter().fit(sm)
    for name, key in (("r", "bgnbd_r"), ("alpha", "bgnbd_alpha"), ("a", "bgnbd_a"), ("b", "bgnbd_b")):
        assert abs(m.params_[name] - truth[key]) < 3.5 * m.standard_errors_[name], name
    gg = GammaGammaFitter().fit(sm)
    # Spend is rounded to cents and some orders are returned, so the check is on the
    # population mean spend, which is what CLV uses.
    assert gg.population_mean_ == pytest.approx(truth["gg_p"] * truth["gg_gamma"] / (truth["gg_q"] - 1), rel=0.05)


def test_refresh_stores_a_prediction_for_every_buyer(demo_shop):
    engine, _, _, run = demo_shop
    info = run.summary["predictions"]
    assert info["chosen"]["model"] in ("bgnbd", "mbgnbd", "paretonbd")
    assert set(info["backtest"]["models"]) == {"bgnbd", "mbgnbd", "paretonbd", "nbd", "rules"}
    assert info["stages"] == {s: {"status": "ok"} for s in ("transactions", "spend", "churn", "contracts")}
    assert info["churn_model"]["status"] == "ok" and info["churn_model"]["validation"]["roc_auc"] > 0.75
    df, _ = predictions(engine)
    buyers = scores(engine).query("purchases > 0")
    assert set(df["customer_id"]) == set(buyers["customer_id"])
    assert df["p_alive"].between(0, 1).all()
    assert (df["p_alive_low"] <= df["p_alive"] + 1e-9).all() and (df["p_alive"] <= df["p_alive_high"] + 1e-9).all()
    assert (df["expected_purchases_low"] <= df["expected_purchases"] + 1e-9).all()
    assert (df["clv"] >= 0).all() and df["churn_probability"].between(0, 1).all()
    np.testing.assert_allclose(df["value_at_risk"], df["clv"] * df["churn_probability"], rtol=1e-5, atol=2e-6)
    assert df["value_at_risk"].is_monotonic_decreasing
    # Contracts: sBG fitted on the demo's subscriptions; renewal rates rise with tenure (sorting effect).
    contracts = info["contracts"]
    assert contracts["status"] == "ok" and contracts["ended"] > 0
    rates = contracts["retention_rate"]
    assert all(0 < r < 1 for r in rates) and rates == sorted(rates)
    with_contract = df["contract_renewal_probability"].notna()
    assert with_contract.sum() > 0 and df.loc[with_contract, "contract_renewal_probability"].between(0, 1).all()
    assert (df.loc[with_contract, "contract_expected_months"] <= 24).all()
    # Next-purchase dates only for customers more likely active than not.
    assert df.loc[df["p_alive"] < 0.5, "next_purchase_at"].isna().all()
    assert df.loc[df["p_alive"] >= 0.5, "next_purchase_at"].notna().all()


def test_backtest_tracks_the_holdout(demo_shop):
    _, path, _, _ = demo_shop
    res = runner.invoke(app, ["--db", str(path), "predict", "--backtest", "--calibration-end", "2025-10-31",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    bt = json.loads(res.output)
    assert bt["calibration_end"] == "2025-10-31" and bt["holdout_end"] == "2026-10-31"
    for key, m in bt["models"].items():
        h = m["holdout"]
        assert set(m["params"]) == set(m["se"])
        assert len(h["tracking"]) == 53  # 365 days = 52 weeks and 1 day
        if key == "rules":
            assert m["log_likelihood"] is None
            continue
        assert m["log_likelihood"] < 0
        if key == "nbd":  # the demo's customers drop out: the no-dropout model over-predicts, and loses
            assert h["predicted_total"] > h["actual_total"] and h["mae"] > bt["models"][bt["best"]]["holdout"]["mae"]
            continue
        # Every dropout model tracks the holdout total within 10 % and ranks customers sensibly.
        assert h["predicted_total"] == pytest.approx(h["actual_total"], rel=0.1)
        assert h["correlation"] > 0.5
        classes = {c["frequency"]: c for c in h["by_frequency"]}
        assert classes["0"]["predicted"] < classes["3"]["predicted"] < classes["7+"]["predicted"]
        assert sum(c["customers"] for c in h["calibration"]) == bt["customers"]
    # The spend model on the calibration period, checked on the holdout's purchasers.
    spend = bt["spend"]
    assert spend["status"] == "ok" and set(spend["params"]) == {"p", "q", "gamma"} and spend["log_likelihood"] < 0
    assert spend["holdout"]["predicted_mean"] == pytest.approx(spend["holdout"]["actual_mean"], rel=0.15)
    # Tracking over calibration and holdout, as Fader, Hardie & Lee (2005) plot it.
    paper = bt["paper_tracking"]
    assert paper["steps"][-1]["actual"] >= paper["steps"][paper["calibration_steps"] - 1]["actual"] > 0
    last = paper["steps"][-1]
    assert last["predicted"][bt["best"]] == pytest.approx(last["actual"], rel=0.1)
    table = runner.invoke(app, ["--db", str(path), "predict", "--backtest", "--lang", "en"])
    assert table.exit_code == 0 and "Best model on the holdout" in table.output


def test_at_risk_and_customer_show_predictions(demo_shop):
    _, path, _, _ = demo_shop
    res = runner.invoke(app, ["--db", str(path), "at-risk", "--top", "20", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    rows = out["rows"]
    assert len(rows) == 20 and out["currency"] == "EUR"
    assert [r["value_at_risk"] for r in rows] == sorted((r["value_at_risk"] for r in rows), reverse=True)
    assert all(r["external_id"].startswith("K") for r in rows)
    assert any(r["reasons"] for r in rows)
    # Stored as JSON lists of reasons, never as a JSON string of JSON text.
    assert all(isinstance(r["reasons"], list) and all(isinstance(x, dict) and x["reason"] for x in r["reasons"])
               for r in rows)
    csv_out = runner.invoke(app, ["--db", str(path), "at-risk", "--top", "5", "--format", "csv"])
    assert csv_out.exit_code == 0 and csv_out.output.splitlines()[0].startswith("external_id,")
    table = runner.invoke(app, ["--db", str(path), "at-risk", "--top", "5", "--lang", "de"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Wert in Gefahr" in table.output
    who = rows[0]["external_id"]
    prof = json.loads(runner.invoke(app, ["--db", str(path), "customer", who, "--format", "json"]).output)
    assert prof["predictions"]["value_at_risk"] == pytest.approx(rows[0]["value_at_risk"])
    text = runner.invoke(app, ["--db", str(path), "customer", who, "--lang", "en"], env={"COLUMNS": "200"}).output
    assert "P(alive)" in text and "CLV" in text
    # The model by its name, not its stored key; the German screen is German from its first line.
    name = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD", "nbd": "NBD"}[prof["predictions"]["model"]]
    assert f"{name}: P(alive)" in text
    german = runner.invoke(app, ["--db", str(path), "customer", who, "--lang", "de"], env={"COLUMNS": "200"}).output
    assert german.startswith(f"Kundenprofil {who} ·") and f"{name}: P(aktiv)" in german


def test_report_has_the_backtest_section(demo_shop, tmp_path):
    _, path, _, _ = demo_shop
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["--db", str(path), "report", "-o", str(out), "--lang", "en"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert 'id="predictions"' in html and "Cumulative repeat purchases in the holdout" in html
    assert html.count("<svg") >= 8 and "Churn model (no purchase within" in html


def test_thin_history_falls_back_to_rules_and_says_so(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'small.db'}")
    data = generate(n_customers=150, seed=5)
    set_config(engine, "time_zone", "Europe/Berlin")
    store(engine, data)
    run = refresh(engine)
    info = run.summary["predictions"]
    assert info["chosen"]["model"] == "rules"
    assert "customers in the calibration period (need 200)" in message_text(info["chosen"]["reason"], "en")
    df, _ = predictions(engine)
    assert (df["model"] == "rules").all() and df["p_alive"].isna().all()
    assert df["churn_probability"].between(0, 1).all() and df["clv"].notna().all()
    res = runner.invoke(app, ["--db", str(tmp_path / "small.db"), "predict", "--lang", "en"])
    assert "Rules instead" in res.output


@pytest.mark.parametrize("n", [500, 250_000])
def test_the_check_model_is_judged_on_all_rows_or_a_stratified_sample(n):
    from retentio.models.churn import MAX_JUDGED_ROWS
    from retentio.models.churn import stratified_rows as evaluation_rows

    y = (np.random.default_rng(3).random(n) < 0.13).astype(int)
    rows = evaluation_rows(y, MAX_JUDGED_ROWS)
    assert len(rows) == min(n, MAX_JUDGED_ROWS) and len(np.unique(rows)) == len(rows)
    assert np.all(np.diff(rows) > 0)
    assert abs(y[rows].mean() - y.mean()) < 1e-4  # the label's share is kept
    assert np.array_equal(rows, evaluation_rows(y, MAX_JUDGED_ROWS))  # the same rows in every run


def test_without_gamma_gamma_each_customer_is_expected_to_spend_their_own_average_order(monkeypatch):
    import pandas as pd

    from retentio.errors import RetentioError
    from retentio.i18n import Msg
    from retentio.predictions import transactions

    def refuses(self, *_a, **_k):
        raise RetentioError(Msg("too few repeat buyers"))

    monkeypatch.setattr(transactions.GammaGammaFitter, "fit", refuses)
    sm = pd.DataFrame({"frequency": [0, 2, 3], "monetary_value": [np.nan, 10.0, 20.0]})
    warnings = []
    spend, info = transactions._spend(sm, sm, warnings)
    # A one-time buyer has no repeat spend of their own: the mean of those who have.
    assert spend.tolist() == [15.0, 10.0, 20.0]
    assert info["status"] == "skipped"
    (w,) = warnings
    for lang, words in (("en", "Gamma-Gamma could not be used (too few repeat buyers): each customer's expected "
                               "spend per order is their own average order value"),
                        ("de", "Gamma-Gamma war nicht anwendbar")):
        assert w.render(lang).startswith(words)
