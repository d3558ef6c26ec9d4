"""customer predictions

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import retentio.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FLOATS = ["p_alive", "p_alive_low", "p_alive_high", "expected_purchases", "expected_purchases_low",
          "expected_purchases_high", "p_no_purchase", "expected_spend", "clv", "clv_low", "clv_high",
          "churn_probability"]


def upgrade() -> None:
    op.create_table(
        "customer_predictions",
        sa.Column("id", BIG, nullable=False),
        sa.Column("run_id", BIG, nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=True) for name in FLOATS],
        sa.Column("next_purchase_at", retentio.db.types.UTCDateTime(), nullable=True),
        sa.Column("churn_source", sa.String(length=16), nullable=True),
        sa.Column("value_at_risk", sa.Float(), nullable=True),
        sa.Column("reasons", retentio.db.types.JSONType, nullable=True),
        sa.Column("contract_renewal_probability", sa.Float(), nullable=True),
        sa.Column("contract_expected_months", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["refresh_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "customer_id"),
    )
    op.create_index("ix_customer_predictions_value_at_risk", "customer_predictions", ["value_at_risk"])


def downgrade() -> None:
    op.drop_index("ix_customer_predictions_value_at_risk", table_name="customer_predictions")
    op.drop_table("customer_predictions")
