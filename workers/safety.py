"""月度安全检查: the monthly inspection, its findings, and one rectification per finding
tracked to closure. Each inspection schedules next month's as a new instance."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import SafetyFinding, SafetyInspection, SafetyRectification

from .followup import add_months, china_date, china_moment, escalate_to, instance_id_of, iso, timer_moment
from .registry import operator

AREAS = ("electrical", "fire", "equipment", "environment", "warehouse")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _inspection(session: Session, number: str) -> SafetyInspection:
    row = session.scalar(select(SafetyInspection).where(SafetyInspection.number == number))
    if row is None:
        raise LookupError(f"no safety inspection {number}")
    return row


def _month_start(period: str) -> date:
    year, month = map(int, period.split("-"))
    return date(year, month, 1)


def _period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@operator("safety/plan")
def plan(session: Session, params: dict) -> dict:
    """The month's inspection: scheduled on the 1st at 09:00 (or now, if the month has begun),
    due by the end of the month (每月至少进行一次全面安全检查)."""
    now = clock.now()
    period = params.get("period") or _period_of(china_date(now))
    if not PERIOD.match(period):
        raise ValueError(f"period {period!r} is not YYYY-MM")
    if session.scalar(select(SafetyInspection.id).where(SafetyInspection.period == period)):
        raise ValueError(f"the safety inspection of {period} is already planned")
    first = _month_start(period)
    scheduled: datetime = china_moment(first)
    due = china_moment(add_months(first, 1), datetime.min.time())  # midnight at the month's end, China time
    row = SafetyInspection(
        number=params["inspection_no"],
        instance_id=instance_id_of(session, params["inspection_no"], "safety_inspection"),
        period=period,
        scheduled_at=scheduled,
        due_at=due,
        status="scheduled",
    )
    session.add(row)
    session.flush()
    return {
        "inspection_no": row.number,
        "period": period,
        "scheduled_at": iso(scheduled),
        "scheduled_timer": timer_moment(scheduled, now),
        "due_at": iso(due),
        "due_timer": timer_moment(due, now),
    }


@operator("safety/escalate")
def escalate(session: Session, params: dict) -> dict:
    """The month ran out without the inspection: 售后部经理负责本部门的安全管理工作."""
    row = _inspection(session, params["inspection_no"])
    escalation = escalate_to(session, row.number, params["reason"])
    row.escalated_at = escalation.at
    session.flush()
    return {"escalation_id": escalation.id, "reason": escalation.reason, "at": iso(escalation.at)}


@operator("safety/record_inspection")
def record_inspection(session: Session, params: dict) -> dict:
    """检查结果: the result of each area and every finding, each with its rectification."""
    now = clock.now()
    row = _inspection(session, params["inspection_no"])
    row.inspector = params["inspector"]
    for area in AREAS:
        setattr(row, f"{area}_result", params[f"{area}_result"])
    row.notes = params.get("notes") or ""
    row.inspected_at, row.on_time = now, now <= row.due_at
    findings = params.get("findings") or []
    rectifications = []
    for seq, item in enumerate(findings, start=1):
        finding = SafetyFinding(
            inspection_id=row.id,
            seq=seq,
            category=item["category"],
            location=item.get("location") or "",
            description=item["description"],
            severity=item["severity"],
            responsible=item.get("responsible") or "",
        )
        session.add(finding)
        session.flush()
        rect = SafetyRectification(number=f"{row.number}-{seq:02d}", finding_id=finding.id, status="open")
        session.add(rect)
        session.flush()
        rectifications.append(
            {
                "id": rect.id,
                "number": rect.number,
                "category": finding.category,
                "location": finding.location,
                "description": finding.description,
                "severity": finding.severity,
                "responsible": finding.responsible,
            }
        )
    row.status = "rectifying" if findings else "inspected"
    next_period = _period_of(add_months(_month_start(row.period), 1))
    exists = session.scalar(select(SafetyInspection.id).where(SafetyInspection.period == next_period))
    session.flush()
    return {
        "inspected_at": iso(now),
        "on_time": row.on_time,
        "findings_count": len(findings),
        "rectifications": rectifications,
        "next_period": next_period,
        "start_next": exists is None,
    }


@operator("safety/open_rectification")
def open_rectification(session: Session, params: dict) -> dict:
    """整改期限 from the decision table, counted from now."""
    now = clock.now()
    rect = session.get(SafetyRectification, int(params["rectification_id"]))
    rect.deadline_days = int(params["deadline_days"])
    rect.due_at = now + timedelta(days=rect.deadline_days)
    session.flush()
    return {"number": rect.number, "due_at": iso(rect.due_at), "due_timer": timer_moment(rect.due_at, now)}


@operator("safety/escalate_rectification")
def escalate_rectification(session: Session, params: dict) -> dict:
    rect = session.get(SafetyRectification, int(params["rectification_id"]))
    escalation = escalate_to(session, rect.number, "rectification_overdue")
    rect.escalated_at = escalation.at
    session.flush()
    return {"escalation_id": escalation.id, "at": iso(escalation.at)}


@operator("safety/record_rectification")
def record_rectification(session: Session, params: dict) -> dict:
    now = clock.now()
    rect = session.get(SafetyRectification, int(params["rectification_id"]))
    rect.action_taken = params["action_taken"]
    rect.rectified_by = params.get("rectified_by") or ""
    rect.completed_at, rect.status = now, "done"
    rect.on_time = rect.due_at is None or now <= rect.due_at
    session.flush()
    return {"completed_at": iso(now), "on_time": rect.on_time}


@operator("safety/close")
def close(session: Session, params: dict) -> dict:
    """整改措施落实到位: every rectification done and accepted; the inspection is closed."""
    now = clock.now()
    row = _inspection(session, params["inspection_no"])
    open_ones = [f.rectification.number for f in row.findings if f.rectification and f.rectification.status != "done"]
    if open_ones:
        raise ValueError(f"rectifications still open: {', '.join(open_ones)}")
    row.acceptance_comment = params.get("acceptance_comment") or ""
    row.status, row.closed_at = "closed", now
    session.flush()
    return {"closed_at": iso(now)}
