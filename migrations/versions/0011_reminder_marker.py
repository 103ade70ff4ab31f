"""reminder marker: reminders are never dropped (issue 14, part 1).

- `follow_ups.reminder_stage` / `follow_ups.reminded_due_at`: how many of a follow-up's
  reminders (due day, overdue, escalation) the sweep has settled, and for which due time;
  a new due time re-arms them. The sweep no longer looks back a fixed two days.
- `ix_follow_ups_reminders_pending`: partial index on due_at over the open follow-ups with a
  reminder still to settle: the sweep reads only those, never every follow-up ever made.

Existing rows start at stage 0: the first sweep settles them, and the ledger's dedupe keys
keep any reminder already sent from going out again.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import crm.models._types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PENDING = ("status = 'open' AND (reminder_stage < 3 OR reminded_due_at IS NULL"
            " OR reminded_due_at <> due_at)")


def upgrade():
    with op.batch_alter_table("follow_ups") as batch_op:
        batch_op.add_column(sa.Column("reminder_stage", sa.SmallInteger(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("reminded_due_at",
                                      crm.models._types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_index("ix_follow_ups_reminders_pending", "follow_ups", ["due_at"], unique=False,
                    postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING))


def downgrade():
    op.drop_index("ix_follow_ups_reminders_pending", table_name="follow_ups")
    with op.batch_alter_table("follow_ups") as batch_op:
        batch_op.drop_column("reminded_due_at")
        batch_op.drop_column("reminder_stage")
