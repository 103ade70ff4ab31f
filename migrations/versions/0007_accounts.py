"""accounts: the audit trail is append-only in the database itself (PostgreSQL).

A trigger refuses UPDATE and DELETE on audit_events for every role, the owner included
(TRUNCATE, which needs the table owner, stays possible for test set-ups and for a DBA's
documented retention job). Deployments that also run the app under a separate role can
additionally `REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM <app role>` — see
docs/security.md. SQLite (development) has no roles; nothing is done there.

Revision ID: 0007
Revises: 0006
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import crm.models._types  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
