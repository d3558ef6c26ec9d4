"""loyalty: programmes, append-only double-entry points ledger, tiers, vouchers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:51:38.061022
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import retentio.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('loyalty_programs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('starts_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('floor_zero', sa.Boolean(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('balance >= 0 OR floor_zero = false', name='ck_ledger_accounts_floor'),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'customer_id', 'kind')
    )
    op.create_table('ledger_transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('effective_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('booked_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('settles_id', sa.BigInteger(), nullable=True),
    sa.Column('reverses_id', sa.BigInteger(), nullable=True),
    sa.Column('release_at', retentio.db.types.UTCDateTime(), nullable=True),
    sa.Column('expires_at', retentio.db.types.UTCDateTime(), nullable=True),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'idem_key'),
    sa.UniqueConstraint('settles_id')
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transactions_reverses_id'), ['reverses_id'], unique=False)
        batch_op.create_index('ix_ledger_txn_customer', ['program_id', 'customer_id', 'effective_at'], unique=False)

    op.create_table('loyalty_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enrolled_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('cohort', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'customer_id')
    )
    with op.batch_alter_table('loyalty_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_members_customer_id'), ['customer_id'], unique=False)

    op.create_table('loyalty_rule_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'version')
    )
    op.create_table('loyalty_tier_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('from_tier', sa.String(length=40), nullable=True),
    sa.Column('to_tier', sa.String(length=40), nullable=False),
    sa.Column('changed_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('recorded_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loyalty_tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_member', ['program_id', 'customer_id', 'id'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('program_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('min_order', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('valid_from', retentio.db.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', retentio.db.types.UTCDateTime(), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=255), nullable=True),
    sa.Column('transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['loyalty_programs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('source_ref')
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vouchers_customer_id'), ['customer_id'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('account_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount <> 0', name='ck_ledger_postings_nonzero'),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'account_version')
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_postings_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('voucher_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('voucher_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('use_no', sa.Integer(), nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('order_ref', sa.String(length=200), nullable=True),
    sa.Column('order_total', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('discount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('redeemed_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('voucher_id', 'idem_key'),
    sa.UniqueConstraint('voucher_id', 'use_no')
    )
    _append_only()


APPEND_ONLY = ("ledger_transactions", "ledger_postings", "loyalty_tier_changes", "voucher_redemptions")


def _append_only() -> None:
    """The ledger's history cannot be changed, not even by a bug in the application: a correction
    is a reversing transaction (docs/loyalty.md)."""
    if op.get_context().dialect.name == "sqlite":
        for t in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {t}_no_{action.lower()} BEFORE {action} ON {t} "
                           f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END")
    else:
        op.execute("CREATE FUNCTION retentio_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        for t in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                       "FOR EACH ROW EXECUTE FUNCTION retentio_append_only()")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for t in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {t}_no_{action}")
    else:
        for t in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
        op.execute("DROP FUNCTION IF EXISTS retentio_append_only()")

    op.drop_table('voucher_redemptions')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_postings_transaction_id'))

    op.drop_table('ledger_postings')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_customer_id'))

    op.drop_table('vouchers')
    with op.batch_alter_table('loyalty_tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_member')

    op.drop_table('loyalty_tier_changes')
    op.drop_table('loyalty_rule_versions')
    with op.batch_alter_table('loyalty_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_members_customer_id'))

    op.drop_table('loyalty_members')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_txn_customer')
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_reverses_id'))

    op.drop_table('ledger_transactions')
    op.drop_table('ledger_accounts')
    op.drop_table('loyalty_programs')

