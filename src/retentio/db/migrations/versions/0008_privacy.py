"""privacy: erasure log, objection and erasure marks on customers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:26:09.881343
"""
import sqlalchemy as sa
from alembic import op

import retentio.db.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('erasure_key', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('contact_hash', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('erased_at', retentio.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('erasure_key')
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasures_contact_hash'), ['contact_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasures_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasures_key_hash'), ['key_hash'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objected_at', retentio.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', retentio.db.types.UTCDateTime(), nullable=True))
    _erasable(True)


# Append-only records whose free text an erasure must be able to clear (docs/privacy.md): an UPDATE is
# refused unless it only sets these columns to NULL and leaves every other column as it was.
ERASABLE = {
    "ledger_transactions": (("meta",), ("id", "program_id", "idem_key", "kind", "customer_id", "points",
                                        "effective_at", "booked_at", "settles_id", "reverses_id", "release_at",
                                        "expires_at", "net_amount", "reference", "actor")),
    "survey_responses": (("comment",), ("id", "invitation_id", "survey_id", "customer_id", "score", "answered_at")),
    "case_events": (("note",), ("id", "case_id", "at", "actor", "kind", "from_status", "to_status")),
}
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION retentio_append_only_erasable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c text;
BEGIN
  IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
    FOREACH c IN ARRAY TG_ARGV LOOP
      IF to_jsonb(NEW) -> c <> 'null'::jsonb THEN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
      END IF;
    END LOOP;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$
"""


def _erasable(on: bool) -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    if not sqlite and on:
        op.execute(PG_FUNCTION)
    for t, (erasable, kept) in ERASABLE.items():
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
            when = ""
            if on:
                ok = " AND ".join([f"NEW.{c} IS NULL" for c in erasable] + [f"NEW.{c} IS OLD.{c}" for c in kept])
                when = f"WHEN NOT ({ok}) "
            op.execute(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} {when}"
                       f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            if on:
                args = ", ".join(f"'{c}'" for c in erasable)
                op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                           f"FOR EACH ROW EXECUTE FUNCTION retentio_append_only_erasable({args})")
            else:
                op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                           "FOR EACH ROW EXECUTE FUNCTION retentio_append_only()")
    if not sqlite and not on:
        op.execute("DROP FUNCTION IF EXISTS retentio_append_only_erasable()")



def downgrade() -> None:
    _erasable(False)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('objected_at')

    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasures_key_hash'))
        batch_op.drop_index(batch_op.f('ix_erasures_customer_id'))
        batch_op.drop_index(batch_op.f('ix_erasures_contact_hash'))

    op.drop_table('erasures')
