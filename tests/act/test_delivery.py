"""The worker against a real SMTP server (aiosmtpd) and a real HTTP receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select, text
from tests.act.conftest import NOW, Shop
from tests.act.servers import HttpReceiver, SmtpSink
from tests.act.test_runner import flow, install

from retentio.act.channels import SmtpChannel, WebhookChannel, message_id, sign_webhook
from retentio.act.consent import unsubscribe
from retentio.act.links import link_secret, verify
from retentio.act.runner import run_flows
from retentio.act.worker import MAX_ATTEMPTS, Worker, backoff
from retentio.db.act_models import CallListEntry, OutboxMessage, Suppression


def queue_feedback_mails(db, shop: Shop, ids, **kw):
    for cid in ids:
        shop.customer(cid, **kw)
        shop.order(cid, NOW - dt.timedelta(hours=1), products=(1, 2))
    install(db, flow("fb", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, NOW.replace(hour=12))


def clock(at=None):
    return lambda: at or NOW + dt.timedelta(days=1)


def statuses(db) -> dict[int, str]:
    with db.connect() as conn:
        return dict(conn.execute(select(OutboxMessage.customer_id, OutboxMessage.status)).all())


def test_email_goes_out_once_with_rfc8058_headers(db, shop: Shop):
    queue_feedback_mails(db, shop, [1, 2], locale="de_DE")
    shop.customer(3, locale="en_GB", first_name="Ben")
    shop.order(3, NOW.replace(hour=12, minute=30))  # after the first run: the next run picks it up
    run_flows(db, NOW.replace(hour=13))
    with SmtpSink() as sink:
        stats = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com", "Röstwerk")}).run(clock=clock())
        again = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(clock=clock())
    assert stats["sent"] == 3 and again["sent"] == 0
    msgs = {m["To"]: m for m in sink.messages}
    assert len(sink.messages) == 3
    de, en = msgs["k1@example.org"], msgs["k3@example.org"]
    assert de["Subject"] == "Wie zufrieden sind Sie mit Shop?" and en["Subject"] == "How happy are you with Shop?"
    assert "Hallo Anna" in de.get_body(("plain",)).get_content()
    assert "Hi Ben" in en.get_body(("plain",)).get_content()
    assert en.get_body(("html",)).get_content().startswith("<!doctype html>")
    assert de["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = de["List-Unsubscribe"].strip("<>").rsplit("/u/", 1)[1]
    assert verify(token, link_secret(db)).customer_id == 1
    with db.connect() as conn:
        row = conn.execute(select(OutboxMessage).where(OutboxMessage.customer_id == 1)).one()
    assert de["Message-ID"] == row.message_id == message_id(row.idempotency_key, "example.com")
    assert row.status == "sent" and row.sent_at is not None


def test_consent_withdrawn_or_suppressed_after_planning_is_not_sent(db, shop: Shop):
    queue_feedback_mails(db, shop, [1, 2, 3])
    unsubscribe(db, 1)
    with db.begin() as conn:
        conn.execute(Suppression.__table__.insert(), [{"channel": "email", "address": "k2@example.org",
                                                       "reason": "bounce", "created_at": NOW}])
        # a message queued before the withdrawal: the worker re-checks at send time
        conn.execute(text("UPDATE outbox SET status = 'pending' WHERE customer_id = 1"))
    with SmtpSink() as sink:
        Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(clock=clock())
    assert [m["To"] for m in sink.messages] == ["k3@example.org"]
    assert statuses(db) == {1: "skipped", 2: "skipped", 3: "sent"}


def test_refused_recipient_fails_permanently_others_go_on(db, shop: Shop):
    queue_feedback_mails(db, shop, [1, 2])
    with SmtpSink() as sink:
        sink.inbox.refuse.add("k1@example.org")
        stats = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(clock=clock())
    assert stats["failed"] == 1 and stats["sent"] == 1
    assert statuses(db) == {1: "failed", 2: "sent"}


def test_unreachable_server_retries_with_backoff_then_delivers(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    dead = SmtpChannel("smtp://127.0.0.1:1", "shop@example.com", timeout=2)
    t0 = NOW + dt.timedelta(days=1)
    assert Worker(db, {"email": dead}).run(clock=clock(t0))["retry"] == 1
    with db.connect() as conn:
        row = conn.execute(select(OutboxMessage)).one()
    assert row.status == "pending" and row.not_before == t0 + backoff(1) and "Error" in row.last_error
    with SmtpSink() as sink:
        early = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(clock=clock(t0))
        late = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(
            clock=clock(t0 + dt.timedelta(minutes=5)))
    assert early["sent"] == 0 and late["sent"] == 1 and len(sink.messages) == 1


def test_gives_up_after_max_attempts(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    dead = SmtpChannel("smtp://127.0.0.1:1", "shop@example.com", timeout=2)
    t = NOW + dt.timedelta(days=1)
    for _ in range(MAX_ATTEMPTS):
        Worker(db, {"email": dead}).run(clock=clock(t))
        t += dt.timedelta(hours=2)
    assert statuses(db) == {1: "failed"}


def test_webhook_is_signed_and_retried(db, shop: Shop):
    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1))
    with HttpReceiver(statuses=[503, 200]) as rx:
        install(db, flow("hook", {"type": "event", "event": "order_placed"},
                         [{"id": "h", "type": "webhook", "url": rx.url + "/crm", "event": "order_feedback_due"}]))
        run_flows(db, NOW)
        t0 = NOW + dt.timedelta(minutes=1)
        first = Worker(db, {"webhook": WebhookChannel("s3cret")}).run(clock=clock(t0))
        second = Worker(db, {"webhook": WebhookChannel("s3cret")}).run(clock=clock(t0 + dt.timedelta(minutes=2)))
    assert first["retry"] == 1 and second["sent"] == 1 and len(rx.requests) == 2
    req = rx.requests[1]
    h = {k.lower(): v for k, v in req["headers"].items()}
    assert h["idempotency-key"] == "hook:h:1:1" == {k.lower(): v for k, v in rx.requests[0]["headers"].items()}[
        "idempotency-key"]
    expected = "sha256=" + hmac.new(b"s3cret", h["x-retentio-timestamp"].encode() + b"." + req["body"],
                                    hashlib.sha256).hexdigest()
    assert h["x-retentio-signature"] == expected == sign_webhook("s3cret", h["x-retentio-timestamp"], req["body"])
    assert req["json"]["event"] == "order_feedback_due" and req["json"]["customer"] == "K1"
    assert "email" not in json.dumps(req["json"])  # no PII beyond the customer number


def test_webhook_client_error_is_permanent(db, shop: Shop):
    shop.customer(1)
    shop.order(1, NOW - dt.timedelta(hours=1))
    with HttpReceiver(statuses=[400]) as rx:
        install(db, flow("hook", {"type": "event", "event": "order_placed"},
                         [{"id": "h", "type": "webhook", "url": rx.url}]))
        run_flows(db, NOW)
        stats = Worker(db, {"webhook": WebhookChannel("k")}).run(clock=clock())
    assert stats["failed"] == 1 and len(rx.requests) == 1


def test_call_list_entries_are_written_exactly_once(db, shop: Shop, tmp_path):
    from retentio.act.calls import call_rows, write_file

    for cid in (1, 2):
        shop.customer(cid, consent=None)
        shop.order(cid, NOW - dt.timedelta(hours=1))
    install(db, flow("calls", {"type": "event", "event": "order_placed"},
                     [{"id": "c", "type": "call_list", "list": "service", "template": "detractor_call"}]))
    run_flows(db, NOW)
    for _ in range(2):
        Worker(db, {}).run(clock=clock())
    with db.connect() as conn:
        assert conn.execute(select(CallListEntry.customer_id).order_by(CallListEntry.customer_id)).scalars().all() == [1, 2]
    rows = call_rows(db, "service")
    assert "Service-Rückruf: Anna Muster (Kundennr. K1)" in rows[0]["script"]
    write_file(rows, tmp_path / "calls.xlsx")
    write_file(rows, tmp_path / "calls.csv")
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "calls.xlsx").active
    assert ws["C2"].value in ("K1", "K2") and ws.max_row == 3
    assert (tmp_path / "calls.csv").read_text(encoding="utf-8-sig").startswith("id;list;customer")


@pytest.mark.parametrize(("rate", "calls"), [(5.0, 15), (20.0, 30)])
def test_rate_limit_never_exceeds_the_rate(rate, calls):
    import time

    from retentio.act.channels import RateLimiter

    limiter = RateLimiter(rate)
    t = time.monotonic()
    for _ in range(calls):
        limiter.wait()
    # one second's worth may go at once, every further call waits 1/rate: a lower bound, robust under load
    assert time.monotonic() - t >= (calls - rate) / rate - 0.05


def test_a_message_is_due_at_exactly_its_not_before(db, shop: Shop):
    """SQLite compares stored times as text: the bound 'now' must use the stored format (regression)."""
    queue_feedback_mails(db, shop, [1])
    with db.connect() as conn:
        due = conn.execute(select(OutboxMessage.not_before)).scalar()
    with SmtpSink() as sink:
        stats = Worker(db, {"email": SmtpChannel(sink.url, "shop@example.com")}).run(clock=clock(due))
    assert stats["sent"] == 1


def test_a_channel_that_raises_retries_and_then_fails_without_stopping_the_worker(db, shop: Shop):
    class Broken:
        name = "email"

        def send(self, msg):
            raise RuntimeError("boom")

        def close(self):
            pass

    queue_feedback_mails(db, shop, [1, 2])
    t = NOW + dt.timedelta(days=1)
    first = Worker(db, {"email": Broken()}).run(clock=clock(t))
    assert first["retry"] == 2
    for _ in range(MAX_ATTEMPTS):
        t += dt.timedelta(hours=2)
        Worker(db, {"email": Broken()}).run(clock=clock(t))
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.status, OutboxMessage.last_error)).all()
    assert [tuple(r) for r in rows] == [("failed", "RuntimeError: boom")] * 2
