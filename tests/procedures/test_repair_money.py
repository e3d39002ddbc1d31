"""Issue 14, money and release in repair_dispatch: pay type per work-order line, the manager's
consent for every paid service, the fee handed in, claims only for warranty-covered lines,
进厂里程 required, parts on a signed requisition. Through the API with the controlled clock."""

from __future__ import annotations

import pytest

from tests.fixtures.service_api import Service
from tests.procedures.test_repair_dispatch import (
    IN_WARRANTY,
    PARTS,
    field_until_on_site,
    finish_field,
    handover,
    inspect,
    intake,
    onsite,
    order_of,
    report_of,
    work_order,
    workshop_until_inspection,
)
from webapp.models import Escalation, ServiceApproval, WarrantyClaim

OIL_CHANGE = [{"operation_code": "BY-10", "item": "更换机油机滤", "hours": 0.5, "unit_price": 200, "amount": 380,
               "repair_type": "maintenance", "pay_type": "customer"}]
DOOR_LOCK = {"operation_code": "DL-01", "item": "更换门锁电机", "hours": 1, "unit_price": 120, "amount": 520,
             "repair_type": "warranty", "pay_type": "warranty"}
FLOOR_MATS = {"operation_code": "JP-01", "item": "加装脚垫", "amount": 300, "repair_type": "general",
              "pay_type": "customer", "customer_extra": True}


@pytest.fixture
def sv(repair_service):
    return repair_service


def all_inspections_pass(sv: Service, iid: int) -> None:
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, iid, step, True)


def test_in_warranty_oil_change_is_customer_paid_and_opens_no_claim(sv):
    """A car inside its warranty period comes for maintenance (保养): the customer pays, the
    manager consents (always), and no warranty claim is opened."""
    iid = sv.start("repair_dispatch", intake(mode="workshop", repair_type="maintenance"), as_="advisor")
    sv.run()
    order = order_of(sv, iid)
    assert (order.warranty_status, order.repair_type, order.pay_type, order.service_type) == (
        "in_warranty", "maintenance", "customer", "paid")
    assert sv.open_ids(iid) == ["write_work_order"]
    sv.complete(iid, "write_work_order", work_order(sv, OIL_CHANGE))
    assert sv.open_ids(iid) == ["approve_paid_lines"]
    sv.complete(iid, "approve_paid_lines", {"paid_service_approved": True, "approval_comment": "同意"})
    assert sv.one(ServiceApproval, order_number=order.number, kind="paid_service").amount == 380
    sv.complete(iid, "dispatch_team", {"team": "快保组", "technician": "钱师傅"})
    sv.complete(iid, "workshop_repair", {"work_done": "更换机油机滤", "added_items": [],
                                         "parts_used": [{"part_no": "OIL-5W30", "name": "机油", "qty": 4}],
                                         "requisition_no": "LL-0101", "requisition_signed_by": "钱师傅"})
    all_inspections_pass(sv, iid)
    handover(sv, iid, payment="cash")
    order = order_of(sv, iid)
    assert sv.status(iid) == "completed" and order.settlement_amount == 380 and order.customer_amount == 380
    assert order.claim_no == "" and sv.all(WarrantyClaim) == []
    assert order.requisition_no == "LL-0101" and order.requisition_signed_by == "钱师傅"


def test_a_wear_part_or_maintenance_line_cannot_be_claimed(sv):
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    wiper = {"item": "更换雨刮片", "amount": 60, "repair_type": "warranty", "pay_type": "warranty", "wear_part": True}
    oil = {**OIL_CHANGE[0], "pay_type": "warranty"}
    extra = {**FLOOR_MATS, "pay_type": "warranty"}
    for line in (wiper, oil, extra):
        result = sv.complete(iid, "write_work_order", work_order(sv, [DOOR_LOCK, line]), expect=422)
        assert "repair_items" in str(result), result
    assert sv.open_ids(iid) == ["write_work_order"]


def test_mixed_order_claims_only_the_warranty_line_and_the_manager_can_refuse_the_extra(sv):
    """A warranty repair with an extra the customer ordered: the extra needs the manager's
    consent; refused, it is dropped and the warranty line is done; the claim holds only the
    warranty parts; the customer pays nothing."""
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    sv.complete(iid, "write_work_order", work_order(sv, [DOOR_LOCK, FLOOR_MATS]))
    order = order_of(sv, iid)
    assert (order.customer_amount, order.claim_amount) == (300, 520)
    assert sv.open_ids(iid) == ["approve_paid_lines"]
    sv.complete(iid, "approve_paid_lines", {"paid_service_approved": False, "approval_comment": "脚垫无货"})
    order = order_of(sv, iid)
    assert [line["item"] for line in order.repair_items] == ["更换门锁电机"]
    assert [line["item"] for line in order.declined_lines] == ["加装脚垫"]
    assert order.customer_amount == 0
    sv.complete(iid, "dispatch_team", {"team": "机修二组", "technician": "赵师傅"})
    parts = [{**PARTS[0], "pay_type": "warranty"}, {"part_no": "P-900", "name": "香薰", "qty": 1, "pay_type": "customer"}]
    sv.complete(iid, "workshop_repair", {"work_done": "更换门锁电机", "parts_used": parts, "added_items": [],
                                         "requisition_no": "LL-0102", "requisition_signed_by": "赵师傅"})
    all_inspections_pass(sv, iid)
    handover(sv, iid)
    order = order_of(sv, iid)
    assert order.settlement_amount == 0
    claim_iid = sv.children("warranty_claim")[0]
    assert sv.data(claim_iid)["parts"] == [{"part_no": "P-100", "name": "水泵", "qty": 1}]


def test_a_line_claimed_on_a_car_out_of_warranty_becomes_the_customers(sv):
    iid = sv.start("repair_dispatch", intake(mode="workshop", warranty={**IN_WARRANTY, "delivery_date": "2020-01-01"}),
                   as_="advisor")
    sv.run()
    assert order_of(sv, iid).pay_type == "customer"
    workshop_until_inspection(sv, iid, lines=[DOOR_LOCK])
    line = order_of(sv, iid).repair_items[0]
    assert (line["pay_type"], line["written_pay_type"], line["reclassified"]) == ("customer", "warranty", "车辆已出保修期")


def test_accident_repair_is_insurance_and_recall_is_claimed_even_out_of_warranty(sv):
    accident = sv.start("repair_dispatch", intake(mode="field", repair_type="accident"), as_="advisor")
    recall = sv.start("repair_dispatch", intake(mode="workshop", repair_type="recall", serial_no="VIN-R",
                                                warranty={**IN_WARRANTY, "delivery_date": "2019-05-01"}), as_="advisor")
    sv.run()
    assert (order_of(sv, accident).pay_type, order_of(sv, accident).service_type) == ("insurance", "paid")
    assert sv.open_ids(accident) == ["estimate_agreement"]
    order = order_of(sv, recall)
    assert (order.warranty_status, order.pay_type, order.service_type) == ("expired_age", "warranty", "free")
    recall_line = {"item": "召回：更换安全气囊", "amount": 0, "repair_type": "recall", "pay_type": "warranty"}
    workshop_until_inspection(sv, recall, lines=[recall_line])
    assert order_of(sv, recall).repair_items[0]["pay_type"] == "warranty"


def test_current_mileage_is_required_blank_is_not_zero(sv):
    data = intake()
    del data["current_mileage"]
    response = sv.clients["advisor"].post("/api/process-instances", {"process_key": "repair_dispatch", "data": data})
    assert response.status_code == 422 and "current_mileage" in str(response.get_json())
    response = sv.clients["advisor"].post("/api/process-instances",
                                          {"process_key": "repair_dispatch", "data": {**data, "current_mileage": ""}})
    assert response.status_code == 422


def test_parts_are_issued_only_on_a_signed_requisition(sv):
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    sv.complete(iid, "write_work_order", work_order(sv))
    sv.complete(iid, "dispatch_team", {"team": "机修二组", "technician": "赵师傅"})
    result = sv.complete(iid, "workshop_repair", {"work_done": "更换门锁电机", "parts_used": PARTS[:1], "added_items": []},
                         expect=422)
    assert "requisition" in str(result)


def test_field_fee_not_handed_in_in_full_goes_to_the_manager(sv):
    iid = sv.start("repair_dispatch", intake(repair_type="general"), as_="advisor")
    sv.run()
    sv.complete(iid, "estimate_agreement", {"estimate_amount": 800, "estimate_items": "门锁电机", "customer_agrees": True,
                                            "estimate_note": ""})
    sv.complete(iid, "approve_paid", {"paid_service_approved": True, "approval_comment": "同意"})
    field_until_on_site(sv, iid)
    sv.complete(iid, "on_site_service", onsite(sv, parts=[]))
    finish_field(sv, iid, paid=True, handed_in=500)
    report = report_of(sv, iid)
    assert (report.fee_amount, report.fee_handed_in_amount, report.fee_reconciled) == (800, 500, False)
    assert [e.reason for e in sv.all(Escalation, case_number=sv.business_key(iid))] == ["fee_not_handed_in"]
    assert sv.open_ids(iid) == ["investigate_fee"]
    sv.complete(iid, "investigate_fee", {"findings": "300 元未上缴，已追回", "disciplinary_action": "warning"})
    assert sv.status(iid) == "completed" and "上缴差额" in report_of(sv, iid).violation_reason


def test_handover_starts_the_follow_up_in_working_days_and_the_maintenance_reminder(sv):
    """The workshop's handover starts the first follow-up call (dealer: within 3 working days of
    the car leaving the workshop) and the maintenance reminder two weeks before the next
    maintenance date recorded at handover."""
    from tests.conftest import process_files
    from webapp.models import FollowUp

    # the real diagram replaces the stand-in as a newer version of the same process
    files = process_files("customer_followup")
    data = {f"file{i}": (open(path, "rb"), path.name) for i, path in enumerate(files)}
    response = sv.clients["owner"].post("/api/process-definitions", data={**data, "replace": "true"},
                                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    workshop_until_inspection(sv, iid)
    all_inspections_pass(sv, iid)
    sv.advance(days=3)  # Thursday 5 March 2026, 09:00 China time
    handover(sv, iid)
    assert sv.status(iid) == "completed"
    number = sv.business_key(iid)
    first = sv.one(FollowUp, source_case_no=number, kind="after_handover")
    assert (first.stage, first.window_opens_at) == ("first", sv.now())
    assert first.call_due_at.isoformat().startswith("2026-03-10T01:00")  # Fri, Mon, Tue: three working days
    reminder = sv.one(FollowUp, source_case_no=number, kind="maintenance_reminder")
    assert reminder.due_date.isoformat() == "2026-09-01"
    assert reminder.window_opens_at.isoformat().startswith("2026-08-18T01:00")  # two weeks before, 09:00 China


def test_warranty_decision_before_settlement_refusal_moves_lines_to_the_customer(sv):
    """The clerk refuses the claim before settlement: the customer agrees to pay, so the line
    becomes customer-paid and no claim is opened."""
    from tests.procedures.test_repair_dispatch import ASSESSMENT

    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    workshop_until_inspection(sv, iid, lines=[DOOR_LOCK])
    all_inspections_pass(sv, iid)
    assert sv.open_ids(iid) == ["claim_assessment"]
    sv.complete(iid, "claim_assessment", ASSESSMENT)
    assert sv.task(iid, "claim_decision")["lane"] == "warranty_clerk"
    bad = sv.complete(iid, "claim_decision", {"approve_claim": True, "pre_auth_required": True}, expect=422)
    assert "pre_auth_no" in str(bad)
    sv.complete(iid, "claim_decision", {"approve_claim": False, "pre_auth_required": False,
                                        "rejection_reason": "门锁被撬，人为损坏"})
    assert sv.open_ids(iid) == ["refused_lines"]
    sv.complete(iid, "refused_lines", {"customer_pays_refused": True, "refused_note": "客户同意自费"})
    order = order_of(sv, iid)
    assert order.repair_items[0]["pay_type"] == "customer" and order.customer_amount == 520
    assert order.claim_decision["approved"] is False
    handover(sv, iid, payment="cash")
    order = order_of(sv, iid)
    assert order.settlement_amount == 520 and order.claim_no == "" and sv.all(WarrantyClaim) == []


def test_manufacturer_rejection_is_corrected_and_resubmitted_and_keeps_its_parts_return(sv):
    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    workshop_until_inspection(sv, iid, lines=[DOOR_LOCK])
    all_inspections_pass(sv, iid)
    from tests.procedures.test_repair_dispatch import decide_claim

    decide_claim(sv, iid, pre_auth_required=True, pre_auth_no="PA-77")
    handover(sv, iid)
    [claim_iid] = sv.children("warranty_claim")
    [return_iid] = sv.children("parts_return")
    sv.complete(claim_iid, "submit_to_manufacturer", {"manufacturer_claim_no": "SGM-9", "submission_note": ""})
    sv.complete(claim_iid, "record_review", {"review_result": "rejected", "approved_amount": 0,
                                             "review_reason": "缺少故障照片"})
    assert sv.open_ids(claim_iid) == ["handle_rejection"]
    claim = sv.one(WarrantyClaim, number=sv.business_key(claim_iid))
    assert (claim.status, claim.pre_auth_no) == ("manufacturer_rejected", "PA-77")
    sv.complete(claim_iid, "handle_rejection", {"rejection_action": "correct_resubmit", "rejection_note": "补充照片"})
    assert sv.one(WarrantyClaim, number=claim.number).status == "returned_for_correction"
    sv.complete(claim_iid, "resubmit_to_manufacturer", {"manufacturer_claim_no": "SGM-9-R1", "submission_note": "补充照片"})
    sv.complete(claim_iid, "record_review", {"review_result": "approved", "approved_amount": 520, "review_reason": ""})
    sv.complete(claim_iid, "confirm_payment", {"paid_amount": 520, "payment_ref": "HK-9"})
    claim = sv.one(WarrantyClaim, number=claim.number)
    assert (claim.status, claim.resubmissions, claim.manufacturer_claim_no) == ("paid", 1, "SGM-9-R1")
    assert sv.status(return_iid) == "running"  # the parts return runs on, whatever the review said


def test_third_repair_of_the_same_fault_on_one_vin_opens_the_managers_sanbao_task(sv):
    """三包: the advisor sees at intake how often this vehicle's fault was repaired; the third
    repair of the same fault inside the 三包 period (two repairs and still there) goes to the
    manager before any work: repair (with a replacement vehicle), exchange or refund."""
    vin = {"serial_no": "LSVAB2BR5EN000777", "fault_code": "BRK-01", "fault_description": "制动异响，踏板发软"}
    first = sv.start("repair_dispatch", intake(mode="workshop", **vin), as_="advisor")
    sv.run()
    assert sv.data(first)["sanbao"]["repair_no"] == 1 and sv.open_ids(first) == ["write_work_order"]
    sv.advance(days=10)
    second = sv.start("repair_dispatch", intake(mode="workshop", **vin), as_="advisor")
    other = sv.start("repair_dispatch", intake(mode="workshop", **{**vin, "fault_code": "AC-02"}), as_="advisor")
    sv.run()
    assert sv.data(second)["sanbao"]["repair_no"] == 2 and sv.open_ids(second) == ["write_work_order"]
    assert sv.data(other)["sanbao"]["repair_no"] == 1
    sv.advance(days=10)
    third = sv.start("repair_dispatch", intake(mode="workshop", **vin), as_="advisor")
    sv.run()
    facts = sv.data(third)["sanbao"]
    assert (facts["repair_no"], facts["alert"], facts["in_period"]) == (3, True, True)
    assert facts["earlier_orders"] == [sv.business_key(first), sv.business_key(second)]
    order = order_of(sv, third)
    assert (order.sanbao_repair_no, order.sanbao_alert, order.fault_key) == (3, True, "BRK-01")
    assert order.sanbao_cumulative_days == 40.0  # every quality repair counts: 20 + 10 + 10 (the AC fault) days
    assert sv.open_ids(third) == ["sanbao_review"] and sv.task(third, "sanbao_review")["lane"] == "after_sales_manager"
    sv.complete(third, "sanbao_review", {"sanbao_decision": "exchange", "sanbao_note": "制动故障两次修理仍未排除，按三包换车"})
    order = order_of(sv, third)
    assert (order.sanbao_decision, order.status) == ("exchange", "declined")
    assert sv.status(third) == "completed"


def test_sanbao_thresholds_are_configuration(monkeypatch):
    from workers import sanbao

    sanbao.thresholds.cache_clear()
    monkeypatch.setenv("SANBAO_THRESHOLDS", '{"same_fault_alert_repairs": 3, "unknown": 1}')
    try:
        limits = sanbao.thresholds()
        assert limits["same_fault_alert_repairs"] == 3 and limits["cumulative_days_exchange"] == 35 and "unknown" not in limits
    finally:
        sanbao.thresholds.cache_clear()


def test_promised_finish_time_missed_needs_the_managers_delay_and_the_customer_told(sv):
    from webapp.models import ContactLog

    iid = sv.start("repair_dispatch", intake(mode="workshop"), as_="advisor")
    sv.run()
    sv.complete(iid, "write_work_order", work_order(sv))  # promised in 6 hours
    sv.advance(hours=5)
    assert "approve_delay" not in sv.open_ids(iid)
    sv.advance(hours=2)
    assert "approve_delay" in sv.open_ids(iid) and sv.task(iid, "approve_delay")["lane"] == "after_sales_manager"
    number = sv.business_key(iid)
    assert [e.reason for e in sv.all(Escalation, case_number=number)] == ["promised_finish"]
    sv.complete(iid, "approve_delay", {"new_finish_at": sv.later(hours=20), "delay_reason": "待料：门锁电机明天到货",
                                       "customer_told_via": "phone"})
    assert sv.one(ServiceApproval, order_number=number, kind="delay").comment == "待料：门锁电机明天到货"
    assert sv.one(ContactLog, case_number=number, kind="delay_notice").channel == "phone"
    assert sv.open_ids(iid) == ["dispatch_team"]  # the work goes on


def test_a_car_ready_in_time_opens_no_delay(sv):
    iid = sv.start("repair_dispatch", intake(mode="workshop", repair_type="maintenance"), as_="advisor")
    sv.run()
    workshop_until_inspection(sv, iid, lines=OIL_CHANGE)
    all_inspections_pass(sv, iid)
    sv.complete(iid, "notify_customer", {"notified_via": "phone", "notify_note": ""})
    sv.advance(hours=7)
    assert sv.open_ids(iid) == ["settle"] and sv.all(Escalation, case_number=sv.business_key(iid)) == []
