"""The HTML report: self-contained, localised, built from stored results."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.helpers import load_orders

from retentio.refresh import refresh
from retentio.report.html import write_report


@pytest.fixture
def shop(sqlite_engine, tmp_path):
    rows = [(f"{c}-{k}", f"c{c}", (dt.datetime(2024, 1, 3) + dt.timedelta(days=17 * k + c)).isoformat(), str(12.5 + c))
            for c in range(30) for k in range(1 + c % 5)]
    load_orders(sqlite_engine, tmp_path, rows, tz="Europe/Berlin")
    refresh(sqlite_engine)
    return sqlite_engine


@pytest.mark.parametrize(("lang", "title", "money"), [("de", "Kundenbindungsbericht", r"\d,\d\d\s€"),
                                                      ("en", "Retention report", r"€\d")])
def test_report_is_offline_and_localised(shop, tmp_path, lang, title, money):
    out = write_report(shop, tmp_path / f"r-{lang}.html", lang)
    html = out.read_text(encoding="utf-8")
    assert title in html
    assert re.search(money, html)
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html)
    assert html.count("<svg") >= 4


@pytest.mark.parametrize(("lang", "heading"), [("de", "Flows: Wirkung gegenüber der Kontrollgruppe"),
                                               ("en", "Flows: effect against the control group")])
def test_report_shows_flows_against_control(sqlite_engine, tmp_path, lang, heading):
    from tests.act.conftest import NOW, Shop
    from tests.act.test_runner import flow, install

    from retentio.act.runner import run_flows

    shop = Shop(sqlite_engine)
    for cid in range(1, 41):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(days=40 + cid))
        shop.order(cid, NOW - dt.timedelta(days=30), total=20)
    refresh(sqlite_engine, predictions=False)
    install(sqlite_engine, flow("fb", {"type": "event", "event": "order_placed", "lookback_days": 31},
                                [{"id": "m", "type": "send", "template": "feedback_request"}], control_share=0.3,
                                name={"de": "Feedback-Test", "en": "Feedback test"}))
    run_flows(sqlite_engine, NOW - dt.timedelta(days=29))
    html = write_report(sqlite_engine, tmp_path / "r.html", lang, "month").read_text(encoding="utf-8")
    assert heading in html and ("Feedback-Test" if lang == "de" else "Feedback test") in html
    section = html[html.index(heading):]
    assert re.search(r"<td>A</td><td>\d+</td><td>\d+</td><td>\d+</td>", section)
