"""personal data: erasure, do-not-contact, lawful basis, retention (issue 13).

- `contacts`: `do_not_contact`, `lawful_basis` (+ note and date), `erased_at`.
- `interactions.redacted_at`: retention replaced the summary and outcome.
- `audit_values`: the personal values audit events refer to (`{"$pv": id}`), kept apart so
  erasure can scrub them while `audit_events` stays append-only. On PostgreSQL a trigger lets
  a row change in one way only: `value` set to NULL (with `erased_at`); DELETE and TRUNCATE
  are refused like on the audit trail itself.
- `interaction_month_counts`: what retention deleted, counted per month, partner,
  sensitivity and kind, so reports keep their totals.
- Existing audit events: their personal values move into `audit_values` (the append-only
  trigger is disabled for this one statement, by the table owner, inside the migration's
  transaction).

Revision ID: 0012
Revises: 0011
"""
import json
import uuid

import sqlalchemy as sa
from alembic import op

import crm.models._types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: a copy of crm.services.audit.PERSONAL_FIELDS as it was when this migration was written
_PERSONAL = {"contact": ("name", "title", "email", "phone", "notes", "lawful_basis_note"),
             "interaction": ("summary", "outcome"),
             "follow_up": ("title",)}
_BASES = ("consent", "legitimate_interests", "contract", "legal_obligation", "public_task",
          "vital_interests")


def upgrade():
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("do_not_contact", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("lawful_basis", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("lawful_basis_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lawful_basis_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", crm.models._types.UTCDateTime(),
                                      nullable=True))
        batch_op.create_check_constraint(
            "ck_contacts_lawful_basis_valid",
            "lawful_basis IN (" + ", ".join(f"'{b}'" for b in _BASES) + ")")
    _restore_expression_indexes()
    with op.batch_alter_table("interactions") as batch_op:
        batch_op.add_column(sa.Column("redacted_at", crm.models._types.UTCDateTime(),
                                      nullable=True))

    op.create_table(
        "audit_values",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("erased_at", crm.models._types.UTCDateTime(), nullable=True),
        sa.Column("created_at", crm.models._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_values")),
    )
    op.create_index("ix_audit_values_object", "audit_values",
                    ["object_type", "object_id", "field"], unique=False)
    op.create_table(
        "interaction_month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("sensitivity", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_interaction_month_counts_partner_id_partners"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("month", "partner_id", "sensitivity", "kind",
                                name=op.f("pk_interaction_month_counts")),
    )
    op.create_index(op.f("ix_interaction_month_counts_partner_id"),
                    "interaction_month_counts", ["partner_id"], unique=False)

    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_values_scrub_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.value IS NULL AND NEW.erased_at IS NOT NULL
                   AND NEW.id = OLD.id AND NEW.object_type = OLD.object_type
                   AND NEW.object_id = OLD.object_id AND NEW.field = OLD.field
                   AND NEW.created_at = OLD.created_at THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'audit_values may only be scrubbed (value set to NULL): % refused',
                    TG_OP;
            END;
            $$
        """)
        op.execute("""
            CREATE TRIGGER audit_values_scrub_only
            BEFORE UPDATE OR DELETE ON audit_values
            FOR EACH ROW EXECUTE FUNCTION audit_values_scrub_only()
        """)
        op.execute("""
            CREATE TRIGGER audit_values_no_truncate
            BEFORE TRUNCATE ON audit_values
            FOR EACH STATEMENT EXECUTE FUNCTION audit_values_scrub_only()
        """)
    _move_existing_values(postgres)


def _move_existing_values(postgres: bool) -> None:
    """Existing events' personal values into audit_values, the events keeping references."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, object_type, object_id, changes FROM audit_events "
        "WHERE object_type IN ('contact', 'interaction', 'follow_up') "
        "AND changes IS NOT NULL")).all()
    updates, values = [], []
    for event_id, object_type, object_id, changes in rows:
        if isinstance(changes, str):
            changes = json.loads(changes)
        moved = False
        for field in _PERSONAL[object_type]:
            pair = changes.get(field) if isinstance(changes, dict) else None
            if not isinstance(pair, list):
                continue
            refs = []
            for value in pair:
                if value is None or (isinstance(value, dict) and "$pv" in value):
                    refs.append(value)
                    continue
                ref = uuid.uuid4().hex
                values.append({"id": ref, "object_type": object_type,
                               "object_id": object_id or "", "field": field,
                               "value": str(value)})
                refs.append({"$pv": ref})
            changes[field] = refs
            moved = True
        if moved:
            updates.append({"id": event_id, "changes": json.dumps(changes)})
    if not updates:
        return
    bind.execute(sa.text("INSERT INTO audit_values (id, object_type, object_id, field, value, "
                         "created_at) VALUES (:id, :object_type, :object_id, :field, :value, "
                         "CURRENT_TIMESTAMP)"), values)
    if postgres:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    cast = "CAST(:changes AS JSON)" if postgres else ":changes"
    bind.execute(sa.text(f"UPDATE audit_events SET changes = {cast} WHERE id = :id"), updates)
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_values_no_truncate ON audit_values")
        op.execute("DROP TRIGGER IF EXISTS audit_values_scrub_only ON audit_values")
        op.execute("DROP FUNCTION IF EXISTS audit_values_scrub_only()")
    op.drop_index(op.f("ix_interaction_month_counts_partner_id"),
                  table_name="interaction_month_counts")
    op.drop_table("interaction_month_counts")
    op.drop_index("ix_audit_values_object", table_name="audit_values")
    op.drop_table("audit_values")
    with op.batch_alter_table("interactions") as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_constraint("ck_contacts_lawful_basis_valid", type_="check")
        for column in ("erased_at", "lawful_basis_on", "lawful_basis_note", "lawful_basis",
                       "do_not_contact"):
            batch_op.drop_column(column)
    _restore_expression_indexes()


def _restore_expression_indexes() -> None:
    """SQLite's batch mode rebuilds `contacts` without its expression indexes: put them back
    (PostgreSQL alters the table in place and keeps them)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_contacts_partner_email ON contacts "
               "(partner_id, lower(email)) WHERE email IS NOT NULL")
    op.execute("CREATE INDEX IF NOT EXISTS ix_contacts_email_lower ON contacts (lower(email))")
