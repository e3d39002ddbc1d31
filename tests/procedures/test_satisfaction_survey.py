"""满意度调查 / 纠正和预防措施 (satisfaction_survey): every path through the API with the manual clock.

Key customers (key_customer.dmn), the manager's review, the quality department's analysis,
the corrective action opened by dissatisfaction, a recurring problem or the analysis, its
deadline, verification, the one send-back, and the general manager when it stays ineffective.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from webapp import accounts
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import ContactLog, CorrectiveAction, Customer, CustomerFile, Escalation, SatisfactionSurvey

ROLES = {
    "clerk": ["followup_clerk"],
    "quality": ["quality_dept"],
    "manager": ["after_sales_manager"],
    "gm": ["general_manager"],
    "owner": ["process_owner"],
    "admin": ["admin"],
    "auditor": ["auditor"],
}
MINUTE = timedelta(minutes=1)
HAPPY = {"overall_score": 5, "timeliness_score": 5, "quality_score": 5, "attitude_score": 5, "problem_category": "none",
         "comments": "很满意"}
UNHAPPY = {"overall_score": 2, "timeliness_score": 2, "quality_score": 3, "attitude_score": 4, "problem_category": "timeliness",
           "comments": "等了三天才上门"}
NO_CAPA = {"analysis": "服务正常", "cause": "", "capa_required": False, "responsible_department": "after_sales",
           "capa_measures": "", "capa_due_days": 14}
CAPA = {"analysis": "派工不及时", "cause": "维修人员不足", "capa_required": False, "responsible_department": "workshop",
        "capa_measures": "增加周末值班，派工后 24 小时内上门", "capa_due_days": 14}


@pytest.fixture
def staff(make_client, monkeypatch):
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"sv-{name}", roles) for name, roles in ROLES.items()}
    r = deploy_files(clients["owner"], process_files("satisfaction_survey"))
    assert r.status_code == 201, r.get_json()
    return clients


class Survey:
    def __init__(self, staff, run_worker, name="刘洋", phone="188 0000 1234", **extra):
        self.staff, self.run_worker = staff, run_worker
        data = {"customer_name": name, "customer_phone": phone, "source_process": "complaint_handling",
                "source_case_no": "TS-20260302-0001", **extra}
        r = staff["clerk"].post("/api/process-instances", {"process_key": "satisfaction_survey", "data": data})
        assert r.status_code == 201, r.get_json()
        self.id, self.number = r.get_json()["id"], r.get_json()["business_key"]
        run_worker()

    def tasks(self) -> dict:
        return {t["bpmn_id"]: t for t in self.staff["admin"].get(f"/api/tasks?instance_id={self.id}").get_json()}

    def complete(self, bpmn_id: str, who: str, data: dict) -> None:
        mine = {t["bpmn_id"]: t for t in self.staff[who].get(f"/api/tasks?instance_id={self.id}").get_json()}
        assert bpmn_id in mine, (bpmn_id, list(self.tasks()))
        r = self.staff[who].post(f"/api/tasks/{mine[bpmn_id]['id']}/complete", {"data": data})
        assert r.status_code == 200, r.get_json()
        self.run_worker()

    def record(self) -> SatisfactionSurvey:
        db.session.rollback()
        return db.session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.number == self.number))

    def capa(self) -> CorrectiveAction:
        db.session.rollback()
        return db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.survey_id == self.record().id))

    def status(self) -> str:
        return self.staff["admin"].get(f"/api/process-instances/{self.id}").get_json()["status"]

    def verified(self) -> None:
        v = self.staff["auditor"].get(f"/api/process-instances/{self.id}/verify").get_json()
        assert v["verified"] is True, v

    def quick(self, answers: dict, analysis: dict = NO_CAPA) -> None:
        self.complete("conduct_survey", "clerk", answers)
        self.complete("analyse_survey", "quality", analysis)


def escalations(number: str) -> list[tuple[str, str]]:
    db.session.rollback()
    return [(e.reason, e.to_role) for e in db.session.scalars(select(Escalation).where(Escalation.case_number == number))]


def test_satisfied_normal_customer_is_analysed_and_closed(staff, run_worker):
    sv = Survey(staff, run_worker, prior_year_revenue=4_999_999)
    rec = sv.record()
    assert rec.status == "open" and rec.source_case_no == "TS-20260302-0001" and rec.prior_year_revenue == 4_999_999
    assert list(sv.tasks()) == ["conduct_survey"]
    sv.complete("conduct_survey", "clerk", HAPPY)
    rec = sv.record()
    assert (rec.key_customer, rec.key_reason, rec.satisfied, rec.recurring) == (False, "一般顾客", True, False)
    assert list(sv.tasks()) == ["analyse_survey"] and sv.tasks()["analyse_survey"]["lane"] == "quality_dept"
    sv.complete("analyse_survey", "quality", NO_CAPA)
    rec = sv.record()
    assert rec.status == "closed" and rec.analysis == "服务正常" and rec.capa_required is False and rec.closed_at == START
    assert sv.capa() is None and sv.status() == "completed"
    assert [log.kind for log in db.session.scalars(select(ContactLog).where(ContactLog.case_number == sv.number))] == ["survey"]
    sv.verified()


def test_key_customers_by_revenue_or_strategy_are_reviewed_by_the_manager(staff, run_worker):
    by_revenue = Survey(staff, run_worker, name="大客户甲", phone="188 0000 0001", prior_year_revenue=5_000_000)
    by_revenue.complete("conduct_survey", "clerk", HAPPY)
    assert by_revenue.record().key_reason == "上年度销售收入 ≥ 500 万元"
    assert list(by_revenue.tasks()) == ["review_key_customer"]
    by_revenue.complete("review_key_customer", "manager", {"review": "年底前拜访一次"})
    assert by_revenue.record().key_review == "年底前拜访一次"
    by_revenue.complete("analyse_survey", "quality", NO_CAPA)
    assert by_revenue.record().status == "closed"
    by_revenue.verified()

    # strategic by the company's decision, as recorded in the customer file
    customer = Customer(name="战略客户乙", phone="188 0000 0002", created_at=clock.now())
    db.session.add(customer)
    db.session.flush()
    db.session.add(CustomerFile(customer_id=customer.id, tier="important", opened_at=START, due_at=START, strategic=True))
    db.session.commit()
    strategic = Survey(staff, run_worker, name="战略客户乙", phone="188 0000 0002")
    strategic.complete("conduct_survey", "clerk", HAPPY)
    rec = strategic.record()
    assert (rec.key_customer, rec.key_reason, rec.strategic) == (True, "公司确定的战略顾客", True)
    strategic.complete("review_key_customer", "manager", {"review": "保持季度沟通"})
    strategic.complete("analyse_survey", "quality", NO_CAPA)
    assert strategic.status() == "completed"
    strategic.verified()


def test_dissatisfied_customer_opens_a_corrective_action_verified_effective(staff, run_worker, manual_clock):
    sv = Survey(staff, run_worker)
    sv.complete("conduct_survey", "clerk", UNHAPPY)
    assert sv.record().satisfied is False
    sv.complete("analyse_survey", "quality", CAPA)
    capa = sv.capa()
    assert (capa.number, capa.trigger, capa.responsible_department) == (f"CA-{sv.number}", "dissatisfied", "workshop")
    assert capa.due_at == START + timedelta(days=14) and capa.status == "open" and capa.cause == "维修人员不足"
    tasks = sv.tasks()
    assert list(tasks) == ["implement_capa"] and tasks["implement_capa"]["due_at"].startswith("2026-03-16T01:00")
    manual_clock.advance(days=5)
    sv.complete("implement_capa", "manager", {"implementation": "已排周末值班表"})
    assert sv.capa().status == "implemented" and sv.capa().rounds == 1
    sv.complete("verify_capa", "quality", {"effective": True, "verification_comment": "本月上门及时率 96%"})
    capa = sv.capa()
    assert capa.effective is True and capa.status == "effective" and capa.closed_at == START + timedelta(days=5)
    assert list(sv.tasks()) == ["feedback_customer"]
    sv.complete("feedback_customer", "clerk", {"feedback_summary": "已告知客户整改结果"})
    assert sv.capa().customer_informed_at == START + timedelta(days=5)
    assert sv.record().status == "closed" and sv.status() == "completed"
    assert escalations(capa.number) == []
    sv.verified()


def test_recurring_problem_or_the_analysis_opens_a_corrective_action(staff, run_worker):
    parts = {**HAPPY, "overall_score": 4, "problem_category": "parts", "comments": "配件等了一周"}
    for n in (1, 2):  # the same problem twice before: not yet recurring
        earlier = Survey(staff, run_worker, name=f"客户{n}", phone=f"177 0000 000{n}")
        earlier.quick(parts)
        assert earlier.record().recurring is False and earlier.status() == "completed"
        earlier.verified()
    third = Survey(staff, run_worker, name="客户3", phone="177 0000 0003")
    third.complete("conduct_survey", "clerk", parts)
    rec = third.record()
    assert (rec.satisfied, rec.recurring, rec.prior_occurrences) == (True, True, 2)
    third.complete("analyse_survey", "quality", {**CAPA, "responsible_department": "parts", "capa_measures": "增加常用配件库存"})
    assert third.capa().trigger == "recurring" and list(third.tasks()) == ["implement_capa"]
    third.verified()

    by_analysis = Survey(staff, run_worker, name="客户4", phone="177 0000 0004")
    by_analysis.complete("conduct_survey", "clerk", HAPPY)
    by_analysis.complete("analyse_survey", "quality", {**CAPA, "capa_required": True, "capa_due_days": 30})
    capa = by_analysis.capa()
    assert capa.trigger == "analysis" and capa.due_at == START + timedelta(days=30)
    by_analysis.verified()


def test_overdue_action_and_overdue_rework_go_to_the_general_manager(staff, run_worker, manual_clock):
    sv = Survey(staff, run_worker)
    sv.complete("conduct_survey", "clerk", UNHAPPY)
    sv.complete("analyse_survey", "quality", {**CAPA, "capa_due_days": 5})
    number = sv.capa().number
    manual_clock.set(START + timedelta(days=5) + MINUTE)
    run_worker()
    assert escalations(number) == [("capa_overdue", "general_manager")]
    assert sv.capa().escalated_at == START + timedelta(days=5) + MINUTE
    assert sorted(sv.tasks()) == ["implement_capa", "supervise_capa"]
    sv.complete("supervise_capa", "gm", {"supervision_note": "本周内完成"})
    sv.complete("implement_capa", "manager", {"implementation": "已培训派工员"})
    sv.complete("verify_capa", "quality", {"effective": False, "verification_comment": "上门仍不及时"})
    capa = sv.capa()
    rework_due = START + timedelta(days=12) + MINUTE
    assert capa.status == "sent_back" and capa.due_at == rework_due  # sent back once, 7 more days
    assert list(sv.tasks()) == ["rework_capa"]
    manual_clock.set(rework_due + MINUTE)
    run_worker()
    assert escalations(number) == [("capa_overdue", "general_manager"), ("rework_overdue", "general_manager")]
    sv.complete("supervise_rework", "gm", {"supervision_note": "限期三天"})
    sv.complete("rework_capa", "manager", {"implementation": "增加一名维修人员"})
    assert sv.capa().rounds == 2
    sv.complete("reverify_capa", "quality", {"effective": True, "verification_comment": "上门及时"})
    assert sv.capa().status == "effective"
    sv.complete("feedback_customer", "clerk", {"feedback_summary": "已告知客户"})
    assert sv.status() == "completed"
    sv.verified()


def test_action_ineffective_after_the_send_back_is_decided_by_the_general_manager(staff, run_worker):
    sv = Survey(staff, run_worker)
    sv.complete("conduct_survey", "clerk", UNHAPPY)
    sv.complete("analyse_survey", "quality", CAPA)
    sv.complete("implement_capa", "manager", {"implementation": "第一次整改"})
    sv.complete("verify_capa", "quality", {"effective": False, "verification_comment": "无效"})
    sv.complete("rework_capa", "manager", {"implementation": "第二次整改"})
    sv.complete("reverify_capa", "quality", {"effective": False, "verification_comment": "仍然无效"})
    number = sv.capa().number
    assert escalations(number) == [("ineffective", "general_manager")]
    assert list(sv.tasks()) == ["gm_decide"] and sv.tasks()["gm_decide"]["lane"] == "general_manager"
    sv.complete("gm_decide", "gm", {"decision": "更换外协维修单位"})
    capa = sv.capa()
    assert (capa.status, capa.effective, capa.management_decision) == ("ineffective", False, "更换外协维修单位")
    sv.complete("feedback_customer", "clerk", {"feedback_summary": "已告知客户将更换维修单位"})
    assert sv.record().status == "closed" and sv.status() == "completed"
    sv.verified()
