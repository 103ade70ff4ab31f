"""agreements: MoUs, The Code, data-sharing and funding agreements (issue 15).

- `agreements` with partial indexes on the live ones' expiry and next report due date (the
  reminder sweep and the reports read those), CHECKs for expiry after signing and a
  reporting interval of 1-60 months;
- signatories: `agreement_contacts` (people at the partner) and `agreement_staff`;
- `agreement_reports` (reports received) and `code_criteria` (The Code's six criteria).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

import crm.models._types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_LIVE = "status IN ('signed', 'active')"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("renewal_notice_days", sa.Integer(), server_default="90", nullable=False),
        sa.Column("reporting_every_months", sa.SmallInteger(), nullable=True),
        sa.Column("last_report_on", sa.Date(), nullable=True),
        sa.Column("next_report_due_on", sa.Date(), nullable=True),
        sa.Column("document_ref", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("sensitivity", sa.String(length=20), nullable=False),
        sa.Column("successor_id", sa.Integer(), nullable=True),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.models._types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm.models._types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(_in("kind", ("mou", "the_code", "data_sharing", "funding",
                                        "letter_of_intent", "other")),
                           name=op.f("ck_agreements_kind_valid")),
        sa.CheckConstraint(_in("status", ("draft", "negotiation", "signed", "active", "expired",
                                          "terminated", "renewed")),
                           name=op.f("ck_agreements_status_valid")),
        sa.CheckConstraint(_in("sensitivity", ("standard", "restricted", "confidential")),
                           name=op.f("ck_agreements_sensitivity_valid")),
        sa.CheckConstraint("expires_on IS NULL OR signed_on IS NULL OR expires_on >= signed_on",
                           name=op.f("ck_agreements_expiry_after_signing")),
        sa.CheckConstraint("reporting_every_months IS NULL OR reporting_every_months "
                           "BETWEEN 1 AND 60", name=op.f("ck_agreements_reporting_interval_range")),
        sa.CheckConstraint("renewal_notice_days BETWEEN 0 AND 3650",
                           name=op.f("ck_agreements_renewal_notice_range")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_agreements_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_agreements_partner_id_partners"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["successor_id"], ["agreements.id"],
                                name=op.f("fk_agreements_successor_id_agreements"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    for column in ("partner_id", "kind", "status", "sensitivity", "successor_id",
                   "created_by_id"):
        op.create_index(op.f(f"ix_agreements_{column}"), "agreements", [column], unique=False)
    op.create_index("ix_agreements_live_expires_on", "agreements", ["expires_on"],
                    postgresql_where=sa.text(_LIVE), sqlite_where=sa.text(_LIVE))
    op.create_index("ix_agreements_live_next_report_due_on", "agreements",
                    ["next_report_due_on"],
                    postgresql_where=sa.text(_LIVE), sqlite_where=sa.text(_LIVE))

    op.create_table(
        "agreement_contacts",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_agreement_contacts_agreement_id_agreements"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_agreement_contacts_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agreement_id", "contact_id",
                                name=op.f("pk_agreement_contacts")),
    )
    op.create_index(op.f("ix_agreement_contacts_contact_id"), "agreement_contacts",
                    ["contact_id"], unique=False)
    op.create_table(
        "agreement_staff",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_agreement_staff_agreement_id_agreements"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_agreement_staff_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agreement_id", "user_id", name=op.f("pk_agreement_staff")),
    )
    op.create_index(op.f("ix_agreement_staff_user_id"), "agreement_staff", ["user_id"],
                    unique=False)
    op.create_table(
        "agreement_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.models._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_agreement_reports_agreement_id_agreements"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_agreement_reports_recorded_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_reports")),
    )
    op.create_index(op.f("ix_agreement_reports_agreement_id"), "agreement_reports",
                    ["agreement_id"], unique=False)
    op.create_index(op.f("ix_agreement_reports_recorded_by_id"), "agreement_reports",
                    ["recorded_by_id"], unique=False)
    op.create_table(
        "code_criteria",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", crm.models._types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_in("status", ("not_started", "in_progress", "met")),
                           name=op.f("ck_code_criteria_status_valid")),
        sa.CheckConstraint("number BETWEEN 1 AND 6", name=op.f("ck_code_criteria_number_range")),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"],
                                name=op.f("fk_code_criteria_agreement_id_agreements"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_code_criteria_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("agreement_id", "number", name=op.f("pk_code_criteria")),
    )
    op.create_index(op.f("ix_code_criteria_updated_by_id"), "code_criteria", ["updated_by_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_code_criteria_updated_by_id"), table_name="code_criteria")
    op.drop_table("code_criteria")
    op.drop_index(op.f("ix_agreement_reports_recorded_by_id"), table_name="agreement_reports")
    op.drop_index(op.f("ix_agreement_reports_agreement_id"), table_name="agreement_reports")
    op.drop_table("agreement_reports")
    op.drop_index(op.f("ix_agreement_staff_user_id"), table_name="agreement_staff")
    op.drop_table("agreement_staff")
    op.drop_index(op.f("ix_agreement_contacts_contact_id"), table_name="agreement_contacts")
    op.drop_table("agreement_contacts")
    op.drop_index("ix_agreements_live_next_report_due_on", table_name="agreements")
    op.drop_index("ix_agreements_live_expires_on", table_name="agreements")
    for column in ("created_by_id", "successor_id", "sensitivity", "status", "kind",
                   "partner_id"):
        op.drop_index(op.f(f"ix_agreements_{column}"), table_name="agreements")
    op.drop_table("agreements")
