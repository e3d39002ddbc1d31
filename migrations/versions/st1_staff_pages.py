"""staff pages: attachments (files kept outside the database), mentions, saved inbox filters,
personal follow-up dates on tasks

Revision ID: st1staff01
Revises: dp1_task_prefill
"""

import sqlalchemy as sa
from alembic import op

revision = "st1staff01"
down_revision = "dp1_task_prefill"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instances.id"), nullable=True),
    )
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])
    op.create_index("ix_attachments_instance_id", "attachments", ["instance_id"])
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_mentions_instance_id", "mentions", ["instance_id"])
    op.create_index("ix_mentions_unseen", "mentions", ["username", "seen_at"])
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
    )
    op.create_index("ix_saved_filters_username", "saved_filters", ["username"])
    op.create_table(
        "task_follow_ups",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("on", sa.Date(), nullable=False),
    )


def downgrade():
    op.drop_table("task_follow_ups")
    op.drop_index("ix_saved_filters_username", table_name="saved_filters")
    op.drop_table("saved_filters")
    op.drop_index("ix_mentions_unseen", table_name="mentions")
    op.drop_index("ix_mentions_instance_id", table_name="mentions")
    op.drop_table("mentions")
    op.drop_index("ix_attachments_instance_id", table_name="attachments")
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_table("attachments")
