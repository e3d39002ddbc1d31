"""inbox and case search stay indexed: open tasks by role and due time; the customer's
name on the instance row; trigram indexes for infix search where PostgreSQL has pg_trgm

Revision ID: g5search01
Revises: f0merge01
"""

import sqlalchemy as sa
from alembic import op

revision = "g5search01"
down_revision = "f0merge01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("customer_name", sa.String(100), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE instances SET customer_name = left(data::json ->> 'customer_name', 100)")
    else:
        op.execute("UPDATE instances SET customer_name = substr(json_extract(data, '$.customer_name'), 1, 100)")
    op.create_index("ix_instances_customer_name", "instances", ["customer_name"])
    op.create_index(
        "ix_inbox_open_by_role_due",
        "inbox_tasks",
        ["role", "due_at", "created_at"],
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )
    for name, columns in (("ix_inbox_open_by_due", ["due_at", "created_at"]), ("ix_inbox_open_by_assignee", ["assignee"])):
        op.create_index(
            name, "inbox_tasks", columns, postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'")
        )
    if bind.dialect.name == "postgresql":
        _trigram_indexes(bind)


def _trigram_indexes(bind) -> None:
    """Infix search (ILIKE '%...%') uses these; without the extension (no rights to create
    it) search still works, by scanning."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        savepoint.commit()
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    op.execute("CREATE INDEX ix_instances_business_key_trgm ON instances USING gin (business_key gin_trgm_ops)")
    op.execute("CREATE INDEX ix_instances_customer_name_trgm ON instances USING gin (customer_name gin_trgm_ops)")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_instances_customer_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_instances_business_key_trgm")
    op.drop_index("ix_inbox_open_by_assignee", table_name="inbox_tasks")
    op.drop_index("ix_inbox_open_by_due", table_name="inbox_tasks")
    op.drop_index("ix_inbox_open_by_role_due", table_name="inbox_tasks")
    op.drop_index("ix_instances_customer_name", table_name="instances")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("customer_name")
