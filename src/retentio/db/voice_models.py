"""Tables of the customer's voice: surveys (NPS, CSAT) with their throttling log, and service-case history.

``survey_decisions`` records every time a flow or a case wanted to ask and
whether it did, with the reason when not; ``survey_responses`` holds one
answer per invitation (unique), so a second click shows the stored answer.
``case_events`` is a case's status history, append-only like the ledger.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db.models import Base, BigId
from retentio.db.types import UTCDateTime

SURVEY_KINDS = ("nps", "csat")
CASE_STATUSES = ("open", "in_progress", "waiting", "resolved", "closed")
CASE_PRIORITIES = ("low", "normal", "high", "urgent")
# The churn-reason list cases map to (docs/cases.md).
CASE_CATEGORIES = ("price", "quality", "service", "delivery", "complaint", "checkout", "product", "return",
                   "payment", "other")


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    cadence_days: Mapped[int] = mapped_column(Integer)  # this type's own rhythm per person
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SurveyInvitation(Base):
    __tablename__ = "survey_invitations"
    __table_args__ = (Index("ix_survey_invitations_customer", "customer_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # Why this invitation exists (a flow message's key, a case): asking twice for one reason is one invitation.
    source_ref: Mapped[str] = mapped_column(String(255), unique=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SurveyDecision(Base):
    __tablename__ = "survey_decisions"
    __table_args__ = (Index("ix_survey_decisions_customer", "customer_id", "decided_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    asked: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))  # asked | floor_24h | global_gap | cadence | inactive
    source_ref: Mapped[str | None] = mapped_column(String(255))


class SurveyResponse(Base):
    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id"), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CaseEvent(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("service_cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # opened | status | assigned | note
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
