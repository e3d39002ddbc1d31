"""audit: signed checkpoints; definitions.meta covered by its own hash

Revision ID: at1checkpoints
Revises: pr5hotline01
Create Date: 2026-11-27 17:10:00

`meta_hash` = sha256 hex of the canonical JSON of `meta` (the same canonical JSON as every
other hash: keys sorted, "," and ":" separators, UTF-8 text as is), filled in here for the
versions already deployed. `content_hash` keeps its meaning (files and forms), so the start
events already recorded keep verifying.
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "at1checkpoints"
down_revision = "pr5hotline01"
branch_labels = None
depends_on = None


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade():
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meta_hash", sa.String(length=64), nullable=False, server_default=""))
    definitions = sa.table("definitions", sa.column("id", sa.Integer), sa.column("meta", sa.JSON),
                           sa.column("meta_hash", sa.String))
    bind = op.get_bind()
    for row in bind.execute(sa.select(definitions.c.id, definitions.c.meta)).all():
        meta = row.meta if not isinstance(row.meta, str) else json.loads(row.meta)
        digest = hashlib.sha256(_canonical(meta).encode("utf-8")).hexdigest()
        bind.execute(definitions.update().where(definitions.c.id == row.id).values(meta_hash=digest))

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )


def downgrade():
    op.drop_table("checkpoints")
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.drop_column("meta_hash")
