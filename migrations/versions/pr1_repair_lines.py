"""repair orders: repair type and pay type, intake fields (plate, 进厂里程, sender, fuel,
body, old parts), amounts by payer, declined lines, parts requisition; field service
reports: the fee handed in and reconciled

Revision ID: pr1lines01
Revises: st1staff01
"""

import sqlalchemy as sa
from alembic import op

revision = "pr1lines01"
down_revision = "st1staff01"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2, asdecimal=False)


def upgrade():
    with op.batch_alter_table("repair_orders") as batch:
        batch.add_column(sa.Column("repair_type", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("pay_type", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("plate_no", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("mileage_in", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sender_name", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("sender_phone", sa.String(30), nullable=False, server_default=""))
        batch.add_column(sa.Column("fuel_level", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("body_condition", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("old_parts_take_away", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("customer_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("claim_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("insurance_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("internal_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("declined_lines", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("requisition_no", sa.String(50), nullable=False, server_default=""))
        batch.add_column(sa.Column("requisition_signed_by", sa.String(100), nullable=False, server_default=""))
    op.create_index("ix_repair_orders_plate_no", "repair_orders", ["plate_no"])
    with op.batch_alter_table("field_service_reports") as batch:
        batch.add_column(sa.Column("fee_handed_in_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("fee_handed_in_by", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("fee_handed_in_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("fee_reconciled", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("field_service_reports") as batch:
        for name in ("fee_reconciled", "fee_handed_in_at", "fee_handed_in_by", "fee_handed_in_amount"):
            batch.drop_column(name)
    op.drop_index("ix_repair_orders_plate_no", "repair_orders")
    with op.batch_alter_table("repair_orders") as batch:
        for name in ("requisition_signed_by", "requisition_no", "declined_lines", "internal_amount", "insurance_amount",
                     "claim_amount", "customer_amount", "old_parts_take_away", "body_condition", "fuel_level",
                     "sender_phone", "sender_name", "mileage_in", "plate_no", "pay_type", "repair_type"):
            batch.drop_column(name)
