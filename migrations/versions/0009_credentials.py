"""credentials: server-side sign-ins, per-account two-factor lockout, security alert emails.

- `user_logins`: one row per sign-in; its nonce rides in the session and the remember
  cookie, so sign-out and the idle timeout kill a stolen copy of either server-side.
- `users.two_factor_failures` / `users.two_factor_locked_until`: wrong second-factor codes
  are counted per account (not only per IP); too many lock the second step for a while.
- the delivery kind `security_alert` (the lockout email to the account's owner).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import crm.models._types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KINDS = ("reminder_due", "reminder_overdue", "reminder_escalation", "digest", "invitation",
          "password_reset", "import_report", "other")


def _kind_check(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade():
    op.create_table(
        "user_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", crm.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", crm.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", crm.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_user_logins_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_logins")),
        sa.UniqueConstraint("nonce", name=op.f("uq_user_logins_nonce")),
    )
    with op.batch_alter_table("user_logins") as batch_op:
        batch_op.create_index(batch_op.f("ix_user_logins_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("two_factor_failures", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("two_factor_locked_until",
                                      crm.models._types.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", _kind_check(_KINDS + ("security_alert",)))


def downgrade():
    op.execute("DELETE FROM deliveries WHERE kind = 'security_alert'")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind_valid"), type_="check")
        batch_op.create_check_constraint("kind_valid", _kind_check(_KINDS))
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("two_factor_locked_until")
        batch_op.drop_column("two_factor_failures")
    # SQLite rebuilds the table to drop columns and cannot reflect the expression index
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_users_email_lower ON users (lower(email))")
    with op.batch_alter_table("user_logins") as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_logins_user_id"))
    op.drop_table("user_logins")
