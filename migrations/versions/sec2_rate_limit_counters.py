"""security: Flask-Limiter's counters in the database (RATELIMIT_STORAGE_URI=database://)

Revision ID: sec2_rate_limits
Revises: sec1_security
"""

import sqlalchemy as sa
from alembic import op

revision = "sec2_rate_limits"
down_revision = "sec1_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limit_counters"),
    )


def downgrade():
    op.drop_table("rate_limit_counters")
