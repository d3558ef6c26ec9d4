"""Tables of the act layer: segments, flows, enrolments, the outbox and what hangs off it.

The outbox is the single source of truth for every message: a row is written
when a flow decides to send (rendered content frozen in it), and the worker
moves it through ``pending → claimed → sending → sent`` (or ``failed`` /
``skipped``) with leases, so a killed worker neither loses nor repeats a send
(docs/delivery.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db.models import Base, BigId
from retentio.db.types import JSONType, UTCDateTime

OUTBOX_STATUSES = ("pending", "claimed", "sending", "sent", "in_doubt", "failed", "skipped")


class SegmentDef(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class FlowDef(Base):
    """The current state of a flow; every saved definition is kept in ``flow_versions``."""

    __tablename__ = "flows"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_key", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_key: Mapped[str] = mapped_column(ForeignKey("flows.key", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Enrolment(Base):
    """One customer's way through one occurrence of a flow."""

    __tablename__ = "flow_enrolments"
    __table_args__ = (
        UniqueConstraint("flow_key", "customer_id", "occurrence"),
        Index("ix_enrolments_due", "status", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_key: Mapped[str] = mapped_column(String(80))
    flow_version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(16))  # "control", "A", "B", …
    status: Mapped[str] = mapped_column(String(16))  # active, done, exited, control
    step: Mapped[int] = mapped_column(Integer, default=0)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(32))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # (flow, step, customer, occurrence): the same decision can never be written twice.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    flow_key: Mapped[str | None] = mapped_column(String(80))
    step_id: Mapped[str | None] = mapped_column(String(64))
    enrolment_id: Mapped[int | None] = mapped_column(BigId)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str | None] = mapped_column(String(1000))
    locale: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(500))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    recoveries: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class Suppression(Base):
    """Addresses that must never be written to (bounces, complaints, manual blocks)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(1000))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CallListEntry(Base):
    """A call-centre task; written in the same transaction that marks its outbox row sent."""

    __tablename__ = "call_list_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigId, unique=True)
    list_name: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    priority_value: Mapped[float | None] = mapped_column(Float)
    script: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    exported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
