"""Issue 16 (part A) in a real browser: import into the modeler, a lossless round trip, the
problems panel, the version in the title, fit-to-view, forms of the process only, token
simulation, no console errors, and the phone note. Screenshots for docs/modeler.md go to docs/img/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import modeler_diagrams as diagrams
from tests.conftest import process_files
from webapp.accounts import create_user
from webapp.engine import clock, definitions
from webapp.extensions import db
from webapp.models import Definition
from workers import registry

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEW = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def owner(live):
    def setup():
        create_user("importer", "pw-importer", ["process_owner"])
        uploads = {p.name: p.read_bytes() for p in process_files("warranty_claim")}
        definitions.deploy(uploads, actor="cli", now=clock.now(), known_operators=registry.names())
        db.session.commit()

    live.query(setup)
    return "importer"


def _console(page) -> list[str]:
    """Console errors and warnings about development builds, and uncaught page errors."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}") if m.type == "error" or (
        m.type == "warning" and "development" in m.text.lower()) else None)
    page.on("pageerror", lambda err: seen.append(f"pageerror: {err}"))
    return seen


def _upload(files: dict[str, str]) -> list[dict]:
    return [{"name": n, "mimeType": "application/xml", "buffer": t.encode("utf-8")} for n, t in files.items()]


def _finish_import(page, cancel_lanes: bool = True) -> None:
    page.wait_for_selector("body[data-imported], #lane-roles-dialog[open]")
    if page.locator("#lane-roles-dialog[open]").count() and cancel_lanes:
        page.locator("#lane-roles-dialog button[value=cancel]").click()
    page.wait_for_selector("body[data-imported]")


def _saved(page) -> str:
    """What the modeler saves for the opened diagram: bpmn-js' own XML (forced, no edit)."""
    return page.evaluate("() => window.aftersalesModeler.workingSet(true).then(set => set.files[set.main])")


@pytest.mark.parametrize(
    "name, xml", [("miwg_like.bpmn", diagrams.miwg_like()), ("spiff_like.bpmn20.xml", diagrams.spiff_like())]
)
def test_open_and_save_loses_nothing(live, sign_in, owner, name, xml):
    page = sign_in(owner, VIEW)
    errors = _console(page)
    page.goto(f"{live.url}/processes/new")
    page.wait_for_selector("body[data-modeler-ready=true]")
    page.set_input_files("#import-files", _upload({name: xml}))
    _finish_import(page)
    saved = _saved(page)
    assert "<bpmndi:BPMNDiagram" in saved and saved != xml  # bpmn-js wrote it, not the file as imported

    before, after = diagrams.semantic(xml), diagrams.semantic(saved)
    assert sorted(after) == sorted(before)
    assert {i: after[i] for i in before if after[i] != before[i]} == {}
    planes_before, planes_after = diagrams.di(xml), diagrams.di(saved)
    assert sorted(planes_after) == sorted(planes_before)
    for plane, shapes in planes_before.items():
        assert planes_after[plane] == shapes, plane
    assert diagrams.extensions(saved) == diagrams.extensions(xml)
    if name.startswith("miwg"):
        # 3 planes: the collaboration and the two collapsed subprocesses (one nested in the other)
        assert {p: len(s) for p, s in planes_after.items()} == {"Collaboration_1": 41, "Sub_collapsed": 7, "C_nested": 5}
        # a problem inside the nested collapsed subprocess opens its plane and selects it
        item = page.locator("#problems li[data-element=N_service]")
        assert "服务任务没有指定执行器" in item.inner_text()
        item.locator("button").click()
        assert page.evaluate("() => window.aftersalesModeler.modeler.get('canvas').getRootElement().id") == "C_nested_plane"
        assert page.evaluate("() => window.aftersalesModeler.modeler.get('selection').get().map(e => e.id)") == ["N_service"]
    else:
        assert "spiffworkflow:unitTests" in saved and "spiffworkflow:taskMetadataValue " in saved
        assert "spiffkept" not in saved
        # the panel still reads what it models
        page.evaluate("() => { const m = window.aftersalesModeler.modeler;"
                      " m.get('selection').select(m.get('elementRegistry').get('Notify')); }")
        assert page.locator("#bio-properties-panel-aftersales-operator").input_value() == "notify/sms"
    assert errors == []


def test_import_several_files_pick_main_map_lane_and_deploy(live, sign_in, owner):
    page = sign_in(owner, VIEW)
    errors = _console(page)
    page.goto(f"{live.url}/processes/")
    with page.expect_navigation():
        page.set_input_files("#import-files", _upload(diagrams.call_pair()))
    page.wait_for_selector("#main-process-dialog[open]")
    options = page.locator("#main-process-dialog input[name=main]")
    assert options.count() == 2
    # the process that the other one calls is offered second; the caller is proposed
    assert page.locator("#main-process-dialog input[data-process=repair_order]").is_checked()
    page.locator("#main-process-dialog input[data-process=repair_order]").check()
    page.screenshot(path=str(DOCS_IMG / "modeler-import-main.png"))
    page.locator("#main-process-dialog button[value=ok]").click()
    page.wait_for_selector("#lane-roles-dialog[open]")
    assert page.locator("#lane-roles-dialog select").count() == 1
    page.select_option("#lane-roles-dialog select[data-lane=workshop]", "technician")
    page.screenshot(path=str(DOCS_IMG / "modeler-import-lanes.png"))
    page.locator("#lane-roles-dialog button[value=ok]").click()
    page.wait_for_selector("body[data-imported=repair_order]")
    assert "维修单" in page.locator(".page-head h1").inner_text()
    assert page.evaluate("() => window.aftersalesModeler.state.main") == "z_repair_order.bpmn"

    body = page.evaluate("() => window.aftersalesModeler.deploy(false)")
    assert body["_status"] == 201 and (body["key"], body["version"]) == ("repair_order", 1), body
    assert page.locator(".page-head h1").inner_text().endswith("v1")

    def stored():
        row = db.session.scalar(db.select(Definition).where(Definition.key == "repair_order"))
        return sorted(row.files), row.meta["main_file"], row.meta["lane_mapping"]

    assert live.query(stored) == (
        ["a_parts_check.bpmn", "z_repair_order.bpmn"], "z_repair_order.bpmn", {"workshop": "technician"}
    )

    # Opened again: the main file (not the alphabetically first) is in the modeler, and a
    # changed save deploys as version 2 of the same key; the title follows.
    page.goto(f"{live.url}/processes/repair_order/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    assert page.evaluate("() => window.aftersalesModeler.state.main") == "z_repair_order.bpmn"
    shown = "() => window.aftersalesModeler.modeler.get('canvas').getRootElement().businessObject"
    assert page.evaluate(shown + ".participants[0].processRef.id") == "repair_order"
    unchanged = page.evaluate("() => window.aftersalesModeler.deploy(false)")
    assert (unchanged["_status"], unchanged["version"]) == (200, 1), unchanged
    page.evaluate("() => { const m = window.aftersalesModeler.modeler;"
                  " m.get('modeling').updateLabel(m.get('elementRegistry').get('Do1_repair_order'), '确认维修'); }")
    body = page.evaluate("() => window.aftersalesModeler.deploy(false)")
    assert body["_status"] == 201 and (body["key"], body["version"]) == ("repair_order", 2), body
    assert page.locator(".page-head h1").inner_text().endswith("v2")
    assert page.title().startswith("维修单 v2")
    assert errors == []


def test_problems_beside_the_diagram_in_chinese_and_clickable(live, sign_in, owner):
    page = sign_in(owner, VIEW)
    errors = _console(page)
    page.goto(f"{live.url}/processes/complaint_handling/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    # fit to view: the whole diagram inside the canvas, right of the palette
    box = page.evaluate("""() => {
      const canvas = window.aftersalesModeler.modeler.get('canvas'), vb = canvas.viewbox();
      const container = document.getElementById('canvas').getBoundingClientRect();
      const palette = document.querySelector('#canvas .djs-palette').getBoundingClientRect();
      const x = v => container.left + (v - vb.x) * vb.scale, y = v => container.top + (v - vb.y) * vb.scale;
      return {left: x(vb.inner.x), right: x(vb.inner.x + vb.inner.width), top: y(vb.inner.y),
              bottom: y(vb.inner.y + vb.inner.height), paletteRight: palette.right,
              cRight: container.right, cTop: container.top, cBottom: container.bottom};
    }""")
    assert box["left"] > box["paletteRight"] and box["right"] <= box["cRight"], box
    assert box["top"] >= box["cTop"] and box["bottom"] <= box["cBottom"], box

    # the form menu lists this process' forms, not warranty_claim's
    forms = page.locator("#form-file option").all_inner_texts()
    assert forms and all(not name.startswith("warranty") for name in forms), forms

    flow = page.evaluate("""() => {
      const m = window.aftersalesModeler.modeler;
      const flow = m.get('elementRegistry')
        .filter(e => e.type === 'bpmn:SequenceFlow' && e.businessObject.conditionExpression)[0];
      const expr = m.get('bpmnFactory').create('bpmn:FormalExpression', {body: 'severity =='});
      m.get('modeling').updateProperties(flow, {conditionExpression: expr});
      return flow.id;
    }""")
    page.click("#validate")
    item = page.locator(f"#problems li[data-element={flow}]")
    item.wait_for()
    text = item.inner_text()
    assert "条件" in text and "沙箱" in text and "语法错误" in text, text
    # beside the diagram and above the fold
    problems, canvas = page.locator("#problems-box").bounding_box(), page.locator("#canvas").bounding_box()
    assert problems["x"] >= canvas["x"] + canvas["width"] and problems["y"] + 40 < VIEW["height"]
    page.evaluate("() => window.aftersalesModeler.modeler.get('selection').select(null)")
    item.locator("button").click()
    assert page.evaluate("() => window.aftersalesModeler.modeler.get('selection').get().map(e => e.id)") == [flow]
    page.screenshot(path=str(DOCS_IMG / "modeler-problems.png"))

    # token simulation on and off
    page.click("#simulate")
    page.wait_for_selector("body[data-simulation=on]")
    assert page.locator("#simulate").get_attribute("aria-pressed") == "true"
    assert page.locator("#canvas .bts-context-pad").count() >= 1  # the start event's play button
    assert "令牌模拟" in page.locator("#canvas .bts-toggle-mode").inner_text()
    assert page.locator("#canvas .bts-context-pad").first.get_attribute("title") == "触发事件"
    page.locator("#canvas .bts-context-pad").first.dispatch_event("click")
    page.wait_for_selector("#canvas .bts-token")
    page.wait_for_function("() => [...document.querySelectorAll('#canvas .bts-log .bts-text')]"
                           ".some(e => e.textContent.includes('流程已开始'))")
    page.screenshot(path=str(DOCS_IMG / "modeler-simulation.png"))
    page.click("#simulate")
    page.wait_for_selector("body[data-simulation=off]")
    assert errors == []


def test_english_problems_decision_tables_without_console_errors_and_phone_note(live, sign_in, owner, browser):
    page = sign_in(owner, VIEW)
    errors = _console(page)
    page.goto(f"{live.url}/processes/warranty_claim/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    assert not page.locator(".small-screen-note").is_visible()
    page.get_by_role("tab", name="决策表").click()
    page.wait_for_selector("#dmn-canvas[data-ready]")
    assert page.locator("#dmn-canvas .tjs-table, #dmn-canvas .djs-container").count() >= 1
    page.get_by_role("tab", name="流程图").click()
    page.click("#validate")
    page.wait_for_selector("#modeler-status.status-ok, #modeler-status.status-error")
    assert errors == []

    page.set_viewport_size({"width": 390, "height": 800})
    assert page.locator(".small-screen-note").is_visible()
    assert "更大的屏幕" in page.locator(".small-screen-note").inner_text()


def test_problem_texts_follow_the_language(live):
    from webapp.modeler.problem_text import localize

    reason = "condition: expression refused by the sandbox: Line 1: SyntaxError: invalid syntax at statement: 'x ==' [x ==]"
    with live.app.test_request_context():
        chinese = localize(reason)
    with live.app.test_request_context(headers={"Cookie": "lang=en"}):
        english = localize(reason)
    assert chinese.startswith("条件") and "语法错误" in chinese and "x ==" in chinese
    assert english.startswith("Condition: ") and "syntax error" in english


def test_an_exported_diagram_imports_with_its_deployed_forms(live, sign_in, owner):
    """A diagram downloaded from here comes back without its form files: the modeler takes the
    deployed forms it names, so it validates as it did."""
    page = sign_in(owner, VIEW)
    errors = _console(page)
    page.goto(f"{live.url}/processes/new")
    page.wait_for_selector("body[data-modeler-ready=true]")
    xml = (Path(__file__).resolve().parents[2] / "processes" / "complaint_handling.bpmn").read_text(encoding="utf-8")
    page.set_input_files("#import-files", _upload({"complaint_handling.bpmn20.xml": xml}))
    _finish_import(page)
    page.wait_for_selector("#modeler-status.status-ok")
    assert page.locator("#problems li").count() == 0
    assert "complaint-analyse-schema.json" in page.evaluate("() => Object.keys(window.aftersalesModeler.state.forms)")
    assert errors == []


def test_a_folder_imports_its_diagrams_and_leaves_the_rest_out(live, sign_in, owner, tmp_path):
    folder = tmp_path / "exported"
    folder.mkdir()
    for name, text in diagrams.call_pair().items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "readme.txt").write_text("notes", encoding="utf-8")
    page = sign_in(owner, VIEW)
    page.goto(f"{live.url}/processes/new")
    page.wait_for_selector("body[data-modeler-ready=true]")
    page.set_input_files("#import-folder", str(folder))
    page.wait_for_selector("#main-process-dialog[open]")
    assert page.locator("#main-process-dialog input[name=main]").count() == 2
    page.locator("#main-process-dialog button[value=ok]").click()  # the proposed one: the caller
    _finish_import(page)
    assert page.evaluate("() => Object.keys(window.aftersalesModeler.state.files).sort()") == [
        "a_parts_check.bpmn", "z_repair_order.bpmn"]
    assert page.evaluate("() => window.aftersalesModeler.state.main") == "z_repair_order.bpmn"
    said = page.locator("#modeler-status").inner_text()
    assert "已略过" in said and "readme.txt" in said
