"""repair_dispatch 维修服务/派工: every path through the API with the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.service_api import Service, iso
from webapp.models import (
    ContactLog,
    Escalation,
    FieldServiceReport,
    Inspection,
    Part,
    QualityFeedback,
    RepairOrder,
    ServiceApproval,
    StockMove,
    Vehicle,
    WarrantyClaim,
)

IN_WARRANTY = {"delivery_date": "2025-06-01", "delivery_mileage": 12, "current_mileage": 20000}
OUT_OF_WARRANTY = {"delivery_date": "2021-01-10", "delivery_mileage": 5, "current_mileage": 150000}
PARTS = [{"part_no": "P-100", "name": "水泵", "qty": 1}, {"part_no": "P-200", "name": "皮带", "qty": 2}]


@pytest.fixture
def sv(repair_service):
    return repair_service


def intake(mode="field", warranty=IN_WARRANTY, **over) -> dict:
    data = {
        "customer_name": "李强",
        "customer_phone": "139 1234 5678",
        "customer_address": "苏州工业园区星湖街 88 号",
        "service_mode": mode,
        "product_model": "XR-200",
        "serial_no": "LSVAB2BR5EN000123",
        "fault_category": "body",
        "repair_type": "warranty",
        "fault_description": "车门异响，关门后无法锁止",
        "distance_km": 30,
        "supplier_involved": False,
        **warranty,
    }
    data.update(over)
    return data


def order_of(sv: Service, iid: int) -> RepairOrder:
    return sv.one(RepairOrder, number=sv.business_key(iid))


def report_of(sv: Service, iid: int) -> FieldServiceReport:
    return sv.one(FieldServiceReport, order_id=order_of(sv, iid).id)


def field_until_on_site(sv: Service, iid: int) -> None:
    sv.complete(iid, "quality_review", {"handling_plan": "更换门锁总成", "parts_to_bring": "门锁", "review_opinion": "同意"})
    if "answer_customer" in sv.open_ids(iid):
        sv.complete(iid, "answer_customer", {"contact_channel": "phone", "answer_summary": "已电话联系，约定明早上门",
                                             "promised_visit_at": sv.later(hours=20)})
    sv.complete(iid, "assign_technician", {"technician": "王工", "departure_note": "公司车辆，携带门锁"})
    sv.complete(iid, "arrive_on_site", {"site_contact": "李强", "arrival_note": "客户在场"})


def onsite(sv: Service, outcome="fixed", parts=PARTS, note="") -> dict:
    return {
        "diagnosis": "门锁电机烧毁", "work_done": "更换门锁电机", "parts_used": parts,
        "service_started_at": sv.later(hours=0), "service_ended_at": sv.later(hours=2), "outcome": outcome,
        "request_note": note,
    }


def answer(channel: str, summary: str, promised: str) -> dict:
    return {"contact_channel": channel, "answer_summary": summary, "promised_visit_at": promised}


def sign(sv: Service, iid: int, at_hours: float = 0) -> None:
    """Three hours after the on-site record (the service ended two hours after it), the customer
    signs; at_hours moves the written signature time against that moment."""
    sv.advance(hours=3)
    sv.complete(iid, "customer_sign", {"signed_by": "李强", "stamped": True, "signature_at": sv.later(hours=at_hours),
                                       "customer_opinion": "满意"})


def test_field_within_100km_free_service_opens_claim_and_followups(sv):
    """Free service (in warranty), <= 100 km: on site within 24 h; fixed; signed after the
    service; details to the quality dept; closed -> warranty claim, follow-up and survey."""
    iid = sv.start("repair_dispatch", intake(), as_="advisor")
    sv.run()
    order = order_of(sv, iid)
    assert (order.service_type, order.warranty_status, order.status) == ("free", "in_warranty", "open")
    vehicle = sv.one(Vehicle, serial_no="LSVAB2BR5EN000123")
    assert vehicle.warranty_end.isoformat() == "2028-05-31" and vehicle.warranty_end_mileage == 100012
    assert sv.open_ids(iid) == ["quality_review"]
    sv.complete(iid, "quality_review", {"handling_plan": "更换门锁总成", "parts_to_bring": "门锁", "review_opinion": "同意"})
    report = report_of(sv, iid)
    assert report.response_rule == "onsite_24h" and report.response_hours == 24
    assert report.response_due_at == order.received_at + timedelta(hours=24)
    assert sv.open_ids(iid) == ["assign_technician"]
    sv.complete(iid, "assign_technician", {"technician": "王工", "departure_note": "公司车辆"})
    assert sv.data(iid)["assignment"]["onsite_due_text"] == "2026-03-03 09:00"  # China time, in the instructions
    arrive = sv.task(iid, "arrive_on_site")
    assert arrive["due_at"].startswith(iso(order.received_at + timedelta(hours=24))[:19])
    sv.advance(hours=5)
    sv.complete(iid, "arrive_on_site", {"site_contact": "李强", "arrival_note": "客户在场"})
    assert report_of(sv, iid).arrived_late is False
    sv.complete(iid, "on_site_service", onsite(sv))
    sign(sv, iid)
    report = report_of(sv, iid)
    assert report.signature_violation is False and report.signed_by == "李强"
    assert sv.one(QualityFeedback, order_number=order.number).summary.startswith(f"工单 {order.number}")
    assert sv.status(iid) == "completed"
    order = order_of(sv, iid)
    assert order.status == "closed" and order.claim_no
    claim = sv.one(WarrantyClaim, number=order.claim_no)
    assert claim.repair_case_no == order.number and claim.eligible is True
    assert sorted((p["part_no"], p["qty"]) for p in order.parts_used) == [("P-100", 1), ("P-200", 2)]
    assert sv.one(Part, part_no="P-200").stock_qty == -2
    assert len(sv.all(StockMove, ref=order.number, kind="repair_issue")) == 2
    assert len(sv.children("customer_followup")) == 1 and len(sv.children("satisfaction_survey")) == 1
    assert sv.all(Escalation, case_number=order.number) == []


def finish_field(sv: Service, iid: int, *, paid: bool = False, handed_in: float = 800) -> None:
    """From 'signed' to closed: fee (paid), signature, quality feedback, fee handed in, close."""
    if paid:
        sv.complete(iid, "collect_fee", {"fee_amount": 800, "payment_method": "cash", "receipt_no": "SJ-0001"})
    sign(sv, iid)
    if paid:
        assert sv.open_ids(iid) == ["hand_in_fee"]
        sv.complete(iid, "hand_in_fee", {"handed_in_amount": handed_in, "handed_in_by": "王工"})
        if handed_in != 800:
            return
    assert sv.status(iid) == "completed", sv.open_ids(iid)


def test_field_far_paid_service_promised_visit_missed_and_fee_collected(sv):
    """> 100 km: answer within 12 h with a promised visit time; the visit is missed, so the
    timer escalates to the manager; paid service (out of warranty) needs the customer's
    agreement and always the manager's consent (no amount threshold); the fee is collected on
    site and handed in to the company in full. No claim."""
    iid = sv.start("repair_dispatch", intake(warranty=OUT_OF_WARRANTY, distance_km=150), as_="advisor")
    sv.run()
    order = order_of(sv, iid)
    assert (order.service_type, order.warranty_status) == ("paid", "expired_age")
    sv.complete(iid, "estimate_agreement", {"estimate_amount": 800, "estimate_items": "门锁电机 600，工时 200",
                                            "customer_agrees": True, "estimate_note": ""})
    approval = sv.one(ServiceApproval, order_number=order.number, kind="estimate")
    assert approval.approved is True and approval.amount == 800
    assert sv.open_ids(iid) == ["approve_paid"]  # 800 yuan: still the manager's consent
    sv.complete(iid, "approve_paid", {"paid_service_approved": True, "approval_comment": "同意"})
    assert sv.one(ServiceApproval, order_number=order.number, kind="paid_service").approved is True
    assert sv.open_ids(iid) == ["quality_review"]
    sv.complete(iid, "quality_review", {"handling_plan": "上门更换门锁", "parts_to_bring": "门锁", "review_opinion": ""})
    report = report_of(sv, iid)
    assert (report.response_rule, report.response_hours) == ("answer_12h", 12)
    answer_task = sv.task(iid, "answer_customer")
    assert answer_task["due_at"].startswith(iso(order.received_at + timedelta(hours=12))[:19])
    sv.advance(hours=2)
    promised = sv.later(hours=20)
    sv.complete(iid, "answer_customer", answer("phone", "明天上午到", promised))
    report = report_of(sv, iid)
    assert report.response_late is False and report.promised_visit_at.isoformat()[:19] == promised[:19]
    assert sv.one(ContactLog, case_number=order.number, kind="response").channel == "phone"
    sv.complete(iid, "assign_technician", {"technician": "王工", "departure_note": "长途"})
    assert sv.task(iid, "arrive_on_site")["due_at"][:19] == promised[:19]
    sv.advance(hours=21)
    assert sorted(sv.open_ids(iid)) == ["arrive_on_site", "sup_onsite"]
    assert [e.reason for e in sv.all(Escalation, case_number=order.number)] == ["onsite_deadline"]
    sv.complete(iid, "sup_onsite", {"supervision_note": "已催促维修人员"})
    sv.complete(iid, "arrive_on_site", {"site_contact": "李强", "arrival_note": ""})
    assert report_of(sv, iid).arrived_late is True
    sv.complete(iid, "on_site_service", onsite(sv, parts=[]))
    assert sv.open_ids(iid) == ["collect_fee"]
    finish_field(sv, iid, paid=True)
    report, order = report_of(sv, iid), order_of(sv, iid)
    assert report.fee_amount == 800 and report.fee_receipt_no == "SJ-0001" and report.fee_collected_at is not None
    assert (report.fee_handed_in_amount, report.fee_handed_in_by, report.fee_reconciled) == (800, "王工", True)
    assert order.status == "closed" and order.claim_no == "" and sv.all(WarrantyClaim) == []
    assert len(sv.children("customer_followup")) == 1


def test_answer_within_12h_missed_when_a_supplier_is_involved(sv):
    """Supplier involved (even within 100 km): answer within 12 h; missing it escalates."""
    iid = sv.start("repair_dispatch", intake(supplier_involved=True, distance_km=20), as_="advisor")
    sv.run()
    sv.complete(iid, "quality_review", {"handling_plan": "联系配套厂家", "parts_to_bring": "", "review_opinion": ""})
    assert report_of(sv, iid).response_rule == "answer_12h"
    sv.advance(hours=11)
    assert sv.all(Escalation, case_number=sv.business_key(iid)) == []
    sv.advance(hours=2)
    assert sorted(sv.open_ids(iid)) == ["answer_customer", "sup_answer"]
    assert [e.reason for e in sv.all(Escalation, case_number=sv.business_key(iid))] == ["answer_12h"]
    sv.complete(iid, "sup_answer", {"supervision_note": "立即答复客户"})
    sv.complete(iid, "answer_customer", answer("sms", "厂家明日到", sv.later(hours=24)))
    assert report_of(sv, iid).response_late is True
    assert sv.open_ids(iid) == ["assign_technician"]


def test_chassis_fault_needs_written_contact_within_12h(sv):
    """Chassis/engine faults: written contact within 12 h (whatever the distance); a phone
    call does not count and is sent to the manager."""
    iid = sv.start("repair_dispatch", intake(fault_category="chassis", distance_km=10), as_="advisor")
    sv.run()
    sv.complete(iid, "quality_review", {"handling_plan": "检查底盘", "parts_to_bring": "", "review_opinion": ""})
    report = report_of(sv, iid)
    assert (report.response_rule, report.response_hours) == ("written_12h", 12)
    assert "文字" in sv.data(iid)["field_report"]["rule_text"]
    sv.complete(iid, "answer_customer", answer("phone", "电话联系", sv.later(hours=8)))
    assert [e.reason for e in sv.all(Escalation, case_number=sv.business_key(iid))] == ["written_contact_required"]
    iid2 = sv.start("repair_dispatch", intake(fault_category="engine", distance_km=300, serial_no="ENG-2"), as_="advisor")
    sv.run()
    sv.complete(iid2, "quality_review", {"handling_plan": "检查发动机", "parts_to_bring": "", "review_opinion": ""})
    sv.complete(iid2, "answer_customer", answer("letter", "函告处理方案", sv.later(hours=30)))
    assert report_of(sv, iid2).response_rule == "written_12h"
    assert sv.all(Escalation, case_number=sv.business_key(iid2)) == []


def test_onsite_24h_missed_escalates_to_manager(sv):
    iid = sv.start("repair_dispatch", intake(distance_km=100), as_="advisor")
    sv.run()
    sv.complete(iid, "quality_review", {"handling_plan": "上门", "parts_to_bring": "", "review_opinion": ""})
    sv.complete(iid, "assign_technician", {"technician": "王工", "departure_note": ""})
    sv.advance(hours=23)
    assert sv.open_ids(iid) == ["arrive_on_site"]
    sv.advance(hours=2)
    assert sorted(sv.open_ids(iid)) == ["arrive_on_site", "sup_onsite"]
    assert sv.one(Escalation, case_number=sv.business_key(iid)).reason == "onsite_deadline"
    sv.complete(iid, "sup_onsite", {"supervision_note": "督促"})
    sv.complete(iid, "arrive_on_site", {"site_contact": "李强", "arrival_note": ""})
    assert report_of(sv, iid).arrived_late is True


def test_paid_service_customer_declines_the_estimate(sv):
    iid = sv.start("repair_dispatch", intake(warranty=OUT_OF_WARRANTY), as_="advisor")
    sv.run()
    sv.complete(iid, "estimate_agreement", {"estimate_amount": 500, "estimate_items": "工时 500", "customer_agrees": False,
                                            "estimate_note": "客户认为太贵"})
    assert sv.status(iid) == "completed"
    order = order_of(sv, iid)
    assert order.status == "declined" and order.customer_agreed is False
    assert sv.children("customer_followup") == []


def test_paid_service_always_needs_the_managers_approval(sv):
    approved = sv.start("repair_dispatch", intake(warranty=OUT_OF_WARRANTY), as_="advisor")
    rejected = sv.start("repair_dispatch", intake(warranty={**OUT_OF_WARRANTY, "delivery_date": "2025-01-01",
                                                             "current_mileage": 130000}, serial_no="VIN-2"), as_="advisor")
    sv.run()
    assert order_of(sv, rejected).warranty_status == "expired_mileage"
    for iid in (approved, rejected):
        sv.complete(iid, "estimate_agreement", {"estimate_amount": 3500, "estimate_items": "总成更换", "customer_agrees": True,
                                                "estimate_note": ""})
        assert sv.open_ids(iid) == ["approve_paid"]
    sv.complete(approved, "approve_paid", {"paid_service_approved": True, "approval_comment": "同意"})
    assert sv.open_ids(approved) == ["quality_review"]
    sv.complete(rejected, "approve_paid", {"paid_service_approved": False, "approval_comment": "建议送厂"})
    assert sv.status(rejected) == "completed" and order_of(sv, rejected).status == "declined"
    kinds = [(a.kind, a.approved) for a in sv.all(ServiceApproval, order_number=sv.business_key(rejected))]
    assert kinds == [("estimate", True), ("paid_service", False)]


def test_cannot_fix_on_site_needs_approval_for_an_alternative(sv):
    approved = sv.start("repair_dispatch", intake(), as_="advisor")
    rejected = sv.start("repair_dispatch", intake(serial_no="VIN-3"), as_="advisor")
    sv.run()
    for iid in (approved, rejected):
        field_until_on_site(sv, iid)
        sv.complete(iid, "on_site_service", onsite(sv, outcome="cannot_fix", note="现场无法修复，建议返厂更换总成"))
        assert sv.open_ids(iid) == ["approve_alternative"]
        assert report_of(sv, iid).outcome == "cannot_fix"
    sv.complete(approved, "approve_alternative", {"alternative_approved": True, "manager_instruction": "同意返厂更换"})
    sv.complete(approved, "carry_out_alternative", {"work_done": "返厂更换总成", "service_ended_at": sv.later(hours=1)})
    sv.complete(rejected, "approve_alternative", {"alternative_approved": False, "manager_instruction": "派技术骨干现场修复"})
    sv.complete(rejected, "repair_as_instructed", {"work_done": "骨干现场修复", "service_ended_at": sv.later(hours=1)})
    for iid, work in ((approved, "返厂更换总成"), (rejected, "骨干现场修复")):
        finish_field(sv, iid)
        assert report_of(sv, iid).work_done == work
    assert [a.approved for a in sv.all(ServiceApproval, kind="alternative")] == [True, False]


def test_extension_approved_then_missed_and_extension_rejected(sv):
    approved = sv.start("repair_dispatch", intake(), as_="advisor")
    rejected = sv.start("repair_dispatch", intake(serial_no="VIN-4"), as_="advisor")
    sv.run()
    for iid in (approved, rejected):
        field_until_on_site(sv, iid)
        sv.complete(iid, "on_site_service", onsite(sv, outcome="need_extension", note="配件缺货，需延期两天"))
        assert sv.open_ids(iid) == ["approve_extension"]
    until = sv.later(hours=48)
    sv.complete(approved, "approve_extension",
                {"extension_approved": True, "extended_until": until, "manager_instruction": "同意"})
    assert sv.task(approved, "finish_extended")["due_at"][:19] == until[:19]
    assert report_of(sv, approved).extended_until.isoformat()[:19] == until[:19]
    sv.complete(rejected, "approve_extension", {"extension_approved": False, "manager_instruction": "调配件，今日修妥"})
    assert sv.open_ids(rejected) == ["repair_as_instructed"]
    sv.advance(hours=49)
    assert sorted(sv.open_ids(approved)) == ["finish_extended", "sup_extension"]
    assert sv.one(Escalation, case_number=sv.business_key(approved)).reason == "extension_deadline"
    sv.complete(approved, "sup_extension", {"supervision_note": "督办"})
    sv.complete(approved, "finish_extended", {"work_done": "配件到货后修妥", "service_ended_at": sv.later(hours=0)})
    sv.complete(rejected, "repair_as_instructed", {"work_done": "调货修妥", "service_ended_at": sv.later(hours=0)})
    finish_field(sv, approved)
    finish_field(sv, rejected)


def test_signature_before_the_end_of_service_is_a_violation(sv):
    iid = sv.start("repair_dispatch", intake(), as_="advisor")
    sv.run()
    field_until_on_site(sv, iid)
    sv.complete(iid, "on_site_service", onsite(sv))
    sign(sv, iid, at_hours=-4)  # written as signed one hour before the service ended
    report = report_of(sv, iid)
    assert report.signature_violation is True and "服务前签字" in report.violation_reason
    assert report.signature_at < report.service_ended_at
    assert sv.open_ids(iid) == ["investigate_signature"]
    assert sv.one(Escalation, case_number=sv.business_key(iid)).reason == "signature_violation"
    sv.complete(iid, "investigate_signature", {"findings": "维修人员服务前让客户签字", "disciplinary_action": "dismissal"})
    assert sv.status(iid) == "completed"
    assert "dismissal" in report_of(sv, iid).violation_reason


# ---------------------------------------------------------------- dealer workshop variant


def work_order(sv: Service, lines=None) -> dict:
    return {"walkaround_notes": "左前门划痕，油量 1/2，已提醒贵重物品", "valuables_reminded": True,
            "repair_items": lines or [{"operation_code": "DL-01", "item": "检查门锁", "hours": 1, "unit_price": 120,
                                       "amount": 120, "repair_type": "warranty", "pay_type": "warranty"}],
            "promised_finish_at": sv.later(hours=6), "customer_signed": True}


def inspect(sv: Service, iid: int, bpmn_id: str, passed: bool, notes: str = "") -> dict:
    sv.complete(iid, bpmn_id, {"passed": passed, "inspector": bpmn_id, "inspection_notes": notes or ("合格" if passed else "")})
    return sv.data(iid).get("inspection", {})


def workshop_until_inspection(sv: Service, iid: int, added=(), lines=None, parts=PARTS[:1]) -> None:
    sv.complete(iid, "write_work_order", work_order(sv, lines))
    if "approve_paid_lines" in sv.open_ids(iid):
        sv.complete(iid, "approve_paid_lines", {"paid_service_approved": True, "approval_comment": "同意"})
    sv.complete(iid, "dispatch_team", {"team": "机修二组", "technician": "赵师傅"})
    sv.complete(iid, "workshop_repair", {"work_done": "更换门锁电机", "parts_used": list(parts), "added_items": list(added),
                                         "requisition_no": "LL-0001", "requisition_signed_by": "赵师傅"})


ASSESSMENT = {"fault_point": "门锁电机", "cause": "电机线圈烧蚀，属制造缺陷", "cause_category": "manufacturing",
              "assessor": "车间主管"}


def decide_claim(sv: Service, iid: int, approve: bool = True, **decision) -> None:
    """Warranty lines: the supervisor's fault analysis and the clerk's decision, before settlement."""
    sv.complete(iid, "claim_assessment", ASSESSMENT)
    sv.complete(iid, "claim_decision", {"approve_claim": approve, "pre_auth_required": False,
                                        "rejection_reason": "" if approve else "人为损坏，不属保修", **decision})


def handover(sv: Service, iid: int, payment: str = "warranty") -> None:
    if "claim_assessment" in sv.open_ids(iid):
        decide_claim(sv, iid)
    sv.complete(iid, "notify_customer", {"notified_via": "phone", "notify_note": ""})
    sv.complete(iid, "settle", {"labour_amount": 120, "parts_amount": 380, "payment_method": payment, "invoice_no": "JS-001"})
    sv.complete(iid, "handover", {"next_maintenance_date": "2026-09-01", "next_maintenance_mileage": 25000,
                                  "handover_note": "提醒下次保养"})


def test_workshop_added_items_three_level_inspection_and_handover(sv):
    """Advisor writes the work order the customer signs -> supervisor dispatches -> a new fault
    goes back to the advisor for the customer's approval -> the three-level inspection (the
    team leader fails it once: rework, then all three again) -> notify, settle, hand over
    with the next maintenance date and mileage -> warranty claim, follow-up, survey."""
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    assert sv.open_ids(iid) == ["write_work_order"]
    workshop_until_inspection(sv, iid, added=[{"item": "更换刮水片", "amount": 60}])
    order = order_of(sv, iid)
    assert order.order_signed_at is not None and order.team == "机修二组" and order.added_items[0]["item"] == "更换刮水片"
    assert sv.open_ids(iid) == ["approve_added_items"]
    sv.complete(iid, "approve_added_items", {"customer_approves_added": True, "added_amount": 60, "added_note": ""})
    assert order_of(sv, iid).added_items_approved is True
    sv.complete(iid, "repair_added", {"added_work_done": "已更换刮水片"})
    assert inspect(sv, iid, "self_check", True)["level"] == 1
    result = inspect(sv, iid, "team_check", False, "门锁仍有异响")
    assert (result["passed"], result["round"], result["rework_allowed"]) == (False, 1, True)
    assert sv.open_ids(iid) == ["rework"]
    sv.complete(iid, "rework", {"rework_done": "重新调整门锁"})
    inspect(sv, iid, "self_check", True)
    inspect(sv, iid, "team_check", True)
    inspect(sv, iid, "final_check", True)
    rows = [(i.level, i.round, i.passed) for i in sv.all(Inspection, order_number=sv.business_key(iid))]
    assert rows == [(1, 1, True), (2, 1, False), (1, 2, True), (2, 2, True), (3, 2, True)]
    handover(sv, iid)
    assert sv.status(iid) == "completed"
    order = order_of(sv, iid)
    # the warranty line is claimed; the wiper blade the customer added (a wear part) is theirs to pay
    assert order.settlement_amount == 60 and order.invoice_no == "JS-001"
    assert (order.customer_amount, order.claim_amount) == (0, 120)
    assert order.next_maintenance_date.isoformat() == "2026-09-01" and order.next_maintenance_mileage == 25000
    vehicle = sv.one(Vehicle, id=order.vehicle_id)
    assert vehicle.next_maintenance_mileage == 25000
    claim = sv.one(WarrantyClaim, repair_case_no=order.number)  # decided before settlement: ready to submit
    assert (claim.status, claim.fault_point, claim.claim_amount) == ("approved", "门锁电机", 120)


def test_workshop_added_items_declined_and_none_found(sv):
    declined = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    none_found = sv.start("repair_dispatch", intake(mode="workshop", warranty=OUT_OF_WARRANTY, serial_no="VIN-5"), as_="advisor")
    sv.run()
    assert sv.open_ids(none_found) == ["write_work_order"]  # the customer signs the estimate on the work order
    workshop_until_inspection(sv, declined, added=[{"item": "更换轮胎", "amount": 900}])
    sv.complete(declined, "approve_added_items",
                {"customer_approves_added": False, "added_amount": 900, "added_note": "下次再换"})
    assert order_of(sv, declined).added_items_approved is False
    # out of warranty: a line written as a claim is the customer's, so the manager consents
    workshop_until_inspection(sv, none_found)
    assert order_of(sv, none_found).repair_items[0]["reclassified"] == "车辆已出保修期"
    assert sv.one(ServiceApproval, order_number=sv.business_key(none_found), kind="paid_service").amount == 120
    for iid in (declined, none_found):
        assert sv.open_ids(iid) == ["self_check"]
        for step in ("self_check", "team_check", "final_check"):
            inspect(sv, iid, step, True)
    handover(sv, none_found, payment="cash")
    order = order_of(sv, none_found)
    assert order.settlement_amount == 120 and order.service_type == "paid" and order.claim_no == ""


def test_workshop_rework_is_bounded_then_the_supervisor_decides(sv):
    """A failed inspection goes back to repair at most twice; the third failure goes to the
    workshop supervisor (technical consultation), whose plan goes back to the workshop: the car
    is released only after passing all three levels, never straight to 通知取车."""
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    workshop_until_inspection(sv, iid)
    inspect(sv, iid, "self_check", False, "漏油")
    sv.complete(iid, "rework", {"rework_done": "更换油封"})
    inspect(sv, iid, "self_check", True)
    inspect(sv, iid, "team_check", True)
    result = inspect(sv, iid, "final_check", False, "仍漏油")
    assert (result["round"], result["rework_count"], result["rework_allowed"]) == (2, 2, True)
    sv.complete(iid, "rework", {"rework_done": "更换缸垫"})
    result = inspect(sv, iid, "self_check", False, "仍漏油")
    assert (result["round"], result["rework_allowed"]) == (3, False)
    assert sv.open_ids(iid) == ["quality_escalation"]
    assert sv.task(iid, "quality_escalation")["lane"] == "workshop_supervisor"
    sv.complete(iid, "quality_escalation", {"consultation_result": "技术会诊：更换发动机总成"})
    assert sv.open_ids(iid) == ["rework"]
    assert order_of(sv, iid).rework_count == 3
    sv.complete(iid, "rework", {"rework_done": "更换发动机总成"})
    inspect(sv, iid, "self_check", True)
    inspect(sv, iid, "team_check", True)
    inspect(sv, iid, "final_check", False, "怠速不稳")
    assert sv.open_ids(iid) == ["quality_escalation"]  # failed again: back to the supervisor, not to the customer
    sv.complete(iid, "quality_escalation", {"consultation_result": "更换节气门"})
    sv.complete(iid, "rework", {"rework_done": "更换节气门"})
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, iid, step, True)
    assert sv.open_ids(iid) == ["claim_assessment"]  # passed: the warranty line's assessment before 通知取车
    rows = [(i.level, i.passed) for i in sv.all(Inspection, order_number=sv.business_key(iid))]
    assert rows[-3:] == [(1, True), (2, True), (3, True)]


# ---------------------------------------------------------------- bench repair of returned units


def test_bench_deadline_is_one_day_per_ten_units():
    from workers.repairs import bench_days

    assert [bench_days(n) for n in (1, 10, 11, 20, 21, 30, 31)] == [1, 1, 2, 2, 3, 3, 4]


def test_bench_repair_of_20_units_has_two_days_and_escalates_when_late(sv):
    late = sv.start("repair_dispatch", intake(mode="bench", units=20), as_="advisor")
    on_time = sv.start("repair_dispatch", intake(mode="bench", units=30, serial_no="VIN-6"), as_="advisor")
    sv.run()
    bench = sv.data(late)["bench"]
    assert (bench["days"], bench["duration"]) == (2, "P2D")
    order = order_of(sv, late)
    assert order.bench_days == 2 and order.bench_due_at == order.received_at + timedelta(days=2)
    assert sv.task(late, "bench_repair")["due_at"][:19] == iso(order.received_at + timedelta(days=2))[:19]
    assert sv.data(on_time)["bench"]["duration"] == "P3D"
    sv.advance(hours=47)
    assert sv.open_ids(late) == ["bench_repair"]
    sv.complete(on_time, "bench_repair", {"units_repaired": 30, "work_done": "逐台检修", "parts_used": []})
    sv.advance(hours=2)
    assert sorted(sv.open_ids(late)) == ["bench_repair", "sup_bench"]
    assert sv.one(Escalation, case_number=order.number).reason == "bench_deadline"
    sv.complete(late, "sup_bench", {"supervision_note": "加派人手"})
    sv.complete(late, "bench_repair", {"units_repaired": 20, "work_done": "逐台检修", "parts_used": [PARTS[0]]})
    assert order_of(sv, late).bench_late is True and order_of(sv, on_time).bench_late is False
    for iid in (late, on_time):
        sv.complete(iid, "return_units", {"return_via": "courier", "tracking_no": "SF123"})
        assert sv.status(iid) == "completed"
    assert len(sv.children("customer_followup")) == 2
