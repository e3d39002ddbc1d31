"""Issue 16, the form builder in a real browser: a process owner opens the form of
分析原因并决定解决方案, adds a yes/no field and a date-time field shown and required only when the
first is ticked, moves it, and sees the server-rendered preview show the conditional field
once the condition holds. Saved and deployed, the files check task data on the server as
expected (required while the condition holds, not otherwise). The screenshot for
docs/modeler.md goes to docs/img/."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ROOT
from webapp.accounts import create_user
from webapp.engine.forms import validate
from webapp.extensions import db
from webapp.models import Definition

pytestmark = pytest.mark.browser

FORM = "complaint-decide-schema.json"
DOCS_IMG = ROOT / "docs" / "img"


@pytest.fixture(scope="module")
def owner(live):
    def make():
        create_user("owner", "pw-owner", ["process_owner"])
        db.session.commit()

    live.query(make)
    return "owner"


def _card(page, index: int):
    return page.locator("#fb-fields li.fb-field").nth(index)


def _add_field(page, label: str, key: str, kind: str):
    page.get_by_role("button", name="添加字段").click()
    card = page.locator("#fb-fields li.fb-field").last
    card.locator("[data-what=label]").fill(label)
    card.locator("[data-what=key]").fill(key)
    card.locator("[data-what=key]").blur()
    card = page.locator(f'#fb-fields li.fb-field[data-key="{key}"]')
    card.locator("select[data-what=type]").select_option(kind)
    return page.locator(f'#fb-fields li.fb-field[data-key="{key}"]')


def test_owner_builds_a_conditional_field_sees_it_in_the_preview_saves_and_the_server_checks_it(live, sign_in, owner):
    page = sign_in(owner, viewport={"width": 1280, "height": 800})
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{live.url}/processes/complaint_handling/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    page.get_by_role("tab", name="表单").click()
    # the tab opens the process's first form; then ours is chosen (once the first is in)
    page.wait_for_function("() => !!document.getElementById('form-editor').dataset.form")
    page.locator("#form-file").select_option(FORM)
    page.wait_for_function(f"() => document.getElementById('form-editor').dataset.form === '{FORM}'")
    shipped = json.loads((ROOT / "processes" / "forms" / FORM).read_text(encoding="utf-8"))
    keys = json.loads((ROOT / "processes" / "forms" / FORM.replace("-schema", "-uischema")).read_text(
        encoding="utf-8")).get("ui:order") or list(shipped["properties"])
    titles = [f"{i}. {shipped['properties'][k]['title']}" for i, k in enumerate(keys, 1)]
    page.wait_for_function(f"() => [...document.querySelectorAll('#fb-fields .fb-title')].map(e => e.textContent)"
                           f".join('|') === {json.dumps('|'.join(titles), ensure_ascii=False)}")
    assert page.get_by_role("button", name="源文件").is_visible()

    _add_field(page, "需要上门", "needs_visit", "boolean")
    visit = _add_field(page, "上门时间", "visit_at", "datetime")
    visit.locator("[data-what=required]").check()
    visit.locator("select[data-what='time.notBefore']").select_option("now")
    page.locator('li.fb-field[data-key="visit_at"] select[data-what="condition.field"]').select_option("needs_visit")
    page.locator('li.fb-field[data-key="visit_at"] select[data-what="condition.value"]').select_option("true")
    # order: the yes/no field right after the first one, by steps up
    for _ in range(len(keys) - 1):
        page.locator('li.fb-field[data-key="needs_visit"] button[data-move="-1"]').click()
    order = [keys[0], "needs_visit", *keys[1:], "visit_at"]
    assert page.locator("#fb-fields li.fb-field").evaluate_all("els => els.map(e => e.dataset.key)") == order

    # the preview is the staff form: the conditional field is there but hidden until ticked
    page.wait_for_selector("#fb-preview:not([data-pending])", state="attached")  # the last edit's preview
    page.wait_for_function("() => !!document.querySelector('#fb-preview #f-visit_at')")
    page.wait_for_function("() => [...document.querySelectorAll('#fb-preview [name]')].map(e => e.name)"
                           ".filter(n => n === 'needs_visit').length > 0")
    names = page.locator("#fb-preview input[name], #fb-preview select[name], #fb-preview textarea[name]").evaluate_all(
        "els => [...new Set(els.map(e => e.name))]")
    assert names.index(keys[0]) < names.index("needs_visit") < names.index(keys[1]) < names.index("visit_at")
    assert not page.locator("#fb-preview #f-visit_at").is_visible()
    page.locator("#fb-preview #f-needs_visit").check()
    page.wait_for_function("() => document.querySelector('#fb-preview #f-visit_at').offsetParent !== null")
    assert page.locator("#fb-preview label[for=f-visit_at]").inner_text().startswith("上门时间")
    page.locator("#fb-preview #f-needs_visit").uncheck()
    page.wait_for_function("() => document.querySelector('#fb-preview #f-visit_at').offsetParent === null")
    page.locator("#fb-preview #f-needs_visit").check()

    # a wrong key is named at its field and nothing is saved
    page.locator('li.fb-field[data-key="needs_visit"] [data-what=key]').fill("需要")
    page.get_by_role("button", name="保存表单").click()
    page.wait_for_function("() => document.getElementById('fb-status').textContent.startsWith('未保存')")
    assert "小写字母" in page.locator('li.fb-field[data-index="1"] .fb-err[data-for=key]').inner_text()
    assert "needs_visit" not in page.locator("#form-schema").input_value()
    page.locator('li.fb-field[data-index="1"] [data-what=key]').fill("needs_visit")
    page.locator('li.fb-field[data-index="1"] [data-what=key]').blur()

    page.get_by_role("button", name="保存表单").click()
    page.wait_for_function("() => document.getElementById('fb-status').textContent.includes('已保存')")
    page.wait_for_selector("#fb-preview:not([data-pending])", state="attached")
    page.evaluate("() => window.scrollTo(0, document.getElementById('panel-forms').getBoundingClientRect().top"
                  " + window.scrollY - 8)")
    page.locator('li.fb-field[data-key="visit_at"] .fb-condition').scroll_into_view_if_needed()
    assert page.locator('li.fb-field[data-key="visit_at"] [data-what=required]').is_checked()
    page.wait_for_function("() => !document.getElementById('fb-preview').querySelector('#f-needs_visit').disabled")
    if not page.locator("#fb-preview #f-needs_visit").is_checked():
        page.locator("#fb-preview #f-needs_visit").check()
    page.wait_for_function("() => document.querySelector('#fb-preview #f-visit_at').offsetParent !== null")
    page.locator("#fb-preview #f-visit_at").scroll_into_view_if_needed()
    DOCS_IMG.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "modeler-form-builder.png"))

    # raw JSON is one click away and holds what the builder wrote
    page.get_by_role("button", name="源文件").click()
    assert page.locator("#form-schema").is_visible()
    raw = json.loads(page.locator("#form-schema").input_value())
    assert raw["allOf"] == [{"if": {"properties": {"needs_visit": {"const": True}}, "required": ["needs_visit"]},
                             "then": {"required": ["visit_at"]}}]
    page.get_by_role("button", name="表单设计器").click()
    page.wait_for_function(f"() => document.querySelectorAll('#fb-fields li.fb-field').length === {len(order)}")

    page.get_by_role("button", name="部署").click()
    page.wait_for_selector("body[data-deployed-version='2']")
    assert errors == []

    def deployed_form():
        row = db.session.scalar(db.select(Definition).where(Definition.key == "complaint_handling", Definition.version == 2))
        return row.forms[FORM], row.forms[FORM.replace("-schema", "-uischema")]

    schema, ui = live.query(deployed_form)
    assert ui["ui:order"] == order
    assert schema["properties"]["visit_at"]["x-time"] == {"notBefore": "now"}
    base = {"cause": "压缩机故障", "responsible_department": "quality", "solution": "免费更换压缩机"}
    assert validate(schema, {**base, "needs_visit": False}) == {}
    assert validate(schema, {**base, "needs_visit": True}) == {"visit_at": "required / 必填"}
    assert validate(schema, {**base, "needs_visit": True, "visit_at": "2030-01-01T09:00:00+08:00"}) == {}


def test_a_card_dragged_onto_another_takes_its_place_in_english_too(live, sign_in, owner):
    page = sign_in(owner, viewport={"width": 1280, "height": 800})
    page.goto(f"{live.url}/lang/en")
    page.goto(f"{live.url}/processes/complaint_handling/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    page.get_by_role("tab", name="Forms").click()
    page.wait_for_function("() => !!document.getElementById('form-editor').dataset.form")
    page.locator("#form-file").select_option(FORM)
    page.wait_for_function(f"() => document.getElementById('form-editor').dataset.form === '{FORM}'")
    page.wait_for_selector(f'#form-builder[data-loaded="{FORM}"]', state="attached")  # not the tab's first form
    keys = page.locator("#fb-fields li.fb-field").evaluate_all("els => els.map(e => e.dataset.key)")
    assert page.get_by_role("button", name="Add field").is_visible() and page.get_by_role("button", name="Raw JSON").is_visible()
    # HTML5 drag and drop, the events the browser sends (Playwright's mouse drag does not start one headless)
    transfer = page.evaluate_handle("() => new DataTransfer()")
    page.locator("#fb-fields li.fb-field").last.dispatch_event("dragstart", {"dataTransfer": transfer})
    page.locator("#fb-fields li.fb-field .fb-title").first.dispatch_event("dragover", {"dataTransfer": transfer})
    page.locator("#fb-fields li.fb-field .fb-title").first.dispatch_event("drop", {"dataTransfer": transfer})
    page.wait_for_function(f"() => document.querySelector('#fb-fields li.fb-field').dataset.key === '{keys[-1]}'")
    assert page.locator("#fb-fields li.fb-field").evaluate_all("els => els.map(e => e.dataset.key)") == [keys[-1], *keys[:-1]]
    page.wait_for_selector("#fb-preview:not([data-pending])", state="attached")
    names = page.locator("#fb-preview [name]").evaluate_all("els => [...new Set(els.map(e => e.name))]")
    assert names[0] == keys[-1]
    assert "Changes not saved yet." in page.locator("#fb-status").inner_text()
