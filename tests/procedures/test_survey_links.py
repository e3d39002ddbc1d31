"""Issue 14, satisfaction survey: a survey can be refused (拒访) or the customer never reached —
recorded, not counted as surveyed nor in 用户满意度; a complaint raised in a survey opens a
complaint case (channel 满意度调查) with its 24 h / 48 h rules, counted in 用户抱怨率 like a
complaint from any other channel. Through the API with the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from tests.procedures.test_satisfaction_survey import HAPPY, NO_CAPA, UNHAPPY, Survey
from webapp import accounts
from webapp.extensions import db
from webapp.kpi import figures
from webapp.kpi.period import month_period
from webapp.models import ComplaintCase, ContactLog, SatisfactionSurvey

ROLES = {
    "clerk": ["followup_clerk"], "quality": ["quality_dept"], "manager": ["after_sales_manager"],
    "gm": ["general_manager"], "owner": ["process_owner"], "admin": ["admin"], "auditor": ["auditor"],
    "handler": ["complaint_handler"],
}


@pytest.fixture
def staff(make_client, monkeypatch):
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"sl-{name}", roles) for name, roles in ROLES.items()}
    for key in ("satisfaction_survey", "complaint_handling"):
        r = deploy_files(clients["owner"], process_files(key))
        assert r.status_code == 201, r.get_json()
    return clients


def satisfaction(now):
    units, _total = figures.cases("satisfaction_rate", month_period(2026, 3), now=now)
    return {u["case_no"]: u["outcome"] for u in units}


def test_a_refused_survey_is_recorded_but_not_counted_as_surveyed_nor_in_satisfaction(staff, run_worker, manual_clock):
    manual_clock.set(START)
    refused = Survey(staff, run_worker, name="钱多", phone="139 0000 2222")
    answer = staff["clerk"].get(f"/api/tasks?instance_id={refused.id}").get_json()[0]
    # a refusal needs no scores; a complaint cannot be raised in a survey that did not take place
    bad = staff["clerk"].post(f"/api/tasks/{answer['id']}/complete",
                              {"data": {"survey_outcome": "refused", "raise_complaint": True, "complaint_text": "不想说了吧"}})
    assert bad.status_code == 422 and "survey_outcome" in bad.get_json()["errors"]
    refused.complete("conduct_survey", "clerk", {"survey_outcome": "refused", "refusal_note": "客户表示不接受电话调查"})
    rec = refused.record()
    assert (rec.status, rec.satisfied, rec.overall_score, rec.surveyed_at) == ("refused", None, None, None)
    assert rec.closed_at == START and refused.status() == "completed" and refused.tasks() == {}
    logs = db.session.scalars(select(ContactLog).where(ContactLog.case_number == refused.number)).all()
    assert [(log.kind, log.summary) for log in logs] == [("survey", "拒访：客户表示不接受电话调查")]

    unreached = Survey(staff, run_worker, name="孙立", phone="139 0000 3333")
    unreached.complete("conduct_survey", "clerk", {"survey_outcome": "unreachable", "refusal_note": "三次无人接听"})
    assert unreached.record().status == "unreachable"

    done = Survey(staff, run_worker)
    done.quick(HAPPY)
    # a completed survey still needs its scores
    again = Survey(staff, run_worker, name="李四", phone="139 0000 4444")
    task = staff["clerk"].get(f"/api/tasks?instance_id={again.id}").get_json()[0]
    missing = staff["clerk"].post(f"/api/tasks/{task['id']}/complete", {"data": {"survey_outcome": "completed"}})
    assert missing.status_code == 422 and "overall_score" in missing.get_json()["errors"]

    counted = satisfaction(manual_clock.now() + timedelta(days=1))
    assert counted == {done.number: "met"}  # only the survey that took place
    db.session.rollback()
    statuses = {s.number: s.status for s in db.session.scalars(select(SatisfactionSurvey))}
    assert statuses[refused.number] == "refused" and statuses[done.number] == "closed"
    for survey in (refused, unreached, done):
        survey.verified()


def test_a_complaint_raised_in_a_survey_opens_a_complaint_case_counted_in_the_complaint_rate(staff, run_worker, manual_clock):
    manual_clock.set(START)
    sv = Survey(staff, run_worker, source_process="repair_dispatch", source_case_no="WX-20260302-0007")
    sv.complete("conduct_survey", "clerk", {**UNHAPPY, "raise_complaint": True,
                                            "complaint_text": "修完三天又漏水，要求免费返修"})
    db.session.rollback()
    case = db.session.scalar(select(ComplaintCase).where(ComplaintCase.source_case_no == sv.number))
    assert case is not None and case.channel == "survey" and case.description == "修完三天又漏水，要求免费返修"
    assert case.related_order_no == "WX-20260302-0007" and case.status == "open" and case.received_at == START
    # the survey itself goes on to its analysis (and a dissatisfied customer's corrective action)
    assert list(sv.tasks()) == ["analyse_survey"]
    sv.complete("analyse_survey", "quality", NO_CAPA)
    assert sv.record().satisfied is False
    handler = staff["handler"]
    tasks = {t["bpmn_id"]: t for t in handler.get(f"/api/tasks?instance_id={case.instance_id}").get_json()}
    assert tasks["verify_complaint"]["due_at"] is not None  # the 24 h reply rule watches it
    for bpmn_id, data in (
        ("verify_complaint", {"category": "repair_quality", "severity": "normal", "verified": True,
                              "verification_notes": "属实", "reply_to_customer": "24小时内答复"}),
        ("analyse_complaint", {"cause": "密封胶未固化", "responsible_department": "service", "resolvable": True}),
        ("propose_solution", {"solution": "免费返修"}),
        ("confirm_with_customer", {"customer_agrees": True, "customer_comment": ""}),
        ("carry_out_solution", {"action_taken": "已返修"}),
        ("notify_and_confirm", {"satisfied": True, "satisfaction_score": 4}),
    ):
        task = {t["bpmn_id"]: t for t in handler.get(f"/api/tasks?instance_id={case.instance_id}").get_json()}[bpmn_id]
        r = handler.post(f"/api/tasks/{task['id']}/complete", {"data": data})
        assert r.status_code == 200, (bpmn_id, r.get_json())
        run_worker()
    units, _total = figures.cases("complaint_rate", month_period(2026, 3), now=manual_clock.now())
    assert [u["outcome"] for u in units if u["case_no"] == case.number] == ["complaint"]
    sv.verified()
    assert staff["auditor"].get(f"/api/process-instances/{case.instance_id}/verify").get_json()["verified"] is True


def test_a_survey_without_a_complaint_opens_none(staff, run_worker, manual_clock):
    manual_clock.set(START)
    sv = Survey(staff, run_worker)
    sv.quick(UNHAPPY, NO_CAPA | {"capa_required": False})
    db.session.rollback()
    assert db.session.scalar(select(ComplaintCase).where(ComplaintCase.source_case_no == sv.number)) is None
