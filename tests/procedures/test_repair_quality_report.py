"""Issue 14: the weekly repair-quality report to the general manager (L74), started for a
week, compiled on the Monday after from the records (返修率, first-pass inspections, accidents,
parts waits), completed by the after-sales manager and read by the general manager; each week
schedules the next. Through the API with the controlled clock (which starts Monday
2026-03-02 09:00 China time)."""

from __future__ import annotations

import pytest

from tests.fixtures.service_api import Service, fast_passwords
from tests.procedures.test_repair_dispatch import inspect, intake, work_order
from tests.procedures.test_workshop_floor import PUMP
from tests.test_ui_support import signed_in, text_of
from webapp.models import RepairQualityReport


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    for key in ("repair_dispatch", "warranty_claim", "parts_return", "repair_quality_report"):
        service.deploy(key)
    for key in ("customer_followup", "satisfaction_survey"):
        service.deploy(key, standin_ok=True)
    yield service
    for iid in service.children("repair_quality_report"):
        if iid not in service.created:
            service.created.append(iid)
    service.verify_all()


def workshop(sv: Service, serial: str, **over) -> int:
    iid = sv.start("repair_dispatch", intake(mode="workshop", serial_no=serial, **over), as_="advisor")
    sv.run()
    sv.complete(iid, "write_work_order", work_order(sv))
    sv.complete(iid, "dispatch_team", {"team": "机修二组", "technician": "赵师傅"})
    return iid


def test_the_weekly_report_counts_the_weeks_repairs_and_goes_to_the_general_manager(sv, app):
    report = sv.start("repair_quality_report", {"week_start": "2026-03-04"}, as_="manager")  # any day names its week
    sv.run()
    plan = sv.data(report)["plan"]
    assert (plan["week_start"], plan["week_end"]) == ("2026-03-02", "2026-03-08")
    assert sv.open_ids(report) == []  # waiting for Monday 03-09 09:00

    # A: a repair that waits for parts that come late and fails its first self-check
    a = workshop(sv, "VIN-A")
    sv.complete(a, "workshop_repair", {"work_done": "拆检，缺水泵", "parts_used": [], "added_items": [],
                                       "waiting_for_parts": True, "awaited_parts": PUMP, "parts_due_at": sv.later(hours=2)})
    sv.advance(hours=3)
    sv.complete(a, "deliver_parts", {"issue_requisition_no": "LL-1", "issue_signed_by": "赵师傅", "issued_by": "孙库管"})
    sv.complete(a, "workshop_repair", {"work_done": "更换水泵", "parts_used": [], "added_items": []})
    inspect(sv, a, "self_check", False, "漏水")
    sv.complete(a, "rework", {"rework_done": "重新安装水泵"})
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, a, step, True)
    # B: a comeback (返修) with a repair accident, released at the first inspection
    b = workshop(sv, "VIN-B", repair_type="comeback")
    sv.complete(b, "workshop_repair", {"work_done": "重新紧固", "parts_used": [], "added_items": [],
                                       "accident_occurred": True, "accident_at": sv.later(minutes=-5),
                                       "accident_description": "工具掉落划伤仪表台"})
    sv.complete(b, "review_accident", {"cause": "工具未放工具车", "responsible": "赵师傅", "damage_amount": 200,
                                       "customer_informed": True, "handling": "更换饰板", "reporting": "on_time"})
    for step in ("self_check", "team_check", "final_check"):
        inspect(sv, b, step, True)
    # C: received on Monday 03-09 08:00 China time, the next week: not in this report
    sv.clock.set(sv.clock.now().replace(day=9, hour=0))
    c = sv.start("repair_dispatch", intake(mode="workshop", serial_no="VIN-C", repair_type="comeback"), as_="advisor")
    sv.run()
    assert sv.open_ids(report) == []
    sv.advance(hours=1, seconds=1)  # 09:00:01 China time: compiled
    row = sv.one(RepairQualityReport, number=sv.business_key(report))
    f = row.figures
    assert (f["orders_received"], f["comebacks"], f["comeback_rate"]) == (2, 1, 0.5)
    assert (f["released"], f["first_pass"], f["first_pass_rate"], f["failed_inspections"]) == (2, 1, 0.5, 1)
    assert (f["accidents"], f["parts_waits"], f["parts_late"]) == (1, 1, 1)
    assert "返修率 50.0%" in sv.data(report)["report"]["summary"]
    nxt = [i for i in sv.children("repair_quality_report") if i != report]
    assert len(nxt) == 1 and sv.data(nxt[0])["plan"]["week_start"] == "2026-03-09"

    assert sv.open_ids(report) == ["add_notes"] and sv.task(report, "add_notes")["lane"] == "after_sales_manager"
    sv.complete(report, "add_notes", {"customer_needs": "客户希望周末可预约保养", "problems": "水泵缺货两次，建议提高安全库存"})
    assert sv.open_ids(report) == ["read_report"] and sv.task(report, "read_report")["lane"] == "general_manager"
    sv.complete(report, "read_report", {"gm_comment": "同意提高水泵库存"})
    row = sv.one(RepairQualityReport, number=sv.business_key(report))
    assert (row.problems, row.gm_comment, row.read_at is not None) == ("水泵缺货两次，建议提高安全库存", "同意提高水泵库存", True)
    assert sv.status(report) == "completed"
    assert {sv.status(i) for i in (a, b, c)} == {"running"}  # the orders go on; the report only read them

    # the weeks side by side on the dashboard, for the general manager
    page = signed_in(app, "sv_gm").get("/dashboard/repair-quality")
    html = text_of(page)
    assert page.status_code == 200 and "返修率" in html and 'data-week="2026-03-02"' in html
    row = html[html.index('data-week="2026-03-02"'):].split("</tr>")[0]
    assert "50.0 %" in row and "同意提高水泵库存" in row
    assert signed_in(app, "sv_tech").get("/dashboard/repair-quality").status_code == 403
