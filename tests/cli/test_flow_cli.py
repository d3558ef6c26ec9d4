"""`retentio segments|flows|worker|unsubscribe-link` through Typer on a real SQLite file and SMTP server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.act.conftest import NOW, Shop
from tests.act.servers import SmtpSink
from typer.testing import CliRunner

from retentio.cli import app
from retentio.db.session import get_engine

runner = CliRunner()


def cli(db, *args, env=None):
    res = runner.invoke(app, ["--db", str(db), *args], env={"COLUMNS": "200", **(env or {})})
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture
def shop_db(tmp_path):
    path = tmp_path / "shop.db"
    shop = Shop(get_engine(f"sqlite:///{path}"))
    for cid in range(1, 6):
        shop.customer(cid, locale="de_DE" if cid % 2 else "en_US", tz="Europe/Berlin")
        shop.order(cid, NOW - dt.timedelta(hours=2), products=(1, 2))
    return path


def test_flows_list_json_and_switches(shop_db):
    flows = json.loads(cli(shop_db, "flows", "list", "--format", "json"))
    assert len(flows) >= 14 and not any(f["enabled"] for f in flows)
    assert {"key", "name", "enabled", "version", "trigger", "control_share", "sent"} <= set(flows[0])
    cli(shop_db, "flows", "enable", "feedback_request", "birthday")
    cli(shop_db, "flows", "set", "feedback_request", "wait.days", "0")
    on = {f["key"]: f for f in json.loads(cli(shop_db, "flows", "list", "--format", "json")) if f["enabled"]}
    assert set(on) == {"feedback_request", "birthday"} and on["feedback_request"]["version"] == 2
    shown = json.loads(cli(shop_db, "flows", "show", "feedback_request"))
    assert shown["steps"][0]["days"] == 0
    assert json.loads(cli(shop_db, "flows", "show", "feedback_request", "--version", "1"))["steps"][0]["days"] == 10
    cli(shop_db, "flows", "disable", "--all")
    assert not any(f["enabled"] for f in json.loads(cli(shop_db, "flows", "list", "--format", "json")))


def test_import_a_flow_file(shop_db, tmp_path):
    f = tmp_path / "vip.toml"
    f.write_text('key = "vip_thanks"\nname = "VIP"\n[trigger]\ntype = "event"\nevent = "order_placed"\n'
                 '[[steps]]\ntype = "send"\ntemplate = "promoter_referral"\n', encoding="utf-8")
    assert "version 1" in cli(shop_db, "flows", "import", str(f))
    bad = tmp_path / "bad.toml"
    bad.write_text('key = "x"\n[trigger]\ntype = "nope"\n', encoding="utf-8")
    res = runner.invoke(app, ["--db", str(shop_db), "flows", "import", str(bad)])
    assert res.exit_code != 0 and "trigger type" in str(res.exception)


def test_dry_run_preview_run_worker_report(shop_db):
    cli(shop_db, "flows", "enable", "feedback_request")
    cli(shop_db, "flows", "set", "feedback_request", "control_share", "0")
    now = (NOW + dt.timedelta(hours=1)).isoformat()
    dry = json.loads(cli(shop_db, "flows", "run", "--dry-run", "--now", now, "--format", "json"))
    assert dry["dry_run"] and dry["flows"]["feedback_request"]["entered"] == 5 and dry["actions"] == []
    preview = json.loads(cli(shop_db, "flows", "preview", "feedback_request", "--customer", "K2", "--format", "json"))
    assert preview["locale"] == "en" and preview["subject"] == "How happy are you with Shop?"
    assert preview["would_send"]["status"] == "pending"
    cli(shop_db, "flows", "run", "--now", now)
    later = (NOW + dt.timedelta(days=11)).isoformat()
    out = json.loads(cli(shop_db, "flows", "run", "--now", later, "--format", "json"))
    assert out["flows"]["feedback_request"]["queued"] == 5
    with SmtpSink() as sink:
        stats = json.loads(cli(shop_db, "worker", "--once", "--format", "json",
                               env={"RETENTIO_SMTP_URL": sink.url}))
    assert stats["sent"] == 5 and len(sink.messages) == 5
    outbox = json.loads(cli(shop_db, "flows", "outbox", "--format", "json"))
    assert outbox == [{"flow": "feedback_request", "channel": "email", "status": "sent", "reason": "",
                       "messages": 5, "in_doubt": 0, "last_error": None}]
    report = json.loads(cli(shop_db, "flows", "report", "--format", "json"))
    assert report[0]["flow"] == "feedback_request" and report[0]["verdict"] == "no_control"
    csv_out = cli(shop_db, "flows", "report", "--format", "csv")
    assert csv_out.splitlines()[0].startswith("flow,variant,treated,control")


def test_segments_save_preview_members(shop_db):
    cli(shop_db, "segments", "save", "germans", "--where", '{"field": "lang", "eq": "de"}')
    listed = json.loads(cli(shop_db, "segments", "list", "--format", "json"))
    assert listed[0]["name"] == "germans" and listed[0]["definition"] == {"field": "lang", "eq": "de"}
    p = json.loads(cli(shop_db, "segments", "preview", "germans", "--format", "json"))
    assert p["customers"] == 3 and p["email_marketing"] == 3
    members = cli(shop_db, "segments", "members", "germans").splitlines()
    assert members == ["external_id,email_marketing", "K1,True", "K3,True", "K5,True"]
    res = runner.invoke(app, ["--db", str(shop_db), "segments", "save", "x", "--where", '{"field": "nope", "eq": 1}'])
    assert res.exit_code != 0 and "unknown field" in str(res.exception)


def test_unsubscribe_link(shop_db):
    from retentio.act.links import link_secret, verify
    from retentio.db.session import get_engine

    url = cli(shop_db, "unsubscribe-link", "K3").strip()
    assert verify(url.rsplit("/u/", 1)[1], link_secret(get_engine(f"sqlite:///{shop_db}"))).customer_id == 3


def test_targets_rank_by_expected_incremental_value(tmp_path):
    from sqlalchemy import text

    from retentio.db.session import get_engine

    path = tmp_path / "t.db"
    engine = get_engine(f"sqlite:///{path}")
    shop = Shop(engine)
    for cid in range(1, 6):
        shop.customer(cid)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO refresh_runs (id, started_at, status, as_of, engine, time_zone) VALUES "
                          "(1, '2026-03-01 00:00:00.000000', 'ok', '2026-03-01 00:00:00.000000', 'duckdb', 'UTC')"))
        # EIV = 0.1 × churn × CLV − 5: 45, 15, 5, −1, −4
        for cid, churn, clv in [(1, 0.5, 1000), (2, 0.5, 400), (3, 1.0, 100), (4, 0.4, 100), (5, 0.1, 100)]:
            conn.execute(text("INSERT INTO customer_predictions (run_id, customer_id, model, churn_probability, clv) "
                              "VALUES (1, :c, 'bgnbd', :p, :v)"), {"c": cid, "p": churn, "v": clv})
    out = json.loads(cli(path, "targets", "--cost", "5", "--budget", "10", "--format", "json"))
    assert [(r["external_id"], round(r["eiv"], 6)) for r in out] == [("K1", 45.0), ("K2", 15.0)]
    everyone = json.loads(cli(path, "targets", "--cost", "5", "--format", "json"))
    assert [r["external_id"] for r in everyone] == ["K1", "K2", "K3"]  # K4, K5 are not worth the cost
