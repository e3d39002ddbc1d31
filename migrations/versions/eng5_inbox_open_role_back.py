"""the inbox's (state, role) index back: without it SQLite reads a long case's open task by
`ix_inbox_tasks_instance_id`, every task the case ever had (the growth bench's step 1,000
went from 1.8 to 3.4-5.1 ms); the instances' two prefix indexes stay dropped

Revision ID: eng5_inbox_open_role_back
Revises: eng5_redundant_indexes
"""

from alembic import op

revision = "eng5_inbox_open_role_back"
down_revision = "eng5_redundant_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_inbox_open_role", "inbox_tasks", ["state", "role"], unique=False)


def downgrade():
    op.drop_index("ix_inbox_open_role", table_name="inbox_tasks")
