"""agreement imports: `import_jobs.kind` (partners or agreements), so the partner import's
upload, preview, progress and results pages also import agreements (issue 15).

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False,
                                      server_default="partners"))
        batch_op.create_check_constraint("kind_valid", "kind IN ('partners', 'agreements')")


def downgrade():
    op.execute("DELETE FROM import_jobs WHERE kind = 'agreements'")
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.drop_constraint(op.f("ck_import_jobs_kind_valid"), type_="check")
        batch_op.drop_column("kind")
