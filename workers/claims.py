"""保修索赔: the warranty claim record, its submission deadline, the manufacturer's review,
the payment, and the at-risk flag."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ClaimPart, QualityFeedback, RepairOrder, Vehicle, WarrantyClaim

from .registry import operator
from .repairs import china_text, clean_lines, escalate_to, instance_id_of, iso, record_warranty_end


def claim_by_number(session: Session, number: str) -> WarrantyClaim:
    claim = session.scalar(select(WarrantyClaim).where(WarrantyClaim.number == number))
    if claim is None:
        raise LookupError(f"no warranty claim {number}")
    return claim


def flag_claim_at_risk(session: Session, claim: WarrantyClaim, reason: str) -> None:
    """A claim at risk of being refused or charged back by the manufacturer; the manager is told."""
    if not claim.at_risk:
        claim.at_risk = True
        claim.at_risk_reason = reason
    elif reason not in claim.at_risk_reason.split(","):
        claim.at_risk_reason = f"{claim.at_risk_reason},{reason}"
    escalate_to(session, claim.number, reason)


@operator("claim/register")
def register(session: Session, params: dict) -> dict:
    """建立索赔单 with the eligibility decided by the warranty_eligibility table."""
    now = clock.now()
    vehicle = session.get(Vehicle, params["vehicle_id"])
    record_warranty_end(vehicle, params["warranty_limit_days"], params["warranty_limit_km"])
    claim = WarrantyClaim(
        number=params["claim_no"],
        instance_id=instance_id_of(session, "warranty_claim", params["claim_no"]),
        repair_case_no=params.get("repair_case_no") or "",
        customer_id=params["customer_id"],
        vehicle_id=vehicle.id,
        fault_description=params["fault_description"],
        delivery_mileage=int(params.get("delivery_mileage") or 0),
        current_mileage=int(params.get("current_mileage") or 0),
        created_at=now,
        warranty_status=params["warranty_status"],
        eligible=bool(params["claim_eligible"]),
        status="checking",
    )
    session.add(claim)
    session.flush()
    for line in clean_lines(params.get("parts")):
        session.add(ClaimPart(claim_id=claim.id, **line))
    if claim.repair_case_no:
        order = session.scalar(select(RepairOrder).where(RepairOrder.number == claim.repair_case_no))
        if order is not None:
            order.claim_no = claim.number
    session.flush()
    return {"claim_no": claim.number, "claim_id": claim.id, "eligible": claim.eligible}


@operator("claim/reject")
def reject(session: Session, params: dict) -> dict:
    """不予索赔, recorded with the reason."""
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    claim.status = "rejected"
    claim.rejection_reason = params["reason"]
    claim.decided_at = now
    session.flush()
    return {"status": claim.status, "reason": claim.rejection_reason, "stage": params.get("stage") or ""}


@operator("claim/record_assessment")
def record_assessment(session: Session, params: dict) -> dict:
    """车间技术鉴定: fault point and cause."""
    claim = claim_by_number(session, params["claim_no"])
    claim.fault_point = params["fault_point"]
    claim.cause = params["cause"]
    claim.cause_category = params["cause_category"]
    session.flush()
    return {"cause_category": claim.cause_category, "assessor": params.get("assessor") or ""}


@operator("claim/approve")
def approve(session: Session, params: dict) -> dict:
    """准予索赔: the amount and the manufacturer's submission deadline, counted from the
    claim's creation (the repair's close)."""
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    claim.status = "approved"
    claim.decided_at = now
    claim.claim_amount = round(float(params["labour_amount"]) + float(params["parts_amount"]), 2)
    claim.submission_due_at = claim.created_at + timedelta(days=int(params["submission_days"]))
    if params.get("quality_feedback"):
        prefix = "【特殊政策】" if params.get("special_policy") else ""
        session.add(
            QualityFeedback(order_number=claim.repair_case_no or claim.number, fault_category="claim",
                            summary=f"{prefix}索赔 {claim.number}：{params['quality_feedback']}", at=now)
        )
    session.flush()
    return {"claim_amount": claim.claim_amount, "submission_due_at": iso(claim.submission_due_at),
            "submission_due_text": china_text(claim.submission_due_at)}


@operator("claim/record_repair_decision")
def record_repair_decision(session: Session, params: dict) -> dict:
    """The workshop repair already had its fault analysis and the clerk's decision (with the
    manufacturer's pre-authorisation number where needed) before it was settled: the claim
    takes them over, is approved and gets its submission deadline."""
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    claim.fault_point, claim.cause = params.get("fault_point") or "", params.get("cause") or ""
    claim.cause_category = params.get("cause_category") or ""
    claim.pre_auth_no = params.get("pre_auth_no") or ""
    claim.status = "approved"
    claim.decided_at = now
    claim.claim_amount = round(float(params.get("claim_amount") or 0), 2)
    claim.submission_due_at = claim.created_at + timedelta(days=int(params["submission_days"]))
    session.flush()
    return {"claim_amount": claim.claim_amount, "submission_due_at": iso(claim.submission_due_at),
            "submission_due_text": china_text(claim.submission_due_at), "pre_auth_no": claim.pre_auth_no}


@operator("claim/record_rejection_action")
def record_rejection_action(session: Session, params: dict) -> dict:
    """厂家拒赔: 退回修改 (corrected and resubmitted), appealed, or accepted as final."""
    claim = claim_by_number(session, params["claim_no"])
    action = params["action"]
    claim.status = {"correct_resubmit": "returned_for_correction", "appeal": "appealed"}.get(action, "manufacturer_rejected")
    if action != "accept":
        claim.resubmissions += 1
    claim.review_reason = f"{claim.review_reason}；处理：{params.get('note') or ''}".strip("；")
    session.flush()
    return {"status": claim.status, "resubmissions": claim.resubmissions}


@operator("claim/flag_at_risk")
def flag_at_risk(session: Session, params: dict) -> dict:
    claim = claim_by_number(session, params["claim_no"])
    flag_claim_at_risk(session, claim, params["reason"])
    session.flush()
    return {"at_risk": True, "reason": params["reason"]}


@operator("claim/record_submission")
def record_submission(session: Session, params: dict) -> dict:
    """向厂家提交. Submitted after the manufacturer's deadline: flagged late and at risk."""
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    claim.status = "submitted"
    claim.submitted_at = now
    claim.manufacturer_claim_no = params["manufacturer_claim_no"]
    resubmitted = claim.status in ("returned_for_correction", "appealed")
    claim.status = "submitted"
    if resubmitted:  # a resubmission answers the manufacturer; the first submission's timeliness stands
        session.flush()
        return {"submitted_at": iso(now), "late": bool(claim.submitted_late), "resubmission": True}
    claim.submitted_late = claim.submission_due_at is not None and now > claim.submission_due_at
    if claim.submitted_late:
        flag_claim_at_risk(session, claim, "submitted_after_deadline")
    session.flush()
    return {"submitted_at": iso(now), "late": claim.submitted_late}


@operator("claim/record_review")
def record_review(session: Session, params: dict) -> dict:
    """厂家审核结果; an approved claim is expected to be paid within payment_days."""
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    approved = params["review_result"] == "approved"
    claim.review_result = params["review_result"]
    claim.review_reason = params.get("review_reason") or ""
    claim.reviewed_at = now
    claim.status = "manufacturer_approved" if approved else "manufacturer_rejected"
    result: dict = {"result": claim.review_result}
    if approved:
        claim.approved_amount = float(params["approved_amount"])
        claim.payment_due_at = now + timedelta(days=int(params["payment_days"]))
        result["payment_due_at"] = iso(claim.payment_due_at)
        result["payment_due_text"] = china_text(claim.payment_due_at)
    else:
        claim.rejection_reason = claim.review_reason
    session.flush()
    return result


@operator("claim/payment_overdue")
def payment_overdue(session: Session, params: dict) -> dict:
    """回款逾期: flagged on the claim; the clerk is reminded to chase it."""
    claim = claim_by_number(session, params["claim_no"])
    claim.payment_overdue = True
    escalate_to(session, claim.number, "payment_overdue", to_role="warranty_clerk")
    session.flush()
    return {"payment_overdue": True, "payment_due_at": iso(claim.payment_due_at)}


@operator("claim/record_payment")
def record_payment(session: Session, params: dict) -> dict:
    now = clock.now()
    claim = claim_by_number(session, params["claim_no"])
    claim.paid_amount = float(params["paid_amount"])
    claim.paid_at = now
    claim.status = "paid"
    session.flush()
    short = round((claim.approved_amount or 0) - claim.paid_amount, 2)
    return {"paid_at": iso(now), "short_paid": short, "late": claim.payment_overdue}
