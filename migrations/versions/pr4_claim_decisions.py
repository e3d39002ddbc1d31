"""repair orders: the warranty decision taken before settlement, the 三包 counts; warranty claims: the
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
        batch.add_column(sa.Column("fault_key", sa.String(60), nullable=False, server_default=""))
        batch.add_column(sa.Column("sanbao_repair_no", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sanbao_cumulative_days", sa.Numeric(8, 1, asdecimal=False), nullable=True))
        batch.add_column(sa.Column("sanbao_alert", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("sanbao_decision", sa.String(30), nullable=False, server_default=""))
    op.create_index("ix_repair_orders_fault_key", "repair_orders", ["fault_key"])
    with op.batch_alter_table("warranty_claims") as batch:
        batch.add_column(sa.Column("pre_auth_no", sa.String(50), nullable=False, server_default=""))
        batch.add_column(sa.Column("resubmissions", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("warranty_claims") as batch:
        batch.drop_column("resubmissions")
        batch.drop_column("pre_auth_no")
    op.drop_index("ix_repair_orders_fault_key", "repair_orders")
    with op.batch_alter_table("repair_orders") as batch:
        for name in ("sanbao_decision", "sanbao_alert", "sanbao_cumulative_days", "sanbao_repair_no", "fault_key",
                     "claim_decision"):
            batch.drop_column(name)
