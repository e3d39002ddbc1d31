"""workshop records: 待料 waits with the signed requisition, repair accidents, weekly repair-quality reports

Revision ID: ws1_workshop_records
Revises: sb1_script_outputs
"""

import sqlalchemy as sa
from alembic import op

revision = "ws1_workshop_records"
down_revision = "sb1_script_outputs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "parts_waits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_number", sa.String(40), nullable=False, index=True),
        sa.Column("instance_id", sa.Integer(), nullable=True, index=True),
        sa.Column("team", sa.String(50), nullable=False, server_default=""),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(), nullable=True),
        sa.Column("requisition_no", sa.String(50), nullable=False, server_default=""),
        sa.Column("requisition_signed_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("issued_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="waiting"),
    )
    op.create_table(
        "repair_accidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_number", sa.String(40), nullable=False, index=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("reported_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("notified_roles", sa.JSON(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False, server_default=""),
        sa.Column("responsible", sa.String(100), nullable=False, server_default=""),
        sa.Column("damage_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("customer_informed", sa.Boolean(), nullable=True),
        sa.Column("handling", sa.Text(), nullable=False, server_default=""),
        sa.Column("reporting", sa.String(20), nullable=False, server_default=""),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "repair_quality_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("instance_id", sa.Integer(), nullable=True, index=True),
        sa.Column("week_start", sa.Date(), nullable=False, unique=True),
        sa.Column("compiled_at", sa.DateTime(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("customer_needs", sa.Text(), nullable=False, server_default=""),
        sa.Column("problems", sa.Text(), nullable=False, server_default=""),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("gm_comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("read_at", sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table("repair_quality_reports")
    op.drop_table("repair_accidents")
    op.drop_table("parts_waits")

