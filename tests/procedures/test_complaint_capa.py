"""Issue 14: a complaint found to be the service's fault opens a 纠正和预防措施处理单 (L122),
written and carried out by the responsible department and checked by the sales department;
one found ineffective goes back to the department. A complaint caused elsewhere opens none.
Through the API with the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.complaint_driver import REGISTER, ComplaintDriver
from tests.conftest import START
from webapp.extensions import db
from webapp.models import ComplaintCase, CorrectiveAction


@pytest.fixture
def complaint(users, deployed_complaints, run_worker, make_client):
    users = {**users, "sales": make_client("sales", ["sales_dept"])}
    return ComplaintDriver(users, run_worker)


def capa_of(number: str) -> CorrectiveAction | None:
    db.session.rollback()
    case = db.session.scalar(db.select(ComplaintCase).where(ComplaintCase.number == number))
    return db.session.scalar(db.select(CorrectiveAction).where(CorrectiveAction.complaint_case_id == case.id))


def close(complaint: ComplaintDriver, department: str) -> None:
    complaint.verify()
    complaint.complete("analyse_complaint", {"cause": "维修工漏装卡扣", "responsible_department": department,
                                             "resolvable": True}, "handler")
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close(satisfied=True)


def test_a_service_caused_complaint_opens_a_corrective_action_checked_by_sales(complaint, manual_clock):
    manual_clock.set(START)
    complaint.start({**REGISTER, "channel": "manufacturer"})
    close(complaint, "service")
    number = complaint.business_key
    db.session.rollback()
    assert db.session.scalar(db.select(ComplaintCase).where(ComplaintCase.number == number)).status == "closed"
    tasks = complaint.open_tasks()
    assert set(tasks) == {"write_capa"} and tasks["write_capa"]["lane"] == "after_sales_manager"
    complaint.complete("write_capa", {"capa_measures": "交车前增加卡扣检查项，班组长复核", "capa_due_days": 10}, "manager")
    capa = capa_of(number)
    assert (capa.number, capa.trigger, capa.responsible_department, capa.survey_id) == (f"CA-{number}", "complaint",
                                                                                        "service", None)
    assert capa.cause == "维修工漏装卡扣" and capa.due_at == START + timedelta(days=10) and capa.status == "open"
    complaint.complete("implement_capa", {"implementation": "已修订交车检查单"}, "manager")
    check = complaint.open_tasks()["check_capa"]
    assert check["lane"] == "sales_dept"
    # only the sales department checks it (the department that wrote it does not)
    assert "check_capa" not in complaint.open_tasks("handler")
    manual_clock.advance(days=2)
    complaint.complete("check_capa", {"effective": False, "verification_comment": "抽查发现未执行"}, "sales")
    capa = capa_of(number)
    assert capa.status == "sent_back" and capa.due_at == START + timedelta(days=9)
    assert set(complaint.open_tasks()) == {"implement_capa"}
    complaint.complete("implement_capa", {"implementation": "已培训全部维修工并抽查"}, "manager")
    complaint.complete("check_capa", {"effective": True, "verification_comment": "抽查五单均已执行"}, "sales")
    capa = capa_of(number)
    assert (capa.status, capa.rounds, capa.effective, capa.closed_at) == ("effective", 2, True, manual_clock.now())
    assert complaint.instance()["status"] == "completed"
    assert complaint.verified()["verified"] is True


def test_a_complaint_caused_elsewhere_opens_no_corrective_action(complaint):
    complaint.start()
    close(complaint, "quality")
    assert capa_of(complaint.business_key) is None
    assert complaint.instance()["status"] == "completed"


def test_a_complaint_whose_solution_is_a_warranty_claim_opens_the_claim(complaint, users, manual_clock):
    from tests.conftest import deploy_files, process_files
    from webapp.models import Instance, WarrantyClaim

    for key in ("parts_return", "warranty_claim"):
        assert deploy_files(users["owner"], process_files(key)).status_code == 201
    manual_clock.set(START)
    complaint.start({**REGISTER, "serial_no": "LSVAB2BR5EN000999", "related_order_no": "WX-20260301-0003"})
    complaint.verify()
    complaint.analyse(resolvable=True, department="quality")
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.complete("carry_out_solution", {"action_taken": "厂家质量问题，转保修索赔", "open_case": "claim"}, "handler")
    task = complaint.open_tasks("handler")["arrange_claim"]
    assert task["data"]["serial_no"] == "LSVAB2BR5EN000999"  # the form opens with what the complaint knows
    missing = complaint.users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": {
        "serial_no": "LSVAB2BR5EN000999", "product_model": "XC-200", "delivery_date": "2025-06-01",
        "claim_fault": "水泵渗漏"}})
    assert missing.status_code == 422 and "current_mileage" in missing.get_json()["errors"]  # blank is not 0
    complaint.complete("arrange_claim", {"serial_no": "LSVAB2BR5EN000999", "product_model": "XC-200",
                                         "delivery_date": "2025-06-01", "delivery_mileage": 12, "current_mileage": 15800,
                                         "claim_fault": "水泵渗漏"}, "handler")
    db.session.rollback()
    claim = db.session.scalar(db.select(WarrantyClaim).where(WarrantyClaim.repair_case_no == "WX-20260301-0003"))
    assert claim is not None and claim.fault_description == "水泵渗漏" and claim.current_mileage == 15800
    claim_instance = db.session.get(Instance, claim.instance_id)
    assert claim_instance.process_key == "warranty_claim" and claim_instance.status == "running"
    assert "notify_and_confirm" in complaint.open_tasks()  # the complaint goes on to the customer's answer
    complaint.complete("notify_and_confirm", {"satisfied": True, "satisfaction_score": 4}, "handler")
    assert complaint.instance()["status"] == "completed" and complaint.verified()["verified"] is True
