"""inbox tasks: SpiffArena's taskMetadataValues as evaluated when the task became ready,
and the task's data for its form's fields (the form opens pre-filled with them)

Revision ID: dp1_task_prefill
Revises: sec2_rate_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "dp1_task_prefill"
down_revision = "sec2_rate_limits"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.add_column(sa.Column("task_metadata", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("prefill", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.drop_column("prefill")
        batch.drop_column("task_metadata")
