"""Acceptance 1 of the audit issue in a real browser (Playwright + Debian's Chromium, headless).

The test drives a complaint from registration to closure, writing down at each step who acted,
what they entered and which elements are then done and waiting. An auditor opens the finished
complaint and steps through its replay with the "next step" button and the slider: at every
step the diagram's marks, the step's actor and the case data (with what the step changed) are
what the test did. The verify button says the record is untouched. The auditor cannot open a
task or an administration page (403). Screenshots go to test-artifacts/audit-*.png.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.complaint_driver import REGISTER
from tests.conftest import process_files
from webapp.accounts import create_user
from webapp.engine import clock, definitions, runtime
from webapp.extensions import db
from webapp.models import HistoryEvent, InboxTask, Instance
from workers import registry

pytestmark = pytest.mark.browser

HANDLER = {"complaint_handler"}
VERIFY = {"category": "repair_quality", "severity": "normal", "verified": True, "verification_notes": "核实维修记录，属实。",
          "reply_to_customer": "已电话答复客户，明天上门"}
# 质量部: not the service's fault, so no corrective action keeps the case open after its close
ANALYSE = {"cause": "压缩机电容批次质量问题。", "responsible_department": "quality", "resolvable": True}
PROPOSE = {"solution": "免费上门更换电容并延长保修三个月。"}
CONFIRM = {"customer_agrees": True, "customer_comment": "同意方案"}
CARRY_OUT = {"action_taken": "已上门更换电容，试机正常。"}
NOTIFY = {"satisfied": True, "satisfaction_score": 5, "customer_feedback": "很满意"}
# Fields typed as free text (choices and yes/no show their titles instead of the stored value).
FREE_TEXT = {"customer_name", "customer_email", "product_model", "serial_no", "description", "verification_notes",
             "reply_to_customer", "cause", "solution", "customer_comment", "action_taken", "customer_feedback"}


@dataclass
class Expected:
    """What the test did at one step, and what the diagram must then show."""

    who: str
    done: set[str]
    active: set[str]
    entered: dict = field(default_factory=dict)  # text fields whose value the data panel must show, changed


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"audit-{name}.png"), full_page=True)


def _open_task(instance_id: int, bpmn_id: str) -> str:
    row = db.session.scalar(db.select(InboxTask).where(InboxTask.instance_id == instance_id, InboxTask.bpmn_id == bpmn_id,
                                                       InboxTask.state == "open"))
    return row.id


@pytest.fixture(scope="module")
def finished(live):
    """A complaint driven to its end, step by step, with what the test expects at each step."""
    expected: list[Expected] = []

    def complete(instance_id, bpmn_id, data, active):
        runtime.complete_user_task(_open_task(instance_id, bpmn_id), data, actor="handler", roles=HANDLER)
        expected.append(Expected("handler", {bpmn_id}, active, {k: v for k, v in data.items() if k in FREE_TEXT}))

    def drive():
        survey = {p.name: p.read_bytes() for p in process_files("satisfaction_survey")}
        definitions.deploy(survey, actor="owner", now=clock.now(), known_operators=registry.names())
        create_user("auditor", "pw-auditor", ["auditor"])
        db.session.commit()
        instance = runtime.start_instance("complaint_handling", REGISTER, actor="agent")
        instance_id = instance.id
        expected.append(Expected("agent", {"start"}, {"register_case"}, {k: v for k, v in REGISTER.items() if k in FREE_TEXT}))
        return instance_id

    instance_id = live.query(drive)
    system = "System"
    steps = [
        ("drain", [Expected(system, {"register_case", "split_watch"}, {"verify_complaint", "reply_24h", "wait_48h"})]),
        ("claim", Expected("handler", {"register_case"}, {"verify_complaint", "reply_24h", "wait_48h"})),
        ("verify_complaint", VERIFY, {"record_reply", "wait_48h"}),
        ("drain", [Expected(system, {"record_reply", "gw_major"}, {"analyse_complaint", "wait_48h"})]),
        ("analyse_complaint", ANALYSE, {"propose_solution", "wait_48h"}),
        ("propose_solution", PROPOSE, {"confirm_with_customer", "wait_48h"}),
        ("confirm_with_customer", CONFIRM, {"carry_out_solution", "wait_48h"}),
        ("carry_out_solution", CARRY_OUT, {"notify_and_confirm", "wait_48h"}),
        ("notify_and_confirm", NOTIFY, {"close_case", "wait_48h"}),
        # closing, then the satisfaction survey is started: the case ends (a terminate end: the 48 h watch stops)
        ("drain", [Expected(system, {"close_case"}, {"start_survey", "wait_48h"}),
                   Expected(system, {"start_survey", "gw_service_fault", "end_closed"}, set())]),
    ]
    for action, what, *rest in steps:
        live.clock.advance(minutes=20)
        if action == "drain":
            live.drain()
            expected.extend(what)
        elif action == "claim":
            live.query(lambda: runtime.claim_task(_open_task(instance_id, "verify_complaint"), actor="handler", roles=HANDLER))
            expected.append(what)
        else:
            live.query(lambda action=action, what=what, rest=rest: complete(instance_id, action, what, rest[0]))
    recorded = live.query(lambda: [(e.seq, e.type, e.bpmn_id) for e in db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq))])
    assert len(recorded) == len(expected), recorded
    assert live.query(lambda: db.session.get(Instance, instance_id).status) == "completed"
    return instance_id, expected


def _data_value(page, key: str) -> str:
    return page.locator(f'#step-panel .replay-data dd[data-key="{key}"] .value').inner_text()


def _check_step(page, number: int, total: int, want: Expected, seen_done: set[str]) -> None:
    page.wait_for_selector(f'#step-panel[data-seq="{number}"]')
    page.wait_for_selector(f'#replay-diagram[data-seq="{number}"]')
    assert page.locator("#step-output").inner_text().endswith(f"{number} / {total}")
    assert page.locator("#step-panel .step-who").inner_text().startswith("系统" if want.who == "System" else want.who), number
    for element in seen_done | want.done:
        assert page.locator(f'#replay-diagram .djs-element.done[data-element-id="{element}"]').count() == 1, (number, element)
    marked_active = page.locator("#replay-diagram .djs-element.active").evaluate_all("els => els.map(e => e.dataset.elementId)")
    assert set(marked_active) == want.active, (number, marked_active)
    for key, value in want.entered.items():
        assert _data_value(page, key) == value, (number, key)
        assert "changed" in page.locator(f'#step-panel .replay-data dd[data-key="{key}"]').get_attribute("class"), (number, key)
    changed = page.locator("#step-panel .replay-data dd.changed").evaluate_all("els => els.map(e => e.dataset.key)")
    assert set(want.entered) <= set(changed), number
    if not want.entered and want.who != "System":
        assert changed == [], (number, changed)  # a claim changes no data


def test_auditor_steps_through_a_finished_complaint(live, sign_in, finished):
    instance_id, expected = finished
    auditor = sign_in("auditor")
    auditor.get_by_role("link", name="审计").first.click()
    auditor.wait_for_url(f"{live.url}/audit/")
    auditor.locator(f'a[href="/audit/cases/{instance_id}"]').first.click()
    auditor.wait_for_url(f"{live.url}/audit/cases/{instance_id}")
    auditor.wait_for_selector("#replay-diagram[data-ready='true']")
    assert "工单回放" in auditor.locator("h1").inner_text()
    _shot(auditor, "1-replay-last-step")

    # back to the first step with the slider, then forward with "next step", one step at a time
    slider = auditor.locator("#step-slider")
    slider.fill("1")
    seen_done: set[str] = set()
    for number, want in enumerate(expected, start=1):
        if number > 1:
            auditor.locator("#step-next").click()
        _check_step(auditor, number, len(expected), want, seen_done)
        seen_done |= want.done
        if number in (1, 4, len(expected)):
            _shot(auditor, f"2-step-{number}")
    assert auditor.url.endswith(f"?step={len(expected)}")

    # the step list jumps too; the handler's verification shows the reply deadline met
    auditor.locator('.step-list a[data-seq="4"]').click()
    auditor.wait_for_selector('#step-panel[data-seq="4"]')
    assert auditor.locator('#step-panel tr[data-deadline="reply_24h"]').get_attribute("data-status") == "met"
    assert auditor.locator('#step-panel tr[data-deadline="resolve_48h"]').get_attribute("data-status") == "open"

    # the verify button
    auditor.locator("#verify-button").click()
    auditor.wait_for_url(f"{live.url}/audit/cases/{instance_id}/verify")
    assert auditor.locator("#verify-result").get_attribute("data-verified") == "true"
    assert "记录未被篡改" in auditor.locator("#verify-result h2").inner_text()
    _shot(auditor, "3-verified")

    # the printable report, the deadline audit and the system log, for the record
    auditor.goto(f"{live.url}/audit/cases/{instance_id}/report")
    assert auditor.locator('tr[data-deadline="reply_24h"]').get_attribute("data-status") == "met"
    _shot(auditor, "5-report")
    auditor.emulate_media(media="print")
    _shot(auditor, "5-report-print")
    auditor.emulate_media(media="screen")
    auditor.goto(f"{live.url}/audit/deadlines?from=2026-03-01&to=2026-03-31")
    assert auditor.locator("tr[data-deadline]").count() >= 2
    _shot(auditor, "6-deadlines")
    auditor.goto(f"{live.url}/audit/system-log")
    assert auditor.locator('tr[data-type="login"]').count() >= 1
    _shot(auditor, "7-system-log")


def test_auditor_opens_no_task_or_admin_page(live, sign_in, finished):
    instance_id = live.query(lambda: runtime.start_instance("complaint_handling", REGISTER, actor="agent").id)
    live.drain()
    task_id = live.query(lambda: _open_task(instance_id, "verify_complaint"))
    auditor = sign_in("auditor")
    for path in (f"/tasks/{task_id}", "/admin/users", "/admin/users/new", "/new/complaint_handling"):
        response = auditor.goto(f"{live.url}{path}")
        assert response.status == 403, path
    _shot(auditor, "4-task-refused")
    # the case page opens, with no way into the task
    response = auditor.goto(f"{live.url}/cases/{instance_id}")
    assert response.status == 200 and auditor.locator("a.task-link").count() == 0
    assert auditor.locator(".case-task button").count() == 0  # no claim button either
