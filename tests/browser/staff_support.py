"""Shared by the staff-page browser tests: the repair and claim procedures deployed on the live
server, people for their lanes, and cases driven up to the task a test looks at."""

from __future__ import annotations

import itertools
from datetime import timedelta

from tests.conftest import FIXTURES, process_files
from tests.fixtures.service_api import STANDINS
from webapp.accounts import create_user
from webapp.engine import clock, definitions, runtime
from webapp.extensions import db
from webapp.models import InboxTask, User
from workers import registry

PEOPLE = {"clerk": ["warranty_clerk"], "advisor": ["service_advisor"], "fieldtech": ["technician"],
          "colleague": ["warranty_clerk"]}
SYSTEM_ROLES = {"admin"}


def prepare(live) -> None:
    """Deploy repair, claim and parts return (stand-ins for follow-up and survey); add people."""
    def work():
        if db.session.scalar(db.select(User).where(User.username == "clerk")) is not None:
            return
        for key in ("repair_dispatch", "warranty_claim", "parts_return"):
            uploads = {p.name: p.read_bytes() for p in process_files(key)}
            definitions.deploy(uploads, actor="owner", now=clock.now(), known_operators=registry.names())
        for bpmn, form in STANDINS.values():
            uploads = {p.name: p.read_bytes() for p in (FIXTURES / bpmn, FIXTURES / form)}
            definitions.deploy(uploads, actor="owner", now=clock.now(), known_operators=registry.names())
        for username, roles in PEOPLE.items():
            create_user(username, f"pw-{username}", roles)
        db.session.commit()

    live.query(work)


def later(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def open_task(instance_id: int, bpmn_id: str) -> str:
    row = db.session.scalar(db.select(InboxTask).where(
        InboxTask.instance_id == instance_id, InboxTask.bpmn_id == bpmn_id, InboxTask.state == "open"))
    assert row is not None, bpmn_id
    return row.id


def drive(live, key: str, data: dict, steps: list[tuple[str, dict]], *, stop_at: str) -> tuple[int, str]:
    """Start a case, complete the given tasks as the system administrator, and return the
    instance id and the id of the open task `stop_at`."""

    def start():
        return runtime.start_instance(key, data, actor="admin", roles=SYSTEM_ROLES).id

    iid = live.query(start)
    live.drain()
    for bpmn_id, values in steps:
        live.query(lambda b=bpmn_id, v=values: runtime.complete_user_task(
            open_task(iid, b), v, actor="admin", roles=SYSTEM_ROLES))
        live.drain()
    return iid, live.query(lambda: open_task(iid, stop_at))


CLAIM = {
    "customer_name": "周敏", "customer_phone": "137 0000 1111", "serial_no": "LSGJA52U0CH000777",
    "product_model": "英朗 1.5L", "delivery_date": "2025-09-01", "delivery_mileage": 10, "current_mileage": 18000,
    "fault_description": "发动机冷却液渗漏", "repair_case_no": "WX-20260301-0009",
    "parts": [{"part_no": "P-100", "name": "水泵", "qty": 1}],
}
ASSESSMENT = {"fault_point": "水泵轴封", "cause": "轴封材料老化导致渗漏", "cause_category": "material", "assessor": "车间主管刘"}

REPAIR = {
    "customer_name": "李强", "customer_phone": "139 1234 5678", "customer_address": "苏州工业园区星湖街 88 号",
    "service_mode": "field", "product_model": "XR-200", "serial_no": "LSVAB2BR5EN000123", "fault_category": "body",
    "repair_type": "warranty",
    "fault_description": "车门异响，关门后无法锁止", "distance_km": 30, "supplier_involved": False,
    "delivery_date": "2025-06-01", "delivery_mileage": 12, "current_mileage": 20000,
}
_VINS = itertools.count(1)
REVIEW = {"handling_plan": "更换门锁总成", "parts_to_bring": "门锁", "review_opinion": "同意"}


def open_ids(live, iid: int) -> list[str]:
    return live.query(lambda: sorted(r.bpmn_id for r in db.session.scalars(
        db.select(InboxTask).where(InboxTask.instance_id == iid, InboxTask.state == "open"))))


def complete(live, iid: int, bpmn_id: str, values: dict) -> None:
    live.query(lambda: runtime.complete_user_task(open_task(iid, bpmn_id), values, actor="admin", roles=SYSTEM_ROLES))
    live.drain()


def repair_until(live, stop_at: str) -> tuple[int, str]:
    """A field repair driven up to `answer_customer` or `on_site_service`."""
    far = stop_at == "answer_customer"  # far: 12 h answer first
    # a VIN of its own: the live database is shared, and a third repair of one fault is a 三包 case
    data = {**REPAIR, "distance_km": 150 if far else REPAIR["distance_km"], "serial_no": f"LSVAB2BR5EN{next(_VINS):06d}"}
    first = "answer_customer" if far else "assign_technician"
    iid, _ = drive(live, "repair_dispatch", data, [("quality_review", REVIEW)], stop_at=first)
    if stop_at == "answer_customer":
        return iid, live.query(lambda: open_task(iid, stop_at))
    if "answer_customer" in open_ids(live, iid):
        complete(live, iid, "answer_customer", {"contact_channel": "phone", "answer_summary": "已电话联系，约定明早上门",
                                                "promised_visit_at": later(hours=20)})
    complete(live, iid, "assign_technician", {"technician": "王工", "departure_note": "公司车辆，携带门锁"})
    complete(live, iid, "arrive_on_site", {"site_contact": "李强", "arrival_note": "客户在场"})
    return iid, live.query(lambda: open_task(iid, "on_site_service"))
