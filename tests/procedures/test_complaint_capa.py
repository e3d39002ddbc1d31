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
