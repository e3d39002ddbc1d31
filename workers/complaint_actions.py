"""纠正和预防措施处理单 opened by a complaint found to be the service's fault (L122): written by
the responsible department, carried out by it, checked by the sales department; an action
found ineffective goes back to the department until it works."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ComplaintCase, CorrectiveAction

from .followup import iso
from .registry import operator
from .surveys import capa_by_number

REWORK_DAYS = 7  # an action sent back gets 7 more days, as one sent back after a survey


@operator("complaint/open_capa")
def open_capa(session: Session, params: dict) -> dict:
    """The department's 处理单, tied to the complaint (not to a survey), with its deadline."""
    now = clock.now()
    case = session.scalar(select(ComplaintCase).where(ComplaintCase.number == params["complaint_no"]))
    if case is None:
        raise LookupError(f"no complaint case {params['complaint_no']}")
    due = now + timedelta(days=int(params["due_days"]))
    capa = CorrectiveAction(
        number=f"CA-{case.number}",
        survey_id=None,
        complaint_case_id=case.id,
        customer_id=case.customer_id,
        trigger="complaint",
        problem=case.description,
        cause=params.get("cause") or "",
        responsible_department=params["responsible_department"],
        measures=params["measures"],
        due_at=due,
        status="open",
        opened_at=now,
    )
    session.add(capa)
    session.flush()
    return {"capa_no": capa.number, "due_at": iso(due)}


@operator("complaint/record_capa_implementation")
def record_implementation(session: Session, params: dict) -> dict:
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.implementation = params.get("implementation") or ""
    capa.implemented_at, capa.rounds, capa.status = now, capa.rounds + 1, "implemented"
    session.flush()
    return {"implemented_at": iso(now), "round": capa.rounds, "on_time": now <= capa.due_at}


@operator("complaint/check_capa")
def check_capa(session: Session, params: dict) -> dict:
    """销售部检查: effective closes the action; otherwise it goes back with a new deadline."""
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.effective = bool(params["effective"])
    capa.verification_comment = params.get("comment") or ""
    capa.verified_at = now
    if capa.effective:
        capa.status, capa.closed_at = "effective", now
    else:
        capa.status, capa.due_at = "sent_back", now + timedelta(days=REWORK_DAYS)
    session.flush()
    return {"effective": capa.effective, "status": capa.status, "due_at": iso(capa.due_at)}
