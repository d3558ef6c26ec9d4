"""E-mails a real shop can send: identity and imprint, buttons, cart items, fitting tips, vouchers valid
from the day they are sent — checked in the messages that reach a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.act.conftest import NOW, Shop
from tests.act.servers import SmtpSink
from tests.act.test_runner import flow, install
from typer.testing import CliRunner

from retentio.act.channels import SmtpChannel
from retentio.act.runner import run_flows
from retentio.act.worker import Worker
from retentio.db.models import Event
from retentio.formatting import Fmt
from retentio.shop import set_config

IDENTITY = {"legal_name": "Röstwerk Hamburg GmbH", "postal_address": "Hafenstraße 1, 20457 Hamburg",
            "imprint": "Geschäftsführerin: A. Muster · HRB 12345, Amtsgericht Hamburg",
            "shop_url": "https://roestwerk.example", "public_url": "https://links.roestwerk.example"}


def deliver(db, at: dt.datetime) -> list:
    with SmtpSink() as sink:
        Worker(db, {"email": SmtpChannel(sink.url, "shop@roestwerk.example", "Röstwerk")},
               send_clock=lambda: at).run(clock=lambda: at)
    return sink.messages


def parts(msg) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


@pytest.fixture
def identity(db):
    for key, value in IDENTITY.items():
        set_config(db, key, value)
    return db


def test_layout_shows_the_shop_identity_and_every_link_is_a_link(identity, db):
    shop = Shop(db)
    shop.customer(1, locale="en_GB", first_name="Ben")
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("fb", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, NOW.replace(hour=12))
    (msg,) = deliver(db, NOW + dt.timedelta(days=1))
    text, html = parts(msg)
    for part in (text, html):
        assert "Röstwerk Hamburg GmbH" in part and "Hafenstraße 1, 20457 Hamburg" in part and "HRB 12345" in part
    feedback = next(w for w in text.split() if w.startswith("https://links.roestwerk.example/f/"))
    assert f'href="{feedback}"' in html  # the button and the link in the text
    assert html.count(f'href="{feedback}"') >= 2 and "Rate us now" in html
    assert "word-break:break-all" in html  # long addresses wrap instead of widening the mail
    assert 'href="https://links.roestwerk.example/u/' in html


def test_the_abandoned_cart_mail_lists_the_cart(identity, db):
    shop = Shop(db)
    shop.customer(1)
    with db.begin() as conn:
        conn.execute(Event.__table__.insert(), [{
            "event_key": "cart-1", "customer_id": 1, "type": "cart_abandoned", "occurred_at": NOW,
            "properties": {"items": [{"name": "Espresso Bohnen 1 kg", "quantity": 2, "price": 24.9},
                                     {"title": "Filtertüten <100>", "qty": 1}],
                           "cart_url": "https://roestwerk.example/cart/abc"}}])
    install(db, flow("cart", {"type": "event", "event": "cart_abandoned"},
                     [{"id": "m", "type": "send", "template": "abandoned_cart"}]))
    run_flows(db, NOW + dt.timedelta(hours=3))
    (msg,) = deliver(db, NOW + dt.timedelta(hours=4))
    text, html = parts(msg)
    assert "• 2 × Espresso Bohnen 1 kg – 24,90\xa0€" in text and "• 1 × Filtertüten <100>" in text
    assert "Filtertüten &lt;100&gt;" in html and 'href="https://roestwerk.example/cart/abc"' in html
    assert "Zum Warenkorb" in html


@pytest.mark.parametrize(("category", "present", "absent"), [
    ("coffee_tea", "luftdicht, kühl und dunkel", "Garantie"),
    ("general", "Kundenservice", "Kaffee"),
])
def test_after_purchase_tips_fit_the_shop(db, category, present, absent):
    set_config(db, "category", category)
    shop = Shop(db)
    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("tips", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "post_purchase_tips"}]))
    run_flows(db, NOW.replace(hour=12))
    (msg,) = deliver(db, NOW + dt.timedelta(days=1))
    text, _ = parts(msg)
    assert present in text and absent not in text


def test_a_voucher_is_valid_from_the_day_it_is_sent(db):
    shop = Shop(db)
    shop.customer(1, locale="en_GB")
    shop.order(1, NOW - dt.timedelta(hours=1))
    install(db, flow("wb", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "winback",
                       "incentive": {"min_percent": 10, "max_percent": 10, "valid_days": 30}}]))
    run_flows(db, NOW.replace(hour=12))
    sent = NOW + dt.timedelta(days=9)  # e.g. held back by quiet hours, or a worker that was down
    (msg,) = deliver(db, sent)
    text, html = parts(msg)
    until = Fmt("en").date(sent.date() + dt.timedelta(days=30))
    assert f"valid until {until}" in text and until in html
    assert "\u27e6" not in text + html + str(msg["Subject"])


def test_worker_says_what_is_missing_and_outbox_shows_the_last_error(sqlite_engine):
    from retentio.cli import app

    db = sqlite_engine
    shop = Shop(db)
    for cid in (1, 2):
        shop.customer(cid)
        shop.order(cid, NOW - dt.timedelta(hours=1))
    install(db, flow("fb", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, NOW.replace(hour=12))
    url = db.url.render_as_string(hide_password=False)
    runner = CliRunner()
    res = runner.invoke(app, ["--db", url, "--lang", "en", "worker", "--once", "--channel", "webhook"],
                        env={"RETENTIO_SMTP_URL": ""})
    assert res.exit_code == 0, res.output
    assert "RETENTIO_SMTP_URL is not set: 2 emails stay queued" in res.stderr
    assert "customers cannot reach it" in res.stderr  # the default public address is this machine
    with SmtpSink() as sink:
        sink.inbox.refuse.add("k1@example.org")
        res = runner.invoke(app, ["--db", url, "worker", "--once"], env={"RETENTIO_SMTP_URL": sink.url})
        assert res.exit_code == 0, res.output
    out = json.loads(runner.invoke(app, ["--db", url, "flows", "outbox", "--messages", "--format", "json"]).stdout)
    by_customer = {r["customer"]: r for r in out}
    assert by_customer["K1"]["status"] == "failed" and "550" in by_customer["K1"]["last_error"]
    assert by_customer["K2"]["status"] == "sent" and by_customer["K2"]["last_error"] is None
