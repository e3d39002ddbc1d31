"""客户投诉处理: the records complaint handling writes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ComplaintCase, ContactLog, Customer, Escalation, Instance

from .registry import operator

ESCALATION_ROLE = "after_sales_manager"


def _case(session: Session, number: str) -> ComplaintCase:
    case = session.scalar(select(ComplaintCase).where(ComplaintCase.number == number))
    if case is None:
        raise LookupError(f"no complaint case {number}")
    return case


def find_or_create_customer(session: Session, name: str, phone: str, email: str = "") -> Customer:
    customer = session.scalar(
        select(Customer).where(Customer.phone == phone, Customer.name == name).limit(1)
    )
    if customer is None:
        customer = Customer(name=name, phone=phone, email=email or "", created_at=clock.now())
        session.add(customer)
        session.flush()
    elif email and not customer.email:
        customer.email = email
    return customer


@operator("complaint/register_case")
def register_case(session: Session, params: dict) -> dict:
    """建立投诉档案: the customer's file, the complaint case, the first contact."""
    now = clock.now()
    number = params["complaint_no"]
    customer = find_or_create_customer(
        session, params["customer_name"], params["customer_phone"], params.get("customer_email") or ""
    )
    instance_id = session.scalar(
        select(Instance.id).where(Instance.business_key == number, Instance.process_key == "complaint_handling")
    )
    case = ComplaintCase(
        number=number,
        instance_id=instance_id,
        customer_id=customer.id,
        product_model=params.get("product_model") or "",
        serial_no=params.get("serial_no") or "",
        channel=params["channel"],
        description=params["description"],
        status="open",
        received_at=now,
        related_order_no=params.get("related_order_no") or "",
        customer_demand=params.get("customer_demand") or "",
        staff_member=params.get("staff_member") or "",
        source_case_no=params.get("source_case_no") or "",
    )
    session.add(case)
    session.add(
        ContactLog(
            customer_id=customer.id,
            case_number=number,
            kind="received",
            channel=params["channel"],
            summary=params["description"],
            at=now,
        )
    )
    session.flush()
    return {"complaint_no": number, "customer_id": customer.id, "case_id": case.id}


@operator("complaint/log_contact")
def log_contact(session: Session, params: dict) -> dict:
    """联系记录; the first reply also stamps the case's reply time (24 h target)."""
    now = clock.now()
    case = _case(session, params["complaint_no"])
    log = ContactLog(
        customer_id=case.customer_id,
        case_number=case.number,
        kind=params["kind"],
        channel=params.get("channel") or case.channel,
        summary=params.get("summary") or "",
        at=now,
    )
    session.add(log)
    if params["kind"] == "reply" and case.replied_at is None:
        case.replied_at = now
    session.flush()
    return {"contact_id": log.id, "at": clock.to_iso(now)}


@operator("complaint/escalate")
def escalate(session: Session, params: dict) -> dict:
    """上报主管 / 督办: a missed deadline or a complaint the handler cannot resolve."""
    now = clock.now()
    case = _case(session, params["complaint_no"])
    if params["reason"] == "resolve_48h" and case.status == "closed":
        # closed in time (the case may still be running its staff investigation): nothing to chase
        return {"escalated": False, "reason": params["reason"], "at": clock.to_iso(now)}
    escalation = Escalation(case_number=case.number, reason=params["reason"], to_role=ESCALATION_ROLE, at=now)
    session.add(escalation)
    session.flush()
    return {"escalation_id": escalation.id, "reason": escalation.reason, "at": clock.to_iso(now), "escalated": True}


@operator("complaint/record_dissatisfied")
def record_dissatisfied(session: Session, params: dict) -> dict:
    """The customer is not satisfied with the result: the case stays open and goes back for
    another solution or to the supervisor; the contact is recorded."""
    now = clock.now()
    case = _case(session, params["complaint_no"])
    case.reopen_count += 1
    case.satisfied = False
    score = params.get("satisfaction_score")
    case.satisfaction_score = int(score) if score is not None else None
    step = "上报主管" if params.get("next_step") == "escalate" else "重新提出方案"
    session.add(ContactLog(customer_id=case.customer_id, case_number=case.number, kind="dissatisfied", channel=case.channel,
                           summary=f"客户不满意（{params.get('customer_feedback') or ''}）：{step}", at=now))
    session.flush()
    return {"reopen_count": case.reopen_count, "next_step": params.get("next_step") or "new_solution"}


@operator("complaint/record_investigation")
def record_investigation(session: Session, params: dict) -> dict:
    """服务态度投诉: the investigation's finding and the decision (留用察看 / 开除 / 罚款)."""
    case = _case(session, params["complaint_no"])
    confirmed = bool(params["confirmed"])
    case.staff_member = params.get("staff_member") or case.staff_member
    case.investigation = {
        "staff_member": case.staff_member, "confirmed": confirmed, "decision": params["decision"] if confirmed else "none",
        "fine_amount": float(params.get("fine_amount") or 0) if confirmed else 0.0, "findings": params.get("findings") or "",
        "at": clock.to_iso(clock.now()),
    }
    session.flush()
    return dict(case.investigation)


@operator("complaint/close_case")
def close_case(session: Session, params: dict) -> dict:
    """结案: the resolution, the customer's satisfaction, the last contact."""
    now = clock.now()
    case = _case(session, params["complaint_no"])
    case.status = "closed"
    case.closed_at = now
    case.cause = params.get("cause") or ""
    case.responsible_department = params.get("responsible_department") or ""
    case.solution = params.get("solution") or ""
    case.action_taken = params.get("action_taken") or ""
    case.satisfied = bool(params.get("satisfied"))
    score = params.get("satisfaction_score")
    case.satisfaction_score = int(score) if score is not None else None
    session.add(
        ContactLog(
            customer_id=case.customer_id,
            case_number=case.number,
            kind="result",
            channel=case.channel,
            summary=f"处理结果已告知客户：{case.action_taken}",
            at=now,
        )
    )
    session.flush()
    return {"closed_at": clock.to_iso(now), "satisfied": case.satisfied}
