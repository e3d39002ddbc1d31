"""退换货: the return/exchange request, its policy check, approval, execution and closing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ContactLog, CustomerFile, ReturnRequest

from .complaints import find_or_create_customer
from .followup import china_date, instance_id_of, iso, parse_date
from .registry import operator

KINDS = {"return": "退货", "exchange": "换货"}


def _request(session: Session, number: str) -> ReturnRequest:
    row = session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))
    if row is None:
        raise LookupError(f"no return/exchange request {number}")
    return row


def _log(session: Session, row: ReturnRequest, kind: str, summary: str) -> None:
    now = clock.now()
    log = ContactLog(customer_id=row.customer_id, case_number=row.number, kind=kind, channel="phone", summary=summary, at=now)
    session.add(log)


@operator("returns/register")
def register(session: Session, params: dict) -> dict:
    """接到来函时,详细记录客户名称,具体地址、联系方式、商品等级、购买日期."""
    now = clock.now()
    number = params["request_no"]
    purchase = parse_date(params["purchase_date"])
    days = (china_date(now) - purchase).days
    if days < 0:
        raise ValueError(f"purchase date {purchase} is in the future")
    customer = find_or_create_customer(session, params["customer_name"], params["customer_phone"])
    if params.get("customer_address"):
        customer.address = params["customer_address"]
    row = ReturnRequest(
        number=number,
        instance_id=instance_id_of(session, number, "return_exchange"),
        customer_id=customer.id,
        request_kind=params["request_kind"],
        customer_address=params.get("customer_address") or "",
        product_model=params.get("product_model") or "",
        serial_no=params.get("serial_no") or "",
        product_grade=params["product_grade"],
        purchase_date=purchase,
        amount=float(params["amount"]),
        reason=params["reason"],
        description=params.get("description") or "",
        invoice_no=params.get("invoice_no") or "",
        days_since_purchase=days,
        status="registered",
        received_at=now,
    )
    session.add(row)
    session.flush()
    _log(session, row, "received", f"{KINDS.get(row.request_kind, row.request_kind)}申请：{row.description}")
    file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == customer.id))
    session.flush()
    return {
        "request_no": number,
        "customer_id": customer.id,
        "days_since_purchase": days,
        "customer_tier": file.tier if file else "normal",
        "received_at": iso(now),
    }


@operator("returns/record_check")
def record_check(session: Session, params: dict) -> dict:
    """核实情况 and the policy decision (conditions and time limit)."""
    row = _request(session, params["request_no"])
    row.goods_condition = params["goods_condition"]
    row.inspection_notes = params.get("inspection_notes") or ""
    row.policy_eligible = bool(params["eligible"])
    row.policy_rule = params.get("policy_rule") or ""
    if not row.policy_eligible:
        row.status, row.outcome = "rejected", "rejected_policy"
    session.flush()
    return {"eligible": row.policy_eligible, "policy_rule": row.policy_rule}


@operator("returns/record_approval")
def record_approval(session: Session, params: dict) -> dict:
    """根据权限范围报总经理办公会或总经理批准: who approved (general_manager or office_meeting;
    older diagrams also had department) and the decision."""
    now = clock.now()
    row = _request(session, params["request_no"])
    row.approval_level = params["approval_level"]
    row.approved = bool(params["approved"])
    row.approval_comment = params.get("approval_comment") or ""
    if params.get("meeting_minutes_no"):
        row.approval_comment = f"办公会纪要 {params['meeting_minutes_no']}；{row.approval_comment}"
    row.approved_at = now
    row.status = "approved" if row.approved else "rejected"
    if not row.approved:
        row.outcome = "rejected_approval"
    session.flush()
    return {"approved": row.approved, "approval_level": row.approval_level, "at": iso(now)}


@operator("returns/refund")
def refund(session: Session, params: dict) -> dict:
    """办理退货: the goods are taken back and the money refunded."""
    now = clock.now()
    row = _request(session, params["request_no"])
    amount = float(params["refund_amount"])
    if amount > row.amount:
        raise ValueError(f"refund {amount} exceeds the price paid {row.amount}")
    row.refund_amount = amount
    row.refund_method = params["refund_method"]
    row.returned_goods_disposition = params["disposition"]
    row.carried_out_at, row.status, row.outcome = now, "carried_out", "returned"
    session.flush()
    return {"carried_out_at": iso(now), "outcome": row.outcome}


@operator("returns/exchange")
def exchange(session: Session, params: dict) -> dict:
    """办理换货: the faulty unit is taken back and a replacement handed over."""
    now = clock.now()
    row = _request(session, params["request_no"])
    row.replacement_serial_no = params["replacement_serial_no"]
    row.returned_goods_disposition = params["disposition"]
    row.carried_out_at, row.status, row.outcome = now, "carried_out", "exchanged"
    session.flush()
    return {"carried_out_at": iso(now), "outcome": row.outcome, "handover_at": iso(now)}


@operator("returns/close")
def close(session: Session, params: dict) -> dict:
    """向客户反馈处理结果,并确认客户满意; the case is closed."""
    now = clock.now()
    row = _request(session, params["request_no"])
    satisfied, score = params.get("satisfied"), params.get("satisfaction_score")
    row.satisfied = None if satisfied is None else bool(satisfied)
    row.satisfaction_score = int(score) if score is not None else None
    row.customer_feedback = params.get("customer_feedback") or ""
    row.status, row.closed_at = "closed", now
    verdict = "已办理" if row.outcome in ("returned", "exchanged") else "不予退换"
    _log(session, row, "result", f"处理结果已告知客户：{verdict}。{row.customer_feedback}")
    session.flush()
    return {"closed_at": iso(now), "outcome": row.outcome}
