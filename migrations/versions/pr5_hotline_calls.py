"""hotline calls: every call and enquiry registered (咨询电话登记), its answer and the case it opened

Revision ID: pr5hotline01
Revises: pr4claims01
"""

import sqlalchemy as sa
from alembic import op

revision = "pr5hotline01"
down_revision = "pr4claims01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hotline_calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("plate_no", sa.String(20), nullable=False, server_default=""),
        sa.Column("serial_no", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel", sa.String(20), nullable=False, server_default="phone"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False, server_default=""),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("linked_case_no", sa.String(40), nullable=False, server_default=""),
    )
    for column in ("instance_id", "customer_id", "plate_no", "serial_no"):
        op.create_index(f"ix_hotline_calls_{column}", "hotline_calls", [column])


def downgrade():
    for column in ("serial_no", "plate_no", "customer_id", "instance_id"):
        op.drop_index(f"ix_hotline_calls_{column}", "hotline_calls")
    op.drop_table("hotline_calls")
