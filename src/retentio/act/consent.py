"""Changing consent: unsubscribe (signed link or CLI) and recording feedback from a survey link."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, update

from retentio import consent
from retentio.db.act_models import OutboxMessage
from retentio.db.models import Customer, Feedback
from retentio.db.session import session_scope
from retentio.errors import ConfigError
from retentio.i18n import Msg


def unsubscribe(engine: Engine, customer_id: int, channel: str = "email", purpose: str = "marketing",
                source: str = "unsubscribe_link") -> bool:
    """Withdraw consent (logged in the consent log) and cancel queued marketing messages; idempotent.
    False: no such customer."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        if s.get(Customer, customer_id) is None:
            return False
        conn = s.connection()
        consent.record(conn, [consent.Statement(customer_id, consent.WITHDRAWN, source, now, None, channel, purpose)],
                       require_doi=True, now=now)
        s.execute(update(OutboxMessage).where(
            OutboxMessage.customer_id == customer_id, OutboxMessage.channel == channel,
            OutboxMessage.purpose == purpose, OutboxMessage.status == "pending")
            .values(status="skipped", reason="unsubscribed"))
    return True


def record_feedback(engine: Engine, customer_id: int, score: int, comment: str | None) -> str:
    """One answer per customer and day through the link; answering again the same day replaces it."""
    if not 0 <= score <= 10:
        raise ConfigError(Msg("score must be 0–10"))
    now = dt.datetime.now(dt.UTC)
    key = f"link-{customer_id}-{now:%Y%m%d}"
    with session_scope(engine) as s:
        row = s.scalar(select(Feedback).where(Feedback.external_id == key))
        if row is None:
            s.add(Feedback(external_id=key, customer_id=customer_id, score=score, comment=comment or None,
                           submitted_at=now, source="survey_link"))
        else:
            row.score, row.comment, row.submitted_at = score, comment or None, now
    return key


def customer_lang(engine: Engine, customer_id: int) -> str | None:
    """The customer's language (German unless their locale says otherwise); None: no such customer."""
    with session_scope(engine) as s:
        row = s.execute(select(Customer.id, Customer.locale).where(Customer.id == customer_id)).first()
    if row is None:
        return None
    return "de" if (row.locale or "de").lower().startswith("de") else "en"
