"""Issue 6, acceptance 1 in a real browser: a process owner changes complaint handling.

The owner opens complaint handling in the modeler, drops a new task from the palette onto the
flow after 分类核实并答复客户 (it lands in that lane), makes it a user task, names it, gives it a new
form with a field (previewed as staff will see it), breaks a gateway condition on purpose,
validates (the problem is marked on that flow), fixes it, and deploys version 2. A complaint
started afterwards runs on version 2 through the new task; one started before stays on
version 1; the diff page marks the added task. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import ARTIFACTS
from webapp.accounts import create_user
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import InboxTask, Instance

pytestmark = pytest.mark.browser

COMPLAINT = {
    "customer_name": "张伟", "customer_phone": "138 0000 0000", "channel": "phone", "description": "空调不制冷，已经维修过两次",
}
VERIFY = {"category": "repair_quality", "severity": "normal", "verified": True, "reply_to_customer": "已收到，我们尽快处理。"}
NEW_FORM = {
    "title": "核对细节",
    "type": "object",
    "required": ["details_checked"],
    "properties": {
        "details_checked": {"type": "boolean", "title": "细节已核对"},
        "note": {"type": "string", "title": "核对说明"},
    },
}


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def owner(live):
    def make():
        create_user("owner", "pw-owner", ["process_owner"])
        db.session.commit()

    live.query(make)
    return "owner"


def _start(live, data=None) -> int:
    def start():
        instance = runtime.start_instance("complaint_handling", {**COMPLAINT, **(data or {})}, actor="agent")
        return instance.id

    instance_id = live.query(start)
    live.drain()
    return instance_id


def _complete(live, instance_id: int, bpmn_id: str, data: dict) -> None:
    def complete():
        row = db.session.scalar(db.select(InboxTask).where(
            InboxTask.instance_id == instance_id, InboxTask.bpmn_id == bpmn_id, InboxTask.state == "open"))
        assert row is not None, f"no open {bpmn_id}"
        runtime.complete_user_task(row.id, data, actor="admin", roles={"admin"})

    live.query(complete)
    live.drain()


def _open(live, instance_id: int) -> set[str]:
    return live.query(lambda: {r.bpmn_id for r in db.session.scalars(
        db.select(InboxTask).where(InboxTask.instance_id == instance_id, InboxTask.state == "open"))})


def _version(live, instance_id: int) -> int:
    return live.query(lambda: db.session.get(Instance, instance_id).definition.version)


def _ready(page) -> None:
    page.wait_for_selector("body[data-modeler-ready=true]")


def test_owner_adds_a_user_task_with_a_form_validates_and_deploys_version_2(live, sign_in, owner):
    old_case = _start(live)
    assert _open(live, old_case) == {"verify_complaint"}

    page = sign_in(owner)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.get_by_role("link", name="流程").first.click()
    page.locator('section[data-process="complaint_handling"]').get_by_role("link", name="编辑最新版本").click()
    _ready(page)

    # -- a task from the palette, dropped on the flow after verify_complaint ---------------------
    flow = page.locator('g.djs-element[data-element-id="flow_verify_record"]')
    box = flow.bounding_box()
    page.locator(".djs-palette .entry.bpmn-icon-task").click()
    page.mouse.move(box["x"] + box["width"] / 2 - 5, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    new_id = page.evaluate("""() => {
      const sel = window.aftersalesModeler.modeler.get('selection').get();
      return sel.length ? sel[0].id : null; }""")
    assert new_id and new_id.startswith("Activity_"), new_id
    # make it a user task through bpmn-js' replace menu (opened where the wrench of the context pad opens it)
    page.evaluate("""() => { const m = window.aftersalesModeler.modeler, el = m.get('selection').get()[0];
      const box = m.get('canvas').getGraphics(el).getBoundingClientRect();
      m.get('popupMenu').open(el, 'bpmn-replace', {x: box.right + 10, y: box.top}); }""")
    page.locator(".djs-popup [data-id=replace-with-user-task]").click()
    task = page.evaluate("""() => {
      const el = window.aftersalesModeler.modeler.get('selection').get()[0];
      const bo = el.businessObject;
      const lane = window.aftersalesModeler.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:Lane'
        && (e.businessObject.flowNodeRef || []).includes(bo)).map(e => e.id);
      return {id: el.id, type: el.type, incoming: bo.incoming.map(f => f.sourceRef.id),
              outgoing: bo.outgoing.map(f => f.targetRef.id), lanes: lane};
    }""")
    assert task["type"] == "bpmn:UserTask"
    assert task["incoming"] == ["verify_complaint"] and task["outgoing"] == ["record_reply"]
    assert task["lanes"] == ["complaint_handler"]
    new_id = task["id"]
    page.fill("#bio-properties-panel-name", "核对细节")

    # -- a new form with its fields, previewed as staff will see it ----------------------------
    page.get_by_role("tab", name="表单").click()
    page.fill("#form-new-name", "complaint-check")
    page.get_by_role("button", name="新建表单").click()
    page.get_by_role("button", name="源文件").click()  # the raw JSON beside the form builder
    page.fill("#form-schema", json.dumps(NEW_FORM, ensure_ascii=False, indent=2))
    page.wait_for_function("() => document.querySelector('#form-preview').textContent.includes('核对说明')")
    assert page.locator("#form-preview input[type=checkbox]#f-details_checked").count() == 1
    _shot(page, "modeler-1-form-preview")
    page.get_by_role("tab", name="流程图").click()
    page.evaluate(f"() => window.aftersalesModeler.modeler.get('selection').select("
                  f"window.aftersalesModeler.modeler.get('elementRegistry').get('{new_id}'))")
    assert page.locator("select#bio-properties-panel-aftersales-form-schema").input_value() == "complaint-check-schema.json"

    # -- a broken condition, shown on its element ----------------------------------------------
    page.evaluate("() => { const m = window.aftersalesModeler.modeler; "
                  "m.get('selection').select(m.get('elementRegistry').get('flow_major')); }")
    condition = page.locator("#bio-properties-panel-aftersales-condition")
    original = condition.input_value()
    assert "major" in original
    condition.fill("severity == ")
    page.wait_for_timeout(400)  # the panel's debounce
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector('.problem-badge[data-problem="flow_major"]')
    assert page.locator('g.djs-element.has-problem[data-element-id="flow_major"]').count() == 1
    assert "flow_major" in page.locator("#problems").inner_html()
    _shot(page, "modeler-2-problem-marked")
    condition.fill(original)
    page.wait_for_timeout(400)
    page.get_by_role("button", name="校验").click()
    page.wait_for_function("() => document.getElementById('modeler-status').textContent.includes('未发现问题')")
    assert page.locator(".problem-badge").count() == 0

    page.get_by_role("button", name="部署").click()
    page.wait_for_selector("body[data-deployed-version='2']")
    assert "已部署为第 2 版" in page.locator("#modeler-status").inner_text()
    _shot(page, "modeler-3-deployed")

    # -- a new complaint runs on version 2 through the new task; the old one stays on 1 --------
    new_case = _start(live)
    assert _version(live, new_case) == 2 and _version(live, old_case) == 1
    _complete(live, new_case, "verify_complaint", VERIFY)
    assert _open(live, new_case) == {new_id}
    _complete(live, new_case, new_id, {"details_checked": True, "note": "已核对"})
    assert "analyse_complaint" in _open(live, new_case)
    _complete(live, old_case, "verify_complaint", VERIFY)
    assert _open(live, old_case) == {"analyse_complaint"}

    # -- the process list and the diff ----------------------------------------------------------
    page.get_by_role("link", name="流程").first.click()
    rows = page.locator('section[data-process="complaint_handling"] tr[data-version]')
    assert rows.count() == 2
    assert page.locator('section[data-process="complaint_handling"] tr[data-version="1"] .count-running').inner_text() == "1"
    page.locator('section[data-process="complaint_handling"]').get_by_role("link", name="与上一版比较").click()
    page.wait_for_selector("#diff[data-ready=true]")
    assert new_id in page.locator("#diff").get_attribute("data-added").split()
    assert page.locator(f'#diagram-b g.djs-element.diff-added[data-element-id="{new_id}"]').count() == 1
    assert re.search("新增.*核对细节", page.locator(".changes").inner_text())
    _shot(page, "modeler-4-diff")
    assert errors == []
