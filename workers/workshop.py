"""车间: a repair waiting for parts (待料) with its due date and the parts issued on a signed
requisition 领料单; repair accidents 维修事故 reported and reviewed. The 待料 records are what
物料配送准时率 counts (webapp/kpi/figures.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ContactLog, PartsWait, RepairAccident

from .followup import timer_moment
from .registry import operator
from .repairs import MANAGER, _issue_parts, _order, china_text, clean_lines, escalate_to, instance_id_of, iso, parse_moment

SUPERVISOR = "workshop_supervisor"
PARTS_KEEPER = "parts_keeper"
# 维修事故上报制度 (L363): the workshop supervisor (车间安全生产, L361) and the after-sales manager
# (负责本部门的安全管理工作, L19) are told at once.
ACCIDENT_NOTIFIED = (SUPERVISOR, MANAGER)
REPORTING = ("on_time", "concealed", "late", "incomplete")  # 按时上报 / 瞒报 / 缓报 / 漏报


def _open_wait(session: Session, order_number: str) -> PartsWait:
    row = session.scalar(
        select(PartsWait).where(PartsWait.order_number == order_number, PartsWait.status == "waiting")
        .order_by(PartsWait.id.desc()).limit(1)
    )
    if row is None:
        raise LookupError(f"repair order {order_number} is not waiting for parts")
    return row


@operator("workshop/parts_wait")
def parts_wait(session: Session, params: dict) -> dict:
    """待料: the order stops for parts; the parts department's promised delivery is the due date."""
    now = clock.now()
    order = _order(session, params["order_no"])
    parts = clean_lines(params.get("awaited_parts"))
    if not parts:
        raise ValueError("awaited_parts: list the parts the repair waits for")
    due = parse_moment(params.get("parts_due_at"), "parts_due_at")
    if due is None:
        raise ValueError("parts_due_at: the date the parts are due is required")
    row = PartsWait(order_number=order.number, instance_id=instance_id_of(session, "repair_dispatch", order.number),
                    team=order.team or "", parts=parts, note=params.get("note") or "", requested_at=now, due_at=due,
                    status="waiting")
    session.add(row)
    order.status = "waiting_parts"
    session.flush()
    names = "、".join(f"{p['name'] or p['part_no']}×{p['qty']}" for p in parts)
    return {"wait_id": row.id, "due_at": iso(due), "due_text": china_text(due), "due_timer": timer_moment(due, now),
            "parts_text": names}


@operator("workshop/parts_overdue")
def parts_overdue(session: Session, params: dict) -> dict:
    """The parts are not there by their due date: the parts manager (配件经理：满足售后服务，确保维修
    业务的正常开展) and the after-sales manager are told."""
    row = _open_wait(session, params["order_no"])
    row.overdue_notified_at = clock.now()
    for role in (PARTS_KEEPER, MANAGER):
        escalate_to(session, row.order_number, "parts_overdue", role)
    session.flush()
    return {"wait_id": row.id, "notified": [PARTS_KEEPER, MANAGER]}


@operator("workshop/parts_delivered")
def parts_delivered(session: Session, params: dict) -> dict:
    """The parts are issued to the workshop on a signed requisition (领料单签字确认制度); the wait
    ends on time or late, and the order is back in repair."""
    now = clock.now()
    if not (params.get("requisition_no") and params.get("requisition_signed_by")):
        raise ValueError("parts are issued only on a signed requisition (领料单号 and 领料人签字)")
    row = _open_wait(session, params["order_no"])
    order = _order(session, row.order_number)
    row.delivered_at = now
    row.on_time = now <= row.due_at
    row.requisition_no = params["requisition_no"]
    row.requisition_signed_by = params["requisition_signed_by"]
    row.issued_by = params.get("issued_by") or ""
    row.status = "delivered"
    _issue_parts(session, order, clean_lines(row.parts))
    order.requisition_no = row.requisition_no
    order.requisition_signed_by = row.requisition_signed_by
    order.status = "open"
    session.flush()
    return {"wait_id": row.id, "on_time": row.on_time, "delivered_at": iso(now)}


@operator("workshop/report_accident")
def report_accident(session: Session, params: dict) -> dict:
    """维修事故上报: the accident is recorded and the supervisor and the manager are told at once."""
    now = clock.now()
    order = _order(session, params["order_no"])
    occurred = parse_moment(params.get("accident_at"), "accident_at") or now
    if occurred > now:
        raise ValueError("accident_at: cannot be in the future")
    description = (params.get("accident_description") or "").strip()
    if not description:
        raise ValueError("accident_description: describe the accident")
    row = RepairAccident(order_number=order.number, occurred_at=occurred, reported_at=now,
                         reported_by=params.get("reported_by") or order.technician or "", description=description,
                         notified_roles=list(ACCIDENT_NOTIFIED))
    session.add(row)
    for role in ACCIDENT_NOTIFIED:
        escalate_to(session, order.number, "repair_accident", role)
    session.flush()
    return {"accident_id": row.id, "occurred_text": china_text(occurred), "notified": list(ACCIDENT_NOTIFIED)}


@operator("workshop/record_accident_review")
def record_accident_review(session: Session, params: dict) -> dict:
    """The supervisor's finding: cause, who is responsible, the damage, the customer told, and
    whether the accident was reported on time or concealed, late or incomplete (瞒报、缓报、漏报
    经核实后承担相应责任)."""
    now = clock.now()
    row = session.get(RepairAccident, int(params["accident_id"]))
    if row is None:
        raise LookupError(f"no repair accident {params['accident_id']}")
    reporting = params.get("reporting") or "on_time"
    if reporting not in REPORTING:
        raise ValueError(f"reporting: one of {', '.join(REPORTING)}")
    row.cause = params.get("cause") or ""
    row.responsible = params.get("responsible") or ""
    row.damage_amount = float(params["damage_amount"]) if params.get("damage_amount") not in (None, "") else None
    row.customer_informed = bool(params.get("customer_informed"))
    row.handling = params.get("handling") or ""
    row.reporting = reporting
    row.reviewed_at = now
    if row.customer_informed:
        order = _order(session, row.order_number)
        session.add(ContactLog(customer_id=order.customer_id, case_number=order.number, kind="accident_notice",
                               channel="phone", summary=f"维修事故：{row.description}；处理：{row.handling}", at=now))
    session.flush()
    return {"accident_id": row.id, "reporting": reporting}
