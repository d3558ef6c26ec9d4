"""A refresh always finishes, stores what it can, and readers never see half of one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from tests.helpers import load_orders, write_csv

from retentio import refresh as refresh_module
from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.results import kpis, latest_run, predictions


def _shop(engine, tmp_path, customers: int = 300, seed: int = 3, dropout: bool = True):
    """Customers buying at Gamma-distributed Poisson rates over two years (dropping out or not)."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1)
    rows = []
    for c in range(customers):
        t = rng.uniform(0, 300)
        rate = rng.gamma(1.5, 1 / 40)
        life = rng.exponential(200) if dropout else 1e9
        k = 0
        while t < 730:
            if t <= life or k == 0:
                rows.append((f"o{c}-{k}", f"c{c}", (start + dt.timedelta(days=t)).isoformat(), f"{rng.gamma(4, 8):.2f}"))
            k += 1
            t += rng.exponential(1 / rate)
    load_orders(engine, tmp_path, rows)


def test_a_failing_prediction_stage_leaves_kpis_and_other_stages(sqlite_engine, tmp_path, monkeypatch):
    _shop(sqlite_engine, tmp_path)
    from retentio.predictions import transactions

    def broken(*_a, **_k):
        raise ZeroDivisionError("a bug in one stage")

    monkeypatch.setattr("retentio.predictions.transaction_scores", broken)
    assert transactions.transaction_scores is not broken
    run = refresh(sqlite_engine)
    assert run.status == "ok"
    stages = run.summary["predictions"]["stages"]
    assert stages["transactions"] == {"status": "failed", "reason": {"msg": "unexpected error ({kind})",
                                                                     "args": {"kind": "ZeroDivisionError"}}}
    assert stages["churn"]["status"] in ("ok", "skipped") and stages["contracts"]["status"] == "skipped"
    df, _ = kpis(sqlite_engine, "month")
    assert len(df) > 12 and df["s"].sum() > 0
    pred, _ = predictions(sqlite_engine)
    assert len(pred) > 0 and pred["clv"].isna().all() and (pred["model"] == "none").all()


def test_no_dropout_data_choose_the_nbd_and_stay_plausible(sqlite_engine, tmp_path):
    _shop(sqlite_engine, tmp_path, customers=400, dropout=False)
    run = refresh(sqlite_engine)
    info = run.summary["predictions"]
    bt = info["backtest"]
    assert {"nbd", "rules"} <= set(bt["ranking"])
    assert info["chosen"]["model"] == bt["ranking"][0] or info["chosen"]["refit_failures"]
    bound = info["chosen"]["plausibility"]
    pred, _ = predictions(sqlite_engine)
    assert (pred["expected_purchases"] <= bound["purchases"] + 1e-9).all()
    assert (pred["clv"] <= bound["revenue"] + 1e-6).all()


@pytest.mark.parametrize("one_rate", [False, True], ids=["rates-differ", "one-rate"])
def test_contracts_without_orders(sqlite_engine, tmp_path, one_rate):
    rng = np.random.default_rng(1)
    rows = []
    for c in range(1200):
        start = dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1200)))
        # Churn rates that differ between customers, as the sBG assumes; or one rate for all, where its
        # two parameters run off to infinity together and its geometric limit stands in.
        months = int(rng.geometric(0.06 if one_rate else rng.beta(1.5, 20.0)))
        cancelled = start + dt.timedelta(days=30 * months)
        rows.append([f"S{c}", f"c{c}", start.isoformat(), cancelled.isoformat() if cancelled < dt.date(2024, 6, 1)
                     else "", "29.90"])
    path = write_csv(tmp_path / "abos.csv", ["subscription_id", "customer_id", "started_at", "cancelled_at",
                                              "monthly_amount"], rows)
    assert run_import(sqlite_engine, "subscriptions", path).rows_rejected == 0
    run = refresh(sqlite_engine)
    assert run.status == "ok"
    stages = run.summary["predictions"]["stages"]
    assert stages["transactions"]["status"] == "skipped" and stages["contracts"]["status"] == "ok"
    assert stages["churn"]["status"] == "ok"  # the label: no contract left at cutoff + horizon
    df, _ = kpis(sqlite_engine, "month")
    assert df["s"].max() > 100  # running contracts make customers active
    pred, _ = predictions(sqlite_engine)
    assert pred["contract_renewal_probability"].notna().any() and pred["churn_probability"].between(0, 1).all()
    info = run.summary["predictions"]["contracts"]
    if one_rate:  # about 1 - 0.06 per 30 days, renewed per month of 30.4 days, for every tenure
        renew = pred["contract_renewal_probability"].dropna()
        assert renew.between(0.92, 0.95).all() and renew.max() - renew.min() < 0.005  # tenure tells nothing
        # The limit where the sBG fit is refused (as with scipy 1.17), else the sBG at its huge alpha, beta.
        assert (info["model"] == "geometric" and "one churn rate" in info["notes"][0]["msg"]) or \
            info["params"]["alpha"] + info["params"]["beta"] > 100
    else:
        assert info["model"] == "sBG" and info["params"]["alpha"] + info["params"]["beta"] < 100
    from retentio.formatting import Fmt
    from retentio.report.predictions import prediction_context

    for lang, word in (("en", "Contracts ("), ("de", "Verträge (")):
        text = prediction_context(sqlite_engine, run, lang, Fmt(lang))["contracts_text"]
        assert text.startswith(word) and "12" in text, text


def test_readers_see_the_last_complete_run_until_the_next_one_is_complete(sqlite_engine, tmp_path, monkeypatch):
    _shop(sqlite_engine, tmp_path, customers=250)
    first = refresh(sqlite_engine)
    before, _ = predictions(sqlite_engine)
    assert len(before) > 0

    def killed(*_a, **_k):  # the process dies after the scores are stored, before the run is complete
        raise KeyboardInterrupt

    monkeypatch.setattr(refresh_module, "store_kpis", killed)
    with pytest.raises(KeyboardInterrupt):
        refresh(sqlite_engine)
    assert latest_run(sqlite_engine).id == first.id
    after, _ = predictions(sqlite_engine)
    assert len(after) == len(before)
    assert after["value_at_risk"].sum() == pytest.approx(before["value_at_risk"].sum())
    with sqlite_engine.connect() as c:
        statuses = [r[0] for r in c.execute(sa.text("select status from refresh_runs order by id"))]
    assert statuses == ["ok", "running"]  # as a killed process leaves it
    monkeypatch.undo()
    third = refresh(sqlite_engine)
    with sqlite_engine.connect() as c:
        runs = {r[0] for r in c.execute(sa.text("select distinct run_id from customer_predictions"))}
    assert runs == {third.id}  # the dead run's rows are gone with the old ones


def test_a_failed_score_write_beside_the_predictions_fails_the_run_and_keeps_the_last_one(sqlite_engine, tmp_path,
                                                                                           monkeypatch):
    """The scores are written in a thread while the predictions run: its error must reach the run."""
    _shop(sqlite_engine, tmp_path, customers=200)
    first = refresh(sqlite_engine)
    before, _ = predictions(sqlite_engine)
    written = []

    def full_disk(*_a, **_k):
        written.append(True)
        raise OSError("database or disk is full")

    monkeypatch.setattr(refresh_module, "store_scores", full_disk)
    with pytest.raises(OSError):
        refresh(sqlite_engine)
    assert written == [True]
    assert latest_run(sqlite_engine).id == first.id
    after, _ = predictions(sqlite_engine)
    assert len(after) == len(before)
    with sqlite_engine.connect() as c:
        statuses = [r[0] for r in c.execute(sa.text("select status, error from refresh_runs order by id"))]
        error = c.execute(sa.text("select error from refresh_runs order by id desc limit 1")).scalar()
    assert statuses == ["ok", "failed"]
    assert error == "OSError"  # the kind only: an error's text may hold data


def test_the_previous_runs_rows_go_after_the_switch_and_a_failure_there_leaves_them_to_the_next_run(
        sqlite_engine, tmp_path, monkeypatch):
    _shop(sqlite_engine, tmp_path, customers=200)
    first = refresh(sqlite_engine)

    def runs():
        with sqlite_engine.connect() as c:
            return tuple({r[0] for r in c.execute(sa.text(f"select distinct run_id from {t}"))}
                         for t in ("customer_scores", "customer_predictions"))

    assert runs() == ({first.id}, {first.id})
    real = refresh_module.remove_other_runs
    monkeypatch.setattr(refresh_module, "remove_other_runs", lambda *_a: (_ for _ in ()).throw(OSError("disk I/O")))
    second = refresh(sqlite_engine)
    # The run is complete and read; its predecessor's rows are still there, unread, and the run says why.
    assert second.status == "ok" and latest_run(sqlite_engine).id == second.id
    assert second.summary["previous_runs"]["error"]["args"]["kind"] == "OSError"
    assert runs() == ({first.id, second.id}, {first.id, second.id})
    preds, _ = predictions(sqlite_engine)
    assert preds["customer_id"].is_unique and len(preds) > 100
    monkeypatch.setattr(refresh_module, "remove_other_runs", real)
    third = refresh(sqlite_engine)
    assert runs() == ({third.id}, {third.id})
    assert third.summary["previous_runs"]["removed_s"] >= 0
