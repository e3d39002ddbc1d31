"""月度安全检查 (safety_inspection): every path through the API with the manual clock.

The checklist with findings, one rectification per finding (multi-instance subprocess) with
its deadline from safety_rectification_deadline.dmn, overdue rectification and overdue
inspection escalated to the manager, and each month's inspection started by the previous one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash as fast_hash

from tests.conftest import START, deploy_files, process_files
from webapp import accounts
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import Escalation, Instance, SafetyInspection, SafetyRectification

ROLES = {
    "manager": ["after_sales_manager"],
    "quality": ["quality_dept"],
    "workshop": ["workshop_supervisor"],
    "owner": ["process_owner"],
    "admin": ["admin"],
    "auditor": ["auditor"],
}
MINUTE = timedelta(minutes=1)
ALL_PASS = {f"{area}_result": "pass" for area in ("electrical", "fire", "equipment", "environment", "warehouse")}
FINDINGS = [
    {"category": "electrical", "location": "维修车间东侧", "description": "配电箱门锁损坏，线路裸露", "severity": "high",
     "responsible": "电工班"},
    {"category": "fire", "location": "配件仓库", "description": "两具灭火器压力不足", "severity": "medium",
     "responsible": "仓库"},
    {"category": "environment", "location": "洗车区", "description": "地面油污未清理", "severity": "low", "responsible": "二班"},
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def staff(make_client, monkeypatch):
    monkeypatch.setattr(accounts, "generate_password_hash", lambda pw, method=None: fast_hash(pw, method="pbkdf2:sha256:1"))
    clients = {name: make_client(f"aq-{name}", roles) for name, roles in ROLES.items()}
    r = deploy_files(clients["owner"], process_files("safety_inspection"))
    assert r.status_code == 201, r.get_json()
    return clients


class Inspections:
    def __init__(self, staff, run_worker):
        self.staff, self.run_worker = staff, run_worker

    def start(self, **data) -> tuple[int, str]:
        r = self.staff["manager"].post("/api/process-instances", {"process_key": "safety_inspection", "data": data})
        assert r.status_code == 201, r.get_json()
        self.run_worker()
        return r.get_json()["id"], r.get_json()["business_key"]

    def tasks(self, iid: int) -> list[dict]:
        return self.staff["admin"].get(f"/api/tasks?instance_id={iid}").get_json()

    def names(self, iid: int) -> list[str]:
        return sorted(t["bpmn_id"] for t in self.tasks(iid))

    def complete_task(self, task: dict, who: str, data: dict):
        r = self.staff[who].post(f"/api/tasks/{task['id']}/complete", {"data": data})
        self.run_worker()
        return r

    def complete(self, iid: int, bpmn_id: str, who: str, data: dict) -> None:
        task = next(t for t in self.tasks(iid) if t["bpmn_id"] == bpmn_id)
        r = self.complete_task(task, who, data)
        assert r.status_code == 200, r.get_json()

    def record(self, period: str) -> SafetyInspection:
        db.session.rollback()
        return db.session.scalar(select(SafetyInspection).where(SafetyInspection.period == period))

    def instance_of(self, period: str) -> int:
        return self.record(period).instance_id

    def status(self, iid: int) -> str:
        return self.staff["admin"].get(f"/api/process-instances/{iid}").get_json()["status"]

    def rectify_tasks(self, iid: int) -> dict[str, dict]:
        """severity -> open rectify task (the inbox row does not say which finding it is for,
        so the test reads the task's own data from the workflow)."""
        db.session.rollback()
        workflow = runtime.load_workflow(db.session.get(Instance, iid))
        out = {}
        for task in self.tasks(iid):
            if task["bpmn_id"] == "rectify":
                out[workflow.get_task_from_id(UUID(task["id"])).data["rect"]["severity"]] = task
        return out

    def verified(self, iid: int) -> None:
        v = self.staff["auditor"].get(f"/api/process-instances/{iid}/verify").get_json()
        assert v["verified"] is True, (iid, v)


def escalations() -> list[tuple[str, str]]:
    db.session.rollback()
    return [(e.case_number, e.reason) for e in db.session.scalars(select(Escalation).order_by(Escalation.id))]


def rectifications(inspection: SafetyInspection) -> dict[str, SafetyRectification]:
    return {f.severity: f.rectification for f in inspection.findings}


def test_monthly_inspection_findings_rectified_next_months_chained(staff, run_worker, manual_clock):
    aq = Inspections(staff, run_worker)
    march_iid, march_no = aq.start()  # the first one, started by the manager; the month has begun
    march = aq.record("2026-03")
    assert march.number == march_no and march.scheduled_at == utc(2026, 3, 1, 1, 0)
    assert march.due_at == utc(2026, 3, 31, 16, 0)  # end of March, China time
    tasks = aq.tasks(march_iid)
    assert [t["bpmn_id"] for t in tasks] == ["conduct_inspection"] and tasks[0]["lane"] == "quality_dept"
    assert tasks[0]["due_at"].startswith("2026-03-31T16:00")

    # a failed area without a finding of that area is refused by the checklist form
    bad = {**ALL_PASS, "inspector": "质量部 王工", "electrical_result": "fail", "findings": FINDINGS[1:], "notes": ""}
    assert aq.complete_task(tasks[0], "quality", bad).status_code == 422
    checklist = {**ALL_PASS, "inspector": "质量部 王工", "electrical_result": "fail", "fire_result": "fail",
                 "findings": FINDINGS, "notes": "其余正常"}
    aq.complete(march_iid, "conduct_inspection", "quality", checklist)
    march = aq.record("2026-03")
    assert (march.status, march.on_time, march.inspected_at, march.electrical_result) == ("rectifying", True, START, "fail")
    rects = rectifications(march)
    # deadlines by severity: high 1 day, medium 3 days, low 7 days
    assert {s: (r.deadline_days, r.due_at) for s, r in rects.items()} == {
        "high": (1, START + timedelta(days=1)), "medium": (3, START + timedelta(days=3)), "low": (7, START + timedelta(days=7)),
    }
    assert rects["high"].number == f"{march_no}-01"

    # next month's inspection is already its own instance, waiting for April 1st 09:00
    april = aq.record("2026-04")
    assert (april.scheduled_at, april.due_at) == (utc(2026, 4, 1, 1, 0), utc(2026, 4, 30, 16, 0))
    april_iid = april.instance_id
    assert aq.status(april_iid) == "running" and aq.tasks(april_iid) == []

    by_severity = aq.rectify_tasks(march_iid)
    assert sorted(by_severity) == ["high", "low", "medium"]
    assert {t["lane"] for t in by_severity.values()} == {"workshop_supervisor"}
    manual_clock.advance(hours=5)
    aq.complete_task(by_severity["high"], "workshop", {"action_taken": "更换门锁，包扎线路", "rectified_by": "电工 李强"})
    manual_clock.set(START + timedelta(days=3) + MINUTE)  # the medium one is now overdue
    run_worker()
    assert escalations() == [(rects["medium"].number, "rectification_overdue")]
    assert "supervise_rectification" in aq.names(march_iid)
    aq.complete(march_iid, "supervise_rectification", "manager", {"supervision_note": "今天必须更换灭火器"})
    by_severity = aq.rectify_tasks(march_iid)
    assert sorted(by_severity) == ["low", "medium"]
    aq.complete_task(by_severity["medium"], "workshop", {"action_taken": "更换两具灭火器", "rectified_by": "仓库 赵明"})
    aq.complete_task(by_severity["low"], "workshop", {"action_taken": "清理油污", "rectified_by": "二班"})
    rects = rectifications(aq.record("2026-03"))
    assert {s: (r.status, r.on_time) for s, r in rects.items()} == {
        "high": ("done", True), "medium": ("done", False), "low": ("done", True),
    }
    assert rects["medium"].escalated_at == START + timedelta(days=3) + MINUTE
    assert aq.names(march_iid) == ["accept_rectifications"]
    aq.complete(march_iid, "accept_rectifications", "manager", {"accepted": True, "acceptance_comment": "全部整改到位"})
    march = aq.record("2026-03")
    assert march.status == "closed" and march.acceptance_comment == "全部整改到位" and aq.status(march_iid) == "completed"

    # April: the timer opens the inspection on the 1st; nobody does it before the month ends
    manual_clock.set(utc(2026, 4, 1, 1, 1))
    run_worker()
    assert aq.names(april_iid) == ["conduct_inspection"]
    manual_clock.set(utc(2026, 4, 30, 16, 1))
    run_worker()
    assert escalations()[-1] == (april.number, "inspection_overdue")
    assert aq.names(april_iid) == ["conduct_inspection", "supervise_inspection"]
    aq.complete(april_iid, "supervise_inspection", "manager", {"supervision_note": "立即补做四月检查"})
    aq.complete(april_iid, "conduct_inspection", "quality", {**ALL_PASS, "inspector": "质量部 王工", "findings": [], "notes": ""})
    april = aq.record("2026-04")
    assert (april.status, april.on_time, april.findings) == ("closed", False, [])
    assert aq.status(april_iid) == "completed"
    may = aq.record("2026-05")
    assert may.scheduled_at == utc(2026, 5, 1, 1, 0) and aq.status(may.instance_id) == "running"
    for iid in (march_iid, april_iid, may.instance_id):
        aq.verified(iid)


def test_next_month_already_planned_is_not_planned_twice(staff, run_worker):
    aq = Inspections(staff, run_worker)
    march_iid, _ = aq.start(period="2026-03")
    april_iid, _ = aq.start(period="2026-04")  # planned ahead by the manager
    aq.complete(march_iid, "conduct_inspection", "quality", {**ALL_PASS, "inspector": "王工", "findings": [], "notes": ""})
    assert aq.status(march_iid) == "completed" and aq.record("2026-03").status == "closed"
    db.session.rollback()
    assert db.session.scalars(select(SafetyInspection.period).order_by(SafetyInspection.period)).all() == ["2026-03", "2026-04"]
    assert aq.instance_of("2026-04") == april_iid
    assert len(db.session.scalars(select(Instance).where(Instance.process_key == "safety_inspection")).all()) == 2
    r = staff["manager"].post("/api/process-instances", {"process_key": "safety_inspection", "data": {"period": "2026-13"}})
    assert r.status_code == 422
    aq.verified(march_iid), aq.verified(april_iid)


def test_make_run_deploy_includes_the_quality_procedures(app):
    """`make run` deploys with `flask deploy-processes`: the four procedures are among them."""
    from webapp.models import Definition

    result = app.test_cli_runner().invoke(args=["deploy-processes"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    keys = set(db.session.scalars(select(Definition.key)))
    assert {"return_exchange", "customer_followup", "satisfaction_survey", "safety_inspection"} <= keys
