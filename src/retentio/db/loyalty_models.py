"""Tables of the loyalty programme: an append-only, double-entry points ledger, tiers and vouchers.

``ledger_transactions`` and ``ledger_postings`` are append-only: triggers in
both databases refuse UPDATE and DELETE (migration 0006), so a mistake or a
refund can only be a reversing transaction. ``ledger_accounts`` holds each
account's running balance and version, the only rows that change; every
posting carries the balance and version it produced, and a check constraint
keeps customer accounts at zero or above (docs/loyalty.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db.models import Base, BigId, Money
from retentio.db.types import JSONType, UTCDateTime

Points = BigInteger()
CUSTOMER_ACCOUNTS = ("pending", "available")
PROGRAM_ACCOUNTS = ("issued", "redeemed", "expired", "adjusted")
TXN_KINDS = ("earn", "bonus", "release", "reverse", "return", "redeem", "unredeem", "expire", "adjust")


class LoyaltyProgram(Base):
    __tablename__ = "loyalty_programs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    rules: Mapped[dict] = mapped_column(JSONType)
    rules_version: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoyaltyRuleVersion(Base):
    """Every saved rule set, so a tier or an earning can always be explained by the rules then in force."""

    __tablename__ = "loyalty_rule_versions"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(120))


class LoyaltyMember(Base):
    """Enrolment; ``cohort`` is ``member`` or ``control`` (held out at rollout, to measure the programme)."""

    __tablename__ = "loyalty_members"
    __table_args__ = (UniqueConstraint("program_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cohort: Mapped[str] = mapped_column(String(16), default="member")
    source: Mapped[str | None] = mapped_column(String(64))


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("program_id", "customer_id", "kind"),
        CheckConstraint("balance >= 0 OR floor_zero = false", name="ck_ledger_accounts_floor"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    # 0 for the programme's own accounts: a NULL would escape the unique constraint.
    customer_id: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    floor_zero: Mapped[bool] = mapped_column(Boolean)
    balance: Mapped[int] = mapped_column(Points, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("program_id", "idem_key"),
        Index("ix_ledger_txn_customer", "program_id", "customer_id", "effective_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    idem_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(Points)  # the amount moved, always positive
    effective_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    booked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # A release or a full reversal settles one pending earning, once (unique).
    settles_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The transaction this one (partly) undoes: a return against an earning, an unredeem.
    reverses_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    release_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # pending earnings
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # credits to available: the lot's end
    net_amount: Mapped[Decimal | None] = mapped_column(Money)  # qualifying spend (tiers by spend)
    reference: Mapped[str | None] = mapped_column(String(200))  # order number, voucher code, …
    actor: Mapped[str | None] = mapped_column(String(120))
    meta: Mapped[dict | None] = mapped_column(JSONType)


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        UniqueConstraint("account_id", "account_version"),
        CheckConstraint("amount <> 0", name="ck_ledger_postings_nonzero"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(Points)
    balance_after: Mapped[int] = mapped_column(Points)
    account_version: Mapped[int] = mapped_column(Integer)


class TierChange(Base):
    """Append-only history of tiers as recomputed from the ledger and the rules."""

    __tablename__ = "loyalty_tier_changes"
    __table_args__ = (Index("ix_tier_changes_member", "program_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    from_tier: Mapped[str | None] = mapped_column(String(40))
    to_tier: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(32))  # enrolled, upgrade, review, rules
    rules_version: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Voucher(Base):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_programs.id"))
    customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # value | percent
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    min_order: Mapped[Decimal | None] = mapped_column(Money)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(32))  # points | flow | manual | bonus
    # Issuing twice for the same reason (a message, a redemption request) yields the one voucher.
    source_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VoucherRedemption(Base):
    __tablename__ = "voucher_redemptions"
    __table_args__ = (UniqueConstraint("voucher_id", "use_no"), UniqueConstraint("voucher_id", "idem_key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"))
    use_no: Mapped[int] = mapped_column(Integer)
    idem_key: Mapped[str] = mapped_column(String(200))
    order_ref: Mapped[str | None] = mapped_column(String(200))
    order_total: Mapped[Decimal | None] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money)
    redeemed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
