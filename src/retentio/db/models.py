"""The operational data model.

Customers, their consents, products, orders and order lines, behavioural
events, contracts, feedback and service cases; plus the bookkeeping tables for
imports, shop settings and materialised analytics results.  Campaigns and
loyalty will hang off ``customers.id`` in later migrations.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from retentio.db.types import JSONType, UTCDateTime

Money = Numeric(14, 2)
# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ORDER_STATUSES = ("placed", "cancelled", "returned")
ORDER_CHANNELS = ("online", "store")
CONSENT_STATUSES = ("granted", "denied", "withdrawn", "pending")
CONSENT_PURPOSES = ("marketing", "transactional")


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    # Customer search: case-insensitive prefix on e-mail and names (docs/web.md).
    __table_args__ = (Index("ix_customers_email_lower", func.lower(text("email"))),
                      Index("ix_customers_last_name_lower", func.lower(text("last_name"))),
                      Index("ix_customers_first_name_lower", func.lower(text("first_name"))))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(64))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attributes: Mapped[dict | None] = mapped_column(JSONType)
    # GDPR (docs/privacy.md): an objection to profiling (Art. 21) stands until withdrawn; an erased
    # customer is an anonymous row that keeps the orders, so KPIs and ledger totals stay as they were.
    objected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "channel", "purpose"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32), default="marketing")
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    double_opt_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ConsentEvent(Base):
    """Every consent statement ever received, in order; ``consents`` holds the state they add up to.

    Append-only. An event that did not change the state (an older or untimed
    grant after a withdrawal) is kept with ``applied`` false and the reason.
    """

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer", "customer_id", "channel", "purpose"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The same statement from the same source is recorded once (re-imports stay idempotent).
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(120))
    # When the customer decided, if the source says so; None: unknown (an import without a consent date).
    effective_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    double_opt_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(200))


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(120))
    price: Mapped[Decimal | None] = mapped_column(Money)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_placed", "customer_id", "placed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    # NULL customer: a guest order; counts in revenue, not in customer metrics.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # NULL: the amount is unknown (a count-only import); the order still counts as a purchase.
    net_total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="placed")
    channel: Mapped[str] = mapped_column(String(16), default="online")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[float] = mapped_column(Float)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    net_amount: Mapped[Decimal] = mapped_column(Money)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_customer_time", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Given by the source, or a content hash so that re-imports stay idempotent.
    event_key: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    properties: Mapped[dict | None] = mapped_column(JSONType)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    plan: Mapped[str | None] = mapped_column(String(120))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(String(64))
    monthly_amount: Mapped[Decimal | None] = mapped_column(Money)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(64))


class ServiceCase(Base):
    __tablename__ = "service_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    category: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(200))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # Worked in the app (docs/cases.md); imported cases have only what the file gives.
    status: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(8))
    owner: Mapped[str | None] = mapped_column(String(320))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    description: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(32))  # import | api | web | survey


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(1000))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    reject_report: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | failed (nothing of the file was kept)
    error: Mapped[dict | None] = mapped_column(JSONType)  # why it failed, as a message to translate
    summary: Mapped[dict | None] = mapped_column(JSONType)  # preset, options, rules applied and their counts


class InstallSecret(Base):
    """Random per-installation secrets (link signatures, voucher codes), created at first use."""

    __tablename__ = "install_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ShopSetting(Base):
    """Operational knobs, editable at run time (``retentio config``)."""

    __tablename__ = "shop_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | str | int | float | None] = mapped_column(JSONType)


class DataChanges(Base):
    """How often rows of a table were changed or deleted, counted by triggers (SQLite): the columnar copy
    of the orders (:mod:`retentio.analytics.orders_copy`) is in step while the count is what it was."""

    __tablename__ = "data_changes"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))  # random per database: a copy of another file never fits
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


class RefreshRun(Base):
    __tablename__ = "refresh_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    engine: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64))
    data_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    data_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    active_window_days: Mapped[int | None] = mapped_column(Integer)
    active_window_source: Mapped[str | None] = mapped_column(String(16))
    row_counts: Mapped[dict | None] = mapped_column(JSONType)
    summary: Mapped[dict | None] = mapped_column(JSONType)
    warnings: Mapped[list | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)


class KpiResult(Base):
    __tablename__ = "kpi_results"
    __table_args__ = (Index("ix_kpi_lookup", "run_id", "granularity", "active_window_days"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"))
    granularity: Mapped[str] = mapped_column(String(8))
    active_window_days: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    s: Mapped[int] = mapped_column(Integer)
    e: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    retained: Mapped[int] = mapped_column(Integer)
    crr: Mapped[float | None] = mapped_column(Float)
    retained_share: Mapped[float | None] = mapped_column(Float)
    churn_rate: Mapped[float | None] = mapped_column(Float)
    repeat_purchase_rate: Mapped[float | None] = mapped_column(Float)
    purchases: Mapped[int] = mapped_column(Integer)
    purchasing_customers: Mapped[int] = mapped_column(Integer)
    purchase_frequency: Mapped[float | None] = mapped_column(Float)
    revenue: Mapped[float] = mapped_column(Float)
    aov: Mapped[float | None] = mapped_column(Float)


class CohortResult(Base):
    __tablename__ = "cohort_results"
    __table_args__ = (Index("ix_cohort_lookup", "run_id", "granularity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"))
    granularity: Mapped[str] = mapped_column(String(8))
    cohort_start: Mapped[dt.date] = mapped_column(Date)
    period_index: Mapped[int] = mapped_column(Integer)
    cohort_size: Mapped[int] = mapped_column(Integer)
    customers: Mapped[int] = mapped_column(Integer)
    retention_pct: Mapped[float] = mapped_column(Float)
    revenue: Mapped[float] = mapped_column(Float)
    cum_revenue_per_customer: Mapped[float] = mapped_column(Float)


class CustomerScore(Base):
    __tablename__ = "customer_scores"
    __table_args__ = (UniqueConstraint("run_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    first_purchase_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_purchase_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    purchases: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float] = mapped_column(Float)
    recency_days: Mapped[float | None] = mapped_column(Float)
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    # Not indexed: readers take one run's rows by (run_id, customer_id); see migration 0010.
    rfm_segment: Mapped[str | None] = mapped_column(String(32))
    lifecycle: Mapped[str] = mapped_column(String(16))
    recovery_track: Mapped[str | None] = mapped_column(String(32))
    expected_interval_days: Mapped[float | None] = mapped_column(Float)
    interval_source: Mapped[str | None] = mapped_column(String(8))
    days_to_second_purchase: Mapped[float | None] = mapped_column(Float)


class CustomerPrediction(Base):
    """Per-customer model output of one refresh (see docs/models.md)."""

    __tablename__ = "customer_predictions"
    __table_args__ = (UniqueConstraint("run_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(16))
    p_alive: Mapped[float | None] = mapped_column(Float)
    p_alive_low: Mapped[float | None] = mapped_column(Float)
    p_alive_high: Mapped[float | None] = mapped_column(Float)
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    expected_purchases_low: Mapped[float | None] = mapped_column(Float)
    expected_purchases_high: Mapped[float | None] = mapped_column(Float)
    p_no_purchase: Mapped[float | None] = mapped_column(Float)
    expected_spend: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float)
    clv_low: Mapped[float | None] = mapped_column(Float)
    clv_high: Mapped[float | None] = mapped_column(Float)
    next_purchase_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    churn_probability: Mapped[float | None] = mapped_column(Float)
    churn_source: Mapped[str | None] = mapped_column(String(16))
    value_at_risk: Mapped[float | None] = mapped_column(Float, index=True)
    reasons: Mapped[list | None] = mapped_column(JSONType)
    contract_renewal_probability: Mapped[float | None] = mapped_column(Float)
    contract_expected_months: Mapped[float | None] = mapped_column(Float)
