"""What a workflow's state means for the rows staff and workers read: inbox tasks, jobs,
the next timer due, message waits, the case data and the instance status.

Each command scans the workflow before and after its input; the rows change by the
difference, so a command touches only what moved.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam
from sqlalchemy import inspect as sa_inspect

from ..extensions import db
from ..models import InboxTask, Instance, Job, MessageWait
from ..models.engine import IS_OPEN
from . import definitions, plain_sql, tree, waits
from .parser import DeferredServiceTask
from .serialization import id_text

DEFAULT_MAX_ATTEMPTS = 5
_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_READY, _STARTED, _WAITING = TaskState.READY, TaskState.STARTED, TaskState.WAITING


# The inbox and job rows of every command, on the driver in the session's transaction
# (plain_sql: compiled once per dialect, none of SQLAlchemy's per-statement work).
_INBOX = InboxTask.__table__
_INBOX_KEYS = ("id", "instance_id", "bpmn_id", "name", "role", "lane_name", "form_schema", "form_ui_schema", "state",
               "created_at", "due_at", "task_metadata", "prefill")
_INBOX_INSERT = plain_sql.Statement(_INBOX.insert().inline(), _INBOX_KEYS)
_INBOX_COMPLETED = plain_sql.Statement(
    _INBOX.update().where(_INBOX.c.id == bindparam("w_id"), IS_OPEN).values(
        state="completed", completed_at=bindparam("v_at"), completed_by=bindparam("v_by")))
_INBOX_CANCELLED = plain_sql.Statement(
    _INBOX.update().where(_INBOX.c.id == bindparam("w_id"), IS_OPEN).values(
        state="cancelled", completed_at=bindparam("v_at")))
_JOB_KEYS = ("instance_id", "task_id", "bpmn_id", "operator", "parameters", "status", "attempts", "max_attempts",
             "backoff_base_seconds", "run_at", "created_at")
_JOB_INSERT = plain_sql.Statement(Job.__table__.insert().inline(), _JOB_KEYS)


# What the two UPDATEs above write: only these attributes of a loaded object are stale.
_COMPLETED_WRITES = ("state", "completed_at", "completed_by")
_CANCELLED_WRITES = ("state", "completed_at")


def _expire_loaded(model, ids, written: tuple[str, ...]) -> None:
    """Rows this session holds as objects read the columns the plain UPDATE wrote (it went
    past the ORM) again at their next use. Only those: expiring the whole object also walks
    its mapper's relationships for a refresh-expire cascade (there is none) and expires every
    column, most of this function's cost in the profile; the other columns hold what the
    database holds (and a change of this transaction not yet flushed is kept, not dropped)."""
    mapper = sa_inspect(model)
    session = db.session()
    identity_map = session.identity_map
    for row_id in ids:
        loaded = identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
        if loaded is not None:
            session.expire(loaded, written)


@dataclass
class Scan:
    ready_user: dict[str, Task] = field(default_factory=dict)
    started_service: dict[str, Task] = field(default_factory=dict)
    waiting: list[Task] = field(default_factory=list)
    active: list[Task] = field(default_factory=list)


def scan(workflow: BpmnWorkflow) -> Scan:
    """The active tasks, sorted as SpiffWorkflow's get_tasks lists them."""
    result = Scan()
    active = result.active = active_tasks(workflow)
    for task in active:
        state = task._state
        if state == _READY and task.task_spec.manual:
            result.ready_user[id_text(task)] = task
        elif state == _STARTED and isinstance(task.task_spec, DeferredServiceTask):
            result.started_service[id_text(task)] = task
        elif state == _WAITING:
            result.waiting.append(task)
    return result


def active_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """workflow.get_tasks(state=READY | STARTED | WAITING), in the same order, without
    walking the tree: SpiffWorkflow's iterator visits every task of the case (a long case's
    thousand finished steps on every command); this is one flat pass over the task tables
    and a sort of the few active tasks by their place in the tree (tree.dfs_order)."""
    found = [task for task in workflow.tasks.values() if task._state & _ACTIVE]
    for subprocess in workflow.subprocesses.values():
        found.extend(task for task in subprocess.tasks.values() if task._state & _ACTIVE)
    if len(found) > 1:
        found = tree.dfs_order(workflow, found)
    if tree.CHECK and found != workflow.get_tasks(state=_ACTIVE):
        raise tree.ShortcutMismatch("active tasks differ from SpiffWorkflow's get_tasks")
    return found


def case_data(workflow: BpmnWorkflow, active: list[Task] | None = None) -> dict:
    """The case's data, exactly as SpiffWorkflow has it: at the end the workflow's data;
    while running, the data of the top-level tasks now active, merged in tree order (a
    call activity's own tasks keep theirs). Nothing is carried over from earlier states,
    so a key a script deleted, or a multi-instance item, does not linger."""
    if tree.is_completed(workflow):
        return dict(workflow.data)
    merged: dict = {}
    for task in active if active is not None else workflow.get_tasks(state=_ACTIVE):
        if task.workflow is workflow:
            merged.update(task.data)
    return merged


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    return waits.next_timer_due(workflow)


def _timer_due_by_task(waiting: list[Task], boundaries: dict[str, str]) -> dict[str, datetime]:
    """task bpmn_id -> earliest due time of a timer attached to it (only timers have times:
    an error or escalation boundary event's value is a code)."""
    dues: dict[str, datetime] = {}
    for task in waiting:
        attached = boundaries.get(task.task_spec.bpmn_id)
        if not attached or getattr(task.task_spec, "event_definition", None) is None:
            continue
        due = waits.timer_due(task)
        if due is not None:
            dues[attached] = min(due, dues.get(attached, due))
    return dues


def project(
    instance: Instance,
    workflow: BpmnWorkflow,
    before: Scan,
    after: Scan,
    *,
    now: datetime,
    actor: str,
    completed_task_id: str | None,
    cancelled: bool,
) -> None:
    instance.updated_at = now
    if not cancelled:  # a cancelled case keeps the data it had: the workflow's is empty then
        instance.data = case_data(workflow, after.active)
    customer = instance.data.get("customer_name")
    instance.customer_name = customer[:100] if isinstance(customer, str) else None
    instance.next_timer_due = next_timer_due(workflow)
    if tree.is_completed(workflow) and instance.status == "running":
        instance.status = "cancelled" if cancelled else "completed"
        instance.ended_at = now
        instance.next_timer_due = None
    _inbox(instance, workflow, before, after, now, actor, completed_task_id)
    _jobs(instance, before, after, now, completed_task_id)
    if definitions.info(instance.definition_id).meta.get("has_messages", True):
        _message_waits(instance, workflow)


def _inbox(
    instance: Instance,
    workflow: BpmnWorkflow,
    before: Scan,
    after: Scan,
    now: datetime,
    actor: str,
    completed_task_id: str | None,
) -> None:
    gone = set(before.ready_user) - set(after.ready_user)
    if completed_task_id in gone:
        plain_sql.send(db.session, _INBOX_COMPLETED, {"w_id": completed_task_id, "v_at": now, "v_by": actor})
        gone.discard(completed_task_id)
        _expire_loaded(InboxTask, [completed_task_id], _COMPLETED_WRITES)
    if gone:
        plain_sql.execute_many(db.session, _INBOX_CANCELLED, [{"w_id": task_id, "v_at": now} for task_id in sorted(gone)])
        _expire_loaded(InboxTask, gone, _CANCELLED_WRITES)
    new = [task for task_id, task in after.ready_user.items() if task_id not in before.ready_user]
    if not new:
        return
    definition = definitions.info(instance.definition_id)
    meta = definition.meta
    meta_tasks = meta.get("tasks", {})
    dues = _timer_due_by_task(after.waiting, meta.get("boundaries", {}))
    rows = []
    for task in new:
        bpmn_id = task.task_spec.bpmn_id
        task_meta = meta_tasks.get(bpmn_id, {})
        form = task_meta.get("form") or {}
        rows.append(
            {
                "id": id_text(task),
                "instance_id": instance.id,
                "bpmn_id": bpmn_id,
                "name": task.task_spec.bpmn_name or bpmn_id,
                "role": task_meta.get("role") or _caller_role(task, meta),
                "lane_name": task_meta.get("lane_name") or task.task_spec.lane,
                "form_schema": form.get("schema"),
                "form_ui_schema": form.get("ui_schema"),
                "state": "open",
                "created_at": now,
                "due_at": dues.get(bpmn_id),
                "task_metadata": _metadata(workflow, task, task_meta.get("metadata")),
                "prefill": _prefill(task, task_meta, definition.forms.get(form.get("schema") or "")),
            }
        )
    plain_sql.execute_many(db.session, _INBOX_INSERT, rows)


def _metadata(workflow: BpmnWorkflow, task: Task, expressions: dict | None) -> dict | None:
    """SpiffArena's taskMetadataValues: each value is an expression over the task's data,
    evaluated through the workflow's (sandboxed) script engine when the task becomes ready.
    A value that fails is shown as its error, not hidden: the diagram's author must see it."""
    if not expressions:
        return None
    values: dict = {}
    for name, expression in expressions.items():
        try:
            value = workflow.script_engine.environment.evaluate(expression or "None", copy.deepcopy(task.data))
            json.dumps(value)
        except Exception as err:  # diagram code: any error is the diagram's, shown with its name
            value = f"{type(err).__name__}: {err}"
        values[name] = value
    return values


def _prefill(task: Task, task_meta: dict, schema: dict | None) -> dict | None:
    """The task's data for the fields of its form (under its variableName when it has one),
    so the form opens with what the case already knows."""
    fields = (schema or {}).get("properties") if isinstance(schema, dict) else None
    if not isinstance(fields, dict):
        return None
    source = task.data.get(task_meta["variable"]) if task_meta.get("variable") else task.data
    if not isinstance(source, dict):
        return None
    return {name: copy.deepcopy(source[name]) for name in fields if name in source} or None


def _caller_role(task: Task, meta: dict) -> str | None:
    """A task of a called process outside any lane of its own works in the lane of the call
    activity (or subprocess) that runs it, the nearest one that has a role."""
    element_roles = meta.get("element_roles") or {}
    current = task
    while current.workflow.parent_task_id is not None:
        current = current.workflow.top_workflow.get_task_from_id(current.workflow.parent_task_id)
        if current is None:
            return None
        if role := element_roles.get(current.task_spec.bpmn_id):
            return role
    return None


def _jobs(instance: Instance, before: Scan, after: Scan, now: datetime, completed_task_id: str | None) -> None:
    gone = set(before.started_service) - set(after.started_service) - {completed_task_id}
    if gone:
        db.session.execute(
            db.update(Job)
            .where(Job.instance_id == instance.id, Job.task_id.in_(gone), Job.status.in_(("ready", "incident")))
            .values(status="cancelled", finished_at=now)
            .execution_options(synchronize_session=False)
        )
    rows = []
    for task_id, task in after.started_service.items():
        if task_id in before.started_service:
            continue
        spec = task.task_spec
        rows.append(
            {
                "instance_id": instance.id,
                "task_id": task_id,
                "bpmn_id": spec.bpmn_id,
                "operator": spec.operation_name,
                "parameters": task.internal_data.get("service_params", {}),
                "status": "ready",
                "attempts": 0,
                "max_attempts": int(spec.retries) + 1 if spec.retries else DEFAULT_MAX_ATTEMPTS,
                "backoff_base_seconds": int(spec.retry_backoff_base) if spec.retry_backoff_base else None,
                "run_at": now,
                "created_at": now,
            }
        )
    if rows:
        plain_sql.execute_many(db.session, _JOB_INSERT, rows)


def correlation_values(instance: Instance, workflow: BpmnWorkflow) -> dict:
    values = {"business_key": instance.business_key}
    for props in workflow.correlations.values():
        if isinstance(props, dict):
            values.update(props)
    return values


def _message_waits(instance: Instance, workflow: BpmnWorkflow) -> None:
    """One row per message name the instance waits for, with the values it correlates on:
    its business key and the correlation properties collected so far; `_keys` lists the
    correlation properties the waiting definition declares (see runtime.matches)."""
    db.session.execute(db.delete(MessageWait).where(MessageWait.instance_id == instance.id))
    waiting = waits.message_waits(workflow)
    if not waiting:
        return
    values = correlation_values(instance, workflow)
    for name, keys in sorted(waiting.items()):
        correlation = {**values, "_keys": keys} if keys else values
        db.session.add(MessageWait(instance_id=instance.id, name=name, correlation=correlation))
