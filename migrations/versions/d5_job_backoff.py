"""jobs: per-diagram retry backoff; incidents skipped with a value

Revision ID: d5scale01
Revises: 9418cd5d80b2
"""

import sqlalchemy as sa
from alembic import op

revision = "d5scale01"
down_revision = "9418cd5d80b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("backoff_base_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("incident_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("incident_count")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("backoff_base_seconds")
