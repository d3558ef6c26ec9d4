"""SMTP edge cases against a real aiosmtpd server: in-doubt sends, international addresses, header injection."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from tests.act.conftest import Shop
from tests.act.servers import SmtpSink
from tests.act.test_delivery import clock, queue_feedback_mails, statuses

from retentio.act.channels import Outgoing, SmtpChannel
from retentio.act.worker import Worker
from retentio.db.act_models import OutboxMessage


def outbox(db) -> list:
    with db.connect() as conn:
        return list(conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)))


def send_all(db, channel, times: int = 1):
    """Run the worker ``times``, each a day later, so retries are due."""
    import datetime as dt

    from tests.act.conftest import NOW

    total = {}
    for i in range(times):
        stats = Worker(db, {"email": channel}).run(clock=clock(NOW + dt.timedelta(days=1 + i)))
        for k, v in stats.items():
            total[k] = total.get(k, 0) + v
    return total


def test_a_connection_dropped_after_the_body_is_in_doubt_and_resent_once_with_the_same_id(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    with SmtpSink() as sink:
        sink.inbox.drop = 1
        stats = send_all(db, SmtpChannel(sink.url, "shop@example.com", timeout=5), times=2)
    assert stats["in_doubt"] == 1 and stats["sent"] == 1
    ids = sink.ids()
    assert len(sink.messages) == 2 and len(ids) == 1  # two copies, one Message-ID: the receiver can drop one
    (row,) = outbox(db)
    assert row.status == "sent" and row.recoveries == 1


def test_a_server_that_keeps_dropping_leaves_the_message_in_doubt_not_resent_again(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    with SmtpSink() as sink:
        sink.inbox.drop = 10
        stats = send_all(db, SmtpChannel(sink.url, "shop@example.com", timeout=5), times=4)
    assert len(sink.messages) == 2 and stats["in_doubt"] == 2 and stats.get("sent", 0) == 0
    (row,) = outbox(db)
    assert row.status == "in_doubt" and "in doubt" in row.last_error


def test_a_server_that_hangs_after_the_body_is_in_doubt(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    with SmtpSink() as sink:
        sink.inbox.hang = 3
        stats = send_all(db, SmtpChannel(sink.url, "shop@example.com", timeout=1))
    assert stats["in_doubt"] == 1 and len(sink.messages) == 1
    (row,) = outbox(db)
    assert row.status == "pending" and row.recoveries == 1 and "in doubt" in row.last_error


def test_a_refusal_before_the_body_is_a_plain_failure_not_in_doubt(db, shop: Shop):
    queue_feedback_mails(db, shop, [1])
    with SmtpSink() as sink:
        sink.inbox.refuse.add("k1@example.org")
        stats = send_all(db, SmtpChannel(sink.url, "shop@example.com"))
    assert stats["failed"] == 1 and "in_doubt" not in stats and sink.messages == []
    (row,) = outbox(db)
    assert row.recoveries == 0 and "550" in row.last_error


def _msg(address: str, subject: str = "Hallo") -> Outgoing:
    return Outgoing(id=1, key="k-1", channel="email", customer_id=1, address=address, purpose="transactional",
                    subject=subject, body_text="Grüße\n", body_html=None)


@pytest.mark.parametrize(("address", "smtputf8", "ok", "envelope"), [
    ("anna@müller.de", False, True, "anna@xn--mller-kva.de"),           # IDN domain: ASCII form, any server
    ("jürgen@example.org", True, True, "jürgen@example.org"),          # UTF-8 local part: SMTPUTF8 server
    ("jürgen@example.org", False, False, None),                         # ... otherwise refused once, with why
    ("plain@example.org", True, True, "plain@example.org"),
])
def test_international_addresses(address, smtputf8, ok, envelope):
    with SmtpSink(smtputf8=smtputf8) as sink:
        ch = SmtpChannel(sink.url, "shop@example.com")
        result = ch.send(_msg(address))
        ch.close()
    assert result.ok is ok
    if ok:
        (mail_from, rcpts, options), = sink.inbox.envelopes
        assert mail_from == "shop@example.com" and rcpts == [envelope]
        assert ("SMTPUTF8" in options) == (not address.split("@")[0].isascii())
        assert sink.messages[0]["To"] == (address if "SMTPUTF8" in options else envelope)
    else:
        assert result.permanent and "SMTPUTF8" in result.error and sink.messages == []


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.net", "Hi\nX-Evil: 1", "Hi\rBcc: a@b.c"])
def test_header_injection_fails_at_once_without_retries(db, shop: Shop, subject):
    queue_feedback_mails(db, shop, [1])
    with db.begin() as conn:
        conn.execute(update(OutboxMessage).values(subject=subject))
    with SmtpSink() as sink:
        stats = send_all(db, SmtpChannel(sink.url, "shop@example.com"), times=3)
    assert stats == {"failed": 1} and sink.messages == []
    (row,) = outbox(db)
    assert row.status == "failed" and row.attempts == 1 and "invalid message" in row.last_error
    assert statuses(db) == {1: "failed"}
