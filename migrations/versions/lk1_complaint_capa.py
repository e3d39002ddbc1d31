"""corrective actions: opened by a complaint found to be the service's fault as well as by a
survey (survey_id may be empty; complaint_case_id names the complaint)

Revision ID: lk1complaintcapa
Revises: ws1_workshop_records
"""

import sqlalchemy as sa
from alembic import op

revision = "lk1complaintcapa"
down_revision = "ws1_workshop_records"
branch_labels = None
depends_on = None


def upgrade():
    # batch mode: SQLite cannot alter a column's NULL-ability in place (the table is copied)
    with op.batch_alter_table("corrective_actions") as batch:
        batch.alter_column("survey_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("complaint_case_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_corrective_actions_complaint_case_id_complaint_cases", "complaint_cases",
                                 ["complaint_case_id"], ["id"])
        batch.create_index("ix_corrective_actions_complaint_case_id", ["complaint_case_id"])


def downgrade():
    op.execute("DELETE FROM corrective_actions WHERE survey_id IS NULL")
    with op.batch_alter_table("corrective_actions") as batch:
        batch.drop_index("ix_corrective_actions_complaint_case_id")
        batch.drop_constraint("fk_corrective_actions_complaint_case_id_complaint_cases", type_="foreignkey")
        batch.drop_column("complaint_case_id")
        batch.alter_column("survey_id", existing_type=sa.Integer(), nullable=False)
