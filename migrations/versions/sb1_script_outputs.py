"""script outputs: what diagram scripts print(), shown on the case page

Revision ID: sb1_script_outputs
Revises: at1checkpoints
"""

import sqlalchemy as sa
from alembic import op

revision = "sb1_script_outputs"
down_revision = "at1checkpoints"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "script_outputs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("bpmn_id", sa.String(100), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_script_outputs_instance_id", "script_outputs", ["instance_id"])


def downgrade():
    op.drop_index("ix_script_outputs_instance_id", "script_outputs")
    op.drop_table("script_outputs")
