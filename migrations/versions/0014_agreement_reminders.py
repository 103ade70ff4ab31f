"""agreement reminders: the delivery kinds `agreement_reminder` and `agreement_escalation`.

Expiry and report reminders for agreements (issue 15) go through the same ledger as
follow-up reminders; the deliveries `kind` CHECK is widened for them (as 0009 did).

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_KINDS = ("reminder_due", "reminder_overdue", "reminder_escalation", "digest", "invitation",
          "password_reset", "import_report", "security_alert", "other")
_NEW = ("agreement_reminder", "agreement_escalation")


def _kind_check(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade():
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", _kind_check(_KINDS + _NEW))


def downgrade():
    op.execute("DELETE FROM deliveries WHERE kind IN "
               "('agreement_reminder', 'agreement_escalation')")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", _kind_check(_KINDS))
