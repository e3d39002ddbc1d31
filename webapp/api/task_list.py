"""GET /api/tasks as one plain statement: the open tasks and their cases' columns read on the
session's driver cursor (engine/plain_sql.py: SQLAlchemy expressions compiled once per
dialect and filter shape) and turned into the answer's dicts directly.

Through the ORM and marshmallow a case's task list cost 1.7 ms of CPU, most of it building
ORM objects and dumping them field by field for the one or three rows a case has. The body is
the same JSON as `schemas.TaskOut` dumps (tests/test_api_task_list.py compares both on every
filter), so TaskOut stays the contract's description (OpenAPI) and the single task's answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, false, func, or_, select

from .. import plain_rows
from ..engine import definitions, plain_sql
from ..engine.clock import to_iso
from ..extensions import db
from ..models import InboxTask, Instance
from ..models.engine import IS_OPEN

_TASK_COLUMNS = [InboxTask.id, InboxTask.instance_id, InboxTask.bpmn_id, InboxTask.name, InboxTask.role,
                 InboxTask.lane_name, InboxTask.state, InboxTask.assignee, InboxTask.created_at, InboxTask.due_at,
                 InboxTask.form_schema, InboxTask.form_ui_schema, InboxTask.task_metadata, InboxTask.prefill]
_CASE_COLUMNS = [Instance.business_key, Instance.process_key, Instance.version, Instance.definition_id]

# (instance filter, who: "all" | "mine" | "lanes", number of roles, limited) -> (rows, count)
_statements: dict[tuple, tuple[plain_sql.Statement, plain_sql.Statement]] = {}


def _statements_for(by_instance: bool, who: str, roles: int, limited: bool):
    key = (by_instance, who, roles, limited)
    found = _statements.get(key)
    if found is None:
        where = [IS_OPEN]
        if by_instance:
            where.append(InboxTask.instance_id == bindparam("instance_id"))
        me = InboxTask.assignee == bindparam("me")
        if who == "mine":
            where.append(me)
        elif who == "lanes":
            in_lanes = InboxTask.role.in_([bindparam(f"role{n}") for n in range(roles)]) if roles else false()
            where.append(or_(me, and_(in_lanes, or_(InboxTask.assignee.is_(None), me))))
        rows = (select(*_TASK_COLUMNS, *_CASE_COLUMNS)
                .join_from(InboxTask, Instance, InboxTask.instance_id == Instance.id)
                .where(*where)
                .order_by(InboxTask.due_at.asc().nulls_last(), InboxTask.created_at, InboxTask.id)
                .offset(bindparam("offset")))
        if limited:
            rows = rows.limit(bindparam("limit"))
        count = select(func.count()).select_from(InboxTask).where(*where)
        found = _statements[key] = (plain_sql.Statement(rows), plain_sql.Statement(count))
    return found


def open_tasks(*, instance_id: int | None, me: str, who: str, roles: frozenset[str] | set[str],
               limit: int | None, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of open tasks as TaskOut's dicts, and the total before paging (counted only
    when the page does not tell it, as listing.page)."""
    ordered_roles = sorted(roles) if who == "lanes" else []
    rows_statement, count_statement = _statements_for(instance_id is not None, who, len(ordered_roles), limit is not None)
    values: dict[str, Any] = {"me": me, "offset": offset, **{f"role{n}": r for n, r in enumerate(ordered_roles)}}
    if instance_id is not None:
        values["instance_id"] = instance_id
    if limit is not None:
        values["limit"] = limit
    if who == "all":
        values.pop("me")
    session = db.session()
    tasks = [_task(row) for row in plain_rows.fetch_all(session, rows_statement, values)]
    if (limit is None or len(tasks) < limit) and (tasks or offset == 0):
        return tasks, offset + len(tasks)
    values.pop("offset")
    values.pop("limit", None)
    total = plain_sql.execute(session, count_statement, values).fetchone()[0]
    return tasks, total


def _task(row: tuple) -> dict[str, Any]:
    (task_id, instance_id, bpmn_id, name, role, lane_name, state, assignee, created_at, due_at, form_schema,
     form_ui_schema, metadata, prefill, business_key, process_key, version, definition_id) = row
    forms = definitions.info(definition_id).forms
    return {
        "id": task_id,
        "instance_id": instance_id,
        "business_key": business_key,
        "process_key": process_key,
        "instance_version": version,
        "bpmn_id": bpmn_id,
        "name": name,
        "lane": role,
        "lane_name": lane_name,
        "state": state,
        "assignee": assignee,
        "created_at": to_iso(created_at) if created_at is not None else None,
        "due_at": to_iso(due_at) if due_at is not None else None,
        "form": {
            "schema": forms.get(form_schema) if form_schema else None,
            "ui_schema": forms.get(form_ui_schema) if form_ui_schema else None,
        },
        "metadata": metadata or {},
        "data": prefill or {},
    }
