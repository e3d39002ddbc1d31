"""hot tables' writes: drop the two indexes another index already serves (history_events and
jobs by instance_id: the unique (instance_id, seq) and (instance_id, task_id) indexes lead
with it), and compress snapshot pieces with lz4 on PostgreSQL (the tasks' piece, ~5 KB, is
rewritten by every command; pglz cost more server CPU than the rest of that UPDATE)

Revision ID: pgp1_hot_table_writes
Revises: gr1_snapshot_pieces
"""

from alembic import op

revision = "pgp1_hot_table_writes"
down_revision = "gr1_snapshot_pieces"
branch_labels = None
depends_on = None

# A server built without lz4 (or older than 14) keeps pglz: an optimisation only.
_COMPRESSION = """
DO $$ BEGIN
  EXECUTE 'ALTER TABLE snapshot_pieces ALTER COLUMN text SET COMPRESSION {method}';
EXCEPTION WHEN OTHERS THEN NULL;
END $$
"""


def upgrade():
    with op.batch_alter_table("history_events") as batch_op:
        batch_op.drop_index("ix_history_events_instance_id")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index("ix_jobs_instance_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_COMPRESSION.format(method="lz4"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_COMPRESSION.format(method="pglz"))
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.create_index("ix_jobs_instance_id", ["instance_id"], unique=False)
    with op.batch_alter_table("history_events") as batch_op:
        batch_op.create_index("ix_history_events_instance_id", ["instance_id"], unique=False)
