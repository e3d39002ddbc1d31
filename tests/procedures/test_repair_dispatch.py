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
def sv(make_client, run_worker, manual_clock):
    service = Service(make_client, run_worker, manual_clock)
    for key in ("repair_dispatch", "warranty_claim", "parts_return"):
        service.deploy(key)
    for key in ("customer_followup", "satisfaction_survey"):
        service.deploy(key, standin_ok=True)
    yield service
    service.verify_all()


def intake(mode="field", warranty=IN_WARRANTY, **over) -> dict:
    data = {
        "customer_name": "李强",
        "customer_phone": "139 1234 5678",
        "customer_address": "苏州工业园区星湖街 88 号",
        "service_mode": mode,
        "product_model": "XR-200",
        "serial_no": "LSVAB2BR5EN000123",
        "fault_category": "body",
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
