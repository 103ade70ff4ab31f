"""digests: a covering index for counting a period's interactions (team and network digests).

Revision ID: 0004
Revises: 0003
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import crm.models._types  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_interactions_occurred_partner_sensitivity", "interactions",
                    ["occurred_at", "partner_id", "sensitivity"])


def downgrade():
    op.drop_index("ix_interactions_occurred_partner_sensitivity", table_name="interactions")
