"""reports_imports: an index for looking contacts up by email, case-insensitively.

The import's duplicate check asks "does a contact with this email exist anywhere?" in bulk
(`lower(email) IN (…)`); the unique index on (partner_id, lower(email)) cannot answer that.

Revision ID: 0005
Revises: 0004
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import crm.models._types  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contacts_email_lower", "contacts", [sa.text("lower(email)")])


def downgrade():
    op.drop_index("ix_contacts_email_lower", table_name="contacts")
