"""客服热线与咨询登记: every call and enquiry is registered (L62, L243); an enquiry not answered
at once is answered within 24 hours; a repair request becomes a work order, a return request
a return case, a complaint a complaint case (all in the same transaction as the step)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ContactLog, Escalation, HotlineCall, Instance

from .complaints import find_or_create_customer
from .links import start_process
from .registry import operator

ESCALATION_ROLE = "after_sales_manager"


def _call(session: Session, number: str) -> HotlineCall:
    row = session.scalar(select(HotlineCall).where(HotlineCall.number == number))
    if row is None:
        raise LookupError(f"no hotline call {number}")
    return row


@operator("hotline/register")
def register(session: Session, params: dict) -> dict:
    """咨询电话登记: who called, about which vehicle, what they asked, whether it was answered."""
    now = clock.now()
    customer = find_or_create_customer(session, params["customer_name"], params["customer_phone"])
    answered = bool(params.get("answered_now"))
    row = HotlineCall(
        number=params["call_no"],
        instance_id=session.scalar(select(Instance.id).where(Instance.business_key == params["call_no"],
                                                             Instance.process_key == "hotline_call")),
        customer_id=customer.id, plate_no=(params.get("plate_no") or "").strip().upper(),
        serial_no=params.get("serial_no") or "", channel=params.get("channel") or "phone", kind=params["kind"],
        content=params["content"], received_at=now, answer=params.get("answer") or "" if answered else "",
        answered_at=now if answered else None,
    )
    session.add(row)
    session.add(ContactLog(customer_id=customer.id, case_number=row.number, kind=f"hotline_{row.kind}",
                           channel=row.channel, summary=row.content, at=now))
    session.flush()
    return {"call_id": row.id, "customer_id": customer.id, "answered": answered}


@operator("hotline/record_answer")
def record_answer(session: Session, params: dict) -> dict:
    now = clock.now()
    row = _call(session, params["call_no"])
    row.answer, row.answered_at = params["answer"], now
    session.add(ContactLog(customer_id=row.customer_id, case_number=row.number, kind="reply", channel=row.channel,
                           summary=row.answer, at=now))
    session.flush()
    return {"answered_at": clock.to_iso(now), "within_24h": (now - row.received_at).total_seconds() <= 24 * 3600}


@operator("hotline/open_case")
def open_case(session: Session, params: dict) -> dict:
    """需要维修的，尽快安排服务: the repair (or return, or complaint) case starts now, and the call
    counts as answered when its case is opened."""
    now = clock.now()
    row = _call(session, params["call_no"])
    started = start_process(session, {"process_key": params["process_key"], "data": params["data"]})
    row.linked_case_no = started["business_key"] or ""
    if row.answered_at is None:
        row.answered_at = now
    session.flush()
    return {**started, "answered_at": clock.to_iso(now)}


@operator("hotline/escalate")
def escalate(session: Session, params: dict) -> dict:
    """Not answered or arranged within 24 hours: recorded and sent to the manager."""
    row = _call(session, params["call_no"])
    escalation = Escalation(case_number=row.number, reason=params["reason"], to_role=ESCALATION_ROLE, at=clock.now())
    session.add(escalation)
    session.flush()
    return {"escalation_id": escalation.id, "reason": escalation.reason}
