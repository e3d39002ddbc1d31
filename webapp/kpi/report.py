"""The monthly service report 月度服务报告 for the general manager: the targets, volumes by
procedure, the top fault categories, corrective actions opened, closed and still open, and
the deadlines missed (escalations) by reason. SQL only; rendering is in webapp/dashboard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from ..engine import clock
from ..extensions import db
from ..models import CorrectiveAction, Definition, Escalation, Instance, RepairOrder
from .figures import compute_all
from .period import Period
from .sql import analytic

TOP_FAULTS = 5


def volumes(period: Period) -> list[dict]:
    """Per procedure: started, completed and cancelled in the period; open at its end."""
    analytic(db.session)
    i = Instance
    start, end = period.start, period.end
    in_period = and_(i.started_at >= start, i.started_at < end)
    ended_in = and_(i.ended_at >= start, i.ended_at < end)
    open_at_end = and_(i.started_at < end, or_(i.ended_at.is_(None), i.ended_at >= end))
    query = (
        select(
            i.process_key,
            func.sum(case((in_period, 1), else_=0)).label("started"),
            func.sum(case((and_(i.status == "completed", ended_in), 1), else_=0)).label("completed"),
            func.sum(case((and_(i.status == "cancelled", ended_in), 1), else_=0)).label("cancelled"),
            func.sum(case((open_at_end, 1), else_=0)).label("open_at_end"),
        )
        .where(i.started_at < end, or_(i.ended_at.is_(None), i.ended_at >= start))
        .group_by(i.process_key)
        .order_by(i.process_key)
    )
    names = _process_names()
    return [{**dict(row), "name": names.get(row.process_key, row.process_key)} for row in db.session.execute(query).mappings()]


def _process_names() -> dict[str, str]:
    latest = select(Definition.key, func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    query = select(Definition.key, Definition.name).join(
        latest, and_(latest.c.key == Definition.key, latest.c.version == Definition.version))
    return {key: name for key, name in db.session.execute(query)}


def fault_categories(period: Period, limit: int = TOP_FAULTS) -> list[dict]:
    """Repair orders received in the period by fault category, most frequent first."""
    analytic(db.session)
    r = RepairOrder
    query = (
        select(r.fault_category, func.count().label("orders"))
        .where(r.received_at >= period.start, r.received_at < period.end)
        .group_by(r.fault_category)
        .order_by(func.count().desc(), r.fault_category)
        .limit(limit)
    )
    return [dict(row) for row in db.session.execute(query).mappings()]


def corrective_actions(period: Period) -> dict:
    """纠正和预防措施: opened and closed in the period, open at its end, overdue at its end."""
    analytic(db.session)
    ca = CorrectiveAction
    start, end = period.start, period.end
    open_at_end = and_(ca.opened_at < end, or_(ca.closed_at.is_(None), ca.closed_at >= end))
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((and_(ca.opened_at >= start, ca.opened_at < end), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(ca.closed_at >= start, ca.closed_at < end), 1), else_=0)), 0),
            func.coalesce(func.sum(case((open_at_end, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(open_at_end, ca.due_at < end), 1), else_=0)), 0),
        )
    ).one()
    rows = db.session.execute(
        select(ca.number, ca.trigger, ca.responsible_department, ca.status, ca.opened_at, ca.due_at, ca.closed_at)
        .where(ca.opened_at < end, or_(ca.closed_at.is_(None), ca.closed_at >= start))
        .order_by(ca.opened_at, ca.number)
    ).mappings()
    return {"opened": int(row[0]), "closed": int(row[1]), "open_at_end": int(row[2]), "overdue_at_end": int(row[3]),
            "rows": [dict(r) for r in rows]}


def escalations(period: Period) -> list[dict]:
    """Missed deadlines and other escalations in the period, by reason."""
    analytic(db.session)
    e = Escalation
    query = (
        select(e.reason, func.count().label("count"))
        .where(e.at >= period.start, e.at < period.end)
        .group_by(e.reason)
        .order_by(func.count().desc(), e.reason)
    )
    return [dict(row) for row in db.session.execute(query).mappings()]


def monthly(period: Period, now: datetime | None = None) -> dict:
    now = now or clock.now()
    return {
        "period": period,
        "as_of": now,
        "figures": compute_all(period, now=now),
        "volumes": volumes(period),
        "faults": fault_categories(period),
        "capa": corrective_actions(period),
        "escalations": escalations(period),
    }
