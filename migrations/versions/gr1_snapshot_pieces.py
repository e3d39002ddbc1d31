"""snapshot pieces: an instance's snapshot stored as pieces (only changed ones rewritten),
and the form of its state hashes (1: sha256 of the whole snapshot; 2: over the pieces)

Revision ID: gr1_snapshot_pieces
Revises: wh1_webhooks
"""

import sqlalchemy as sa
from alembic import op

revision = "gr1_snapshot_pieces"
down_revision = "wh1_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "snapshot_pieces",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "n"),
    )
    with op.batch_alter_table("instances") as batch_op:
        # 0: the whole snapshot is in instances.snapshot (every instance until its next command)
        batch_op.add_column(sa.Column("snapshot_pieces", sa.Integer(), nullable=False, server_default="0"))
        # instances written so far keep their form; new ones get form 2 from the application
        batch_op.add_column(sa.Column("state_hash_form", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    # The whole text back into instances.snapshot (form-2 state hashes cannot be checked by
    # the code before this revision).
    bind = op.get_bind()
    texts: dict[int, list[str]] = {}
    for instance_id, text in bind.execute(sa.text("SELECT instance_id, text FROM snapshot_pieces ORDER BY instance_id, n")):
        texts.setdefault(instance_id, []).append(text)
    for instance_id, parts in texts.items():
        bind.execute(sa.text("UPDATE instances SET snapshot = :s WHERE id = :i AND snapshot_pieces > 0"),
                     {"s": "".join(parts), "i": instance_id})
    with op.batch_alter_table("instances") as batch_op:
        batch_op.drop_column("state_hash_form")
        batch_op.drop_column("snapshot_pieces")
    op.drop_table("snapshot_pieces")
