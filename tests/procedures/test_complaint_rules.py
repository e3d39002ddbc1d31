"""Issue 14, complaint handling: closed only when the customer is satisfied (otherwise a new
solution or the supervisor); a staff attitude complaint opens an investigation with its
outcome; the new register fields. Through the API with the controlled clock."""

from __future__ import annotations

import pytest

from tests.complaint_driver import REGISTER, ComplaintDriver
from webapp.extensions import db
from webapp.models import ComplaintCase, ContactLog, Escalation


@pytest.fixture
def complaint(users, deployed_complaints, run_worker):
    return ComplaintDriver(users, run_worker)


def case_of(number: str) -> ComplaintCase:
    db.session.rollback()
    return db.session.scalar(db.select(ComplaintCase).where(ComplaintCase.number == number))


def to_result(complaint: ComplaintDriver) -> None:
    complaint.verify()
    complaint.analyse(resolvable=True)
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.complete("carry_out_solution", {"action_taken": "已上门更换电容，试机正常。"}, "handler")


def test_dissatisfied_customer_reopens_the_complaint_then_escalation(complaint, manual_clock):
    complaint.start({**REGISTER, "related_order_no": "WX-20260301-0007", "customer_demand": "免费更换压缩机",
                     "channel": "12315"})
    case = case_of(complaint.business_key)
    assert (case.related_order_no, case.customer_demand, case.channel) == ("WX-20260301-0007", "免费更换压缩机", "12315")
    to_result(complaint)
    complaint.complete("notify_and_confirm", {"satisfied": False, "satisfaction_score": 2, "customer_feedback": "仍不制冷",
                                              "next_step": "escalate"}, "handler")
    case = case_of(complaint.business_key)
    assert case.status == "open" and case.closed_at is None and case.reopen_count == 1
    assert "supervisor_decide" in complaint.open_tasks()
    number = complaint.business_key
    assert [e.reason for e in db.session.scalars(db.select(Escalation).where(Escalation.case_number == number))] == [
        "customer_dissatisfied"]
    kinds = [c.kind for c in db.session.scalars(db.select(ContactLog).where(ContactLog.case_number == number))]
    assert "dissatisfied" in kinds
    complaint.complete("supervisor_decide", {"cause": "压缩机损坏", "responsible_department": "service",
                                              "solution": "主管决定免费更换压缩机"}, "manager")
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close(satisfied=True, score=5)
    case = case_of(number)
    assert case.status == "closed" and case.satisfied is True
    complaint.finish_capa()  # the service's fault (test_complaint_capa.py)
    assert complaint.instance()["status"] == "completed"


def test_a_not_satisfied_answer_needs_the_next_step(complaint):
    complaint.start()
    to_result(complaint)
    task = complaint.open_tasks("handler")["notify_and_confirm"]
    r = complaint.users["handler"].post(f"/api/tasks/{task['id']}/complete",
                                        {"data": {"satisfied": False, "satisfaction_score": 1}})
    # the form fills next_step's default (new solution); a closing is impossible either way
    assert r.status_code == 200
    complaint.run_worker()
    assert case_of(complaint.business_key).status == "open"
    assert "propose_solution" in complaint.open_tasks()


def test_staff_attitude_complaint_opens_an_investigation_with_its_outcome(complaint, manual_clock):
    complaint.start({**REGISTER, "staff_member": "前台小刘", "description": "前台接待态度恶劣，出言不逊"})
    complaint.verify(category="service_attitude")
    complaint.analyse(resolvable=True)
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close(satisfied=True, score=4)
    assert case_of(complaint.business_key).status == "closed"
    assert list(complaint.open_tasks()) == ["investigate_staff"]
    manual_clock.advance(hours=49)  # the 48 h watch finds the case closed: nothing is escalated
    complaint.run_worker()
    number = complaint.business_key
    assert db.session.scalars(db.select(Escalation).where(Escalation.case_number == number)).all() == []
    complaint.complete("investigate_staff", {"staff_member": "前台小刘", "investigation_findings": "调取录音，属实",
                                             "attitude_confirmed": True, "staff_decision": "probation", "fine_amount": 200},
                       "manager")
    case = case_of(number)
    assert case.investigation["confirmed"] is True and case.investigation["decision"] == "probation"
    assert case.investigation["fine_amount"] == 200
    complaint.finish_capa()
    assert complaint.instance()["status"] == "completed"


def test_a_complaint_whose_solution_is_a_repair_opens_the_work_order(complaint, users):
    from tests.conftest import deploy_files, process_files
    from tests.procedures.test_repair_dispatch import intake
    from webapp.models import RepairOrder

    assert deploy_files(users["owner"], process_files("repair_dispatch")).status_code == 201
    complaint.start({**REGISTER, "serial_no": "LSVAB2BR5EN000123"})
    complaint.verify()
    complaint.analyse(resolvable=True)
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.complete("carry_out_solution", {"action_taken": "安排进站复修", "open_case": "repair"}, "handler")
    assert list(complaint.open_tasks()) == ["arrange_repair"]
    complaint.complete("arrange_repair", intake(mode="workshop", customer_name="王芳", customer_phone="138 0000 1234",
                                                repair_type="comeback", fault_description="空调维修后仍然不制冷"), "handler")
    db.session.rollback()
    order = db.session.scalar(db.select(RepairOrder).where(RepairOrder.fault_description == "空调维修后仍然不制冷"))
    assert (order.repair_type, order.pay_type, order.service_type) == ("comeback", "internal", "free")
    assert list(complaint.open_tasks()) == ["notify_and_confirm"]
