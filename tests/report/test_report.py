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
