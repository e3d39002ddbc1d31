"""kpi: indexes for the managers' dashboard (figures by period, history by element and time)

Revision ID: e8kpi01
Revises: a4service01, b4quality01

The figures select records by the moment that puts them in a period (received_at,
surveyed_at, created_at...); monitoring and the figures read the history by element
(bpmn_id, type) and by time (type, at). On PostgreSQL the history indexes carry the other
columns the queries read (INCLUDE), so they are answered from the index alone.
"""

from alembic import op

revision = "e8kpi01"
down_revision = ("a4service01", "b4quality01")  # repair orders, parts returns; surveys, corrective actions
branch_labels = None
depends_on = None

PERIOD_INDEXES = [
    ("ix_complaint_cases_received_at", "complaint_cases", ["received_at"]),
    ("ix_repair_orders_received_at", "repair_orders", ["received_at"]),
    ("ix_satisfaction_surveys_surveyed_at", "satisfaction_surveys", ["surveyed_at"]),
    ("ix_parts_returns_created_at", "parts_returns", ["created_at"]),
    ("ix_corrective_actions_opened_at", "corrective_actions", ["opened_at"]),
    ("ix_escalations_at", "escalations", ["at"]),
    ("ix_inbox_tasks_state_completed_at", "inbox_tasks", ["state", "completed_at"]),
    ("ix_instances_status_ended_at", "instances", ["status", "ended_at"]),
    ("ix_instances_started_at", "instances", ["started_at"]),
]


def upgrade():
    for name, table, columns in PERIOD_INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index("ix_history_events_element", "history_events", ["bpmn_id", "type", "instance_id"], unique=False,
                    postgresql_include=["at"])
    op.create_index("ix_history_events_type_at", "history_events", ["type", "at"], unique=False,
                    postgresql_include=["instance_id", "bpmn_id"])


def downgrade():
    op.drop_index("ix_history_events_type_at", table_name="history_events")
    op.drop_index("ix_history_events_element", table_name="history_events")
    for name, table, _columns in reversed(PERIOD_INDEXES):
        op.drop_index(name, table_name=table)
