"""Issue 14, the workshop floor in repair_dispatch: 待料 (waiting for parts) as its own state
with a due date watched by a timer, the parts issued on a signed requisition 领料单, and repair
accidents 维修事故 reported with the people told. Through the API with the controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import FIXTURES, deploy_files, process_files
from tests.fixtures.service_api import Service, fast_passwords
from tests.procedures.test_repair_dispatch import PARTS, handover, inspect, intake, order_of, work_order
from webapp.models import ContactLog, Definition, Escalation, PartsWait, RepairAccident, StockMove

PUMP = [{"part_no": "P-100", "name": "水泵", "qty": 1}]


@pytest.fixture
def sv(repair_service):
    return repair_service


def until_workshop(sv: Service, serial: str = "LSVAB2BR5EN000123") -> int:
    iid = sv.start("repair_dispatch", intake(mode="workshop", serial_no=serial), as_="advisor")
    sv.run()
    sv.complete(iid, "write_work_order", work_order(sv))
    sv.complete(iid, "dispatch_team", {"team": "机修二组", "technician": "赵师傅"})
    return iid


def wait_for_parts(sv: Service, iid: int, due_hours: float) -> None:
    sv.complete(iid, "workshop_repair", {"work_done": "拆检：水泵漏水，缺件", "parts_used": [], "added_items": [],
                                         "waiting_for_parts": True, "awaited_parts": PUMP,
                                         "parts_due_at": sv.later(hours=due_hours)})


def finish(sv: Service, iid: int) -> None:
    sv.complete(iid, "workshop_repair", {"work_done": "更换水泵", "parts_used": [], "added_items": []})
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, iid, step, True)
    handover(sv, iid)


def test_waiting_for_parts_is_its_own_state_overdue_reminds_and_parts_come_on_a_signed_requisition(sv):
    iid = until_workshop(sv)
    wait_for_parts(sv, iid, due_hours=24)
    order = order_of(sv, iid)
    wait = sv.one(PartsWait, order_number=order.number)
    assert order.status == "waiting_parts" and wait.status == "waiting" and wait.team == "机修二组"
    assert wait.due_at == wait.requested_at + timedelta(hours=24) and wait.parts == PUMP
    assert sv.open_ids(iid) == ["deliver_parts"]
    task = sv.task(iid, "deliver_parts")
    assert task["lane"] == "parts_keeper" and sv.data(iid)["parts_wait"]["parts_text"] == "水泵×1"  # in the instructions

    sv.advance(hours=23)
    assert sv.all(Escalation, case_number=order.number, reason="parts_overdue") == []
    sv.advance(hours=2)  # the promised delivery has passed: the parts manager and the manager are reminded
    reminded = sv.all(Escalation, case_number=order.number, reason="parts_overdue")
    assert sorted(e.to_role for e in reminded) == ["after_sales_manager", "parts_keeper"]
    assert "deliver_parts" in sv.open_ids(iid)  # the reminder does not stop the wait

    result = sv.complete(iid, "deliver_parts", {"issue_requisition_no": "LL-2001", "issued_by": "孙库管"}, expect=422)
    assert "issue_signed_by" in str(result)
    sv.complete(iid, "deliver_parts", {"issue_requisition_no": "LL-2001", "issue_signed_by": "赵师傅",
                                       "issued_by": "孙库管"})
    wait = sv.one(PartsWait, order_number=order.number)
    assert (wait.status, wait.on_time, wait.requisition_no, wait.requisition_signed_by, wait.issued_by) == (
        "delivered", False, "LL-2001", "赵师傅", "孙库管")
    order = order_of(sv, iid)
    assert order.status == "open" and order.requisition_signed_by == "赵师傅"
    assert [(m.part_no, m.qty) for m in sv.all(StockMove, ref=order.number, kind="repair_issue")] == [("P-100", -1)]
    # back to the work, not waiting again; the promised finish time (6 h) passed while 待料: the delay
    assert sv.open_ids(iid) == ["approve_delay", "workshop_repair"]
    sv.complete(iid, "approve_delay", {"new_finish_at": sv.later(hours=8), "delay_reason": "待料：水泵晚到一天",
                                       "customer_told_via": "phone"})
    finish(sv, iid)
    assert sv.status(iid) == "completed" and order_of(sv, iid).status == "closed"


def test_parts_delivered_by_their_due_date_are_on_time_and_remind_nobody(sv):
    iid = until_workshop(sv)
    wait_for_parts(sv, iid, due_hours=48)
    sv.advance(hours=30)
    sv.complete(iid, "deliver_parts", {"issue_requisition_no": "LL-2002", "issue_signed_by": "赵师傅", "issued_by": "孙库管"})
    number = order_of(sv, iid).number
    assert sv.one(PartsWait, order_number=number).on_time is True
    sv.advance(hours=30)  # past the old due date: the timer went with the finished wait
    assert sv.all(Escalation, case_number=number, reason="parts_overdue") == []
    finish(sv, iid)


def test_waiting_for_parts_needs_the_parts_and_their_due_date(sv):
    iid = until_workshop(sv)
    result = sv.complete(iid, "workshop_repair", {"work_done": "拆检", "parts_used": [], "added_items": [],
                                                  "waiting_for_parts": True, "awaited_parts": []}, expect=422)
    assert "awaited_parts" in str(result) or "parts_due_at" in str(result)
    assert sv.open_ids(iid) == ["workshop_repair"] and sv.all(PartsWait) == []


def test_a_repair_accident_is_reported_the_supervisor_and_manager_told_and_reviewed(sv):
    iid = until_workshop(sv)
    sv.advance(hours=1)
    sv.complete(iid, "workshop_repair", {"work_done": "更换门锁电机", "parts_used": PARTS[:1], "added_items": [],
                                         "requisition_no": "LL-0003", "requisition_signed_by": "赵师傅",
                                         "accident_occurred": True, "accident_at": sv.later(minutes=-30),
                                         "accident_description": "举升时左前翼子板刮伤"})
    number = order_of(sv, iid).number
    accident = sv.one(RepairAccident, order_number=number)
    assert (accident.description, accident.reported_by, accident.notified_roles) == (
        "举升时左前翼子板刮伤", "赵师傅", ["workshop_supervisor", "after_sales_manager"])
    assert accident.reported_at - accident.occurred_at == timedelta(minutes=30)
    told = sv.all(Escalation, case_number=number, reason="repair_accident")
    assert sorted(e.to_role for e in told) == ["after_sales_manager", "workshop_supervisor"]
    assert sv.open_ids(iid) == ["review_accident"] and sv.task(iid, "review_accident")["lane"] == "workshop_supervisor"
    sv.complete(iid, "review_accident", {"cause": "未按规定二次举升", "responsible": "赵师傅", "damage_amount": 600,
                                         "customer_informed": True, "handling": "免费钣金喷漆", "reporting": "on_time"})
    accident = sv.one(RepairAccident, order_number=number)
    assert (accident.responsible, accident.damage_amount, accident.reporting) == ("赵师傅", 600, "on_time")
    assert sv.one(ContactLog, case_number=number, kind="accident_notice").summary.startswith("维修事故")
    assert sv.open_ids(iid) == ["self_check"]  # the work recorded, on to the inspection
    assert order_of(sv, iid).requisition_no == "LL-0003"
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, iid, step, True)
    handover(sv, iid)



def old_repair_files() -> list:
    """repair_dispatch as it was before 待料 and accidents (tests/fixtures/workshop_v0: the
    diagram and its workshop form); every other form as it is."""
    old = FIXTURES / "workshop_v0"
    current = process_files("repair_dispatch")
    text = (old / "repair_dispatch.bpmn").read_text(encoding="utf-8")
    return [old / "repair_dispatch.bpmn",
            *((old / f.name) if (old / f.name).exists() else f for f in current[1:] if f'"{f.name}"' in text
              or f.suffix == ".dmn")]


def test_a_repair_begun_on_the_version_before_the_workshop_steps_finishes_on_it(make_client, run_worker,
                                                                                manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    sv = Service(make_client, run_worker, manual_clock)
    assert deploy_files(sv.clients["owner"], old_repair_files()).status_code == 201
    for key in ("warranty_claim", "parts_return"):
        sv.deploy(key)
    for key in ("customer_followup", "satisfaction_survey"):
        sv.deploy(key, standin_ok=True)
    old = until_workshop(sv)
    old_two = until_workshop(sv, "VIN-OLD-2")
    moving = sv.start("repair_dispatch", intake(mode="workshop", serial_no="VIN-MOVE"), as_="advisor")
    sv.run()
    assert sv.open_ids(moving) == ["write_work_order"]
    assert sv.deploy("repair_dispatch")["version"] == 2
    new = until_workshop(sv, "VIN-NEW")
    assert (sv.instance(old)["definition_version"], sv.instance(new)["definition_version"]) == (1, 2)
    # the old instance has no 待料 step: its work is recorded as before and it closes on version 1
    sv.complete(old, "workshop_repair", {"work_done": "更换水泵", "parts_used": PUMP, "added_items": [],
                                         "requisition_no": "LL-0009", "requisition_signed_by": "赵师傅"})
    assert sv.open_ids(old) == ["self_check"]
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, old, step, True)
    handover(sv, old)
    assert sv.status(old) == "completed" and sv.all(PartsWait) == []
    wait_for_parts(sv, new, due_hours=24)  # version 2 has it
    assert sv.open_ids(new) == ["deliver_parts"]
    # a case still before the workshop steps (at the work order) moves to version 2 and can wait for parts
    target = sv.one(Definition, key="repair_dispatch", version=2).id
    response = sv.clients["owner"].post(f"/processes/api/instances/{moving}/migrate", {"target": target})
    assert response.status_code == 200 and response.get_json()["migrated"] is True, response.get_json()
    sv.complete(moving, "write_work_order", work_order(sv))
    sv.complete(moving, "dispatch_team", {"team": "机修一组", "technician": "钱师傅"})
    wait_for_parts(sv, moving, due_hours=24)
    assert sv.instance(moving)["definition_version"] == 2 and sv.open_ids(moving) == ["deliver_parts"]
    # one that has already been dispatched is refused the move, with the step that changed
    response = sv.clients["owner"].post(f"/processes/api/instances/{old_two}/migrate", {"target": target})
    assert response.status_code == 409 and "record_dispatch" in str(response.get_json()), response.get_json()
    sv.verify_all()


def test_the_day_one_fields_of_intake_and_work_order_lines_are_recorded(sv):
    """Intake: 车牌号, 进厂里程 (required), 送修人 and phone, 维修类型, fuel level, body condition,
    旧件是否带走; each work-order line: labour operation code, hours, unit price, pay type."""
    iid = sv.start("repair_dispatch", intake(mode="workshop", plate_no="苏e·a1234", sender_name="李强之子",
                                             sender_phone="138 0000 0001", fuel_level="quarter",
                                             body_condition="右后门凹陷", old_parts_take_away=True,
                                             repair_type="general", current_mileage=23456), as_="advisor")
    sv.run()
    order = order_of(sv, iid)
    assert (order.plate_no, order.sender_name, order.sender_phone, order.fuel_level, order.body_condition,
            order.old_parts_take_away, order.repair_type, order.mileage_in) == (
        "苏E·A1234", "李强之子", "138 0000 0001", "quarter", "右后门凹陷", True, "general", 23456)
    line = {"operation_code": "BJ-07", "item": "钣金修复右后门", "hours": 2.5, "unit_price": 160, "amount": 400,
            "repair_type": "general", "pay_type": "customer"}
    sv.complete(iid, "write_work_order", work_order(sv, [line]))
    (written,) = order_of(sv, iid).repair_items
    assert {k: written[k] for k in ("operation_code", "hours", "unit_price", "amount", "pay_type")} == {
        "operation_code": "BJ-07", "hours": 2.5, "unit_price": 160, "amount": 400, "pay_type": "customer"}
    # a fuel level outside the list is refused with the field named
    response = sv.clients["advisor"].post("/api/process-instances", {"process_key": "repair_dispatch",
                                                                     "data": intake(mode="workshop", fuel_level="2/3")})
    assert response.status_code == 422 and "fuel_level" in str(response.get_json())
