"""complaint cases: related work order, 客户诉求, the staff member complained about, the
source case (follow-up call, survey), how often the customer was not satisfied, the
attitude investigation

Revision ID: pr2complaint01
Revises: pr1lines01
"""

import sqlalchemy as sa
from alembic import op

revision = "pr2complaint01"
down_revision = "pr1lines01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complaint_cases") as batch:
        batch.add_column(sa.Column("related_order_no", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("customer_demand", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("staff_member", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("source_case_no", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("investigation", sa.JSON(), nullable=True))
    op.create_index("ix_complaint_cases_source_case_no", "complaint_cases", ["source_case_no"])


def downgrade():
    op.drop_index("ix_complaint_cases_source_case_no", "complaint_cases")
    with op.batch_alter_table("complaint_cases") as batch:
        for name in ("investigation", "reopen_count", "source_case_no", "staff_member", "customer_demand", "related_order_no"):
            batch.drop_column(name)
