"""Commands on instances. Each is one database transaction that loads the instance (with an
optimistic version check), gives the workflow one input, runs engine steps, writes the
snapshot, inbox rows, jobs, timer due time and message waits, and appends the history
event, chained to the previous one. Nothing of a command is visible unless all of it is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import Integer, String, bindparam, cast, func, literal, literal_column, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.attributes import NO_VALUE, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import (
    Definition,
    HistoryEvent,
    InboxTask,
    Instance,
    Job,
    Mention,
    MessageWait,
    NumberSequence,
    PendingMessage,
    ScriptOutput,
    User,
)
from ..webhooks import outbox as webhook_outbox
from . import (
    attachments,
    clock,
    definitions,
    forms,
    history,
    plain_sql,
    projection,
    sandbox_pool,
    serialization,
    snapshots,
    steps,
    workflow_cache,
)
from .determinism import engine_moment
from .errors import Conflict, EngineError, Forbidden, FormInvalid, NotFound
from .sandbox import RestrictedScriptEngine, collect_printed
from .steps import WorkflowError

_script_engine = RestrictedScriptEngine()
_EVENTS = HistoryEvent.__table__
_LATEST_STATE_HASH = db.select(_EVENTS.c.state_hash).where(
    _EVENTS.c.instance_id == bindparam("i"), _EVENTS.c.seq == bindparam("s"))
log = logging.getLogger("aftersales.engine")
_CONFLICT = "the case was changed by someone else at the same moment; reload / 工单已被他人修改"


def configure(*, sandbox_limits: sandbox_pool.Limits | None = None, max_attempts: int | None = None) -> None:
    if sandbox_limits is not None:
        sandbox_pool.configure(sandbox_limits)
    if max_attempts is not None:
        projection.DEFAULT_MAX_ATTEMPTS = max_attempts


def new_workflow(definition: definitions.DefinitionInfo) -> BpmnWorkflow:
    spec, subprocess_specs = definitions.spec_for(definition)
    return BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine)


_ON_SHARED_SPEC = "_runtime_on_shared_spec"  # on a live workflow made on a shared spec


def _specs_of(definition: definitions.DefinitionInfo) -> tuple[object, dict]:
    """The version's spec for a live workflow: the one this thread's replays and verifies
    share (engine/replay.py, _shared_specs) where the version is one that running a case
    never writes (no event subprocess, participant, ad hoc path, loop or multi-instance:
    the rule and its check are replay's), else a copy of its own. A copy was a third of a
    start's own work (unpickling ~240 spec objects); the tests check after every command
    that a shared spec still pickles as a fresh copy does (_check_shared_spec)."""
    from .replay import _shared_specs  # replay imports this module

    shared = _shared_specs(definition)
    return shared if shared is not None else definitions.spec_for(definition)


def fresh_workflow(instance: Instance, now: datetime) -> BpmnWorkflow:
    """A new workflow for the instance; its first task ids come from the instance's sequence."""
    spec, subprocess_specs = _specs_of(definitions.info(instance.definition_id))
    with engine_moment(now, instance.id, 0) as moment:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine)
    instance.id_counter = moment.id_counter
    return workflow


def load_workflow(instance: Instance) -> BpmnWorkflow:
    cached = workflow_cache.take(definitions.database_scope(), instance.id, instance.version)
    if cached is not None:
        return cached
    spec, subprocess_specs = _specs_of(definitions.info(instance.definition_id))
    pieces = snapshots.pieces_of(instance)
    workflow = serialization.load("".join(pieces), spec, subprocess_specs)
    snapshots.remember(workflow, instance, pieces)
    workflow.script_engine = _script_engine
    return workflow


def state_hash(snapshot: str) -> str:
    """A state hash of form 1 (sha256 of the snapshot text); see serialization.state_hash_of."""
    return history.sha256_hex(snapshot)


def _current_state_hash(instance: Instance) -> str:
    """The state hash of the instance as it stands: the one its latest event recorded (only
    an event that gives the workflow input changes the state)."""
    return db.session.connection().execute(_LATEST_STATE_HASH, {"i": instance.id, "s": instance.last_seq}).scalar_one()


@dataclass
class Input:
    """One external input to an instance, as it is recorded in the history."""

    type: str
    payload: dict
    task_id: str | None = None
    bpmn_id: str | None = None


# ---------------------------------------------------------------- commands


def start_instance(
    process_key: str,
    data: dict,
    *,
    actor: str,
    business_key: str | None = None,
    commit: bool = True,
    roles: set[str] | None = None,
    version: int | None = None,
) -> Instance:
    """Start a case on the latest version of the key, or on `version`. `roles` are the
    starting person's: the start event's lane must be one of them (None: the system starts
    it, as a link between procedures does)."""
    # PostgreSQL, an automatic number on the latest version: the version this process last
    # found is confirmed by the INSERT itself (`_START_NUMBERED`), which also takes the number
    # (one statement and one wait instead of four)
    guessed = None
    if version is None and business_key is None and db.session.get_bind().dialect.name == "postgresql":
        guessed = definitions.latest_guessed(process_key)
    definition = guessed or (
        definitions.latest(process_key) if version is None else definitions.version_of(process_key, version))
    while True:
        try:
            checked = _start_data(definition, data, actor=actor, roles=roles)
        except EngineError:
            if guessed is not None and (fresh := definitions.latest(process_key)).id != guessed.id:
                definition, guessed = fresh, fresh  # refused by an older version: ask the latest
                continue
            raise
        now = clock.now()
        if guessed is None:
            instance = _start_row(definition, business_key, actor, now)
            break
        instance, latest_id = _start_numbered(definition, actor, now)
        if instance is not None:
            break
        if latest_id is None:
            definitions.latest(process_key)  # the key is gone: its NotFound
        definition = guessed = definitions.info(latest_id)  # another process deployed a version
        definitions.guess_latest(process_key, latest_id)
    data, business_key = checked, instance.business_key
    attachments.claim_for(data, instance.id)
    workflow = fresh_workflow(instance, now)
    version = {"id": definition.id, "key": definition.key, "version": definition.version,
               "content_hash": definition.content_hash, "meta_hash": definition.meta_hash}
    start = Input("instance_started", {"data": {**data, "business_key": business_key}, "definition": version})
    _execute(instance, workflow, [start], actor=actor, now=now)
    return _finish(instance, commit)


def _start_data(definition: definitions.DefinitionInfo, data: object, *, actor: str, roles: set[str] | None) -> dict:
    """The start data as the version's start form takes it, or why it is refused."""
    start_role = definition.meta.get("start_role")
    if roles is not None and start_role and start_role not in roles and "admin" not in roles:
        raise Forbidden(f"starting {definition.key} requires role {start_role}", {"role": start_role})
    start_form = (definition.meta.get("start_form") or {}).get("schema")
    schema = definition.forms.get(start_form) if start_form else None
    data = forms.with_defaults(schema, data if isinstance(data, dict) else {})
    if errors := forms.validate(schema, data):
        raise FormInvalid("start data does not match the start form", errors)
    if schema:
        data = forms.known_fields(schema, data)
    attachments.check_references(data, actor=actor, instance_id=None, any_owner=roles is None or "admin" in roles)
    return data


def _start_row(definition: definitions.DefinitionInfo, business_key: str | None, actor: str, now: datetime) -> Instance:
    business_key = business_key or _next_free_number(definition.key, definition.meta["business_key_prefix"], now)
    try:
        return _insert_instance(definition, business_key, actor, now)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            f"business key {business_key} is already used", {"business_key": "already used"}
        ) from None


def complete_user_task(
    task_id: str, data: dict, *, actor: str, roles: set[str], commit: bool = True, check_at_commit: bool = False
) -> Instance:
    """`check_at_commit` (with commit=False): the caller reads nothing from the database
    before its `commit()` (only the returned object's loaded values), so a stale row may be
    found by that commit, as a committing command's is (`_finish`)."""
    row, instance = _task_and_instance(task_id)
    if row.state != "open":
        raise Conflict("task is already completed / 任务已被处理", {"task": row.state})
    check_may_work_on(row, actor, roles)
    definition = definitions.info(instance.definition_id)
    schema_file = row.form_schema
    schema = definition.forms.get(schema_file) if schema_file else None
    data = forms.with_defaults(schema, data) if isinstance(data, dict) else data
    if errors := forms.validate(schema, data):
        raise FormInvalid("the form has errors / 表单有误", errors)
    data = forms.known_fields(schema, data)
    attachments.check_references(data, actor=actor, instance_id=row.instance_id, any_owner="admin" in roles)
    workflow = load_workflow(instance)
    entry = Input("task_completed", {"data": data}, task_id=task_id, bpmn_id=row.bpmn_id)
    _execute(instance, workflow, [entry], actor=actor, now=clock.now())
    return _finish(instance, commit, check_at_commit=check_at_commit)


# The rows every command reads, with one plain SELECT each (plain_sql.Loader: handed to the
# session as the ORM's own load would be, without its per-row work). Of the task, a completion
# reads only what it checks and uses (not its draft, prefill or metadata), and only reads it:
# it gets the task as a record (`Loader.peek`), not as an object of the session.
_TASK_FACTS = plain_sql.Loader(InboxTask, ("instance_id", "bpmn_id", "name", "role", "form_schema", "state", "assignee"))
_INSTANCE_ROW = plain_sql.Loader(Instance)
_TASK_AND_INSTANCE_FROM = InboxTask.__table__.join(Instance.__table__, Instance.id == InboxTask.instance_id)
_TASK_AND_INSTANCE = plain_sql.Statement(
    db.select(*_TASK_FACTS.columns, *_INSTANCE_ROW.columns)
    .select_from(_TASK_AND_INSTANCE_FROM).where(InboxTask.id == bindparam("task_id"))
)
# PostgreSQL: the same read also answers the webhook outbox's question (webhook_outbox.asked_with),
# so the command's history INSERT goes out unread with its other writes
_TASK_AND_INSTANCE_ASKING = plain_sql.Statement(
    db.select(*_TASK_FACTS.columns, *_INSTANCE_ROW.columns, *webhook_outbox.asked_with(Instance.__table__.c.id))
    .select_from(_TASK_AND_INSTANCE_FROM).where(InboxTask.id == bindparam("task_id"))
)
_TASK_FACTS_END = len(_TASK_FACTS.columns)
_INSTANCE_END = _TASK_FACTS_END + len(_INSTANCE_ROW.columns)


def _task_and_instance(task_id: str) -> tuple[Any, Instance]:
    """The task (the session's InboxTask if it holds it, else a read-only record of the
    columns in _TASK_FACTS) and its instance, in one statement (the command needs both)."""
    asking = plain_sql.dialect_of(db.session).name == "postgresql"
    found = plain_sql.fetch_one(db.session, _TASK_AND_INSTANCE_ASKING if asking else _TASK_AND_INSTANCE,
                                {"task_id": task_id})
    if found is None:
        raise NotFound(f"no task {task_id}")
    instance = _INSTANCE_ROW.take(db.session, found[_TASK_FACTS_END:_INSTANCE_END])
    if asking:
        webhook_outbox.answered(db.session, instance.id, *found[_INSTANCE_END:])
    return _TASK_FACTS.peek(db.session, found[:_TASK_FACTS_END]), instance


def load_instance(instance_id: int) -> Instance | None:
    """The instance as `session.get` gives it, read with one plain SELECT."""
    return _INSTANCE_ROW.get(db.session, instance_id)


def check_may_work_on(row: Any, actor: str, roles: set[str]) -> None:
    """`row`: an InboxTask, or its record (`_task_and_instance`)."""
    if "admin" in roles:
        return
    if row.role and row.role not in roles and row.assignee != actor:
        raise Forbidden(f"task {row.name} belongs to role {row.role}", {"role": row.role})
    if row.assignee and row.assignee != actor:
        raise Conflict(f"task is claimed by {row.assignee} / 任务已被他人认领", {"assignee": row.assignee})


def claim_task(task_id: str, *, actor: str, roles: set[str], commit: bool = True) -> InboxTask:
    """Take an open task so that nobody else completes it meanwhile."""
    row = _open_task(task_id)
    check_may_work_on(row, actor, roles)
    if row.assignee != actor:
        row.assignee = actor
        _append_passive(row.instance, "task_claimed", {"assignee": actor}, bpmn_id=row.bpmn_id, task_id=row.id, actor=actor)
    _finish(row.instance, commit)
    return row


def release_task(task_id: str, *, actor: str, roles: set[str], commit: bool = True) -> InboxTask:
    row = _open_task(task_id)
    if row.assignee != actor and "after_sales_manager" not in roles and "admin" not in roles:
        raise Forbidden("only the assignee or a manager may release a task", {"assignee": row.assignee or ""})
    if row.assignee is not None:
        previous, row.assignee = row.assignee, None
        payload = {"previous_assignee": previous}
        _append_passive(row.instance, "task_released", payload, bpmn_id=row.bpmn_id, task_id=row.id, actor=actor)
    _finish(row.instance, commit)
    return row


def assign_task(task_id: str, username: str, *, actor: str, assignee_roles: set[str], commit: bool = True) -> InboxTask:
    """A manager gives a task to a person, who must hold the task's role."""
    row = _open_task(task_id)
    if row.role and row.role not in assignee_roles and "admin" not in assignee_roles:
        raise FormInvalid(f"{username} does not hold role {row.role}", {"username": f"lacks role {row.role}"})
    row.assignee = username
    _append_passive(row.instance, "task_assigned", {"assignee": username}, bpmn_id=row.bpmn_id, task_id=row.id, actor=actor)
    _finish(row.instance, commit)
    return row


COMMENT_MAX_LENGTH = 2000
_MENTION = re.compile(r"@([A-Za-z0-9_.\-]+)")


def add_comment(
    instance_id: int, text: str, *, actor: str, task_id: str | None = None, commit: bool = True
) -> int:
    """A comment on a case (or one of its tasks): a passive history event with who, when and
    the text; colleagues named with @username get a mention in their inbox."""
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise FormInvalid("a comment needs text", {"text": "required / 必填"})
    if len(text) > COMMENT_MAX_LENGTH:
        raise FormInvalid(f"a comment has at most {COMMENT_MAX_LENGTH} characters",
                          {"text": f"at most {COMMENT_MAX_LENGTH} characters / 最多 {COMMENT_MAX_LENGTH} 字"})
    row = None
    if task_id:
        row = db.session.get(InboxTask, task_id)
        if row is None or row.instance_id != instance_id:
            raise NotFound(f"no task {task_id} in instance {instance_id}")
    named = list(dict.fromkeys(_MENTION.findall(text)))
    known = set(db.session.scalars(db.select(User.username).where(User.username.in_(named)))) if named else set()
    if unknown := [n for n in named if n not in known]:
        raise FormInvalid("unknown colleague", {"text": "unknown user / 没有此用户: " + ", ".join(unknown)})
    payload = {"text": text, "mentions": named}
    now = clock.now()
    _append_passive(instance, "comment_added", payload, bpmn_id=row.bpmn_id if row else None,
                    task_id=task_id, actor=actor, now=now)
    for username in named:
        if username != actor:
            db.session.add(Mention(instance_id=instance.id, task_id=task_id, seq=instance.last_seq, username=username,
                                   author=actor, text=text[:500], at=now))
    seq = instance.last_seq
    _finish(instance, commit)
    return seq


def save_draft(task_id: str, data: dict, *, actor: str, roles: set[str], commit: bool = True) -> InboxTask:
    """Keep what was typed without completing the task (no history event: nothing happened yet)."""
    row = _open_task(task_id)
    check_may_work_on(row, actor, roles)
    row.draft = data
    _finish(row.instance, commit)
    return row


def _open_task(task_id: str) -> InboxTask:
    row = db.session.get(InboxTask, task_id)
    if row is None:
        raise NotFound(f"no task {task_id}")
    if row.state != "open":
        raise Conflict("task is already completed / 任务已被处理", {"task": row.state})
    return row


def complete_service_task(
    job: Job, result: object, *, actor: str, commit: bool = True, marked_done: bool = False
) -> Instance:
    """`marked_done`: the caller's own statement has set the job's row done in this
    transaction already (the worker's lease check, workers/loop.py: `job_row_done`)."""
    instance = load_instance(job.instance_id)
    workflow = load_workflow(instance)
    entry = Input("service_completed", {"result": result}, task_id=job.task_id, bpmn_id=job.bpmn_id)
    now = clock.now()
    _execute(instance, workflow, [entry], actor=actor, now=now)
    if not marked_done:
        _job_done(job, now)
    return _finish(instance, commit)


_JOB_DONE = plain_sql.Statement(
    Job.__table__.update().where(Job.__table__.c.id == bindparam("w_id")).values(
        status="done", finished_at=bindparam("v_at"), locked_by=None, lock_expires_at=None)
)


def _job_done(job: Job, now: datetime) -> None:
    """The job's row on the driver; the object is told it holds what the row holds."""
    state = sa_inspect(job)
    if not state.persistent or state.modified:  # changed through the ORM too: let its flush write all of it
        job.status, job.finished_at, job.locked_by, job.lock_expires_at = "done", now, None, None
        return
    plain_sql.send(db.session, _JOB_DONE, {"w_id": job.id, "v_at": now})
    job_row_done(job, now)


def job_row_done(job: Job, now: datetime) -> None:
    """The job object told that its row is done as of `now` (written by the caller's own
    statement): nothing of it left to flush."""
    for key, value in (("status", "done"), ("finished_at", now), ("locked_by", None), ("lock_expires_at", None)):
        set_committed_value(job, key, value)


def record_service_failure(
    job: Job, error: str, *, actor: str, backoff_base_seconds: int, commit: bool = True
) -> Job:
    """A failed attempt: retry later with exponential backoff, or raise an incident."""
    instance = db.session.get(Instance, job.instance_id)
    now = clock.now()
    job.last_error = error
    job.locked_by, job.lock_expires_at = None, None
    retry = job.attempts < job.max_attempts
    if retry:
        base = job.backoff_base_seconds or backoff_base_seconds
        job.run_at = now + timedelta(seconds=base * 2 ** (job.attempts - 1))
    else:
        job.status = "incident"
        instance.incident_count += 1
    payload = {"error": error, "attempt": job.attempts, "retry_at": clock.to_iso(job.run_at) if retry else None}
    _append_passive(instance, "service_failed" if retry else "incident_raised", payload, **_job_source(job), actor=actor, now=now)
    _finish(instance, commit)
    return job


# A timer check whose diagram code failed or was stopped becomes a job of this operator in
# state "incident": the manager's incident list shows it with the element and the reason; a
# retry runs the timer check again (workers/loop.py), it cannot be skipped with a value.
ENGINE_TIMER = "engine/timer"
ENGINE_OPERATORS = frozenset({ENGINE_TIMER})


def raise_timer_incident(instance_id: int, error: WorkflowError, *, actor: str = "scheduler", commit: bool = True) -> Job:
    """The instance's timer check failed (its transaction is rolled back): park its timers
    and record an incident, in a transaction of its own, so the scheduler goes on with
    other instances instead of retrying this one forever."""
    instance = db.session.get(Instance, instance_id)
    now = clock.now()
    job = db.session.scalar(
        db.select(Job).where(Job.instance_id == instance_id, Job.operator == ENGINE_TIMER, Job.status == "incident")
    )
    if job is None:
        job = Job(
            instance_id=instance_id, task_id="", operator=ENGINE_TIMER, parameters={}, status="incident",
            attempts=1, max_attempts=1, run_at=now, created_at=now,
        )
        db.session.add(job)
        instance.incident_count += 1
    job.bpmn_id, job.task_id = error.element[:100], (error.task_id or "")[:36]
    job.last_error, job.locked_by, job.lock_expires_at = error.message, None, None
    instance.next_timer_due = None  # parked until a manager retries
    payload = {"error": error.message, "attempt": job.attempts, "retry_at": None, "source": "timer"}
    _append_passive(instance, "incident_raised", payload, bpmn_id=job.bpmn_id, task_id=error.task_id, actor=actor, now=now)
    _finish(instance, commit)
    return job


def run_engine_job(job: Job, *, actor: str, commit: bool = True) -> Instance:
    """A retried engine incident: run the timer check again (a failure raises WorkflowError)."""
    instance = _running(job.instance_id)
    workflow = load_workflow(instance)
    now = clock.now()
    _execute(instance, workflow, [Input("timer_fired", {})], actor=actor, now=now)
    job.status, job.finished_at, job.locked_by, job.lock_expires_at = "done", now, None, None
    return _finish(instance, commit)


def retry_incident(job: Job, *, actor: str, commit: bool = True) -> Job:
    """A manager runs an incident's job again, after fixing its cause."""
    instance = _incident_instance(job)
    now = clock.now()
    job.status, job.attempts, job.run_at = "ready", 0, now
    instance.incident_count = max(instance.incident_count - 1, 0)
    _append_passive(instance, "incident_retried", {"previous_error": job.last_error}, **_job_source(job), actor=actor, now=now)
    _finish(instance, commit)
    return job


def skip_incident(job: Job, result: object, *, actor: str, commit: bool = True) -> Instance:
    """A manager completes an incident's service task with a value instead of running it."""
    instance = _incident_instance(job)
    if job.operator in ENGINE_OPERATORS:
        raise Conflict("a failed timer has no result to enter: retry it after a fix, or cancel the case", {"job": job.operator})
    now = clock.now()
    instance.incident_count = max(instance.incident_count - 1, 0)
    payload = {"previous_error": job.last_error, "result": result}
    _append_passive(instance, "incident_skipped", payload, **_job_source(job), actor=actor, now=now)
    job.status = "ready"  # complete_service_task marks it done
    return complete_service_task(job, result, actor=actor, commit=commit)


def _job_source(job: Job) -> dict:
    return {"bpmn_id": job.bpmn_id, "task_id": job.task_id}


def _incident_instance(job: Job) -> Instance:
    if job.status != "incident":
        raise Conflict(f"job is {job.status}, not an incident", {"status": job.status})
    return db.session.get(Instance, job.instance_id)


def fire_timers(instance_id: int, *, actor: str = "scheduler", commit: bool = True) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None or instance.status != "running":
        raise NotFound(f"no running instance {instance_id}")
    workflow = load_workflow(instance)
    _execute(instance, workflow, [Input("timer_fired", {})], actor=actor, now=clock.now())
    return _finish(instance, commit)


def cancel_instance(instance_id: int, *, actor: str, reason: str, commit: bool = True) -> Instance:
    instance = _running(instance_id)
    workflow = load_workflow(instance)
    _execute(instance, workflow, [Input("instance_cancelled", {"reason": reason})], actor=actor, now=clock.now())
    instance.status = "cancelled"
    return _finish(instance, commit)


def deliver_message(
    name: str, correlation: dict, payload: dict, *, actor: str, commit: bool = True
) -> list[int]:
    """Deliver to every instance waiting for the message with matching correlation values
    (see `matches`); keep it for later when none waits. Returns the ids of the instances
    that got it."""
    now = clock.now()
    targets = _waiting_for(name, correlation)
    _deliver(targets, name, correlation, payload, actor=actor, now=now)
    if not targets:
        _keep(name, correlation, payload, actor=actor, now=now)
    if commit:
        _commit()
    return targets


def _waiting_for(name: str, correlation: dict, exclude: int | None = None) -> list[int]:
    waits = db.session.scalars(db.select(MessageWait).where(MessageWait.name == name)).all()
    return sorted({w.instance_id for w in waits if w.instance_id != exclude and matches(correlation, w.correlation)})


def _deliver(targets: list[int], name: str, correlation: dict, payload: dict, *, actor: str, now: datetime) -> None:
    for instance_id in targets:
        instance = db.session.get(Instance, instance_id)
        workflow = load_workflow(instance)
        entry = Input("message_received", {"name": name, "correlation": correlation, "payload": payload})
        _execute(instance, workflow, [entry], actor=actor, now=now)


def _keep(name: str, correlation: dict, payload: dict, *, actor: str, now: datetime) -> None:
    db.session.add(PendingMessage(name=name, correlation=correlation, payload=payload, received_at=now, received_by=actor))


# A message one instance throws may start or move another, which may throw again: a chain
# this deep is a loop in the diagrams, and stops with an error instead of running forever.
_MAX_MESSAGE_CHAIN = 20


def _send_thrown(origin: Instance, messages: list[dict], *, now: datetime) -> None:
    """Messages a process threw that nothing in its own workflow caught go on, in the same
    transaction, to the instances waiting for them; if none waits, to a new instance of a
    process whose start event catches that message; otherwise they are kept for later."""
    depth = db.session.info.get("message_chain", 0)
    if depth >= _MAX_MESSAGE_CHAIN:
        raise Conflict(f"messages thrown between processes went {depth} deep: a loop?", {"message": messages[0]["name"]})
    db.session.info["message_chain"] = depth + 1
    actor = f"process:{origin.business_key}"
    try:
        for message in messages:
            name, correlation, payload = message["name"], message["correlation"], message["payload"]
            payload = payload if isinstance(payload, dict) else {"payload": payload}
            targets = _waiting_for(name, correlation, exclude=origin.id)
            if targets:
                _deliver(targets, name, correlation, payload, actor=actor, now=now)
            elif (starter := _process_started_by(name)) is not None:
                started = start_instance(starter, {}, actor=actor, commit=False)
                if _still_waits(started.id, name):  # a kept message of that name may have come first
                    _deliver([started.id], name, correlation, payload, actor=actor, now=now)
                else:
                    _keep(name, correlation, payload, actor=actor, now=now)
            else:
                _keep(name, correlation, payload, actor=actor, now=now)
    finally:
        db.session.info["message_chain"] = depth


def _still_waits(instance_id: int, name: str) -> bool:
    db.session.flush()
    wait = db.select(MessageWait.id).where(MessageWait.instance_id == instance_id, MessageWait.name == name)
    return db.session.scalar(wait) is not None


def _process_started_by(name: str) -> str | None:
    """The key of a deployed process whose (latest version's) start event catches `name`."""
    latest = (
        db.select(Definition.key, db.func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    )
    rows = db.session.execute(
        db.select(Definition.key, Definition.meta)
        .join(latest, db.and_(Definition.key == latest.c.key, Definition.version == latest.c.version))
        .order_by(Definition.key)
    ).all()
    for key, meta in rows:
        if name in (meta or {}).get("start_messages", []):
            return key
    return None


# ---------------------------------------------------------------- the shared machinery


def _running(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    if instance.status != "running":
        raise Conflict(f"instance is {instance.status}")
    return instance


def _execute(instance: Instance, workflow: BpmnWorkflow, inputs: list[Input], *, actor: str, now: datetime) -> None:
    """Apply inputs in order; each gets its event. Buffered messages that the new state
    waits for are delivered in the same transaction, each as its own event."""
    try:
        _apply(instance, workflow, inputs, actor=actor, now=now)
    except IntegrityError:
        # Another command took this sequence number first (PostgreSQL waits on the unique index
        # until that one commits): the caller must reload. On PostgreSQL's pipeline the INSERT's
        # error arrives with whichever statement of the command the driver processes next
        # (its own, the projection's, the pieces'), so the whole command is covered, not the
        # INSERT alone.
        db.session.rollback()
        raise Conflict(_CONFLICT) from None


def _apply(instance: Instance, workflow: BpmnWorkflow, inputs: list[Input], *, actor: str, now: datetime) -> None:
    pending = list(inputs)
    thrown: list[dict] = []
    at = clock.to_iso(now)
    with db.session.no_autoflush:
        before = projection.scan(workflow)
        while pending:
            entry = pending.pop(0)
            # The workflow gets the input exactly as replay will read it back from the history
            # (canonical JSON: sorted keys, JSON types), so both build byte-identical states.
            payload_text, entry.payload, fixed = serialization.canonical_copy_fixed(entry.payload)
            with engine_moment(now, instance.id, instance.id_counter) as moment, collect_printed() as printed:
                thrown += steps.apply(workflow, entry.type, entry.task_id, entry.payload)
            instance.id_counter = moment.id_counter
            current_state_hash = serialization.state_hash_of(workflow, instance.state_hash_form)
            event = history.append(
                instance,
                at=at,
                actor=actor,
                type=entry.type,
                payload=entry.payload,
                state_hash=current_state_hash,
                bpmn_id=entry.bpmn_id,
                task_id=entry.task_id,
                payload_text=payload_text if fixed else None,
            )
            log.debug(entry.type, extra={"instance": instance.id, "seq": event.seq, "task": entry.task_id, "actor": actor})
            if printed:
                _keep_printed(instance, event.seq, now, printed)
            after = projection.scan(workflow)
            projection.project(
                instance,
                workflow,
                before,
                after,
                now=now,
                actor=actor,
                completed_task_id=entry.task_id if entry.type in ("task_completed", "service_completed") else None,
                cancelled=entry.type == "instance_cancelled",
            )
            before = after
            if not pending:
                pending.extend(_buffered_messages_for(instance))
    snapshots.store(instance, workflow)
    _touched_workflows()[instance.id] = (instance, workflow)
    if CHECK_SHARED_SPECS:
        _check_shared_spec(instance, workflow)
    if thrown:
        _send_thrown(instance, thrown, now=now)


# The tests set this: after every command a workflow on a shared spec (_specs_of) checks
# that the spec still pickles as a fresh copy of its version does.
CHECK_SHARED_SPECS = False


class SharedSpecChanged(AssertionError):
    pass


def _check_shared_spec(instance: Instance, workflow: BpmnWorkflow) -> None:
    import pickle

    from .replay import _shared_specs

    definition = definitions.info(instance.definition_id)
    shared = _shared_specs(definition)
    if shared is None or workflow.spec is not shared[0]:
        return  # a copy of its own (or a migrated case's new version)
    frozen = definitions._spec_cache[(definition.id, definition.content_hash)]
    as_made = pickle.dumps(pickle.loads(frozen), protocol=pickle.HIGHEST_PROTOCOL)  # noqa: S301 - our own bytes
    if pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL) != as_made:
        raise SharedSpecChanged(f"a command changed the shared spec of definition {definition.id}")


def _keep_printed(instance: Instance, seq: int, now: datetime, printed: list) -> None:
    """print() of the command's scripts, for the case page (outside the history: replay
    recomputes it, so it needs no hash of its own)."""
    db.session.add_all(
        ScriptOutput(
            instance_id=instance.id, seq=seq, at=now, bpmn_id=line.bpmn_id[:100], task_id=line.task_id[:36], text=line.text
        )
        for line in printed
    )


def _touched_workflows() -> dict:
    return db.session.info.setdefault("touched_workflows", {})


def _append_passive(
    instance: Instance, type: str, payload: dict, *, bpmn_id: str | None, task_id: str | None, actor: str,
    now: datetime | None = None,
) -> None:
    """An event that records something about the case without giving the workflow input
    (a claim, a failed attempt, an incident action): the state hash stays the same."""
    now = now or clock.now()
    history.append(
        instance,
        at=clock.to_iso(now),
        actor=actor,
        type=type,
        payload=payload,
        state_hash=_current_state_hash(instance),
        bpmn_id=bpmn_id,
        task_id=task_id,
    )
    instance.updated_at = now


_INSTANCES = Instance.__table__
_INSTANCE_MAPPER = sa_inspect(Instance)
_INSTANCE_COLUMNS = frozenset(column.key for column in Instance.__mapper__.column_attrs)


@lru_cache(maxsize=256)
def _instance_update(keys: frozenset[str]):
    """One statement object per set of changed columns (a command changes the same few
    columns every time), so SQLAlchemy compiles each once."""
    values = {key: bindparam(f"v_{key}", type_=_INSTANCES.c[key].type) for key in sorted(keys)}
    values["version"] = bindparam("v_version", type_=_INSTANCES.c.version.type)
    where = (_INSTANCES.c.id == bindparam("w_id"), _INSTANCES.c.version == bindparam("w_version"))
    return plain_sql.Statement(_INSTANCES.update().where(*where).values(values))


@lru_cache(maxsize=256)
def _instance_update_checked(keys: frozenset[str]):
    """The same UPDATE for PostgreSQL's pipeline, failing by itself when the row is stale:
    its row count divides, so a row another command changed meanwhile (none updated) is a
    division_by_zero error (`_stale`) instead of a count the client must wait for. The
    command's COMMIT then travels in the same sync as its writes (`plain_sql`'s commit
    hook), and the server, having met the error, runs nothing after it: the transaction
    keeps nothing and the caller's commit raises."""
    update = _instance_update(keys).statement.returning(_INSTANCES.c.id).cte("changed")
    return plain_sql.Statement(select(literal_column("1") / func.count()).select_from(update), writes="instances")


def _stale(err: DataError) -> bool:
    """The checked instance UPDATE's error (division_by_zero, SQLSTATE 22012): no other
    statement of a command divides."""
    return getattr(err.orig, "sqlstate", None) == "22012"


def _write_instance(instance: Instance, *, check_at_commit: bool = False) -> None:
    """The instance row's changes as one plain `UPDATE ... WHERE id = ? AND version = ?`
    (the ORM's unit of work costs several times the statement on every command). A row that
    another command changed meanwhile matches nothing: a conflict, never a lost update. The
    ORM object is then told these values are what the database holds, so it has nothing
    left to flush."""
    state = sa_inspect(instance)
    if not state.persistent or not _INSTANCE_COLUMNS.issuperset(state.committed_state):
        return  # a new row, or a changed relationship: the ORM's flush writes it
    # Only values that differ from what the row holds (as the ORM's own flush decides): a
    # command re-sets the case data, customer and timer on every step, mostly unchanged,
    # and the case data is JSON to encode.
    changed = {
        key: state.dict[key]
        for key, old in state.committed_state.items()
        if key != "version" and (old is NO_VALUE or state.dict[key] != old)
    }
    if not changed:
        state._commit_all(state.dict, db.session.identity_map)
        return
    version = instance.version
    params = {f"v_{key}": value for key, value in changed.items()}
    params.update(w_id=instance.id, w_version=version, v_version=version + 1)
    # on the driver in the session's transaction, not session.execute: an autoflush would
    # first write the row through the ORM
    if check_at_commit and plain_sql.pipelined(db.session):
        plain_sql.send(db.session, _instance_update_checked(frozenset(changed)), params)
    else:
        result = plain_sql.execute(db.session, _instance_update(frozenset(changed)), params)
        if result.rowcount != 1:
            raise StaleDataError(f"instance {instance.id} is no longer at version {version}")
    set_committed_value(instance, "version", version + 1)
    # Every column change is written: the object is clean again, as after the ORM's own
    # flush (its only other changes would be relationships, which commands do not change).
    state._commit_all(state.dict, db.session.identity_map)


_ENDED = frozenset({"completed", "cancelled"})


def _finish(instance: Instance, commit: bool, *, check_at_commit: bool = False) -> Instance:
    try:
        touched_workflows = db.session.info.get("touched_workflows", {})
        for touched in {id(instance): instance, **{id(t): t for t, _ in touched_workflows.values()}}.values():
            # committed here (or by a caller that reads nothing before its commit): a stale
            # row is found by the commit (one wait fewer on PostgreSQL); any other caller
            # committing later learns it now, before it reads anything
            _write_instance(touched, check_at_commit=commit or check_at_commit)
        db.session.flush()
        for touched, workflow in db.session.info.pop("touched_workflows", {}).values():
            if touched.status in _ENDED:
                continue  # no command runs on it again: kept, it would only lengthen the collector's walks
            workflow_cache.stage(db.session, definitions.database_scope(), touched.id, touched.version, workflow)
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise Conflict(_CONFLICT) from None
    except DataError as err:
        if not _stale(err):
            raise
        db.session.rollback()
        raise Conflict(_CONFLICT) from None
    if commit:
        instance_id = instance.id
        _commit()
        # The commit expires the object; its id cannot change, so the caller reading it
        # (every caller does) costs no SELECT of the whole row. The object stays expired:
        # the next session.get() still reads the row afresh.
        set_committed_value(instance, "id", instance_id)
        sa_inspect(instance).expired = True
    return instance


def commit() -> None:
    """Commit a command run with commit=False: the API reads the facts it answers with first,
    since the commit expires every row and reading one afterwards costs another SELECT."""
    _commit()


def _commit() -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise Conflict(_CONFLICT) from None
    except DataError as err:
        if not _stale(err):
            raise
        db.session.rollback()
        raise Conflict(_CONFLICT) from None


def matches(wanted: dict, have: dict) -> bool:
    """Correlation: a message with values reaches a wait that has every one of them (the
    wait has the instance's business key and the correlation properties it collected); a
    message without values reaches only a wait whose definition declares no correlation
    properties (`_keys`), never every waiting instance of a keyed conversation."""
    if not wanted:
        return "_keys" not in have
    return all(k in have and str(have[k]) == str(v) for k, v in wanted.items())


def _buffered_messages_for(instance: Instance) -> list[Input]:
    if not definitions.info(instance.definition_id).meta.get("has_messages", True):
        return []
    db.session.flush()
    waits = db.session.scalars(db.select(MessageWait).where(MessageWait.instance_id == instance.id)).all()
    for wait in waits:
        candidates = db.session.scalars(
            db.select(PendingMessage)
            .where(PendingMessage.name == wait.name, PendingMessage.consumed.is_(False))
            .order_by(PendingMessage.id)
        ).all()
        for message in candidates:
            if matches(message.correlation, wait.correlation):
                message.consumed = True
                message.consumed_by_instance = instance.id
                return [
                    Input(
                        "message_received",
                        {"name": message.name, "correlation": message.correlation, "payload": message.payload},
                    )
                ]
    return []


_INSTANCE_INSERT = plain_sql.Statement(
    _INSTANCES.insert().returning(_INSTANCES.c.id),
    ("definition_id", "process_key", "business_key", "status", "snapshot", "data", "version", "id_counter",
     "started_at", "started_by", "updated_at", "last_hash", "last_seq", "incident_count", "snapshot_pieces",
     "state_hash_form"),
)


def _insert_instance(definition: definitions.DefinitionInfo, business_key: str, actor: str, now: datetime) -> Instance:
    """The new instance row, inserted on the driver (the ORM's flush of one row costs more
    than the statement), then handed to the session as a loaded, unchanged object: the
    command's later changes go out in `_write_instance`'s versioned UPDATE."""
    values = {**_instance_values(definition, actor, now), "business_key": business_key}
    new_id = plain_sql.execute(db.session, _INSTANCE_INSERT, values).fetchone()[0]
    return plain_sql.adopt(
        db.session, _INSTANCE_MAPPER, {"id": new_id, "customer_name": None, "next_timer_due": None, "ended_at": None, **values})


def _instance_values(definition: definitions.DefinitionInfo, actor: str, now: datetime) -> dict:
    return dict(
        definition_id=definition.id, process_key=definition.key, status="running",
        snapshot="", data={}, version=0, id_counter=0, started_at=now, started_by=actor, updated_at=now,
        last_hash="", last_seq=0, incident_count=0,
        snapshot_pieces=0, state_hash_form=serialization.STATE_HASH_FORM,  # new instances: the current form
    )


# PostgreSQL: the start's number and row in one statement, on the condition that the version
# is still the key's latest (seen as the separate SELECT would have seen it: the statement's
# snapshot). A newer version: no number taken, nothing inserted, its id returned. The number
# held by a case already (chosen by hand): the counter moves past it and nothing is inserted,
# as `_next_free_number` skips it. The number is formatted as `_next_number` does.
_STARTED_COLUMNS = ("definition_id", "process_key", "status", "snapshot", "data", "version", "id_counter", "started_at",
                    "started_by", "updated_at", "last_hash", "last_seq", "incident_count", "snapshot_pieces",
                    "state_hash_form")


def _start_numbered_statement() -> plain_sql.Statement:
    latest = (
        select(Definition.id).where(Definition.key == bindparam("process_key", type_=String))
        .order_by(Definition.version.desc()).limit(1).scalar_subquery()
    )
    number = (
        postgresql_insert(NumberSequence)
        .from_select(["name", "value"], select(bindparam("name", type_=String), literal(1))
                     .where(latest == bindparam("definition_id", type_=Integer)))
        .on_conflict_do_update(index_elements=[NumberSequence.name], set_={"value": NumberSequence.value + 1})
        .returning(NumberSequence.value)
        .cte("counted")
    )
    digits = cast(number.c.value, String)
    business_key = bindparam("name", type_=String) + "-" + func.lpad(digits, func.greatest(4, func.length(digits)), "0")
    started = (
        postgresql_insert(_INSTANCES)
        .from_select([*_STARTED_COLUMNS, "business_key"],
                     select(*(bindparam(key, type_=_INSTANCES.c[key].type) for key in _STARTED_COLUMNS), business_key)
                     .select_from(number))
        .on_conflict_do_nothing(index_elements=[_INSTANCES.c.process_key, _INSTANCES.c.business_key])
        .returning(_INSTANCES.c.id, _INSTANCES.c.business_key)
        .cte("started")
    )
    # and the webhook outbox's question (a new case has no open task before its start): the
    # start's history INSERT then goes out unread with its other writes
    wanted, _ = webhook_outbox.asked_with(started.c.id)
    return plain_sql.Statement(select(
        latest, select(started.c.id).scalar_subquery(), select(started.c.business_key).scalar_subquery(), wanted))


_START_NUMBERED = _start_numbered_statement()


def _start_numbered(definition: definitions.DefinitionInfo, actor: str, now: datetime) -> tuple[Instance | None, int]:
    """The new instance with the next automatic number (PostgreSQL, one statement), or None
    and the key's latest version id (a newer version than `definition`, or the number taken)."""
    values = _instance_values(definition, actor, now)
    name = _number_name(definition.meta["business_key_prefix"], now)
    latest_id, new_id, business_key, webhooks_wanted = plain_sql.fetch_one(
        db.session, _START_NUMBERED, {**values, "name": name})
    if new_id is None:
        return None, latest_id
    webhook_outbox.answered(db.session, new_id, webhooks_wanted, None)
    return plain_sql.adopt(db.session, _INSTANCE_MAPPER, {
        "id": new_id, "business_key": business_key, "customer_name": None, "next_timer_due": None, "ended_at": None,
        **values}), latest_id


_NUMBER_NEXT = {
    dialect: plain_sql.Statement(
        insert(NumberSequence).values(name=bindparam("name"), value=1)
        .on_conflict_do_update(index_elements=[NumberSequence.name], set_={"value": NumberSequence.value + 1})
        .returning(NumberSequence.value)
    )
    for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
_NUMBER_TAKEN = plain_sql.Statement(
    db.select(Instance.id).where(Instance.process_key == bindparam("key"), Instance.business_key == bindparam("number"))
    .limit(1)
)


def _next_free_number(process_key: str, prefix: str, now: datetime) -> str:
    """The next automatic number that no case of the process holds yet.

    Anyone may choose a business key by hand, including one the counter has not reached;
    the counter skips such numbers instead of failing on them (a failed insert would roll
    the counter back with it and block every later automatic start of the day)."""
    while True:
        number = _next_number(prefix, now)
        taken = plain_sql.execute(db.session, _NUMBER_TAKEN, {"key": process_key, "number": number}).fetchone()
        if taken is None:
            return number


def _next_number(prefix: str, now: datetime) -> str:
    """PREFIX-YYYYMMDD-NNNN, counted per prefix and day (China time, as staff read it).

    One atomic upsert, so two processes starting the first case of a day do not collide."""
    name = _number_name(prefix, now)
    dialect = db.session.get_bind().dialect.name
    statement = _NUMBER_NEXT["postgresql" if dialect == "postgresql" else "sqlite"]
    value = plain_sql.execute(db.session, statement, {"name": name}).fetchone()[0]
    return f"{name}-{value:04d}"


def _number_name(prefix: str, now: datetime) -> str:
    """The counter of a prefix and day (China time, as staff read it): PREFIX-YYYYMMDD."""
    return f"{prefix}-{(now + timedelta(hours=8)).strftime('%Y%m%d')}"
