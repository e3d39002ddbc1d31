"""parts_return 索赔配件回运: tagged and stored, boxed, shipped by the deadline, reconciled;
and the linked flow repair under warranty -> claim -> parts return -> follow-up and survey."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.fixtures.service_api import Service, fast_passwords, iso
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import (
    Customer,
    Escalation,
    Instance,
    Part,
    PartsReturn,
    RepairOrder,
    ReturnedPart,
    StockMove,
    Vehicle,
    WarrantyClaim,
)

PARTS = [{"part_no": "P-100", "name": "水泵", "qty": 1}, {"part_no": "P-200", "name": "皮带", "qty": 2}]


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    yield service
    service.verify_all()


def seed_claim(number: str = "SP-20260301-0001") -> str:
    """An approved claim as warranty_claim leaves it, for testing the return on its own."""
    now = clock.now()
    customer = Customer(name="周敏", phone="137 0000 1111", created_at=now)
    db.session.add(customer)
    db.session.flush()
    vehicle = Vehicle(serial_no=f"VIN-{number}", model="英朗", customer_id=customer.id, delivery_date=date(2025, 9, 1),
                      delivery_mileage=10, current_mileage=18000, updated_at=now)
    db.session.add(vehicle)
    db.session.flush()
    db.session.add(WarrantyClaim(number=number, customer_id=customer.id, vehicle_id=vehicle.id, created_at=now,
                                 status="approved", eligible=True))
    db.session.commit()
    return number


def return_of(sv: Service, iid: int) -> PartsReturn:
    return sv.one(PartsReturn, number=sv.business_key(iid))


def store_box_ship(sv: Service, iid: int, parts=PARTS) -> None:
    sv.complete(iid, "tag_and_store", {"stored_parts": [{**p, "tag_no": f"T-{p['part_no']}", "location": "索赔件库 A-1"}
                                                        for p in parts]})
    sv.complete(iid, "box_parts", {"box_no": "BOX-01", "boxed_parts": parts})
    sv.complete(iid, "ship_parts", {"carrier": "顺丰", "tracking_no": "SF1001"})


def test_parts_stored_boxed_shipped_in_time_and_reconciled(sv):
    sv.deploy("parts_return")
    claim_no = seed_claim()
    iid = sv.start("parts_return", {"claim_no": claim_no, "parts": PARTS}, as_="clerk")
    sv.run()
    ret = return_of(sv, iid)
    assert ret.ship_due_at == ret.created_at + timedelta(days=15) and ret.status == "open"
    assert sv.one(WarrantyClaim, number=claim_no).parts_return_no == ret.number
    assert sv.instance(iid)["next_timer_due"][:19] == iso(ret.ship_due_at)[:19]
    assert sv.task(iid, "tag_and_store")["lane"] == "parts_keeper"
    sv.advance(days=3)
    store_box_ship(sv, iid)
    lines = {r.part_no: r for r in sv.all(ReturnedPart, return_id=ret.id)}
    assert {p: (r.tag_no, r.stored_qty, r.boxed_qty) for p, r in lines.items()} == {
        "P-100": ("T-P-100", 1, 1), "P-200": ("T-P-200", 2, 2)}
    moves = [(m.part_no, m.qty, m.kind) for m in sv.all(StockMove, ref=ret.number)]
    assert moves == [("P-100", 1, "claim_in"), ("P-200", 2, "claim_in"), ("P-100", -1, "claim_out"), ("P-200", -2, "claim_out")]
    assert sv.one(Part, part_no="P-200").claim_stock_qty == 0
    ret = return_of(sv, iid)
    assert (ret.status, ret.shipped_late, ret.box_no, ret.tracking_no) == ("shipped", False, "BOX-01", "SF1001")
    sv.complete(iid, "confirm_receipt", {"received_parts": PARTS, "receipt_note": "厂家已签收"})
    ret = return_of(sv, iid)
    assert (ret.reconciled, ret.discrepancies, ret.status) == (True, [], "closed")
    assert sv.status(iid) == "completed"
    claim = sv.one(WarrantyClaim, number=claim_no)
    assert claim.at_risk is False


def test_parts_not_shipped_by_the_deadline_put_the_claim_at_risk(sv):
    sv.deploy("parts_return")
    claim_no = seed_claim()
    iid = sv.start("parts_return", {"claim_no": claim_no, "parts": PARTS, "ship_within_days": 10}, as_="clerk")
    sv.run()
    sv.complete(iid, "tag_and_store", {"stored_parts": [{**PARTS[0], "tag_no": "T1", "location": "A-1"}]})
    assert sv.data(iid)["stored"]["missing"] == ["P-200"]
    sv.advance(days=9)
    assert sv.one(WarrantyClaim, number=claim_no).at_risk is False
    sv.advance(days=2)
    claim = sv.one(WarrantyClaim, number=claim_no)
    assert (claim.at_risk, claim.at_risk_reason) == (True, "parts_not_returned")
    assert sv.one(Escalation, case_number=claim_no).reason == "parts_not_returned"
    assert sorted(sv.open_ids(iid)) == ["box_parts", "expedite"]
    assert sv.task(iid, "expedite")["lane"] == "after_sales_manager"
    sv.complete(iid, "expedite", {"expedite_note": "今天必须发运"})
    sv.complete(iid, "box_parts", {"box_no": "BOX-02", "boxed_parts": [PARTS[0]]})
    sv.complete(iid, "ship_parts", {"carrier": "德邦", "tracking_no": "DB77"})
    assert return_of(sv, iid).shipped_late is True
    assert sv.one(WarrantyClaim, number=claim_no).at_risk_reason == "parts_not_returned,parts_shipped_late"
    sv.complete(iid, "confirm_receipt", {"received_parts": [PARTS[0]], "receipt_note": "少一条皮带"})
    ret = return_of(sv, iid)
    assert ret.reconciled is False and ret.status == "discrepancy"
    assert {"part_no": "P-200", "claimed": 2, "stored": 0} in ret.discrepancies
    assert "P-200" in sv.data(iid)["reconciliation"]["summary"]
    sv.complete(iid, "resolve_discrepancy", {"resolution": "皮带已报废，向厂家说明"})
    assert return_of(sv, iid).status == "closed" and sv.status(iid) == "completed"


def test_deadline_check_finds_the_parts_shipped(sv):
    """The deadline passes while waiting for the manufacturer's receipt: already shipped, so
    the claim stays safe."""
    sv.deploy("parts_return")
    claim_no = seed_claim()
    iid = sv.start("parts_return", {"claim_no": claim_no, "parts": PARTS}, as_="clerk")
    sv.run()
    store_box_ship(sv, iid)
    assert sv.instance(iid)["next_timer_due"] is not None
    sv.advance(days=16)
    assert sv.instance(iid)["next_timer_due"] is None  # the deadline check ran and found them shipped
    assert sv.open_ids(iid) == ["confirm_receipt"]
    assert sv.all(Escalation, case_number=claim_no) == []
    assert sv.one(WarrantyClaim, number=claim_no).at_risk is False


def test_repair_under_warranty_claim_parts_return_followup_and_survey_end_to_end(sv):
    """A workshop repair under warranty is closed -> it opens the warranty claim and starts the
    follow-up and the survey; the approved claim opens the parts return; the parts go back in
    time and reconcile; the manufacturer pays. Every instance replays to its snapshot."""
    for key in ("repair_dispatch", "warranty_claim", "parts_return", "customer_followup", "satisfaction_survey"):
        sv.deploy(key)
    iid = sv.start("repair_dispatch", {
        "customer_name": "陈静", "customer_phone": "136 5555 0000", "service_mode": "workshop", "product_model": "英朗 1.5L",
        "serial_no": "LSGJA52U0CH009999", "fault_category": "engine",
        "repair_type": "warranty", "fault_description": "发动机冷却液渗漏，水温偏高",
        "delivery_date": "2025-03-01", "delivery_mileage": 8, "current_mileage": 32000,
    }, as_="advisor")
    sv.run()
    order_no = sv.business_key(iid)
    sv.complete(iid, "write_work_order", {"walkaround_notes": "外观完好", "valuables_reminded": True,
                                          "repair_items": [{"item": "更换水泵", "hours": 2, "amount": 800,
                                                                           "repair_type": "warranty", "pay_type": "warranty"}],
                                          "promised_finish_at": sv.later(hours=8), "customer_signed": True})
    sv.complete(iid, "dispatch_team", {"team": "机修一组", "technician": "赵师傅"})
    sv.complete(iid, "workshop_repair", {"work_done": "更换水泵及皮带", "parts_used": PARTS, "added_items": [],
                                         "requisition_no": "LL-9", "requisition_signed_by": "赵师傅"})
    for step in ("self_check", "team_check", "final_check"):
        sv.complete(iid, step, {"passed": True, "inspector": step, "inspection_notes": "合格"})
    sv.complete(iid, "claim_assessment", {"fault_point": "水泵轴承", "cause": "轴承密封失效", "cause_category": "manufacturing",
                                          "assessor": "车间主管"})
    sv.complete(iid, "claim_decision", {"approve_claim": True, "pre_auth_required": True, "pre_auth_no": "PA-2026-0042"})
    sv.complete(iid, "notify_customer", {"notified_via": "phone", "notify_note": ""})
    sv.complete(iid, "settle", {"labour_amount": 200, "parts_amount": 600, "payment_method": "warranty", "invoice_no": "JS-9"})
    sv.complete(iid, "handover", {"next_maintenance_date": "2026-09-01", "next_maintenance_mileage": 40000, "handover_note": ""})
    assert sv.status(iid) == "completed"
    order = sv.one(RepairOrder, number=order_no)
    assert order.status == "closed"

    # the claim the repair opened, with the repair's vehicle facts and replaced parts
    [claim_iid] = sv.children("warranty_claim")
    claim_data = sv.instance(claim_iid)["data"]
    assert (claim_data["repair_case_no"], claim_data["serial_no"], claim_data["current_mileage"]) == (
        order_no, "LSGJA52U0CH009999", 32000)
    assert sorted((p["part_no"], p["qty"]) for p in claim_data["parts"]) == [("P-100", 1), ("P-200", 2)]
    claim_no = sv.business_key(claim_iid)
    assert order.claim_no == claim_no
    # assessed and decided before the repair was settled: the claim goes straight to submission
    claim = sv.one(WarrantyClaim, number=claim_no)
    assert (claim.status, claim.pre_auth_no, claim.fault_point, claim.claim_amount) == ("approved", "PA-2026-0042",
                                                                                       "水泵轴承", 800)

    # the parts return the approved claim opened
    [return_iid] = sv.children("parts_return")
    assert sv.instance(return_iid)["data"]["claim_no"] == claim_no
    store_box_ship(sv, return_iid)
    sv.complete(return_iid, "confirm_receipt", {"received_parts": PARTS, "receipt_note": ""})
    assert sv.status(return_iid) == "completed"
    ret = sv.one(PartsReturn, claim_no=claim_no)
    assert ret.reconciled is True and ret.shipped_late is False

    sv.complete(claim_iid, "submit_to_manufacturer", {"manufacturer_claim_no": "SGM-1", "submission_note": ""})
    sv.complete(claim_iid, "record_review", {"review_result": "approved", "approved_amount": 800, "review_reason": ""})
    sv.complete(claim_iid, "confirm_payment", {"paid_amount": 800, "payment_ref": "HK-1"})
    claim = sv.one(WarrantyClaim, number=claim_no)
    assert (claim.status, claim.at_risk, claim.parts_return_no) == ("paid", False, ret.number)
    assert sv.status(claim_iid) == "completed"

    # the follow-up call, the maintenance reminder and the survey the closed repair started
    children = [sv.instance(i)["data"] for key in ("customer_followup", "satisfaction_survey") for i in sv.children(key)]
    for data in children:
        assert (data["source_process"], data["source_case_no"], data["customer_phone"]) == (
            "repair_dispatch", order_no, "136 5555 0000")
    kinds = sorted(data.get("kind", "survey") for data in children)
    assert kinds == ["after_handover", "maintenance_reminder", "survey"]
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Instance)) == 6
