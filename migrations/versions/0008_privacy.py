"""privacy: follow-up sensitivity, last interaction per sensitivity, TRUNCATE refused on audit.

- `follow_ups.sensitivity`: back-filled as the strictest of the follow-up's partner and
  interaction (a follow-up is never less sensitive than either).
- `partners.last_<level>_interaction_at`: the latest interaction per sensitivity level, so
  each reader sees the latest date of what they may open.
- The audit trail's trigger also refuses TRUNCATE (a statement-level trigger), for every
  role; tests and DBAs who truly need it must `ALTER TABLE … DISABLE TRIGGER` as owner.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

import crm.models._types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_LEVELS = ("standard", "restricted", "confidential")
_RANK = "CASE {col} WHEN 'confidential' THEN 2 WHEN 'restricted' THEN 1 ELSE 0 END"


def upgrade():
    with op.batch_alter_table("follow_ups") as batch_op:
        batch_op.add_column(sa.Column("sensitivity", sa.String(length=20), nullable=False,
                                      server_default="standard"))
        batch_op.create_check_constraint(
            "ck_follow_ups_sensitivity_valid",
            "sensitivity IN ('standard', 'restricted', 'confidential')")
    with op.batch_alter_table("partners") as batch_op:
        for level in _LEVELS:
            batch_op.add_column(sa.Column(f"last_{level}_interaction_at",
                                          crm.models._types.UTCDateTime(), nullable=True))

    # back-fill: the strictest of partner and interaction
    rank_p = _RANK.format(col="p.sensitivity")
    rank_i = _RANK.format(col="i.sensitivity")
    op.execute(f"""
        UPDATE follow_ups SET sensitivity = (
            SELECT CASE MAX(r) WHEN 2 THEN 'confidential' WHEN 1 THEN 'restricted'
                               ELSE 'standard' END
            FROM (SELECT {rank_p} AS r FROM partners p WHERE p.id = follow_ups.partner_id
                  UNION ALL
                  SELECT {rank_i} FROM interactions i WHERE i.id = follow_ups.interaction_id)
                 AS ranks)
    """)
    for level in _LEVELS:
        op.execute(f"""
            UPDATE partners SET last_{level}_interaction_at = (
                SELECT MAX(occurred_at) FROM interactions
                WHERE interactions.partner_id = partners.id
                  AND interactions.sensitivity = '{level}')
        """)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE TRIGGER audit_events_no_truncate
            BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
        """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    with op.batch_alter_table("partners") as batch_op:
        for level in _LEVELS:
            batch_op.drop_column(f"last_{level}_interaction_at")
    with op.batch_alter_table("follow_ups") as batch_op:
        batch_op.drop_constraint("ck_follow_ups_sensitivity_valid", type_="check")
        batch_op.drop_column("sensitivity")
