"""security: a session version per account (sessions end on the server), named API tokens
with an expiry, and sign-in failures counted per account and address

Revision ID: sec1_security
Revises: g5search01
"""

import sqlalchemy as sa
from alembic import op

revision = "sec1_security"
down_revision = "g5search01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("name", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(80), nullable=True))
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_login_throttles"),
        sa.UniqueConstraint("username", "address", name="uq_login_throttles_username"),
    )


def downgrade():
    op.drop_table("login_throttles")
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("revoked_by", "revoked_at", "expires_at", "name"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
