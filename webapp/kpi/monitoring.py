"""Process monitoring as SQL: instances per process and version, the heat map of a version
(active tokens and completions per element), the oldest waiting tasks per role, and the
average and 90th-percentile time per task and per case.

Active tokens are the work that waits at an element: open user tasks (inbox_tasks) and
service tasks waiting for a worker or stuck in an incident (jobs). Timers and message
catches keep no row of their own (only the instance's next due time), so they are not
counted. Completions are the history's task_completed and service_completed events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from ..engine import clock
from ..extensions import db
from ..models import Definition, HistoryEvent, InboxTask, Instance, Job
from ..models.engine import IS_OPEN
from .sql import analytic, epoch_seconds

COMPLETION_EVENTS = ("task_completed", "service_completed")


def overview() -> list[dict]:
    """Per process and version: running, completed, cancelled, with incidents."""
    analytic(db.session)
    d, i = Definition, Instance
    counts = (
        select(
            i.definition_id,
            func.sum(case((i.status == "running", 1), else_=0)).label("running"),
            func.sum(case((i.status == "completed", 1), else_=0)).label("completed"),
            func.sum(case((i.status == "cancelled", 1), else_=0)).label("cancelled"),
            func.sum(case((and_(i.status == "running", i.incident_count > 0), 1), else_=0)).label("with_incidents"),
        )
        .group_by(i.definition_id)
        .subquery("counts")
    )
    incident_jobs = (
        select(i.definition_id, func.count(Job.id).label("incident_jobs"))
        .select_from(Job)
        .join(i, i.id == Job.instance_id)
        .where(Job.status == "incident")
        .group_by(i.definition_id)
        .subquery("incident_jobs")
    )
    query = (
        select(
            d.id, d.key, d.version, d.name, d.deployed_at,
            func.coalesce(counts.c.running, 0), func.coalesce(counts.c.completed, 0),
            func.coalesce(counts.c.cancelled, 0), func.coalesce(counts.c.with_incidents, 0),
            func.coalesce(incident_jobs.c.incident_jobs, 0),
        )
        .outerjoin(counts, counts.c.definition_id == d.id)
        .outerjoin(incident_jobs, incident_jobs.c.definition_id == d.id)
        .order_by(d.key, d.version.desc())
    )
    keys = ("definition_id", "key", "version", "name", "deployed_at", "running", "completed", "cancelled",
            "with_incidents", "incident_jobs")
    return [dict(zip(keys, row, strict=True)) for row in db.session.execute(query)]


def heatmap(definition_id: int, start: datetime | None = None, end: datetime | None = None) -> dict[str, dict]:
    """{element id: {"active": n, "incidents": n, "completed": n}} for one version; completions
    in [start, end) when given (the history's `at`), else all of them."""
    i = aliased(Instance)
    out: dict[str, dict] = {}
    analytic(db.session)

    def put(bpmn_id: str, key: str, n: int) -> None:
        out.setdefault(bpmn_id, {"active": 0, "incidents": 0, "completed": 0})[key] += int(n)

    open_tasks = (
        select(InboxTask.bpmn_id, func.count())
        .join(i, i.id == InboxTask.instance_id)
        .where(i.definition_id == definition_id, IS_OPEN)
        .group_by(InboxTask.bpmn_id)
    )
    for bpmn_id, n in db.session.execute(open_tasks):
        put(bpmn_id, "active", n)
    jobs = (
        select(Job.bpmn_id, Job.status, func.count())
        .join(i, i.id == Job.instance_id)
        .where(i.definition_id == definition_id, Job.status.in_(("ready", "incident")))
        .group_by(Job.bpmn_id, Job.status)
    )
    for bpmn_id, status, n in db.session.execute(jobs):
        put(bpmn_id, "active", n)
        if status == "incident":
            put(bpmn_id, "incidents", n)
    h = HistoryEvent
    events = select(h.instance_id, h.bpmn_id).where(h.type.in_(COMPLETION_EVENTS), h.bpmn_id.isnot(None))
    if start is not None:
        events = events.where(h.at >= clock.to_iso(start))
    if end is not None:
        events = events.where(h.at < clock.to_iso(end))
    # The period's completions first (index range on type, at), then the version's instances:
    # materialized, so the planner cannot turn it into one history lookup per instance.
    period_events = events.cte("period_events").prefix_with("MATERIALIZED") if start is not None else events.subquery()
    done = (
        select(period_events.c.bpmn_id, func.count())
        .join(i, i.id == period_events.c.instance_id)
        .where(i.definition_id == definition_id)
        .group_by(period_events.c.bpmn_id)
    )
    for bpmn_id, n in db.session.execute(done):
        put(bpmn_id, "completed", n)
    return out


def oldest_waiting(per_role: int = 5) -> list[dict]:
    """The oldest open user tasks of each role (the role's queue), oldest first."""
    analytic(db.session)
    t, i = InboxTask, aliased(Instance)
    ranked = (
        select(
            t.id, t.role, t.bpmn_id, t.name, t.created_at, t.due_at, t.assignee, t.instance_id,
            i.business_key, i.process_key,
            func.row_number().over(partition_by=t.role, order_by=(t.created_at, t.id)).label("rn"),
            func.count().over(partition_by=t.role).label("waiting"),
        )
        .join(i, i.id == t.instance_id)
        .where(t.state == "open")
        .subquery("ranked")
    )
    query = select(ranked).where(ranked.c.rn <= per_role).order_by(ranked.c.role, ranked.c.rn)
    return [dict(row) for row in db.session.execute(query).mappings()]


def _stats(durations, keys: list, carry: tuple[str, ...] = ()) -> list[dict]:
    """count, average and p90 (nearest rank: the ceil(0.9 n)-th smallest) of `seconds` per key;
    `carry` columns come along (their largest value per key). PostgreSQL has the ordered-set
    aggregate percentile_disc (the same nearest rank); SQLite ranks with window functions."""
    analytic(db.session)
    if db.session.get_bind().dialect.name == "postgresql":
        cols = [durations.c[k] for k in keys]
        query = (
            select(
                *cols,
                *[func.max(durations.c[c]).label(c) for c in carry],
                func.count().label("count"),
                func.avg(durations.c.seconds).label("avg_seconds"),
                func.percentile_disc(0.9).within_group(durations.c.seconds).label("p90_seconds"),
                func.max(durations.c.seconds).label("max_seconds"),
            )
            .group_by(*cols)
            .order_by(*cols)
        )
    else:
        cols = [durations.c[k] for k in keys]
        ranked = select(
            *cols, *[durations.c[c] for c in carry], durations.c.seconds,
            func.row_number().over(partition_by=cols, order_by=durations.c.seconds).label("rn"),
            func.count().over(partition_by=cols).label("n"),
        ).subquery("ranked")
        rcols = [ranked.c[k] for k in keys]
        query = (
            select(
                *rcols,
                *[func.max(ranked.c[c]).label(c) for c in carry],
                func.count().label("count"),
                func.avg(ranked.c.seconds).label("avg_seconds"),
                func.min(case((ranked.c.rn * 10 >= ranked.c.n * 9, ranked.c.seconds))).label("p90_seconds"),
                func.max(ranked.c.seconds).label("max_seconds"),
            )
            .group_by(*rcols)
            .order_by(*rcols)
        )
    out = []
    for row in db.session.execute(query).mappings():
        item = dict(row)
        for key in ("avg_seconds", "p90_seconds", "max_seconds"):
            item[key] = float(item[key]) if item[key] is not None else None
        out.append(item)
    return out


def task_times(start: datetime, end: datetime, definition_id: int | None = None) -> list[dict]:
    """User tasks completed in [start, end): from becoming ready to completion, per process and element."""
    t, i = InboxTask, aliased(Instance)
    query = (
        select(
            i.process_key.label("process_key"), t.bpmn_id.label("bpmn_id"), t.name.label("name"),
            (epoch_seconds(t.completed_at) - epoch_seconds(t.created_at)).label("seconds"),
        )
        .join(i, i.id == t.instance_id)
        .where(t.state == "completed", t.completed_at >= start, t.completed_at < end)
    )
    if definition_id is not None:
        query = query.where(i.definition_id == definition_id)
    return _stats(query.subquery("durations"), ["process_key", "bpmn_id"], carry=("name",))


def case_times(start: datetime, end: datetime) -> list[dict]:
    """Cases completed in [start, end): from start to end, per process."""
    i = Instance
    query = select(
        i.process_key.label("process_key"),
        (epoch_seconds(i.ended_at) - epoch_seconds(i.started_at)).label("seconds"),
    ).where(i.status == "completed", i.ended_at >= start, i.ended_at < end)
    return _stats(query.subquery("durations"), ["process_key"])
