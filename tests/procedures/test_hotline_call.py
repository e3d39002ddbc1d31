"""Issue 14, the hotline: every call and enquiry is registered (咨询登记, L62/L243); an enquiry
not answered at once is answered within 24 h (else the manager is told); a repair request
becomes a work order; a complaint becomes a complaint case. Through the API, controlled clock."""

from __future__ import annotations

import pytest

from tests.fixtures.service_api import Service, fast_passwords
from webapp.models import ComplaintCase, ContactLog, Escalation, HotlineCall, RepairOrder

CALL = {"customer_name": "赵敏", "customer_phone": "135 0000 8888", "plate_no": "苏E·12345", "kind": "enquiry",
        "content": "首保是否免费，需要预约吗？"}


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    for key in ("hotline_call", "complaint_handling", "repair_dispatch", "warranty_claim", "parts_return"):
        service.deploy(key)
    for key in ("customer_followup", "satisfaction_survey"):
        service.deploy(key, standin_ok=True)
    yield service
    for key in ("hotline_call", "complaint_handling"):
        service.children(key)
    service.verify_all()


def test_every_call_is_registered_and_an_enquiry_answered_at_once_ends(sv):
    iid = sv.start("hotline_call", {**CALL, "answered_now": True, "answer": "首保免费，可电话预约"}, as_="agent")
    sv.run()
    call = sv.one(HotlineCall, number=sv.business_key(iid))
    assert (call.kind, call.plate_no, call.answer, call.answered_at) == ("enquiry", "苏E·12345", "首保免费，可电话预约",
                                                                         sv.now())
    assert sv.one(ContactLog, case_number=call.number).kind == "hotline_enquiry"
    assert sv.status(iid) == "completed"


def test_an_enquiry_not_answered_in_24_hours_goes_to_the_manager(sv):
    iid = sv.start("hotline_call", CALL, as_="agent")
    sv.run()
    assert sv.open_ids(iid) == ["answer_enquiry"]
    assert sv.task(iid, "answer_enquiry")["lane"] == "customer_service"
    sv.advance(hours=23)
    assert sv.open_ids(iid) == ["answer_enquiry"]
    sv.advance(hours=2)
    assert sv.open_ids(iid) == ["answer_enquiry", "sup_answer_enquiry"]
    number = sv.business_key(iid)
    assert [e.reason for e in sv.all(Escalation, case_number=number)] == ["reply_24h"]
    sv.complete(iid, "sup_answer_enquiry", {"supervision_note": "请今天答复"})
    sv.complete(iid, "answer_enquiry", {"reply": "已与车间确认：首保免费，工时约 1 小时"})
    assert sv.one(HotlineCall, number=number).answered_at == sv.now()
    assert sv.status(iid) == "completed"


def test_a_repair_request_opens_a_work_order_and_a_complaint_a_complaint_case(sv):
    from tests.procedures.test_repair_dispatch import intake

    repair = sv.start("hotline_call", {**CALL, "kind": "repair_request", "content": "车辆无法启动，请派人"}, as_="agent")
    complaint = sv.start("hotline_call", {**CALL, "kind": "complaint", "content": "上次保养后漏油，无人处理"}, as_="agent")
    sv.run()
    assert sv.open_ids(repair) == ["arrange_repair"]
    sv.advance(hours=1)
    sv.complete(repair, "arrange_repair", intake(mode="field", customer_name="赵敏", customer_phone="135 0000 8888",
                                                 repair_type="general", fault_description="车辆无法启动，请派人"))
    call = sv.one(HotlineCall, number=sv.business_key(repair))
    assert call.linked_case_no.startswith("WX-") and call.answered_at == sv.now()
    order = sv.one(RepairOrder, number=call.linked_case_no)
    assert order.fault_description == "车辆无法启动，请派人" and order.service_mode == "field"
    sv.children("repair_dispatch")
    linked = sv.one(HotlineCall, number=sv.business_key(complaint)).linked_case_no
    case = sv.one(ComplaintCase, number=linked)
    assert case.channel == "phone" and case.source_case_no == sv.business_key(complaint)
    assert sv.status(repair) == "completed" and sv.status(complaint) == "completed"


def test_the_customer_file_is_found_by_plate_vin_or_phone_and_shows_repairs_complaints_and_calls(sv):
    from tests.procedures.test_repair_dispatch import intake

    repair = sv.start("repair_dispatch", intake(mode="workshop", plate_no="苏e·12345", customer_name="赵敏",
                                                customer_phone="135 0000 8888"), as_="advisor")
    sv.start("hotline_call", {**CALL, "kind": "complaint", "content": "上次保养后漏油，无人处理"}, as_="agent")
    sv.run()
    advisor = sv.clients["advisor"]
    for query in ("plate=苏E·12345", "vin=LSVAB2BR5EN000123", "phone=13500008888", "phone=135 0000 8888"):
        response = advisor.get(f"/api/customer-files?{query}")
        assert response.status_code == 200, (query, response.get_json())
        body = response.get_json()
        assert body["customer"]["name"] == "赵敏", query
    assert [r["number"] for r in body["repairs"]] == [sv.business_key(repair)]
    assert body["repairs"][0]["sanbao_repair_no"] == 1 and body["vehicles"][0]["vin"] == "LSVAB2BR5EN000123"
    assert len(body["complaints"]) == 1 and body["complaints"][0]["channel"] == "phone"
    assert {c["kind"] for c in body["contacts"]} >= {"received", "hotline_complaint"}
    assert advisor.get("/api/customer-files").status_code == 400
    assert advisor.get("/api/customer-files?plate=京A00000").status_code == 404
    assert sv.clients["tech"].get("/api/customer-files?plate=苏E·12345").status_code == 403
