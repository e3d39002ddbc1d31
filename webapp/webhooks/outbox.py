"""The engine's one call into webhooks: `recorded(instance, event)` from `history.append`.

It only notes the event in the session. Just before the command's transaction commits
(`before_commit`, still inside it) the notes become webhook events: the history events that
are announcements themselves (instance_started, task_completed, incident_raised,
instance_cancelled), plus what the command changed in the projection (open tasks that were
not open before: task.created; a case that stopped running: case.ended). For each subscriber
that wants an event a delivery row and a job row are inserted; the worker sends them.
Nothing is enqueued when no active subscriber exists (one small query per instance and
transaction, sent without waiting for its answer).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import ColumnElement, Insert, Integer, bindparam, func, literal_column, null, select, union_all
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..engine import clock, plain_sql
from ..models import InboxTask, Instance, Job, WebhookDelivery, WebhookSubscription
from ..models.engine import IS_OPEN
from . import OPERATOR

_KEY = "webhook_outbox"
_ANSWERED = "webhook_outbox_answered"  # instance id -> the question answered by a command's first read
# Asked once per instance and transaction, on the driver, with the command's first history
# event: the open tasks before the command changed anything, only if an active subscriber
# exists (a row of NULL says one does). On PostgreSQL it travels in the command's pipeline
# and is read at commit, so no command waits for it; with no subscriber the server skips
# the task scan (the EXISTS is a one-time filter).
_ANY_ACTIVE = select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True)).exists()
_OPEN_IF_WANTED = plain_sql.Statement(union_all(
    select(null().label("id")).where(_ANY_ACTIVE),
    select(InboxTask.id).where(InboxTask.instance_id == bindparam("instance_id"), IS_OPEN, _ANY_ACTIVE),
))
# SQLite answers each statement at once, and there the union costs its task scan even with no
# subscriber (47-65 us a command in the bench, against ~2 us for the EXISTS alone): the same
# two reads, the tasks only when a subscriber exists, in the same transaction at the same point.
_ANY_ACTIVE_ROW = plain_sql.Statement(select(null().label("id")).where(_ANY_ACTIVE))
_OPEN_NOW = plain_sql.Statement(
    select(InboxTask.id).where(InboxTask.instance_id == bindparam("instance_id"), IS_OPEN))
_DIRECT = {"instance_started": "case.started", "task_completed": "task.completed", "incident_raised": "incident.opened"}


def asking(insert: Insert, column_keys: tuple[str, ...]) -> plain_sql.Statement:
    """The history INSERT that also answers _OPEN_IF_WANTED in its RETURNING (PostgreSQL: one
    statement fewer per command): whether an active subscriber exists, and then the open task
    ids of the instance given as `open_of`, both as the statement's snapshot saw them, which is
    where the separate SELECT would have looked (right after the command's first event)."""
    open_ids = select(func.array_agg(InboxTask.id)).where(
        InboxTask.instance_id == bindparam("open_of", type_=Integer()), IS_OPEN, _ANY_ACTIVE,
    ).scalar_subquery()
    return plain_sql.Statement(insert.returning(_ANY_ACTIVE.label("wanted"), open_ids.label("open_ids")),
                               column_keys)


def asked_with(instance_id: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """The question as two columns for a command's first read (PostgreSQL), which the command
    waits for anyway: whether an active subscriber exists, and then the open task ids of the
    instance whose id is the column `instance_id` of that read, before the command changed
    anything. Given to `answered`, they spare the history INSERT its answer (`asking`): the
    INSERT then goes out with the command's other writes, and nothing waits for it."""
    open_task = InboxTask.__table__.alias("open_before")
    open_ids = (
        select(func.array_agg(open_task.c.id))
        .where(open_task.c.instance_id == instance_id, open_task.c.state == literal_column("'open'"), _ANY_ACTIVE)
        .correlate_except(open_task, WebhookSubscription.__table__)
        .scalar_subquery()
    )
    return _ANY_ACTIVE.label("webhooks_wanted"), open_ids.label("webhooks_open_ids")


def answered(session: Session, instance_id: int, wanted: bool, open_ids: list[int] | None) -> None:
    """The answer of `asked_with`'s columns, for this instance's next event in the transaction
    (`recorded`); no other question is asked for it then."""
    session.info.setdefault(_ANSWERED, {})[instance_id] = _Read(
        [(None,), *((task_id,) for task_id in open_ids or ())] if wanted else [])


def asks_first(session: Session, instance_id: int) -> bool:
    """Whether this instance's next event is its first of the transaction on PostgreSQL, and
    no earlier read of the command answered the question (`answered`): then the history
    INSERT carries it (`asking`) and hands its answer to `recorded`."""
    notes = session.info.get(_KEY)
    if notes is not None and instance_id in notes:
        return False
    answers = session.info.get(_ANSWERED)
    if answers is not None and instance_id in answers:
        return False
    return plain_sql.dialect_of(session).name != "sqlite"


def recorded(session: Session, instance: Instance, *, type: str, seq: int, at: str, actor: str,
             bpmn_id: str | None, task_id: str | None, payload: dict, asked: plain_sql.Later | None = None) -> None:
    """Note one history event of this transaction (called once per appended event); `asked`:
    the answer of the `asking` INSERT that wrote it, if it was that one."""
    notes = session.info.get(_KEY)
    if notes is None:
        notes = session.info[_KEY] = {}
    entry = notes.get(instance.id)
    if entry is None:
        answers = session.info.get(_ANSWERED)
        if asked is not None:
            open_before = _Asked(asked)
        elif answers is not None and instance.id in answers:
            open_before = answers.pop(instance.id)
        else:
            open_before = _open_before(session, instance.id)
        entry = notes[instance.id] = {"open_before": open_before,
                                      "running_before": instance.status == "running", "events": []}
    entry["events"].append({"type": type, "seq": seq, "at": at, "actor": actor, "bpmn_id": bpmn_id,
                            "task_id": task_id, "error": payload.get("error") if type == "incident_raised" else None})


class _Read:
    """Rows already read (SQLite), with Later's `rows()`."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows

    def rows(self) -> list[tuple]:
        return self._rows


class _Asked:
    """The `asking` INSERT's answer in _OPEN_IF_WANTED's rows: a row of NULL if an active
    subscriber exists, then the open tasks' ids."""

    __slots__ = ("_later",)

    def __init__(self, later: plain_sql.Later) -> None:
        self._later = later

    def rows(self) -> list[tuple]:
        ((wanted, open_ids),) = self._later.rows()
        return [(None,), *((task_id,) for task_id in open_ids or ())] if wanted else []


def _open_before(session: Session, instance_id: int) -> plain_sql.Later | _Read:
    """What _OPEN_IF_WANTED answers: a row of NULL if an active subscriber exists, then the
    instance's open tasks (only then)."""
    if plain_sql.dialect_of(session).name != "sqlite":
        return plain_sql.Later(session, _OPEN_IF_WANTED, {"instance_id": instance_id})
    rows = plain_sql.fetch_all(session, _ANY_ACTIVE_ROW, {})
    if rows:
        rows = [*rows, *plain_sql.fetch_all(session, _OPEN_NOW, {"instance_id": instance_id})]
    return _Read(rows)


def _wanted(notes: dict) -> dict:
    """The notes of the instances an active subscriber was there for (each entry's open
    tasks before the command, read now)."""
    wanted = {}
    for instance_id, entry in notes.items():
        rows = entry["open_before"].rows()
        if any(row[0] is None for row in rows):
            wanted[instance_id] = {**entry, "open_before": {row[0] for row in rows if row[0] is not None}}
    return wanted


def _announcements(session: Session, instance_id: int, entry: dict) -> list[tuple[str, dict]]:
    instance = session.get(Instance, instance_id)
    if instance is None:
        return []
    case = {"id": instance.id, "process_key": instance.process_key, "business_key": instance.business_key,
            "status": instance.status}
    last = entry["events"][-1]
    found: list[tuple[str, dict]] = []
    for noted in entry["events"]:
        name = _DIRECT.get(noted["type"])
        if name is None:
            continue
        body = {"seq": noted["seq"], "occurred_at": noted["at"], "actor": noted["actor"]}
        if name == "task.completed":
            body["task"] = {"id": noted["task_id"], "bpmn_id": noted["bpmn_id"]}
        if name == "incident.opened":
            body["incident"] = {"bpmn_id": noted["bpmn_id"], "task_id": noted["task_id"], "error": noted["error"]}
        found.append((name, body))
    opened = session.scalars(select(InboxTask).where(InboxTask.instance_id == instance_id, IS_OPEN)
                             .order_by(InboxTask.created_at, InboxTask.id)).all()
    for task in opened:
        if task.id not in entry["open_before"]:
            found.append(("task.created", {"seq": last["seq"], "occurred_at": last["at"], "actor": last["actor"], "task": {
                "id": task.id, "bpmn_id": task.bpmn_id, "name": task.name, "role": task.role,
                "due_at": clock.to_iso(task.due_at) if task.due_at else None}}))
    if entry["running_before"] and instance.status != "running":
        found.append(("case.ended", {"seq": last["seq"], "occurred_at": last["at"], "actor": last["actor"]}))
    return [(name, {"event": name, "instance": case, **body}) for name, body in found]


def _settings() -> tuple[int, int]:
    config = current_app.config if has_app_context() else {}
    return int(config.get("WEBHOOK_MAX_ATTEMPTS", 8)), int(config.get("WEBHOOK_BACKOFF_SECONDS", 10))


def _enqueue(session: Session, notes: dict) -> None:
    subscriptions = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
                                    .order_by(WebhookSubscription.id)).all()
    if not subscriptions:
        return
    now: datetime = clock.now()
    max_attempts, backoff = _settings()
    for instance_id, entry in notes.items():
        for name, body in _announcements(session, instance_id, entry):
            task_part = (body.get("task") or body.get("incident") or {}).get("id") or ""
            event_id = f"{instance_id}.{body['seq']}.{name}" + (f".{task_part}" if task_part else "")
            body = {"id": event_id, **body}
            text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for subscription in subscriptions:
                if "*" not in subscription.events and name not in subscription.events:
                    continue
                delivery = WebhookDelivery(subscription_id=subscription.id, instance_id=instance_id, event=name,
                                           event_id=event_id[:80], body=text, status="pending", attempts=0,
                                           created_at=now, next_attempt_at=now)
                session.add(delivery)
                session.flush()
                job = Job(instance_id=instance_id, task_id=f"webhook-{delivery.id}"[:36], bpmn_id="", operator=OPERATOR,
                          parameters={"delivery_id": delivery.id}, status="ready", attempts=0, max_attempts=max_attempts,
                          backoff_base_seconds=backoff, run_at=now, created_at=now)
                session.add(job)
                session.flush()
                delivery.job_id = job.id


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.info.pop(_ANSWERED, None)
    notes = session.info.pop(_KEY, None)
    if notes and (wanted := _wanted(notes)):
        _enqueue(session, wanted)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_ANSWERED, None)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_ANSWERED, None)


def new_secret() -> str:
    return secrets.token_urlsafe(32)
