"""warranty_claim 保修索赔: eligibility, assessment, decision, submission deadline, review,
payment; every path through the API with the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.service_api import Service, fast_passwords, iso
from webapp.models import ClaimPart, Escalation, QualityFeedback, Vehicle, WarrantyClaim

PARTS = [{"part_no": "P-100", "name": "水泵", "qty": 1}, {"part_no": "P-200", "name": "皮带", "qty": 2}]


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    for key in ("warranty_claim", "parts_return"):
        service.deploy(key)
    yield service
    service.verify_all()


def claim_data(**over) -> dict:
    data = {
        "customer_name": "周敏", "customer_phone": "137 0000 1111", "serial_no": "LSGJA52U0CH000777",
        "product_model": "英朗 1.5L", "delivery_date": "2025-09-01", "delivery_mileage": 10, "current_mileage": 18000,
        "fault_description": "发动机冷却液渗漏", "repair_case_no": "WX-20260301-0009", "parts": PARTS,
    }
    data.update(over)
    return data


def claim_of(sv: Service, iid: int) -> WarrantyClaim:
    return sv.one(WarrantyClaim, number=sv.business_key(iid))


def assess_and_approve(sv: Service, iid: int) -> None:
    assert sv.open_ids(iid) == ["technical_assessment"]
    sv.complete(iid, "technical_assessment", {"fault_point": "水泵轴封", "cause": "轴封材料老化导致渗漏",
                                              "cause_category": "material", "assessor": "车间主管刘"})
    sv.complete(iid, "clerk_decide", {"approve_claim": True, "labour_amount": 200, "parts_amount": 600,
                                      "special_policy": False, "quality_feedback": "同批次水泵渗漏第 3 例",
                                      "rejection_reason": ""})


def review(sv: Service, iid: int, result: str = "approved", reason: str = "") -> None:
    sv.complete(iid, "record_review", {"review_result": result, "approved_amount": 800 if result == "approved" else 0,
                                       "review_reason": reason})


def test_claim_approved_submitted_in_time_and_paid(sv):
    iid = sv.start("warranty_claim", claim_data(), as_="clerk")
    sv.run()
    claim = claim_of(sv, iid)
    assert (claim.eligible, claim.warranty_status, claim.status) == (True, "in_warranty", "checking")
    assert sorted((p.part_no, p.qty) for p in sv.all(ClaimPart, claim_id=claim.id)) == [("P-100", 1), ("P-200", 2)]
    assert sv.one(Vehicle, serial_no="LSGJA52U0CH000777").warranty_end.isoformat() == "2028-08-31"
    assess_and_approve(sv, iid)
    claim = claim_of(sv, iid)
    assert (claim.fault_point, claim.cause_category, claim.status) == ("水泵轴封", "material", "approved")
    assert claim.claim_amount == 800
    assert claim.submission_due_at == claim.created_at + timedelta(days=30)
    assert sv.task(iid, "submit_to_manufacturer")["due_at"][:19] == iso(claim.submission_due_at)[:19]
    assert "水泵渗漏" in sv.one(QualityFeedback, order_number="WX-20260301-0009").summary
    [parts_return] = sv.children("parts_return")
    assert sv.instance(parts_return)["data"]["claim_no"] == claim.number
    assert claim_of(sv, iid).parts_return_no == sv.business_key(parts_return)
    sv.advance(days=5)
    sv.complete(iid, "submit_to_manufacturer", {"manufacturer_claim_no": "SGM-88001", "submission_note": ""})
    claim = claim_of(sv, iid)
    assert (claim.status, claim.submitted_late, claim.at_risk) == ("submitted", False, False)
    review(sv, iid)
    claim = claim_of(sv, iid)
    assert claim.status == "manufacturer_approved" and claim.payment_due_at == claim.reviewed_at + timedelta(days=60)
    sv.advance(days=20)
    sv.complete(iid, "confirm_payment", {"paid_amount": 800, "payment_ref": "HK-2026-001"})
    claim = claim_of(sv, iid)
    assert (claim.status, claim.paid_amount, claim.payment_overdue) == ("paid", 800, False)
    assert sv.status(iid) == "completed"


def test_claim_submitted_after_the_manufacturers_deadline_is_flagged_late_and_at_risk(sv):
    iid = sv.start("warranty_claim", claim_data(submission_days=7), as_="clerk")
    sv.run()
    assess_and_approve(sv, iid)
    claim = claim_of(sv, iid)
    assert claim.submission_due_at == claim.created_at + timedelta(days=7)
    sv.advance(days=6)
    assert claim_of(sv, iid).at_risk is False
    sv.advance(days=2)
    assert sorted(sv.open_ids(iid)) == ["submit_to_manufacturer", "supervise_submission"]
    claim = claim_of(sv, iid)
    assert claim.at_risk is True and claim.at_risk_reason == "submission_deadline_missed"
    assert sv.task(iid, "supervise_submission")["lane"] == "after_sales_manager"
    sv.complete(iid, "supervise_submission", {"supervision_note": "立即提交"})
    sv.complete(iid, "submit_to_manufacturer", {"manufacturer_claim_no": "SGM-88002", "submission_note": "逾期提交"})
    claim = claim_of(sv, iid)
    assert claim.submitted_late is True and claim.submitted_at > claim.submission_due_at
    assert claim.at_risk_reason == "submission_deadline_missed,submitted_after_deadline"
    review(sv, iid, "rejected", "超过索赔提交期限")
    claim = claim_of(sv, iid)
    assert (claim.status, claim.review_reason, claim.rejection_reason) == (
        "manufacturer_rejected", "超过索赔提交期限", "超过索赔提交期限")
    assert sv.open_ids(iid) == ["handle_rejection"]  # correct and resubmit, appeal, or accept
    sv.complete(iid, "handle_rejection", {"rejection_action": "accept", "rejection_note": "逾期无法申诉"})
    assert claim_of(sv, iid).status == "manufacturer_rejected"
    assert sv.status(iid) == "completed"


def test_payment_overdue_reminds_the_clerk(sv):
    iid = sv.start("warranty_claim", claim_data(payment_days=30), as_="clerk")
    sv.run()
    assess_and_approve(sv, iid)
    sv.complete(iid, "submit_to_manufacturer", {"manufacturer_claim_no": "SGM-88003", "submission_note": ""})
    review(sv, iid)
    sv.advance(days=31)
    assert sorted(sv.open_ids(iid)) == ["chase_payment", "confirm_payment"]
    claim = claim_of(sv, iid)
    assert claim.payment_overdue is True
    escalations = [(e.reason, e.to_role) for e in sv.all(Escalation, case_number=claim.number)]
    # the claim's parts were never shipped back within 15 days either: that put the claim at risk
    assert escalations == [("parts_not_returned", "after_sales_manager"), ("payment_overdue", "warranty_clerk")]
    assert claim.at_risk_reason == "parts_not_returned"
    sv.complete(iid, "chase_payment", {"chase_note": "已联系厂家索赔股，下周回款"})
    sv.complete(iid, "confirm_payment", {"paid_amount": 780, "payment_ref": "HK-2026-002"})
    assert sv.data(iid)["payment"]["short_paid"] == 20
    assert claim_of(sv, iid).status == "paid" and sv.status(iid) == "completed"


def test_ineligible_claims_are_rejected_with_the_reason(sv):
    """warranty_eligibility: beyond 100,000 km, beyond 3 years, or inconsistent mileage."""
    cases = {
        "expired_mileage": claim_data(current_mileage=120000, serial_no="V-1"),
        "expired_age": claim_data(delivery_date="2022-01-15", serial_no="V-2"),
        "inconsistent": claim_data(delivery_mileage=5000, current_mileage=100, serial_no="V-3"),
    }
    ids = {status: sv.start("warranty_claim", data, as_="clerk") for status, data in cases.items()}
    sv.run()
    for status, iid in ids.items():
        claim = claim_of(sv, iid)
        assert (claim.warranty_status, claim.eligible, claim.status) == (status, False, "rejected")
        assert claim.rejection_reason == f"不符合厂家保修条件：{status}"
        assert sv.status(iid) == "completed"
    assert sv.children("parts_return") == []


def test_clerk_rejects_after_the_technical_assessment(sv):
    iid = sv.start("warranty_claim", claim_data(), as_="clerk")
    sv.run()
    sv.complete(iid, "technical_assessment", {"fault_point": "水泵", "cause": "加注非原厂冷却液导致腐蚀",
                                              "cause_category": "misuse", "assessor": "刘"})
    response = sv.complete(iid, "clerk_decide", {"approve_claim": False, "labour_amount": 0, "parts_amount": 0,
                                                 "special_policy": False, "quality_feedback": "", "rejection_reason": ""},
                           expect=422, run=False)
    assert "rejection_reason" in response["errors"]
    sv.complete(iid, "clerk_decide", {"approve_claim": False, "labour_amount": 0, "parts_amount": 0, "special_policy": False,
                                      "quality_feedback": "", "rejection_reason": "使用不当，不属保修范围"})
    claim = claim_of(sv, iid)
    assert (claim.status, claim.rejection_reason, claim.cause_category) == ("rejected", "使用不当，不属保修范围", "misuse")
    assert sv.status(iid) == "completed" and sv.children("parts_return") == []


def test_claim_without_replaced_parts_opens_no_parts_return(sv):
    iid = sv.start("warranty_claim", claim_data(parts=[]), as_="clerk")
    sv.run()
    assess_and_approve(sv, iid)
    assert sv.open_ids(iid) == ["submit_to_manufacturer"]
    assert sv.children("parts_return") == []
