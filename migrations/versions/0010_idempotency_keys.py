"""idempotency keys: retried API writes and resubmitted log forms never duplicate.

`idempotency_keys` holds one row per (API token, Idempotency-Key) or, for the web log
form's one-time form key, per (user, key) with token_id NULL: the stored answer of the
write that used it (crm/services/idempotency.py). Rows older than 24 hours are purged.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import crm.models._types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("created_at", crm.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_idempotency_keys_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"],
                                name=op.f("fk_idempotency_keys_token_id_api_tokens"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("token_id", "key", name=op.f("uq_idempotency_keys_token_id")),
    )
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index("uq_idempotency_keys_user_form_key", ["user_id", "key"],
                              unique=True, sqlite_where=sa.text("token_id IS NULL"),
                              postgresql_where=sa.text("token_id IS NULL"))


def downgrade():
    op.drop_table("idempotency_keys")
