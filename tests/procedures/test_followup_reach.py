"""Issue 14, follow-up calls: every call has an outcome (已接通 / 未接通 / 拒访 / 空号); a call not
answered is tried again on a schedule, three attempts in all, then the follow-up closes as
unreachable (not done, no satisfaction); a complaint raised in a call opens a complaint case
that the complaint rate counts; the dealer's first call counts 3 working days on the calendar.
Through the API with the controlled clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from tests.procedures.test_customer_followup import CALL, FILE, Followups, utc
from webapp import accounts
from webapp.extensions import db
from webapp.kpi import figures
from webapp.kpi.period import month_period
from webapp.models import ComplaintCase, FollowUpCall, Instance
from workers.followup import add_working_days
from workers.working_days import is_working_day

ROLES = {
    "clerk": ["followup_clerk"], "manager": ["after_sales_manager"], "owner": ["process_owner"], "admin": ["admin"],
    "auditor": ["auditor"], "handler": ["complaint_handler"], "agent": ["customer_service"],
}
NO_ANSWER = {"call_outcome": "no_answer", "channel": "phone", "failure_note": "无人接听"}


@pytest.fixture
def staff(make_client, monkeypatch):
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"fr-{name}", roles) for name, roles in ROLES.items()}
    for key in ("customer_followup", "complaint_handling"):
        r = deploy_files(clients["owner"], process_files(key))
        assert r.status_code == 201, r.get_json()
    return clients


def ready_to_call(fu: Followups, manual_clock, phone: str = "137 0000 1111") -> tuple[int, str]:
    manual_clock.set(START)
    iid, number = fu.start(customer_name="周杰", customer_phone=phone, kind="after_handover",
                           source_process="repair_dispatch", source_case_no="WX-20260302-0001")
    fu.complete(iid, "build_file", "clerk", FILE)
    manual_clock.set(START + timedelta(days=3, minutes=1))
    fu.run_worker()
    assert "make_call" in fu.tasks(iid)
    return iid, number


def test_three_unanswered_calls_close_as_unreachable(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    iid, number = ready_to_call(fu, manual_clock)
    fu.complete(iid, "make_call", "clerk", NO_ANSWER)
    row = fu.record(number)
    assert (row.attempts, row.status, row.last_outcome) == (1, "retrying", "no_answer")
    assert fu.tasks(iid) == {}  # the second attempt is 4 hours later
    manual_clock.advance(hours=4, minutes=1)
    run_worker()
    fu.complete(iid, "make_call", "clerk", NO_ANSWER)
    manual_clock.advance(hours=3)
    run_worker()
    assert fu.tasks(iid) == {}  # the third attempt is on the next working day
    manual_clock.advance(days=1)
    run_worker()
    fu.complete(iid, "make_call", "clerk", NO_ANSWER)
    row = fu.record(number)
    assert (row.attempts, row.status, row.called_at) == (3, "unreachable", None)
    assert fu.status(iid) == "completed"
    calls = db.session.scalars(select(FollowUpCall).where(FollowUpCall.followup_id == row.id)).all()
    assert [(c.attempt, c.outcome, c.reached) for c in calls] == [(1, "no_answer", False), (2, "no_answer", False),
                                                                   (3, "no_answer", False)]
    db.session.rollback()
    second = [i for i in db.session.scalars(select(Instance).where(Instance.process_key == "customer_followup"))
              if (i.data or {}).get("source_case_no") == number]
    assert second == []  # no second follow-up for a customer never reached
    fu.verified(iid)


def test_refused_and_empty_number_end_at_once(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    for n, (outcome, status) in enumerate((("refused", "refused"), ("empty_number", "unreachable"))):
        iid, number = ready_to_call(fu, manual_clock, phone=f"137 0000 222{n}")
        fu.complete(iid, "make_call", "clerk", {"call_outcome": outcome, "channel": "phone"})
        row = fu.record(number)
        assert (row.status, row.attempts, row.on_time) == (status, 1, None)
        assert fu.status(iid) == "completed"
        fu.verified(iid)


def test_a_connected_call_needs_its_notes(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    iid, _ = ready_to_call(fu, manual_clock)
    task = fu.tasks(iid)["make_call"]
    r = staff["clerk"].post(f"/api/tasks/{task['id']}/complete", {"data": {"call_outcome": "connected", "channel": "phone"}})
    assert r.status_code == 422 and "summary" in r.get_json()["errors"]


def test_a_complaint_raised_in_a_call_opens_a_complaint_case_counted_in_the_complaint_rate(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    iid, number = ready_to_call(fu, manual_clock)
    fu.complete(iid, "make_call", "clerk", {**CALL, "satisfaction_score": 2, "raise_complaint": True,
                                            "complaint_text": "保养后发动机异响，前台态度差"})
    db.session.rollback()
    case = db.session.scalar(select(ComplaintCase).where(ComplaintCase.source_case_no == number))
    assert case.channel == "followup_call" and case.description == "保养后发动机异响，前台态度差"
    assert case.related_order_no == "WX-20260302-0001" and case.status == "open"
    assert fu.status(iid) == "completed"  # the follow-up itself is done; the complaint runs its own course
    # the complaint is handled like any other, its 24 h reply rule included, and is counted
    complaint = case.instance_id
    tasks = {t["bpmn_id"]: t for t in staff["handler"].get(f"/api/tasks?instance_id={complaint}").get_json()}
    assert tasks["verify_complaint"]["due_at"] is not None
    for bpmn_id, data in (
        ("verify_complaint", {"category": "repair_quality", "severity": "normal", "verified": True,
                              "verification_notes": "属实", "reply_to_customer": "24小时内答复"}),
        ("analyse_complaint", {"cause": "保养未紧固", "responsible_department": "service", "resolvable": True}),
        ("propose_solution", {"solution": "免费复检"}),
        ("confirm_with_customer", {"customer_agrees": True, "customer_comment": ""}),
        ("carry_out_solution", {"action_taken": "已复检紧固"}),
        ("notify_and_confirm", {"satisfied": True, "satisfaction_score": 4}),
    ):
        task = {t["bpmn_id"]: t for t in staff["handler"].get(f"/api/tasks?instance_id={complaint}").get_json()}[bpmn_id]
        r = staff["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": data})
        assert r.status_code == 200, (bpmn_id, r.get_json())
        run_worker()
    units, _total = figures.cases("complaint_rate", month_period(2026, 3), now=manual_clock.now())
    assert [u["outcome"] for u in units if u["case_no"] == case.number] == ["complaint"]
    fu.verified(iid)


def test_working_day_calendar_skips_weekends_and_holidays():
    assert is_working_day(date(2026, 3, 2)) and not is_working_day(date(2026, 3, 7))
    assert not is_working_day(date(2026, 10, 1)) and is_working_day(date(2026, 10, 10))  # 国庆; 调休上班
    # handed over on Wednesday 30 September: the three working days are 8, 9 and 10 October (a make-up Saturday)
    handed = utc(2026, 9, 30, 2, 0)
    assert add_working_days(handed, 3) == utc(2026, 10, 10, 2, 0)
