"""follow-ups: attempts and the last call outcome (已接通 / 未接通 / 拒访 / 空号); calls:
outcome and attempt number; return requests: invoice number

Revision ID: pr3attempts01
Revises: pr2complaint01
"""

import sqlalchemy as sa
from alembic import op

revision = "pr3attempts01"
down_revision = "pr2complaint01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_outcome", sa.String(20), nullable=False, server_default=""))
    with op.batch_alter_table("followup_calls") as batch:
        batch.add_column(sa.Column("outcome", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("return_requests") as batch:
        batch.add_column(sa.Column("invoice_no", sa.String(50), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("return_requests") as batch:
        batch.drop_column("invoice_no")
    with op.batch_alter_table("followup_calls") as batch:
        batch.drop_column("attempt")
        batch.drop_column("outcome")
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("last_outcome")
        batch.drop_column("attempts")
