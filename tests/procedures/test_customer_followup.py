"""跟踪回访 / 保养提醒 / 定期回访 (customer_followup): every path through the API with the manual clock.

Each follow-up instance is one contact; the next contact is a new instance started by the
previous one (no gateway loop), so periodic revisits run cycle after cycle below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from webapp import accounts
from webapp.extensions import db
from webapp.models import (
    ContactLog,
    Customer,
    CustomerFile,
    Escalation,
    FollowUp,
    FollowUpCall,
    FollowUpRequest,
    Instance,
)

ROLES = {
    "clerk": ["followup_clerk"],
    "manager": ["after_sales_manager"],
    "owner": ["process_owner"],
    "admin": ["admin"],
    "auditor": ["auditor"],
}
MINUTE = timedelta(minutes=1)
FILE = {
    "address": "上海市浦东新区世纪大道 1 号",
    "contact_person": "本人",
    "products": "XR-300 SN-300-0001",
    "potential_needs": "关心保养费用",
    "next_call_topic": "一周后询问使用情况",
    "customer_tier": "normal",
    "prior_year_revenue": 0,
    "strategic": False,
}
CALL = {
    "call_outcome": "connected", "channel": "phone", "summary": "使用正常，对服务满意。", "satisfaction_score": 5,
    "customer_request": "", "request_answered": True,
}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def staff(make_client, monkeypatch):
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"fu-{name}", roles) for name, roles in ROLES.items()}
    r = deploy_files(clients["owner"], process_files("customer_followup"))
    assert r.status_code == 201, r.get_json()
    return clients


class Followups:
    def __init__(self, staff, run_worker):
        self.staff, self.run_worker = staff, run_worker

    def start(self, **data) -> tuple[int, str]:
        r = self.staff["clerk"].post("/api/process-instances", {"process_key": "customer_followup", "data": data})
        assert r.status_code == 201, r.get_json()
        self.run_worker()
        return r.get_json()["id"], r.get_json()["business_key"]

    def tasks(self, iid: int) -> dict:
        return {t["bpmn_id"]: t for t in self.staff["admin"].get(f"/api/tasks?instance_id={iid}").get_json()}

    def complete(self, iid: int, bpmn_id: str, who: str, data: dict) -> None:
        mine = {t["bpmn_id"]: t for t in self.staff[who].get(f"/api/tasks?instance_id={iid}").get_json()}
        assert bpmn_id in mine, (bpmn_id, list(self.tasks(iid)))
        r = self.staff[who].post(f"/api/tasks/{mine[bpmn_id]['id']}/complete", {"data": data})
        assert r.status_code == 200, r.get_json()
        self.run_worker()

    def status(self, iid: int) -> str:
        return self.staff["admin"].get(f"/api/process-instances/{iid}").get_json()["status"]

    def record(self, number: str) -> FollowUp:
        db.session.rollback()
        return db.session.scalar(select(FollowUp).where(FollowUp.number == number))

    def next_of(self, number: str) -> tuple[int, str]:
        """The follow-up instance that `number` started."""
        db.session.rollback()
        found = [
            i for i in db.session.scalars(select(Instance).where(Instance.process_key == "customer_followup"))
            if (i.data or {}).get("source_case_no") == number
        ]
        assert len(found) == 1, found
        return found[0].id, found[0].business_key

    def verified(self, iid: int) -> None:
        v = self.staff["auditor"].get(f"/api/process-instances/{iid}/verify").get_json()
        assert v["verified"] is True, (iid, v)


def escalations(case_number: str) -> list[str]:
    db.session.rollback()
    return [e.reason for e in db.session.scalars(select(Escalation).where(Escalation.case_number == case_number))]


def test_after_handover_file_first_and_second_call(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    iid, number = fu.start(customer_name="周杰", customer_phone="137 0000 1111", kind="after_handover",
                           source_process="repair_dispatch", source_case_no="WX-20260302-0001")
    row = fu.record(number)
    # first follow-up: 3 days to 1 week after handover; customer file within 2 days
    assert (row.stage, row.window_opens_at, row.call_due_at) == ("first", START + timedelta(days=3), START + timedelta(days=7))
    file = db.session.scalar(select(CustomerFile).where(CustomerFile.customer_id == row.customer_id))
    assert file.due_at == START + timedelta(days=2) and file.completed_at is None
    tasks = fu.tasks(iid)
    assert list(tasks) == ["build_file"] and tasks["build_file"]["due_at"].startswith("2026-03-04T01:00")

    manual_clock.advance(hours=20)
    fu.complete(iid, "build_file", "clerk", FILE)
    db.session.rollback()
    file = db.session.get(CustomerFile, file.id)
    assert file.completed_at == START + timedelta(hours=20) and file.customer.address == FILE["address"]
    assert fu.tasks(iid) == {}  # waiting for the call window

    manual_clock.set(START + timedelta(days=3) + MINUTE)
    run_worker()
    tasks = fu.tasks(iid)
    assert list(tasks) == ["make_call"] and tasks["make_call"]["due_at"].startswith("2026-03-09T01:00")
    manual_clock.advance(hours=2)
    fu.complete(iid, "make_call", "clerk", CALL)
    assert fu.status(iid) == "completed"
    first_call_at = START + timedelta(days=3, hours=2) + MINUTE
    row = fu.record(number)
    assert row.status == "done" and row.called_at == first_call_at and row.on_time is True

    # the second follow-up is its own instance: within 7 days after the following week
    iid2, number2 = fu.next_of(number)
    row2 = fu.record(number2)
    assert (row2.stage, row2.reference_at) == ("second", first_call_at)
    assert (row2.window_opens_at, row2.call_due_at) == (first_call_at + timedelta(days=7), first_call_at + timedelta(days=14))
    assert fu.tasks(iid2) == {}  # the customer already has a file: no build_file
    manual_clock.set(first_call_at + timedelta(days=7) + MINUTE)
    run_worker()
    fu.complete(iid2, "make_call", "clerk", {**CALL, "summary": "第二次回访，一切正常。"})
    assert fu.status(iid2) == "completed"
    db.session.rollback()
    # a normal customer gets no periodic revisit
    assert db.session.scalars(select(FollowUp).where(FollowUp.source_case_no == number2)).all() == []
    calls = db.session.scalars(select(FollowUpCall).where(FollowUpCall.customer_id == row.customer_id)).all()
    assert [(c.on_time, c.reached) for c in calls] == [(True, True), (True, True)]
    logs = db.session.scalars(select(ContactLog).where(ContactLog.customer_id == row.customer_id).order_by(ContactLog.id)).all()
    assert [log.kind for log in logs] == ["followup_first", "followup_second"]
    assert escalations(number) == [] and escalations(number2) == []
    fu.verified(iid), fu.verified(iid2)


def test_missed_file_and_call_deadlines_escalate_dealer_counts_working_days(staff, run_worker, manual_clock):
    friday = utc(2026, 3, 6, 1, 0)  # Friday 09:00 China time
    manual_clock.set(friday)
    fu = Followups(staff, run_worker)
    iid, number = fu.start(customer_name="吴敏", customer_phone="136 0000 2222", kind="after_handover", dealer=True)
    row = fu.record(number)
    # dealer: within 3 working days of handover (Mon, Tue, Wed), the window opens at once
    assert (row.window_opens_at, row.call_due_at) == (friday, utc(2026, 3, 11, 1, 0))

    manual_clock.set(friday + timedelta(days=2) + MINUTE)  # the customer file's 2 days ran out
    run_worker()
    assert escalations(number) == ["customer_file_2d"]
    assert sorted(fu.tasks(iid)) == ["build_file", "supervise_file"]
    assert fu.tasks(iid)["supervise_file"]["lane"] == "after_sales_manager"
    fu.complete(iid, "supervise_file", "manager", {"supervision_note": "今天内补建档案"})
    fu.complete(iid, "build_file", "clerk", FILE)
    db.session.rollback()
    file = db.session.scalar(select(CustomerFile).where(CustomerFile.customer_id == row.customer_id))
    assert file.escalated_at == friday + timedelta(days=2) + MINUTE and file.completed_at > file.due_at
    assert list(fu.tasks(iid)) == ["make_call"]  # the window is already open

    manual_clock.set(utc(2026, 3, 11, 1, 1))  # the call is overdue
    run_worker()
    assert escalations(number) == ["customer_file_2d", "call_overdue"]
    assert sorted(fu.tasks(iid)) == ["make_call", "supervise_call"]
    fu.complete(iid, "supervise_call", "manager", {"supervision_note": "请立即回访"})
    fu.complete(iid, "make_call", "clerk", CALL)
    row = fu.record(number)
    assert row.on_time is False and row.escalated_at == utc(2026, 3, 11, 1, 1)
    call = db.session.scalar(select(FollowUpCall).where(FollowUpCall.followup_id == row.id))
    assert call.on_time is False
    assert fu.status(iid) == "completed"
    iid2, _ = fu.next_of(number)
    fu.verified(iid), fu.verified(iid2)


def _repair_call_with_request(fu, manual_clock, name, phone, tier="normal"):
    iid, number = fu.start(customer_name=name, customer_phone=phone, kind="after_repair", customer_tier=tier,
                           source_process="repair_dispatch", source_case_no="WX-X")
    row = fu.record(number)
    assert (row.stage, row.window_opens_at, row.call_due_at) == ("single", START, START + timedelta(days=3))
    fu.complete(iid, "build_file", "clerk", {**FILE, "customer_tier": tier})
    assert list(fu.tasks(iid)) == ["make_call"]  # within 3 days of receiving the repaired unit: open at once
    fu.complete(iid, "make_call", "clerk", {**CALL, "customer_request": "希望提供上门保养服务", "request_answered": False})
    request = db.session.scalar(select(FollowUpRequest).where(FollowUpRequest.followup_id == row.id))
    assert request.status == "open" and request.report_due_at == START + timedelta(days=2)
    tasks = fu.tasks(iid)
    assert list(tasks) == ["study_request"] and tasks["study_request"]["due_at"].startswith("2026-03-04T01:00")
    return iid, number, request.id


def test_requests_raised_in_a_call_resolved_reported_or_reported_late(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)

    # a) the clerk finds the answer and tells the customer the same day
    iid, number, req = _repair_call_with_request(fu, manual_clock, "郑爽", "135 0000 0001")
    fu.complete(iid, "study_request", "clerk", {"resolved": True, "answer": "可预约周六上门保养"})
    fu.complete(iid, "inform_customer", "clerk", {"answer_given": "已为您预约周六上门保养", "customer_accepts": True})
    request = db.session.get(FollowUpRequest, req)
    assert (request.status, request.reported_at, request.answer) == ("answered", None, "已为您预约周六上门保养")
    assert escalations(number) == [] and fu.status(iid) == "completed"
    fu.verified(iid)

    # b) not solvable: reported to the supervisor within the 2 days, who decides
    iid, number, req = _repair_call_with_request(fu, manual_clock, "王磊", "135 0000 0002")
    manual_clock.advance(hours=30)
    fu.complete(iid, "study_request", "clerk", {"resolved": False, "answer": "本地无上门服务网点"})
    request = db.session.get(FollowUpRequest, req)
    assert request.reported_at == START + timedelta(hours=30) and request.reported_late is False
    assert escalations(number) == ["request_unresolved"]
    assert list(fu.tasks(iid)) == ["supervisor_decide"]
    fu.complete(iid, "supervisor_decide", "manager", {"resolution": "由杭州网点派员上门"})
    fu.complete(iid, "inform_customer", "clerk", {"answer_given": "杭州网点将派员上门", "customer_accepts": True})
    db.session.rollback()
    assert db.session.get(FollowUpRequest, req).answered_at == START + timedelta(hours=30)
    assert fu.status(iid) == "completed"
    fu.verified(iid)

    # c) nobody reported it within 2 days: the timer reports it (late); an important customer
    #    then gets the first periodic revisit six months on
    manual_clock.set(START)
    iid, number, req = _repair_call_with_request(fu, manual_clock, "陈静", "135 0000 0003", tier="important")
    manual_clock.set(START + timedelta(days=2) + MINUTE)
    run_worker()
    request = db.session.get(FollowUpRequest, req)
    assert request.reported_late is True and request.status == "reported"
    assert escalations(number) == ["request_2d"]
    assert list(fu.tasks(iid)) == ["supervisor_decide"]  # the study task was interrupted
    fu.complete(iid, "supervisor_decide", "manager", {"resolution": "总部技术支持电话指导"})
    fu.complete(iid, "inform_customer", "clerk", {"answer_given": "总部将电话指导", "customer_accepts": True})
    assert fu.status(iid) == "completed"
    iid2, number2 = fu.next_of(number)
    revisit = fu.record(number2)
    assert (revisit.kind, revisit.cycle, revisit.due_date) == ("periodic_revisit", 1, date(2026, 9, 4))
    fu.verified(iid), fu.verified(iid2)


def test_maintenance_reminder_two_weeks_ahead_and_again_just_before(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    r = staff["clerk"].post("/api/process-instances", {"process_key": "customer_followup", "data": {
        "customer_name": "赵云", "customer_phone": "133 0000 3333", "kind": "maintenance_reminder"}})
    assert r.status_code == 422 and "due_date" in r.get_json()["errors"]  # a reminder needs its due date

    iid, number = fu.start(customer_name="赵云", customer_phone="133 0000 3333", kind="maintenance_reminder",
                           due_date="2026-04-15", source_process="repair_dispatch", source_case_no="WX-9")
    row = fu.record(number)
    assert (row.window_opens_at, row.call_due_at) == (utc(2026, 4, 1, 1, 0), utc(2026, 4, 2, 1, 0))  # 2 weeks before
    fu.complete(iid, "build_file", "clerk", FILE)
    manual_clock.set(utc(2026, 4, 1, 1, 1))
    run_worker()
    fu.complete(iid, "make_call", "clerk", {**CALL, "summary": "提醒 4 月 15 日保养"})
    iid2, number2 = fu.next_of(number)
    final = fu.record(number2)
    assert (final.stage, final.window_opens_at, final.call_due_at) == ("final", utc(2026, 4, 13, 1, 0), utc(2026, 4, 15, 1, 0))
    manual_clock.set(utc(2026, 4, 13, 1, 1))
    run_worker()
    fu.complete(iid2, "make_call", "clerk", {**CALL, "summary": "再次确认 4 月 15 日保养"})
    assert fu.status(iid) == fu.status(iid2) == "completed"
    db.session.rollback()
    assert db.session.scalars(select(FollowUp).where(FollowUp.source_case_no == number2)).all() == []
    fu.verified(iid), fu.verified(iid2)


def test_periodic_revisits_run_cycle_after_cycle_as_new_instances(staff, run_worker, manual_clock):
    fu = Followups(staff, run_worker)
    iid, number = fu.start(customer_name="孙丽", customer_phone="131 0000 4444", kind="periodic_revisit",
                           customer_tier="important", due_date="2026-03-10")
    fu.complete(iid, "build_file", "clerk", {**FILE, "customer_tier": "important"})
    customer_id = fu.record(number).customer_id
    expected = [date(2026, 3, 10), date(2026, 9, 10), date(2027, 3, 10), date(2028, 3, 10)]
    instances = []
    for cycle, due in enumerate(expected, start=1):
        row = fu.record(number)
        assert (row.kind, row.cycle, row.due_date) == ("periodic_revisit", cycle, due)
        assert row.window_opens_at == datetime(due.year, due.month, due.day, 1, 0, tzinfo=UTC)  # 09:00 China time
        assert fu.tasks(iid) == {}
        manual_clock.set(row.window_opens_at + MINUTE)
        run_worker()
        # sales reclassify the customer: long-term (yearly) from cycle 3, then normal (the chain ends)
        if cycle in (3, 4):
            db.session.scalar(select(CustomerFile).where(CustomerFile.customer_id == customer_id)).tier = (
                "long_term" if cycle == 3 else "normal"
            )
            db.session.commit()
        channel = "visit" if cycle == 2 else "phone"  # revisits by phone, letter, e-mail or visit
        fu.complete(iid, "make_call", "clerk", {**CALL, "channel": channel, "summary": f"第 {cycle} 次定期回访"})
        assert fu.status(iid) == "completed"
        instances.append(iid)
        if cycle < 4:
            iid, number = fu.next_of(number)
    db.session.rollback()
    assert db.session.scalars(select(FollowUp).where(FollowUp.source_case_no == number)).all() == []
    rows = db.session.scalars(select(FollowUp).where(FollowUp.customer_id == customer_id).order_by(FollowUp.id)).all()
    assert [(r.cycle, r.status, r.on_time) for r in rows] == [(n, "done", True) for n in (1, 2, 3, 4)]
    assert len(set(instances)) == 4
    customer = db.session.get(Customer, customer_id)
    logs = db.session.scalars(select(ContactLog).where(ContactLog.customer_id == customer.id).order_by(ContactLog.id)).all()
    assert [log.channel for log in logs] == ["phone", "visit", "phone", "phone"]
    for i in instances:
        fu.verified(i)
