"""Acceptance 2 of the spine: every path of complaint handling through the API alone,
with a controlled clock, checking the records the workers wrote."""

from __future__ import annotations

import pytest

from tests.complaint_driver import ComplaintDriver
from webapp.extensions import db
from webapp.models import ComplaintCase, ContactLog, Customer, Escalation, InboxTask


@pytest.fixture
def complaint(users, deployed_complaints, run_worker):
    return ComplaintDriver(users, run_worker)


def _case(number: str) -> ComplaintCase:
    return db.session.scalar(db.select(ComplaintCase).where(ComplaintCase.number == number))


def _escalations(number: str) -> list[str]:
    return [
        e.reason
        for e in db.session.scalars(db.select(Escalation).where(Escalation.case_number == number).order_by(Escalation.id))
    ]


def test_registering_creates_customer_case_and_first_contact(complaint, manual_clock):
    body = complaint.start()
    assert body["status"] == "running"
    assert body["business_key"] == "TS-20260302-0001"
    case = _case(body["business_key"])
    assert case.customer.name == "王芳" and case.customer.phone == "138 0000 1234"
    assert case.channel == "phone" and case.status == "open" and case.serial_no == "SN20260001"
    assert case.received_at == manual_clock.now()
    assert case.instance_id == complaint.instance_id
    logs = db.session.scalars(db.select(ContactLog).where(ContactLog.case_number == case.number)).all()
    assert [log.kind for log in logs] == ["received"]
    tasks = complaint.open_tasks("handler")
    assert list(tasks) == ["verify_complaint"]
    assert tasks["verify_complaint"]["lane"] == "complaint_handler"
    assert tasks["verify_complaint"]["due_at"] == "2026-03-03T01:00:00.000000+00:00"  # 24 h reply


def test_resolved_path_closes_case_with_resolution(complaint, manual_clock):
    complaint.start()
    manual_clock.advance(hours=2)
    complaint.verify()
    assert _case(complaint.business_key).replied_at == manual_clock.now()
    complaint.analyse(resolvable=True)
    complaint.propose()
    complaint.confirm(agrees=True)
    manual_clock.advance(hours=20)
    complaint.carry_out_and_close(satisfied=True, score=5)
    complaint.finish_capa()  # the service's fault: its corrective action, then the case ends

    instance = complaint.instance()
    assert instance["status"] == "completed"
    assert instance["tasks"] == []
    case = _case(complaint.business_key)
    assert case.status == "closed" and case.closed_at == manual_clock.now()
    assert case.satisfied is True and case.satisfaction_score == 5
    assert case.responsible_department == "service" and "电容" in case.solution
    assert _escalations(case.number) == []
    kinds = [log.kind for log in db.session.scalars(db.select(ContactLog).where(ContactLog.case_number == case.number))]
    assert kinds == ["received", "reply", "result"]
    # the terminate end cancelled the 48 h watch; no timer is left
    assert instance["next_timer_due"] is None
    # closing started the satisfaction survey with the customer's contact
    survey = complaint.users["admin"].get(f"/api/process-instances/{instance['data']['survey']['instance_id']}").get_json()
    assert survey["process_key"] == "satisfaction_survey" and survey["status"] == "running"
    assert survey["data"]["source_case_no"] == complaint.business_key and survey["data"]["customer_phone"] == "138 0000 1234"
    assert complaint.verified() == {"verified": True, "events": len(complaint.history_types())}


def test_unresolvable_complaint_is_escalated_to_the_supervisor(complaint, users):
    complaint.start()
    complaint.verify()
    complaint.analyse(resolvable=False)
    assert _escalations(complaint.business_key) == ["unresolvable"]
    assert "supervisor_decide" not in complaint.open_tasks("handler")
    decide = complaint.open_tasks("manager")["supervisor_decide"]
    assert decide["lane"] == "after_sales_manager"
    complaint.complete(
        "supervisor_decide",
        {"cause": "配件缺货", "responsible_department": "logistics", "solution": "调拨配件并补偿上门费"},
        "manager",
    )
    complaint.confirm(agrees=False)  # the customer refuses: back to the supervisor
    assert _escalations(complaint.business_key) == ["unresolvable", "customer_disagrees"]
    complaint.complete(
        "supervisor_decide",
        {"cause": "配件缺货", "responsible_department": "logistics", "solution": "更换整机"},
        "manager",
    )
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close()
    case = _case(complaint.business_key)
    assert case.status == "closed" and case.solution == "更换整机" and case.responsible_department == "logistics"
    assert complaint.verified() == {"verified": True, "events": len(complaint.history_types())}


def test_major_complaint_goes_straight_to_the_manager(complaint):
    complaint.start()
    complaint.verify(severity="major", category="product_quality")
    tasks = complaint.open_tasks("manager")
    assert "manager_handle_major" in tasks
    assert "analyse_complaint" not in complaint.open_tasks("handler")
    complaint.complete(
        "manager_handle_major",
        {"cause": "批次质量问题", "responsible_department": "quality", "solution": "召回并更换"},
        "manager",
    )
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close()
    assert _case(complaint.business_key).responsible_department == "quality"
    assert complaint.instance()["status"] == "completed"
    assert complaint.verified() == {"verified": True, "events": len(complaint.history_types())}


def test_missed_24h_reply_escalates_and_manager_supervises(complaint, manual_clock, users, run_worker):
    complaint.start()
    manual_clock.advance(hours=23, minutes=59)
    run_worker()
    assert _escalations(complaint.business_key) == []
    manual_clock.advance(minutes=2)
    run_worker()
    assert _escalations(complaint.business_key) == ["reply_24h"]
    assert "timer_fired" in complaint.history_types()
    manager_tasks = complaint.open_tasks("manager")
    assert "supervise_reply" in manager_tasks
    # the handler's task stays open (non-interrupting) and can still be done
    assert "verify_complaint" in complaint.open_tasks("handler")
    complaint.complete("supervise_reply", {"instruction": "今天下班前必须答复客户"}, "manager")
    complaint.verify()
    assert _case(complaint.business_key).replied_at == manual_clock.now()
    assert complaint.verified() == {"verified": True, "events": len(complaint.history_types())}


def test_missed_48h_resolution_escalates(complaint, manual_clock, run_worker):
    complaint.start()
    complaint.verify()
    complaint.analyse(resolvable=True)
    manual_clock.advance(hours=48, seconds=1)
    run_worker()
    assert _escalations(complaint.business_key) == ["resolve_48h"]
    tasks = complaint.open_tasks("admin")
    assert {"propose_solution", "supervise_overdue"} <= set(tasks)
    complaint.complete("supervise_overdue", {"instruction": "督促尽快解决"}, "manager")
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close(satisfied=False, score=2)
    case = _case(complaint.business_key)  # not satisfied: the case stays open and goes back for a new solution
    assert case.status == "open" and case.satisfied is False and case.satisfaction_score == 2 and case.reopen_count == 1
    assert "propose_solution" in complaint.open_tasks("admin")
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close(satisfied=True, score=4)
    case = _case(complaint.business_key)
    assert case.status == "closed" and case.satisfied is True and case.satisfaction_score == 4
    assert complaint.verified() == {"verified": True, "events": len(complaint.history_types())}


def test_closing_while_overdue_supervision_is_open_cancels_it(complaint, manual_clock, run_worker):
    complaint.start()
    complaint.verify()
    complaint.analyse(resolvable=True)
    manual_clock.advance(hours=49)
    run_worker()
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close()
    complaint.finish_capa()
    assert complaint.instance()["status"] == "completed"
    rows = db.session.scalars(db.select(InboxTask).where(InboxTask.instance_id == complaint.instance_id)).all()
    states = {r.bpmn_id: r.state for r in rows}
    assert states["supervise_overdue"] == "cancelled"
    assert states["notify_and_confirm"] == "completed"


def test_same_customer_is_found_again(complaint, users, run_worker):
    complaint.start()
    second = ComplaintDriver(users, run_worker)
    second.start()
    assert second.business_key == "TS-20260302-0002"
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1
