"""hot tables' indexes that other indexes already serve: the inbox's (state, role) (open
tasks by role: the partial (role, due_at, created_at) WHERE state = 'open', now that the
open-task queries carry the literal; by state alone: (state, completed_at)), and the
instances' single-column status and process_key (prefixes of (status, next_timer_due) /
(status, ended_at) and of the unique (process_key, business_key)). Each command wrote their
pages: ~11 of an instance's ~135 WAL frames on SQLite.

Revision ID: eng5_redundant_indexes
Revises: pgp1_hot_table_writes
"""

from alembic import op

revision = "eng5_redundant_indexes"
down_revision = "pgp1_hot_table_writes"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_inbox_open_role", table_name="inbox_tasks")
    op.drop_index("ix_instances_status", table_name="instances")
    op.drop_index("ix_instances_process_key", table_name="instances")


def downgrade():
    op.create_index("ix_instances_process_key", "instances", ["process_key"], unique=False)
    op.create_index("ix_instances_status", "instances", ["status"], unique=False)
    op.create_index("ix_inbox_open_role", "inbox_tasks", ["state", "role"], unique=False)
