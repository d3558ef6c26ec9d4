"""consent log, import run status, amounts that may be unknown, per-install secrets

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import retentio.db.types

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", BIG, nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("effective_at", retentio.db.types.UTCDateTime(), nullable=True),
        sa.Column("double_opt_in_at", retentio.db.types.UTCDateTime(), nullable=True),
        sa.Column("recorded_at", retentio.db.types.UTCDateTime(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    op.create_index("ix_consent_events_customer", "consent_events", ["customer_id", "channel", "purpose"])
    # Today's states become the first entries of the log.
    op.execute(
        "INSERT INTO consent_events (event_key, customer_id, channel, purpose, status, source, effective_at, "
        "double_opt_in_at, recorded_at, applied) SELECT 'migrated-' || id, customer_id, channel, purpose, status, "
        "source, recorded_at, double_opt_in_at, recorded_at, true FROM consents")
    op.create_table(
        "install_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", retentio.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="ok"))
        batch.add_column(sa.Column("error", JSON, nullable=True))
        batch.add_column(sa.Column("summary", JSON, nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("net_total", existing_type=sa.Numeric(14, 2), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("net_total", existing_type=sa.Numeric(14, 2), nullable=False)
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_column("summary")
        batch.drop_column("error")
        batch.drop_column("status")
    op.drop_table("install_secrets")
    op.drop_index("ix_consent_events_customer", table_name="consent_events")
    op.drop_table("consent_events")
