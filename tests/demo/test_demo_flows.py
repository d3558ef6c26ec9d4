"""Done-when of the flows: the demo shop, all built-in flows on, the worker against a real SMTP server."""

from __future__ import annotations

import datetime as dt
import email.utils
import zoneinfo
from collections import defaultdict

import pytest
from sqlalchemy import select, text
from tests.act.servers import SmtpSink

from retentio.act.channels import SmtpChannel
from retentio.act.effect import effect_report
from retentio.act.flow_store import load_flows, set_enabled
from retentio.act.guardrails import in_quiet_hours
from retentio.act.links import link_secret, verify
from retentio.act.runner import run_flows
from retentio.act.worker import Worker
from retentio.db.act_models import OutboxMessage
from retentio.db.models import Consent, Customer
from retentio.db.session import get_engine
from retentio.demo.generator import generate
from retentio.demo.run import store
from retentio.refresh import refresh
from retentio.shop import load_config, set_config


@pytest.fixture(scope="module")
def demo_sent(tmp_path_factory):
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    set_config(engine, "name", "Bohne & Blatt Rösterei")
    set_config(engine, "time_zone", "Europe/Berlin")
    store(engine, generate(2500, seed=11))
    run = refresh(engine)
    for sf in load_flows(engine):
        set_enabled(engine, sf.flow.key, True)
    start = (run.as_of - dt.timedelta(days=21)).replace(hour=9, minute=0, second=0, microsecond=0)
    with SmtpSink() as sink:
        t = start
        while t <= run.as_of:
            run_flows(engine, t)
            Worker(engine, {"email": SmtpChannel(sink.url, "shop@example.com", "Bohne & Blatt")}).run(
                clock=lambda t=t: t)
            t += dt.timedelta(hours=12)
        messages = sink.messages
    return engine, messages, run


@pytest.mark.slow
def test_demo_messages_are_personal_and_in_the_customers_language(demo_sent):
    engine, messages, _ = demo_sent
    secret = link_secret(engine)
    with engine.connect() as conn:
        people = {r.email: r for r in conn.execute(select(Customer.id, Customer.email, Customer.first_name,
                                                          Customer.locale))}
    langs = defaultdict(int)
    assert len(messages) > 300
    for m in messages:
        who = people[m["To"]]
        body = m.get_body(("plain",)).get_content()
        lang = "de" if (who.locale or "").startswith("de") else "en"
        langs[lang] += 1
        assert m["Content-Language"] == lang
        assert body.startswith(("Hallo " if lang == "de" else "Hi ") + who.first_name) or not who.first_name
        if m["List-Unsubscribe"]:
            assert verify(m["List-Unsubscribe"].strip("<>").rsplit("/u/", 1)[1], secret).customer_id == who.id
    assert langs["de"] > 50 and langs["en"] > 20
    flows = {m["X-Retentio-Flow"] for m in messages}
    assert {"feedback_request", "reactivation", "winback", "birthday"} <= flows


@pytest.mark.slow
def test_demo_respects_consent_cap_and_quiet_hours(demo_sent):
    engine, messages, _ = demo_sent
    cfg = load_config(engine)
    with engine.connect() as conn:
        ok = set(conn.execute(select(Consent.customer_id).where(
            Consent.status == "granted", Consent.double_opt_in_at.is_not(None))).scalars())
        rows = conn.execute(select(OutboxMessage.customer_id, OutboxMessage.purpose, OutboxMessage.created_at,
                                   OutboxMessage.sent_at, OutboxMessage.status, Customer.time_zone)
                            .join(Customer, Customer.id == OutboxMessage.customer_id)
                            .where(OutboxMessage.channel == "email")).all()
        skipped = dict(conn.execute(text("SELECT reason, COUNT(*) FROM outbox WHERE status = 'skipped' "
                                         "GROUP BY reason")).all())
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) == len(messages)
    marketing = [r for r in sent if r.purpose == "marketing"]
    assert {r.customer_id for r in marketing} <= ok
    assert skipped.get("no_consent", 0) > 50
    by_customer = defaultdict(list)
    for r in rows:
        if r.purpose == "marketing" and r.status in ("sent", "pending"):
            by_customer[r.customer_id].append(r.created_at)
    for times in by_customer.values():
        times.sort()
        for i, t0 in enumerate(times):
            assert sum(1 for t in times[i:] if t < t0 + dt.timedelta(days=cfg.frequency_window_days)) \
                <= cfg.frequency_cap
    start, end = dt.time.fromisoformat(cfg.quiet_hours_start), dt.time.fromisoformat(cfg.quiet_hours_end)
    for r in marketing:
        local = r.sent_at.astimezone(zoneinfo.ZoneInfo(r.time_zone or cfg.time_zone)).time()
        assert not in_quiet_hours(local, start, end)
    assert any(email.utils.parseaddr(m["From"])[1] == "shop@example.com" for m in messages)


@pytest.mark.slow
def test_demo_effect_report_compares_treatment_and_control(demo_sent):
    engine, _, run = demo_sent
    report = {(c.flow, c.variant): c for c in effect_report(engine, run.as_of, window_days=7)}
    assert report
    measured = [c for c in report.values() if c.control > 0]
    assert measured and all(c.treated > c.control for c in measured)
    # the demo's customers never saw these messages: no flow may claim a lift it did not cause
    assert all(c.verdict != "lift" for c in measured)
