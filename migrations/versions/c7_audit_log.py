"""audit: the hash-chained system log and its head

Revision ID: c7audit01
Revises: 9418cd5d80b2
Create Date: 2026-11-26 22:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7audit01"
down_revision = "9418cd5d80b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('system_log_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_log_events')),
    sa.UniqueConstraint('seq', name='uq_system_log_seq')
    )
    with op.batch_alter_table('system_log_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_system_log_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_system_log_events_actor'), ['actor'], unique=False)
        batch_op.create_index('ix_system_log_type_at', ['type', 'at'], unique=False)

    system_log_head = op.create_table('system_log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_log_head'))
    )
    op.bulk_insert(system_log_head, [{'id': 1, 'last_seq': 0, 'last_hash': ''}])


def downgrade():
    op.drop_table('system_log_head')
    with op.batch_alter_table('system_log_events', schema=None) as batch_op:
        batch_op.drop_index('ix_system_log_type_at')
        batch_op.drop_index(batch_op.f('ix_system_log_events_actor'))
        batch_op.drop_index(batch_op.f('ix_system_log_events_at'))
    op.drop_table('system_log_events')
