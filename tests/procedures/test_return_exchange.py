"""退换货 (return_exchange): every path through the API with the manual clock.

Policy check (return_policy.dmn), approval authority (return_authority.dmn), approval and
rejection at both levels, return and exchange, and the links to follow-up and survey.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from webapp import accounts
from webapp.extensions import db
from webapp.models import ContactLog, Instance, ReturnRequest, SatisfactionSurvey

ROLES = {
    "agent": ["customer_service"],
    "manager": ["after_sales_manager"],
    "gm": ["general_manager"],
    "clerk": ["followup_clerk"],
    "owner": ["process_owner"],
    "admin": ["admin"],
    "auditor": ["auditor"],
}

REQUEST = {
    "customer_name": "李娜",
    "customer_phone": "139 0000 5678",
    "customer_address": "杭州市西湖区文三路 100 号",
    "product_model": "XR-300",
    "serial_no": "SN-300-0001",
    "product_grade": "first_class",
    "purchase_date": "2026-02-27",  # START is 2026-03-02 (China): 3 days ago
    "amount": 3000,
    "request_kind": "return",
    "reason": "quality_defect",
    "description": "使用三天后无法开机。",
}
FILE = {
    "address": "杭州市西湖区文三路 100 号", "contact_person": "本人", "products": "XR-300", "potential_needs": "",
    "next_call_topic": "询问退款是否到账", "customer_tier": "normal", "prior_year_revenue": 0, "strategic": False,
}
SURVEY = {"overall_score": 5, "timeliness_score": 5, "quality_score": 4, "attitude_score": 5, "problem_category": "none",
          "comments": ""}
VERIFY = {"goods_condition": "used_intact", "problem_confirmed": True, "inspection_notes": "通电检测，主板故障属实。"}


@pytest.fixture
def staff(make_client, monkeypatch):
    # API tokens are what the tests use; a cheap password hash keeps user creation fast
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"rx-{name}", roles) for name, roles in ROLES.items()}
    for key in ("return_exchange", "customer_followup", "satisfaction_survey"):
        r = deploy_files(clients["owner"], process_files(key))
        assert r.status_code == 201, r.get_json()
    return clients


class Case:
    def __init__(self, staff, run_worker, data: dict):
        self.staff, self.run_worker = staff, run_worker
        r = staff["agent"].post("/api/process-instances", {"process_key": "return_exchange", "data": data})
        assert r.status_code == 201, r.get_json()
        self.id, self.number = r.get_json()["id"], r.get_json()["business_key"]
        run_worker()

    def tasks(self) -> dict:
        return {t["bpmn_id"]: t for t in self.staff["admin"].get(f"/api/tasks?instance_id={self.id}").get_json()}

    def complete(self, bpmn_id: str, who: str, data: dict) -> None:
        mine = {t["bpmn_id"]: t for t in self.staff[who].get(f"/api/tasks?instance_id={self.id}").get_json()}
        assert bpmn_id in mine, (bpmn_id, list(mine), list(self.tasks()))
        r = self.staff[who].post(f"/api/tasks/{mine[bpmn_id]['id']}/complete", {"data": data})
        assert r.status_code == 200, r.get_json()
        self.run_worker()

    def instance(self) -> dict:
        return self.staff["admin"].get(f"/api/process-instances/{self.id}").get_json()

    def record(self) -> ReturnRequest:
        db.session.rollback()
        return db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == self.number))

    def children(self, key: str) -> list[Instance]:
        db.session.rollback()
        return [
            i for i in db.session.scalars(select(Instance).where(Instance.process_key == key))
            if (i.data or {}).get("source_case_no") == self.number
        ]

    def assert_verified(self) -> None:
        for iid in [self.id, *[c.id for k in ("customer_followup", "satisfaction_survey") for c in self.children(k)]]:
            v = self.staff["auditor"].get(f"/api/process-instances/{iid}/verify").get_json()
            assert v["verified"] is True, (iid, v)


def test_return_is_approved_by_the_general_manager_refunded_and_surveyed(staff, run_worker):
    """Every return goes to the general manager (or the GM's office meeting, L237): there is no
    department authority. A return starts the satisfaction survey, not the follow-up calls
    (those start at a repair's handover)."""
    case = Case(staff, run_worker, REQUEST)
    rec = case.record()
    assert rec.days_since_purchase == 3 and rec.status == "registered" and rec.received_at == START
    assert rec.customer.address == REQUEST["customer_address"] and rec.product_grade == "first_class"
    assert list(case.tasks()) == ["verify_request"]

    case.complete("verify_request", "agent", VERIFY)
    rec = case.record()
    assert rec.policy_eligible is True and rec.policy_rule == "质量问题，购买后 7 日内可退货"
    assert list(case.tasks()) == ["approve_gm"]
    assert case.tasks()["approve_gm"]["lane"] == "general_manager"
    assert case.instance()["data"]["authority_rule"] == "根据权限范围报总经理办公会或总经理批准"

    case.complete("approve_gm", "gm", {"approved": True, "approval_comment": "同意退货", "approved_by": "office_meeting",
                                       "meeting_minutes_no": "ZB-2026-07"})
    rec = case.record()
    assert rec.approval_level == "office_meeting" and rec.approved is True and rec.status == "approved"
    assert rec.approval_comment.startswith("办公会纪要 ZB-2026-07")
    assert list(case.tasks()) == ["carry_out_return"]

    refund = {"refund_amount": 3000, "refund_method": "original_payment", "disposition": "repair"}
    case.complete("carry_out_return", "agent", refund)
    rec = case.record()
    assert rec.outcome == "returned" and rec.refund_amount == 3000 and rec.returned_goods_disposition == "repair"
    case.complete("notify_result", "agent", {"satisfied": True, "satisfaction_score": 5, "customer_feedback": "处理很快"})

    rec = case.record()
    assert rec.status == "closed" and rec.satisfied is True and rec.satisfaction_score == 5 and rec.closed_at == START
    assert case.instance()["status"] == "completed"
    logs = db.session.scalars(select(ContactLog).where(ContactLog.case_number == case.number)).all()
    assert [log.kind for log in logs] == ["received", "result"]
    followups, surveys = case.children("customer_followup"), case.children("satisfaction_survey")
    assert len(followups) == 0 and len(surveys) == 1

    # the linked survey runs on
    clerk = staff["clerk"]
    for instance, bpmn_id, data in ((surveys[0], "conduct_survey", SURVEY),):
        task = next(t for t in clerk.get(f"/api/tasks?instance_id={instance.id}").get_json() if t["bpmn_id"] == bpmn_id)
        assert clerk.post(f"/api/tasks/{task['id']}/complete", {"data": data}).status_code == 200
        run_worker()
    db.session.rollback()
    survey = db.session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.source_case_no == case.number))
    assert survey.satisfied is True and survey.customer_id == rec.customer_id
    case.assert_verified()


def test_exchange_is_approved_by_the_general_manager_not_the_department(staff, run_worker):
    case = Case(staff, run_worker, {**REQUEST, "request_kind": "exchange", "amount": 12000, "purchase_date": "2026-02-20"})
    case.complete("verify_request", "agent", VERIFY)
    rec = case.record()
    assert rec.days_since_purchase == 10 and rec.policy_rule == "质量问题，购买后 15 日内可换货"
    tasks = case.tasks()
    assert list(tasks) == ["approve_gm"] and tasks["approve_gm"]["lane"] == "general_manager"
    # the after-sales manager may not decide beyond the department's authority
    approve = {"data": {"approved": True, "approval_comment": ""}}
    r = staff["manager"].post(f"/api/tasks/{tasks['approve_gm']['id']}/complete", approve)
    assert r.status_code == 403
    case.complete("approve_gm", "gm", {"approved": True, "approval_comment": "同意换新"})
    assert case.record().approval_level == "general_manager"
    assert list(case.tasks()) == ["carry_out_exchange"]
    case.complete("carry_out_exchange", "agent", {"replacement_serial_no": "SN-300-0999", "disposition": "resale"})
    rec = case.record()
    assert rec.outcome == "exchanged" and rec.replacement_serial_no == "SN-300-0999" and rec.carried_out_at == START
    case.complete("notify_result", "agent", {"satisfied": True, "satisfaction_score": 4, "customer_feedback": ""})
    assert case.record().status == "closed" and case.instance()["status"] == "completed"
    assert case.children("customer_followup") == []
    assert len(case.children("satisfaction_survey")) == 1
    case.assert_verified()


def test_approval_refused_is_told_to_the_customer(staff, run_worker):
    for amount, approver, task in ((2000, "gm", "approve_gm"), (8000, "gm", "approve_gm")):
        case = Case(staff, run_worker, {**REQUEST, "amount": amount})
        case.complete("verify_request", "agent", VERIFY)
        case.complete(task, approver, {"approved": False, "approval_comment": "经检测为使用不当"})
        rec = case.record()
        assert rec.approved is False and rec.status == "rejected" and rec.outcome == "rejected_approval"
        assert list(case.tasks()) == ["notify_rejection"]
        case.complete("notify_rejection", "agent", {"customer_informed": True, "customer_response": "客户表示理解"})
        rec = case.record()
        assert rec.status == "closed" and rec.outcome == "rejected_approval" and rec.customer_feedback == "客户表示理解"
        assert rec.satisfied is None
        assert case.children("customer_followup") == []  # nothing was handed over
        assert len(case.children("satisfaction_survey")) == 1  # every closed case is surveyed
        case.assert_verified()


# Every rule of return_policy.dmn, each reached through the API: (changes, verified condition, eligible, rule)
LATE = "超过退换货时限（退货 7 日、换货 15 日）"
NO_REASON_OK = "购买后 7 日内、未使用且包装完好，可无理由退换"
POLICY_CASES = [
    ({}, "damaged_by_customer", False, "人为损坏的商品不予退换"),
    ({"reason": "no_reason", "product_grade": "clearance"}, "unused_intact", False, "处理品不适用无理由退换"),
    ({"reason": "no_reason", "purchase_date": "2026-02-23"}, "unused_intact", True, NO_REASON_OK),
    ({"reason": "no_reason"}, "used_intact", False, "无理由退换须在购买后 7 日内且商品未使用、包装完好"),
    ({"reason": "wrong_item", "purchase_date": "2026-02-23"}, "unused_intact", True, "质量问题，购买后 7 日内可退货"),
    ({"reason": "transport_damage", "purchase_date": "2026-02-22"}, "used_intact", False, LATE),
    ({"request_kind": "exchange", "purchase_date": "2026-02-15"}, "used_intact", True, "质量问题，购买后 15 日内可换货"),
    ({"request_kind": "exchange", "purchase_date": "2026-02-14"}, "used_intact", False, LATE),
]


def test_policy_conditions_and_time_limits(staff, run_worker):
    for changes, condition, eligible, rule in POLICY_CASES:
        case = Case(staff, run_worker, {**REQUEST, **changes})
        case.complete("verify_request", "agent", {**VERIFY, "goods_condition": condition})
        rec = case.record()
        assert (rec.policy_eligible, rec.policy_rule, rec.goods_condition) == (eligible, rule, condition)
        if eligible:
            assert list(case.tasks()) == ["approve_gm"]
            case.assert_verified()
            continue
        assert rec.status == "rejected" and rec.outcome == "rejected_policy"
        assert list(case.tasks()) == ["notify_rejection"]
        case.complete("notify_rejection", "agent", {"customer_informed": True, "customer_response": ""})
        assert case.record().status == "closed" and case.instance()["status"] == "completed"
        assert len(case.children("satisfaction_survey")) == 1 and case.children("customer_followup") == []
        case.assert_verified()


def test_register_form_is_checked_and_start_needs_customer_service(staff, run_worker):
    bad = {"process_key": "return_exchange", "data": {**REQUEST, "product_grade": "x"}}
    r = staff["agent"].post("/api/process-instances", bad)
    assert r.status_code == 422 and "product_grade" in r.get_json()["errors"]
    r = staff["manager"].post("/api/process-instances", {"process_key": "return_exchange", "data": REQUEST})
    assert r.status_code == 403
