"""Hostile names — a shop, a customer number, a first name with markup — stay text everywhere they are shown:
the HTML report, the e-mails, the pages behind links and the call lists."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from tests.act.conftest import NOW, Shop
from tests.act.test_delivery import clock
from tests.act.test_runner import flow, install
from tests.helpers import write_csv

from retentio.act.calls import call_rows, write_file
from retentio.act.links import feedback_url, unsubscribe_url
from retentio.act.runner import run_flows
from retentio.act.worker import Worker
from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.report.html import write_report
from retentio.shop import set_config
from retentio.web.links import create_app

SHOP = '<script>alert("shop")</script> & Söhne'
ID = '<img src=x onerror=alert(1)>'
NAME = '<svg onload=alert(2)>"\''
MARKUP = re.compile(r"<script>alert|<img src=x|<svg onload")


def _escaped(html: str) -> None:
    assert not MARKUP.search(html), MARKUP.search(html)


@pytest.fixture
def hostile_shop(db, tmp_path):
    set_config(db, "name", SHOP)
    set_config(db, "legal_name", SHOP + " GmbH")
    customers = write_csv(tmp_path / "customers.csv", ["customer_id", "email", "first_name", "last_name"],
                          [[ID, "anna@example.org", NAME, "Muster"]]
                          + [[f"K{i}", f"k{i}@example.org", "Ben", f"<b>{i}</b>"] for i in range(40)])
    assert run_import(db, "customers", customers).rows_rejected == 0
    rows = []
    for i, cid in enumerate([ID] + [f"K{i}" for i in range(40)]):
        for k in range(1 + i % 4):
            rows.append([f"O{i}-{k}", cid, f"2024-{1 + (i + 3 * k) % 12:02d}-{1 + i % 27:02d}T12:00:00", "20"])
    orders = write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "placed_at", "total"], rows)
    assert run_import(db, "orders", orders).rows_rejected == 0
    refresh(db)
    return db


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_report_escapes_every_name(hostile_shop, tmp_path, lang):
    html = write_report(hostile_shop, tmp_path / "r.html", lang).read_text(encoding="utf-8")
    _escaped(html)
    assert "&lt;script&gt;alert(&#34;shop&#34;)&lt;/script&gt; &amp; Söhne" in html


def test_emails_escape_names_in_html_and_keep_them_in_text(db, tmp_path):
    shop = Shop(db)
    set_config(db, "name", SHOP)
    shop.customer(1, first_name=NAME)
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("fb", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, NOW.replace(hour=12))
    from retentio.act.channels import FileChannel

    Worker(db, {"email": FileChannel(tmp_path / "mail", "shop@example.com", SHOP)}).run(clock=clock())
    (eml,) = (tmp_path / "mail").glob("*.eml")
    import email
    import email.policy

    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    _escaped(html)
    assert "&lt;svg onload=alert(2)&gt;" in html and "&lt;script&gt;" in html
    assert NAME in text  # plain text is not HTML: the name as given
    assert "\n" not in msg["Subject"] and "<script>" in str(msg["Subject"])  # a header is text too


def test_link_pages_escape_the_shop_name(db):
    shop = Shop(db)
    set_config(db, "name", SHOP)
    shop.customer(1, first_name=NAME)
    client = TestClient(create_app(db))
    for url in (unsubscribe_url(db, 1), feedback_url(db, 1)):
        page = client.get("/" + url.split("/", 3)[3])
        assert page.status_code == 200
        _escaped(page.text)
        assert "&lt;script&gt;" in page.text or "&lt;script&gt;" in page.text.replace("&#34;", '"')


def test_call_lists_keep_names_as_text(db, tmp_path):
    from openpyxl import load_workbook

    shop = Shop(db)
    shop.customer(1, consent=None, first_name='=HYPERLINK("http://evil.example","Klick")')
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("calls", {"type": "event", "event": "order_placed"},
                     [{"id": "c", "type": "call_list", "list": "service", "template": "detractor_call"}]))
    run_flows(db, NOW)
    Worker(db, {}).run(clock=clock())
    rows = call_rows(db, "service")
    write_file(rows, tmp_path / "calls.xlsx")
    write_file(rows, tmp_path / "calls.csv")
    ws = load_workbook(tmp_path / "calls.xlsx").active
    cell = ws["D2"]
    assert cell.value == "'=HYPERLINK(\"http://evil.example\",\"Klick\")" and cell.data_type == "s"
    import csv

    with (tmp_path / "calls.csv").open(encoding="utf-8-sig", newline="") as fh:
        (row,) = list(csv.DictReader(fh, delimiter=";"))
    assert row["first_name"] == cell.value
