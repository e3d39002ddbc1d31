"""Acceptance 4: every field type is rendered from JSON Schema + UI schema, parsed back to typed
JSON, and validated on the server with the message beside its field."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from tests.test_ui_support import compiled_translations, open_task, signed_in, text_of  # noqa: F401
from webapp.engine import clock, definitions, runtime
from webapp.extensions import db
from webapp.forms_render import build_fields, kind_of, parse_submission, validation_errors
from webapp.forms_render.instructions import render_instructions
from webapp.models import InboxTask, Instance

SHANGHAI = ZoneInfo("Asia/Shanghai")

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "全部字段",
    "type": "object",
    "required": ["title_text", "quantity", "visit_date", "channel", "severity", "agrees", "parts"],
    "properties": {
        "customer_name": {"type": "string", "title": "客户姓名", "readOnly": True},
        "title_text": {"type": "string", "title": "标题", "minLength": 2, "maxLength": 50},
        "notes": {"type": "string", "title": "备注", "maxLength": 20},
        "amount": {"type": "number", "title": "里程", "minimum": 0, "maximum": 100},
        "quantity": {"type": "integer", "title": "数量", "minimum": 1},
        "fee": {"type": "number", "title": "费用", "minimum": 0},
        "visit_date": {"type": "string", "title": "上门日期", "format": "date"},
        "visit_at": {"type": "string", "title": "到达时间", "format": "date-time"},
        "channel": {"type": "string", "title": "渠道", "oneOf": [{"const": "phone", "title": "电话"},
                                                                 {"const": "web", "title": "网站"}]},
        "severity": {"type": "string", "title": "等级", "oneOf": [{"const": "normal", "title": "一般"},
                                                                  {"const": "major", "title": "重大"}]},
        "urgent": {"type": "boolean", "title": "加急"},
        "agrees": {"type": "boolean", "title": "客户同意", "oneOf": [{"const": True, "title": "是"},
                                                                      {"const": False, "title": "否"}]},
        "symptoms": {
            "type": "array", "title": "故障现象", "uniqueItems": True,
            "items": {"type": "string", "oneOf": [{"const": "noise", "title": "异响"}, {"const": "leak", "title": "漏水"},
                                                  {"const": "dead", "title": "不通电"}]},
        },
        "parts": {
            "type": "array", "title": "配件", "minItems": 1,
            "items": {
                "type": "object", "required": ["part_no", "qty"],
                "properties": {
                    "part_no": {"type": "string", "title": "配件号", "pattern": "^[A-Z0-9-]{3,20}$"},
                    "qty": {"type": "integer", "title": "数量", "minimum": 1},
                    "unit_price": {"type": "number", "title": "单价", "minimum": 0},
                },
            },
        },
    },
}
UI = {
    "ui:order": ["customer_name", "title_text", "notes", "amount", "quantity", "fee", "visit_date", "visit_at",
                 "channel", "severity", "urgent", "agrees", "symptoms", "parts"],
    "notes": {"ui:widget": "textarea", "ui:options": {"rows": 2}, "ui:placeholder": "写点什么"},
    "fee": {"ui:widget": "money", "ui:help": "含税"},
    "severity": {"ui:widget": "radio"},
    "channel": {"ui:widget": "select", "ui:placeholder": "请选择渠道"},
    "agrees": {"ui:widget": "radio"},
    "urgent": {"ui:widget": "checkbox"},
    "symptoms": {"ui:widget": "checkboxes"},
    "parts": {"items": {"unit_price": {"ui:widget": "money"}}},
}
START_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "登记测试",
    "type": "object",
    "required": ["customer_name"],
    "properties": {"customer_name": {"type": "string", "title": "客户姓名", "minLength": 1}},
}
INSTRUCTIONS = (
    "**请处理** {{ customer_name }} 的工单 {{ business_key }}。\n\n"
    "- 第一步\n- 第二步\n\n<script>alert(1)</script>"
)
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_all" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="ui_all_fields" name="字段测试" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="technician" name="维修人员">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="all-start-schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="fill" name="填写全部字段">
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUser>{escape(INSTRUCTIONS)}</spiffworkflow:instructionsForEndUser>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="all-schema.json"/>
          <spiffworkflow:property name="formUiSchemaFilename" value="all-uischema.json"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="结束"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

VALID = {
    "customer_name": "有人想改名",  # read-only: must be ignored
    "title_text": "上门维修",
    "notes": "第二次上门",
    "amount": "１２.５",  # full-width digits from a Chinese keyboard
    "quantity": "2",
    "fee": "¥1,200.50",
    "visit_date": "2026-03-05",
    "visit_at": "2026-03-05T09:30",
    "channel": "web",
    "severity": "major",
    "urgent": "true",
    "agrees": "false",
    "symptoms": ["noise", "dead"],
    "parts.0.part_no": "AB-100",
    "parts.0.qty": "3",
    "parts.0.unit_price": "19.99",
    "parts.1.part_no": "",  # a blank line is dropped
    "parts.1.qty": "",
    "parts.1.unit_price": "",
    "parts.2.part_no": "CD-200",
    "parts.2.qty": "1",
    "parts.2.unit_price": "",
}
EXPECTED = {
    "customer_name": "王芳",
    "title_text": "上门维修",
    "notes": "第二次上门",
    "amount": 12.5,
    "quantity": 2,
    "fee": 1200.5,
    "visit_date": "2026-03-05",
    "visit_at": "2026-03-05T01:30:00Z",
    "channel": "web",
    "severity": "major",
    "urgent": True,
    "agrees": False,
    "symptoms": ["noise", "dead"],
    "parts": [{"part_no": "AB-100", "qty": 3, "unit_price": 19.99}, {"part_no": "CD-200", "qty": 1}],
}


@contextmanager
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


def _form(values: dict) -> MultiDict:
    pairs = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return MultiDict(pairs)


def _parse(values: dict, case_data: dict | None = None):
    return parse_submission(SCHEMA, UI, _form(values), case_data=case_data or {"customer_name": "王芳"}, tz=SHANGHAI)


# ---------------------------------------------------------------- the module on its own


def test_each_property_gets_its_widget():
    kinds = {name: kind_of(prop, UI.get(name)) for name, prop in SCHEMA["properties"].items()}
    assert kinds == {
        "customer_name": "readonly", "title_text": "text", "notes": "textarea", "amount": "number", "quantity": "integer",
        "fee": "money", "visit_date": "date", "visit_at": "datetime", "channel": "select", "severity": "radio",
        "urgent": "checkbox", "agrees": "radio", "symptoms": "checkboxes", "parts": "rows",
    }


def test_valid_submission_parses_to_typed_json(app):
    with english(app):
        parsed = _parse(VALID)
        assert parsed.errors == {}
        assert parsed.data == EXPECTED
        assert validation_errors(SCHEMA, parsed.data) == {}


@pytest.mark.parametrize(
    "field, text, key, message",
    [
        ("title_text", "", "title_text", "This field is required."),
        ("title_text", "a", "title_text", "Enter at least 2 characters."),
        ("notes", "这是一段超过二十个字的备注，这是一段超过二十个字的备注", "notes", "Enter at most 20 characters."),
        ("amount", "abc", "amount", "Enter a number."),
        ("amount", "150", "amount", "Enter 100 or less."),
        ("quantity", "1.5", "quantity", "Enter a whole number."),
        ("quantity", "0", "quantity", "Enter 1 or more."),
        ("fee", "12.345", "fee", "Enter an amount with at most two decimals."),
        ("fee", "-1", "fee", "Enter 0 or more."),
        ("visit_date", "2026-13-01", "visit_date", "Enter a date (year-month-day)."),
        ("visit_at", "tomorrow", "visit_at", "Enter a date and time."),
        ("channel", "fax", "channel", "Choose one of the options."),
        ("severity", "", "severity", "This field is required."),
        ("agrees", "maybe", "agrees", "Choose yes or no."),
        ("symptoms", ["noise", "smoke"], "symptoms.1", "Choose one of the options."),
        ("parts.0.qty", "x", "parts.0.qty", "Enter a whole number."),
        ("parts.0.part_no", "ab", "parts.0.part_no", "The format is not valid."),
        ("parts.2.part_no", "", "parts.1.part_no", "This field is required."),
    ],
)
def test_server_validation_per_field_type(app, field, text, key, message):
    with english(app):
        parsed = _parse({**VALID, field: text})
        errors = validation_errors(SCHEMA, parsed.data) | parsed.errors
        assert errors.get(key) == message, errors


def test_rows_all_blank_means_no_lines(app):
    blank = {k: "" for k in VALID if k.startswith("parts.")}
    with english(app):
        parsed = _parse({**VALID, **blank})
        assert parsed.data["parts"] == []
        assert validation_errors(SCHEMA, parsed.data)["parts"] == "Add at least 1 lines."


def test_unchecked_checkbox_is_false_and_read_only_comes_from_the_case(app):
    values = {k: v for k, v in VALID.items() if k != "urgent"}
    with english(app):
        parsed = _parse(values, case_data={"customer_name": "王芳"})
    assert parsed.data["urgent"] is False
    assert parsed.data["customer_name"] == "王芳"


def test_what_was_typed_survives_a_failed_parse(app):
    with english(app):
        parsed = _parse({**VALID, "quantity": "二", "visit_at": "明天"})
        fields = {f.name: f for f in build_fields(SCHEMA, UI, parsed.data, parsed.errors, tz=SHANGHAI)}
    assert fields["quantity"].value == "二" and fields["quantity"].error == "Enter a whole number."
    assert fields["visit_at"].value == "明天"
    assert fields["fee"].value == "1200.50"  # money shows two decimals
    assert [c.value for c in fields["channel"].choices if c.selected] == ["web"]
    assert [r[0].value for r in fields["parts"].rows] == ["AB-100", "CD-200"]


def test_stored_date_time_is_shown_in_the_users_zone(app):
    with english(app):
        fields = {f.name: f for f in build_fields(SCHEMA, UI, {"visit_at": "2026-03-05T01:30:00Z"}, tz=SHANGHAI)}
    assert fields["visit_at"].value == "2026-03-05T09:30"


def test_instructions_are_sandboxed_markdown_and_sanitised():
    html = str(render_instructions(INSTRUCTIONS, {"customer_name": "<b onclick=x>王芳</b>", "business_key": "TS-1"}))
    assert "<strong>请处理</strong>" in html and "<li>第一步</li>" in html
    assert "TS-1" in html and "王芳" in html
    assert "<script" not in html and "alert" not in html and "onclick" not in html


def test_the_case_data_an_instruction_quotes_is_marked_as_data_and_its_prose_is_not():
    html = str(render_instructions("客户 {{ name }}：\n{{ note }}{{ missing }}", {"name": "王芳", "note": "第一行\n第二行"}))
    assert '<p>客户 <span translate="no">王芳</span>：<br>' in html
    assert '<span translate="no">第一行<br>第二行</span></p>' in html  # nothing shown for a missing value
    assert html.count("<span") == 2


def test_instructions_drop_script_and_style_blocks_event_handlers_and_script_urls():
    template = ("客户 {{ name }}\n\n<style>body{display:none}</style><SCRIPT type=x>steal()</SCRIPT >"
                "<template><p>hidden</p></template>\n\n<a href=\"javascript:alert(2)\" onmouseover=\"go()\">链接</a> "
                "<a href=\"https://example.test/a\" title=\"t\">好链接</a> <p onclick=\"x()\" style=\"color:red\">段落</p>")
    html = str(render_instructions(template, {"name": "<img src=x onerror=alert(3)>张三"}))
    for gone in ("<style", "display:none", "<script", "steal()", "<template", "hidden", "javascript:", "onmouseover",
                 "onclick", "onerror", "<img", "style=", "alert"):
        assert gone.lower() not in html.lower(), gone
    assert "张三" in html and "链接</a>" in html and "段落" in html  # text of removed tags and attributes stays
    assert 'href="https://example.test/a"' in html and 'title="t"' in html


def test_instructions_cannot_reach_python_internals():
    html = str(render_instructions("{{ ''.__class__.__mro__[1].__subclasses__() }} {{ business_key }}", {"business_key": "TS-1"}))
    assert "<class" not in html and "&lt;class" not in html  # refused by the sandbox: shown as written, not run


def test_broken_instructions_still_show_as_text():
    html = str(render_instructions("{% if %}<img src=x onerror=alert(1)>", {}))
    assert "onerror" not in html and "{% if %}" in html


# ---------------------------------------------------------------- through HTTP


@pytest.fixture
def all_fields(app, users):
    uploads = {
        "all.bpmn": BPMN.encode(),
        "all-start-schema.json": json.dumps(START_SCHEMA).encode(),
        "all-schema.json": json.dumps(SCHEMA).encode(),
        "all-uischema.json": json.dumps(UI).encode(),
    }
    definitions.deploy(uploads, actor="owner", now=clock.now(), known_operators=set())
    db.session.commit()
    tech = signed_in(app, "tech")
    r = tech.post("/new/ui_all_fields", {"customer_name": "王芳"})
    assert r.status_code == 302, text_of(r)
    instance = db.session.scalar(db.select(Instance).where(Instance.process_key == "ui_all_fields"))
    return tech, instance, open_task(instance.id, "fill")


def test_task_page_renders_every_field_type(all_fields):
    tech, instance, row = all_fields
    page = text_of(tech.get(f"/tasks/{row.id}"))
    for fragment in (
        '<output id="f-customer_name" class="readonly-value" translate="no">王芳</output>',
        'type="text" id="f-title_text" name="title_text"',
        # a limit is counted, never enforced by cutting (no maxlength): the server refuses with a message
        '<textarea id="f-notes" name="notes" rows="2" placeholder="写点什么" data-counter="20"',
        '<span data-count>0</span> / 20',
        'id="f-amount" name="amount" value="" inputmode="decimal"',
        'id="f-quantity" name="quantity" value="" inputmode="numeric"',
        '<span class="money">',
        'type="date" id="f-visit_date"',
        'type="datetime-local" id="f-visit_at"',
        '<select id="f-channel" name="channel"',
        'type="radio" id="f-severity-1" name="severity" value="normal"',
        'type="checkbox" id="f-urgent" name="urgent" value="true"',
        'type="radio" id="f-agrees-2" name="agrees" value="false"',
        'type="checkbox" id="f-symptoms-3" name="symptoms" value="dead"',
        'name="parts.0.part_no"',
        'name="parts.__index__.qty"',
        'value="add_row:parts"',
        '<label for="f-title_text" id="f-title_text-label">',
        'id="f-fee-help">含税</p>',
    ):
        assert fragment in page, fragment
    # The instructions: Jinja over the case data, Markdown, sanitised
    instructions = page.split('class="instructions"')[1].split("</div>")[0]
    assert '<strong>请处理</strong> <span translate="no">王芳</span> 的工单 <span translate="no">UI-' in instructions
    assert "<script" not in instructions


def test_invalid_submission_shows_errors_beside_fields_and_keeps_input(all_fields):
    tech, instance, row = all_fields
    bad = {**VALID, "title_text": "a", "quantity": "二", "visit_date": "2026-02-30", "parts.0.qty": "0", "fee": "1.234"}
    r = tech.post(f"/tasks/{row.id}", bad)
    assert r.status_code == 422
    page = text_of(r)
    for name, message in (  # Chinese first: nobody switched the language
        ("title_text", "请至少输入 2 个字。"),
        ("quantity", "请输入整数。"),
        ("visit_date", "请输入日期（年-月-日）。"),
        ("parts-0-qty", "请输入不小于 1 的数。"),
        ("fee", "请输入金额，最多两位小数。"),
    ):
        match = re.search(rf'<p class="field-error" id="f-{name}-error"[^>]*>([^<]*)</p>', page)
        assert match and match.group(1) == message, name
    # nothing typed is lost
    for fragment in ('value="二"', 'value="2026-02-30"', 'value="1.234"', 'name="parts.0.part_no" value="AB-100"',
                     'value="web" selected', 'value="major" checked', 'value="noise" checked', ">第二次上门</textarea>"):
        assert fragment in page, fragment
    assert db.session.get(InboxTask, row.id).state == "open"


def test_add_line_without_javascript_keeps_input(all_fields):
    tech, instance, row = all_fields
    r = tech.post(f"/tasks/{row.id}", {**VALID, "_action": "add_row:parts"})
    page = text_of(r)
    assert r.status_code == 200
    assert 'name="parts.2.part_no" value=""' in page and 'name="parts.1.part_no" value="CD-200"' in page


def test_valid_submission_completes_with_typed_data(all_fields, run_worker):
    tech, instance, row = all_fields
    r = tech.post(f"/tasks/{row.id}", VALID)
    assert r.status_code == 302 and r.headers["Location"] == f"/cases/{instance.id}"
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert instance.status == "completed"
    for key, value in EXPECTED.items():
        assert instance.data[key] == value, key


def test_start_form_errors_are_shown_and_nothing_starts(app, users, all_fields):
    tech = all_fields[0]
    before = db.session.scalar(db.select(db.func.count(Instance.id)))
    r = tech.post("/new/ui_all_fields", {"customer_name": "  "})
    assert r.status_code == 422
    assert '<p class="field-error" id="f-customer_name-error" data-field="customer_name">此项必填。</p>' in text_of(r)
    assert db.session.scalar(db.select(db.func.count(Instance.id))) == before


def test_start_then_case_page_labels_from_the_start_form(all_fields):
    tech, instance, _row = all_fields
    page = text_of(tech.get(f"/cases/{instance.id}"))
    assert '<dt>客户姓名</dt><dd translate="no" data-key="customer_name">王芳</dd>' in page


def test_runtime_draft_round_trip(all_fields):
    tech, instance, row = all_fields
    r = tech.post(f"/tasks/{row.id}", {**VALID, "quantity": "二", "_action": "draft"})
    assert r.status_code == 302
    db.session.expire_all()
    draft = db.session.get(InboxTask, row.id).draft
    assert draft["quantity"] == "二" and draft["parts"][0]["qty"] == 3
    page = text_of(tech.get(f"/tasks/{row.id}"))
    assert 'value="二"' in page and 'name="parts.1.part_no" value="CD-200"' in page
    assert runtime  # the engine keeps the draft; completing is still validated there
