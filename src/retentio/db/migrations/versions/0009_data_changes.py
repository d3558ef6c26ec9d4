"""data changes: a count of changed and deleted orders, kept by triggers, for the columnar copy

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:20:00

The copy of the orders beside a SQLite database (retentio.analytics.orders_copy) takes new orders by
their ids; any UPDATE or DELETE of an order bumps ``data_changes.changes`` and makes the next refresh
rebuild it. Inserts are not counted: SQLite gives a new row an id above every existing one unless a
writer chooses one (Retentio never does), and a trigger per inserted row would cost the importer 0.4 µs
per row (docs/benchmarks.md, "Stop 25"). A later batch migration that rebuilds ``orders`` must create
the triggers again.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TRIGGERS = ("UPDATE", "DELETE")
# The columns the copy holds: an update that leaves them as they were (a re-import of the same file) keeps
# the copy in step.
COPIED = ("id", "customer_id", "placed_at", "net_total", "status", "currency")


def upgrade() -> None:
    table = op.create_table(
        'data_changes',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('changes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(table, [{"name": "orders", "token": secrets.token_hex(16), "changes": 0}])
    if op.get_context().dialect.name == "sqlite":
        bump = "BEGIN UPDATE data_changes SET changes = changes + 1 WHERE name = 'orders'; END"
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COPIED)
        op.execute(f"CREATE TRIGGER orders_changed_update AFTER UPDATE OF {', '.join(COPIED)} ON orders "
                   f"WHEN {changed} {bump}")
        op.execute(f"CREATE TRIGGER orders_changed_delete AFTER DELETE ON orders {bump}")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for action in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS orders_changed_{action.lower()}")
    op.drop_table('data_changes')
