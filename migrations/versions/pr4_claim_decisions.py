"""repair orders: the warranty decision taken before settlement; warranty claims: the
pre-authorisation number and resubmissions after a manufacturer's rejection

Revision ID: pr4claims01
Revises: pr3attempts01
"""

import sqlalchemy as sa
from alembic import op

revision = "pr4claims01"
down_revision = "pr3attempts01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_orders") as batch:
        batch.add_column(sa.Column("claim_decision", sa.JSON(), nullable=True))
    with op.batch_alter_table("warranty_claims") as batch:
        batch.add_column(sa.Column("pre_auth_no", sa.String(50), nullable=False, server_default=""))
        batch.add_column(sa.Column("resubmissions", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("warranty_claims") as batch:
        batch.drop_column("resubmissions")
        batch.drop_column("pre_auth_no")
    with op.batch_alter_table("repair_orders") as batch:
        batch.drop_column("claim_decision")
