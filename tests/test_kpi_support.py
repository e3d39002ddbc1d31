"""A known month of cases, built through the JSON API with the controlled clock, for the KPI
tests (tests/test_kpi_*.py). No tests here: `month_world()` builds it, the modules that use it
wrap it in a module-scoped fixture (built once per module, replay-checked at the end).

The month is March 2026, China time. Every case and its hand-computed outcome:

complaints (客户投诉处理)              reply 24 h   resolve 48 h  resolved   service-caused
  C7  received 02-28 22:00 (February)  -            -             -          (February)
  C1  03-02 09:00, reply +2 h, close +20 h        met      met      yes   service
  C2  03-04 09:00, timer checked at exactly +24 h (does not fire), reply at +24 h, close +47 h
                                                 met      met      yes   sales
  C3  03-07 09:00, timer fires at +24 h 1 s, reply then, close +50 h
                                                 missed   missed   yes   service
  C4  03-10 09:00, customer rejects the first solution (reopened), supervisor decides, close +40 h
                                                 met      met      yes   service
  C5  03-12 09:00, found untrue (投诉属实: 否), close +30 h
                                                 met      met      yes   (service, untrue: not counted)
  C8  03-20 09:00, reply +3 h, never closed      met      missed   no    (open: not decided)
  C9  03-31 20:00, nothing done                  pending  pending  pending
  C6  03-31 23:30, reply 04-01 08:00, close 04-01 12:00 (crosses the month: counts in March)
                                                 met      met      yes   service
  -> March: reply 6/7, resolve 5/7, resolution 6/7, service-caused complaints 4

repair orders (维修服务)               on time
  R1  bench, 10 units (1 day), repaired +20 h           met
  R2  bench, 10 units, repaired +25 h (timer fired)     missed
  R3  workshop, team 机修一组, promised +6 h, notified +5 h   met
  R4  workshop, team 机修二组, promised +6 h, notified +7 h   missed
  R5  field <= 100 km, on-site timer checked at exactly +24 h, arrived at +24 h   met
  R6  field 150 km: answered at +13 h (12 h missed), arrived in time   missed
  R8  paid, the customer declines the estimate          (declined: not a service)
  R7  field, 03-31 14:00, not yet on site (due 04-01 14:00)   pending
  -> March: on time 3/6 (一组 1/1, 二组 0/1), services 7, complaint rate 4/7

surveys answered (满意度调查)           satisfied
  S7 (C7's) 03-02: 5 yes; S1 03-03: 5 yes; S2 03-06: 4 yes (the boundary); S3 03-09: 3 no;
  SR3 (manual, for R3, team 机修一组) 03-20: 2 no       -> March 3/5 (一组 0/1)

parts for service (待料)               on time
  R3 waits for a water pump due +2 h, delivered +1 h   met
  R4 waits for a water pump due +1 h, delivered +2 h   missed  -> March 1/2 (一组 1/1, 二组 0/1)
claim parts returns P1-P4 (索赔件回运) are in the month too: they are not parts for service

Evaluated at 04-01 12:30 China time (EVAL); later at 04-01 20:00:01 (LATER), when C9's reply
and R7's arrival have become overdue: reply 6/8, on time 3/7.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from tests.conftest import ApiClient, app_settings, deploy_files, fresh_database_url, process_files
from webapp import accounts, create_app
from webapp.accounts import create_user, issue_token
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import Customer, Vehicle, WarrantyClaim
from workers.loop import WorkerSettings, drain

ROOT = Path(__file__).resolve().parent.parent
CHINA = timedelta(hours=8)
PROCESSES = ("complaint_handling", "satisfaction_survey", "repair_dispatch", "warranty_claim", "parts_return",
             "customer_followup")
ROLES = {
    "admin": ["admin"],
    "owner": ["process_owner"],
    "manager": ["after_sales_manager"],
    "gm": ["general_manager"],
    "auditor": ["auditor"],
    "agent": ["customer_service"],
    "advisor": ["service_advisor"],
}


def cst(text: str) -> datetime:
    """'2026-03-02 09:00[:ss]' China time -> aware UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return (datetime.strptime(text, fmt) - CHINA).replace(tzinfo=UTC)


BEGIN = cst("2026-02-28 20:00")
EVAL = cst("2026-04-01 12:30")
LATER = cst("2026-04-01 20:00:01")

REGISTER = {"customer_name": "王芳", "customer_phone": "138 0000 1234", "product_model": "XC-200", "serial_no": "SN20260001",
            "channel": "phone", "description": "空调维修后仍然不制冷，已经第二次报修。"}
IN_WARRANTY = {"delivery_date": "2025-06-01", "delivery_mileage": 12, "current_mileage": 20000}
OUT_OF_WARRANTY = {"delivery_date": "2021-01-10", "delivery_mileage": 5, "current_mileage": 150000}
PARTS = [{"part_no": "P-100", "name": "水泵", "qty": 1}]
HAPPY = {"timeliness_score": 5, "quality_score": 5, "attitude_score": 5, "problem_category": "none", "comments": "好"}


def intake(mode: str, n: int, warranty=IN_WARRANTY, **over) -> dict:
    return {"customer_name": f"客户{n}", "customer_phone": f"139 0000 {n:04d}", "customer_address": "苏州工业园区星湖街 88 号",
            "service_mode": mode, "product_model": "XR-200", "serial_no": f"VIN-KPI-{n:04d}", "fault_category": "body",
            "repair_type": "warranty", "fault_description": "车门异响，关门后无法锁止", "distance_km": 30,
            "supplier_involved": False, **warranty, **over}


@dataclass
class World:
    app: object
    clock: clock.ManualClock
    clients: dict[str, ApiClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # name -> instance id
    numbers: dict[str, str] = field(default_factory=dict)  # name -> business key

    # ------------------------------------------------------------ plumbing
    def run(self) -> int:
        return drain("kpi-test-worker", WorkerSettings(lease_seconds=60, backoff_base_seconds=10))

    def at(self, text: str) -> None:
        """Move the clock forward to a China-time moment and let the worker do what is due."""
        moment = cst(text)
        assert moment >= self.clock.now(), (text, self.clock.now())
        self.clock.set(moment)
        self.run()

    def start(self, name: str, key: str, data: dict) -> int:
        response = self.clients["admin"].post("/api/process-instances", {"process_key": key, "data": data})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.ids[name], self.numbers[name] = body["id"], body["business_key"]
        self.run()
        return body["id"]

    def tasks(self, name: str) -> dict[str, dict]:
        return {t["bpmn_id"]: t for t in self.clients["admin"].get(f"/api/tasks?instance_id={self.ids[name]}").get_json()}

    def complete(self, name: str, bpmn_id: str, data: dict) -> None:
        tasks = self.tasks(name)
        assert bpmn_id in tasks, (name, bpmn_id, sorted(tasks))
        response = self.clients["admin"].post(f"/api/tasks/{tasks[bpmn_id]['id']}/complete", {"data": data})
        assert response.status_code == 200, (name, bpmn_id, response.get_json())
        self.run()

    def child(self, name: str, parent: str, variable: str) -> None:
        """An instance a service task started (e.g. the survey a closed complaint starts)."""
        data = self.clients["admin"].get(f"/api/process-instances/{self.ids[parent]}").get_json()["data"]
        self.ids[name], self.numbers[name] = data[variable]["instance_id"], data[variable]["business_key"]

    # ------------------------------------------------------------ complaints
    def complaint(self, name: str, n: int) -> None:
        self.start(name, "complaint_handling", {**REGISTER, "customer_name": f"投诉人{n}", "customer_phone": f"138 0000 {n:04d}"})

    def reply(self, name: str, verified: bool = True) -> None:
        self.complete(name, "verify_complaint", {"category": "repair_quality", "severity": "normal", "verified": verified,
                                                 "verification_notes": "核实", "reply_to_customer": "已收到您的投诉。"})

    def solve(self, name: str, department: str = "service") -> None:
        self.complete(name, "analyse_complaint",
                      {"cause": "维修质量问题", "responsible_department": department, "resolvable": True})
        self.complete(name, "propose_solution", {"solution": "免费上门返修。"})
        self.complete(name, "confirm_with_customer", {"customer_agrees": True, "customer_comment": "好的"})

    def close(self, name: str) -> None:
        self.complete(name, "carry_out_solution", {"action_taken": "已上门返修。"})
        self.complete(name, "notify_and_confirm", {"satisfied": True, "satisfaction_score": 5, "customer_feedback": "满意"})
        if "write_capa" in self.tasks(name):  # the service's fault: its corrective action, done the same hour
            self.complete(name, "write_capa", {"capa_measures": "返修后增加试车检查项。", "capa_due_days": 14})
            self.complete(name, "implement_capa", {"implementation": "已修订检查单。"})
            self.complete(name, "check_capa", {"effective": True, "verification_comment": "已抽查。"})
        self.child(f"S{name[1:]}", name, "survey")

    def answer_survey(self, name: str, score: int) -> None:
        self.complete(name, "conduct_survey", {**HAPPY, "overall_score": score,
                                               "problem_category": "none" if score >= 4 else "timeliness"})

    # ------------------------------------------------------------ repairs
    def workshop_until_notify(self, name: str, team: str, promised_hours: int,
                              parts: tuple[int, int] | None = None) -> None:
        """parts = (due, delivered) hours: the repair waits for parts (待料) promised by `due`."""
        promised = (self.clock.now() + timedelta(hours=promised_hours)).isoformat()
        self.complete(name, "write_work_order", {"walkaround_notes": "车况良好，无划痕", "valuables_reminded": True,
                                                 "repair_items": [{"item": "检查门锁", "hours": 1, "amount": 120,
                                                                   "repair_type": "warranty", "pay_type": "warranty"}],
                                                 "promised_finish_at": promised, "customer_signed": True})
        self.complete(name, "dispatch_team", {"team": team, "technician": "赵师傅"})
        if parts:
            began = self.clock.now()
            self.complete(name, "workshop_repair", {"work_done": "拆检，缺水泵", "parts_used": [], "added_items": [],
                                                    "waiting_for_parts": True, "awaited_parts": PARTS[:1],
                                                    "parts_due_at": (began + timedelta(hours=parts[0])).isoformat()})
            self.clock.set(began + timedelta(hours=parts[1]))
            self.run()
            self.complete(name, "deliver_parts", {"issue_requisition_no": f"LL-{name}", "issue_signed_by": "赵师傅",
                                                  "issued_by": "库管"})
        self.complete(name, "workshop_repair", {"work_done": "更换门锁电机", "parts_used": [], "added_items": []})
        for step in ("self_check", "team_check", "final_check"):
            self.complete(name, step, {"passed": True, "inspector": step, "inspection_notes": "合格"})
        self.complete(name, "claim_assessment", {"fault_point": "门锁电机", "cause": "制造缺陷",
                                                 "cause_category": "manufacturing", "assessor": "车间主管"})
        self.complete(name, "claim_decision", {"approve_claim": True, "pre_auth_required": False})

    def review_and_assign(self, name: str) -> None:
        self.complete(name, "quality_review",
                      {"handling_plan": "更换门锁总成", "parts_to_bring": "门锁", "review_opinion": "同意"})

    # ------------------------------------------------------------ parts returns
    def parts_return(self, name: str, days: int) -> None:
        claim = f"SP-KPI-{name}"
        now = clock.now()
        customer = Customer(name=f"索赔客户{name}", phone="137 0000 1111", created_at=now)
        db.session.add(customer)
        db.session.flush()
        vehicle = Vehicle(serial_no=f"VIN-{claim}", model="英朗", customer_id=customer.id, delivery_date=date(2025, 9, 1),
                          delivery_mileage=10, current_mileage=18000, updated_at=now)
        db.session.add(vehicle)
        db.session.flush()
        db.session.add(WarrantyClaim(number=claim, customer_id=customer.id, vehicle_id=vehicle.id, created_at=now,
                                     status="approved", eligible=True))
        db.session.commit()
        self.start(name, "parts_return", {"claim_no": claim, "parts": PARTS, "ship_within_days": days})

    def ship(self, name: str) -> None:
        self.complete(name, "tag_and_store", {"stored_parts": [{**p, "tag_no": f"T-{p['part_no']}", "location": "A-1"}
                                                               for p in PARTS]})
        self.complete(name, "box_parts", {"box_no": "BOX-01", "boxed_parts": PARTS})
        self.complete(name, "ship_parts", {"carrier": "顺丰", "tracking_no": "SF1001"})

    # ------------------------------------------------------------ the month
    def build(self) -> None:
        self.at("2026-02-28 22:00")
        self.complaint("C7", 7)
        self.at("2026-03-01 09:00")
        self.reply("C7")
        self.solve("C7", "quality")
        self.at("2026-03-01 18:00")
        self.close("C7")

        self.at("2026-03-02 09:00")
        self.complaint("C1", 1)
        self.at("2026-03-02 10:00")
        self.answer_survey("S7", 5)
        self.at("2026-03-02 11:00")
        self.reply("C1")
        self.solve("C1")
        self.at("2026-03-03 05:00")
        self.close("C1")
        self.at("2026-03-03 10:00")
        self.answer_survey("S1", 5)

        self.at("2026-03-04 09:00")
        self.complaint("C2", 2)
        self.at("2026-03-05 09:00")  # the 24 h timer is checked exactly at its due time: it does not fire
        assert "supervise_reply" not in self.tasks("C2")
        self.reply("C2")
        self.solve("C2", "sales")
        self.at("2026-03-06 08:00")
        self.close("C2")
        self.at("2026-03-06 10:00")
        self.answer_survey("S2", 4)

        self.at("2026-03-07 09:00")
        self.complaint("C3", 3)
        self.at("2026-03-08 09:00:01")  # one second past the due time: the timer fires
        assert "supervise_reply" in self.tasks("C3")
        self.reply("C3")
        self.solve("C3")
        self.at("2026-03-09 11:00")
        self.close("C3")
        self.at("2026-03-09 12:00")
        self.answer_survey("S3", 3)

        self.at("2026-03-10 09:00")
        self.complaint("C4", 4)
        self.at("2026-03-10 10:00")
        self.reply("C4")
        self.complete("C4", "analyse_complaint", {"cause": "配件缺货", "responsible_department": "service", "resolvable": True})
        self.complete("C4", "propose_solution", {"solution": "等配件到货后更换。"})
        self.complete("C4", "confirm_with_customer", {"customer_agrees": False, "customer_comment": "不接受"})  # reopened
        self.complete("C4", "supervisor_decide", {"cause": "配件缺货", "responsible_department": "service",
                                                  "solution": "调拨配件，今天更换。"})
        self.complete("C4", "confirm_with_customer", {"customer_agrees": True, "customer_comment": "好的"})
        self.at("2026-03-12 01:00")
        self.close("C4")

        self.at("2026-03-12 09:00")
        self.complaint("C5", 5)
        self.at("2026-03-12 10:00")
        self.reply("C5", verified=False)
        self.solve("C5")
        self.at("2026-03-13 15:00")
        self.close("C5")

        self.at("2026-03-14 09:00")
        self.start("R1", "repair_dispatch", intake("bench", 1, units=10))
        self.start("R2", "repair_dispatch", intake("bench", 2, units=10))
        self.at("2026-03-15 05:00")
        self.complete("R1", "bench_repair", {"units_repaired": 10, "work_done": "逐台检修", "parts_used": []})
        self.at("2026-03-15 10:00")  # R2's one-day timer has fired
        assert "sup_bench" in self.tasks("R2")
        self.complete("R2", "bench_repair", {"units_repaired": 10, "work_done": "逐台检修", "parts_used": []})

        self.at("2026-03-16 09:00")
        self.start("R3", "repair_dispatch", intake("workshop", 3))
        self.workshop_until_notify("R3", "机修一组", 6, parts=(2, 1))
        self.at("2026-03-16 14:00")
        self.complete("R3", "notify_customer", {"notified_via": "phone", "notify_note": ""})

        self.at("2026-03-17 09:00")
        self.start("R4", "repair_dispatch", intake("workshop", 4))
        self.workshop_until_notify("R4", "机修二组", 6, parts=(1, 2))
        self.at("2026-03-17 16:00")
        self.complete("R4", "notify_customer", {"notified_via": "phone", "notify_note": ""})

        self.at("2026-03-18 09:00")
        self.start("R5", "repair_dispatch", intake("field", 5))
        self.review_and_assign("R5")
        self.complete("R5", "assign_technician", {"technician": "王工", "departure_note": "公司车辆"})
        self.at("2026-03-19 09:00")  # the on-site timer is checked exactly at its due time
        assert "sup_onsite" not in self.tasks("R5")
        self.complete("R5", "arrive_on_site", {"site_contact": "客户5", "arrival_note": ""})

        self.at("2026-03-19 10:00")
        self.start("R6", "repair_dispatch", intake("field", 6, distance_km=150))
        self.review_and_assign("R6")
        self.at("2026-03-19 23:00")  # 13 h: the 12 h answer deadline has passed
        self.complete("R6", "answer_customer", {"contact_channel": "phone", "answer_summary": "明天上午到",
                                                "promised_visit_at": (self.clock.now() + timedelta(hours=10)).isoformat()})
        self.complete("R6", "assign_technician", {"technician": "王工", "departure_note": "长途"})
        self.at("2026-03-20 06:00")
        self.complete("R6", "arrive_on_site", {"site_contact": "客户6", "arrival_note": ""})

        self.at("2026-03-20 09:00")
        self.start("R8", "repair_dispatch", intake("field", 8, warranty=OUT_OF_WARRANTY))
        self.complete("R8", "estimate_agreement", {"estimate_amount": 800, "estimate_items": "门锁", "customer_agrees": False,
                                                   "estimate_note": ""})
        self.complaint("C8", 8)
        self.parts_return("P1", 15)
        self.start("SR3", "satisfaction_survey", {"customer_name": "客户3", "customer_phone": "139 0000 0003",
                                                  "source_process": "repair_dispatch", "source_case_no": self.numbers["R3"]})
        self.at("2026-03-20 12:00")
        self.reply("C8")
        self.answer_survey("SR3", 2)
        self.at("2026-03-21 09:00")
        self.parts_return("P2", 2)
        self.at("2026-03-23 09:00")
        self.ship("P1")
        self.at("2026-03-24 09:00")
        self.ship("P2")
        self.at("2026-03-25 09:00")
        self.parts_return("P3", 1)

        self.at("2026-03-31 10:00")
        self.parts_return("P4", 15)
        self.at("2026-03-31 14:00")
        self.start("R7", "repair_dispatch", intake("field", 7))
        self.review_and_assign("R7")
        self.complete("R7", "assign_technician", {"technician": "李工", "departure_note": ""})
        self.at("2026-03-31 20:00")
        self.complaint("C9", 9)
        self.at("2026-03-31 23:30")
        self.complaint("C6", 6)
        self.at("2026-04-01 08:00")
        self.reply("C6")
        self.solve("C6")
        self.at("2026-04-01 12:00")
        self.close("C6")
        self.at("2026-04-01 12:30")
        assert self.clock.now() == EVAL


def fast_passwords() -> object:
    """Token-only users: a cheap password hash keeps creating them fast. Returns the original."""
    original = accounts.generate_password_hash
    accounts.generate_password_hash = lambda password, method=None: generate_password_hash(password, method="pbkdf2:sha256:1")
    return original


def month_world(tmp_path_factory):
    """Generator for a module-scoped fixture: the app with the month built, the clock at EVAL."""
    from tests.conftest import _every_instance_replays_to_its_snapshot

    fake = clock.ManualClock(BEGIN)
    previous = clock.use(fake)
    original_hash = fast_passwords()
    app = create_app(app_settings(fresh_database_url(tmp_path_factory.mktemp("kpi"))))
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            world = World(app, fake)
            for username, roles in ROLES.items():
                user = create_user(username, "pw-" + username, roles)
                db.session.commit()
                world.clients[username] = ApiClient(app.test_client(), issue_token(user), username)
            for key in PROCESSES:
                response = deploy_files(world.clients["owner"], process_files(key))
                assert response.status_code == 201, response.get_json()
            world.build()
            db.session.remove()
        # no app context is held while the tests run: each request and each test pushes its own
        yield world
        with app.app_context():
            _every_instance_replays_to_its_snapshot()
            db.session.remove()
            db.engine.dispose()
    finally:
        accounts.generate_password_hash = original_hash
        clock.use(previous)
