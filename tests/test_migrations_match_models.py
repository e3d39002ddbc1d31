"""The migrations build the schema the models describe: a table, column or index added or
dropped on one side only (a model edited without its migration, or the reverse) shows here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from webapp.extensions import db

# Indexes declared in a migration alone, not on the models: the dashboard's (migration
# e8_kpi_indexes) serve only the KPI queries.
_MIGRATION_ONLY_INDEXES = {
    "ix_complaint_cases_received_at", "ix_corrective_actions_opened_at", "ix_escalations_at",
    "ix_history_events_element", "ix_history_events_type_at", "ix_inbox_tasks_state_completed_at",
    "ix_instances_status_ended_at", "ix_parts_returns_created_at", "ix_repair_orders_received_at",
    "ix_satisfaction_surveys_surveyed_at",
    # case search's trigram indexes (migration g5_inbox_search, PostgreSQL only)
    "ix_instances_business_key_trgm", "ix_instances_customer_name_trgm",
}
_STRUCTURAL = {"add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index"}


def _structural_differences() -> list[tuple[str, str]]:
    with db.engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), db.metadata)
    described = []
    for change in found:
        for kind, *rest in (change if isinstance(change, list) else [change]):
            if kind not in _STRUCTURAL:
                continue
            target = rest[-1] if kind.endswith("column") else rest[0]
            described.append((kind, getattr(target, "name", str(target))))
    return described


def test_the_migrated_database_has_exactly_the_tables_columns_and_indexes_of_the_models(app):
    differences = [(kind, name) for kind, name in _structural_differences()
                   if not (kind == "remove_index" and name in _MIGRATION_ONLY_INDEXES)]
    assert differences == []
