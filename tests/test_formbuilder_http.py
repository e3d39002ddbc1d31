"""The form builder's endpoints: fields read from a form, written back into its JSON Schema and
UI schema (what the builder does not model left as it was), previewed by the staff pages'
renderer, and refused with the field and the reason (nothing written) when wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from webapp.engine.forms import validate
from webapp.modeler import formbuilder

FORMS = ROOT / "processes" / "forms"
FIELDS, PREVIEW, SAVE = ("/processes/api/form-builder/fields", "/processes/api/form-builder/preview",
                         "/processes/api/form-builder/save")


def _form(name: str) -> tuple[dict, dict]:
    return (json.loads((FORMS / f"{name}-schema.json").read_text(encoding="utf-8")),
            json.loads((FORMS / f"{name}-uischema.json").read_text(encoding="utf-8")))


def _new(key: str, label: str, kind: str = "text", **extra) -> dict:
    return {"original": None, "key": key, "label": label, "type": kind, "required": False, "help": "", "options": [],
            "columns": [], "limits": {}, "time": {}, "condition": None, **extra}


@pytest.mark.parametrize("path", sorted(FORMS.glob("*-schema.json")), ids=lambda p: p.name)
def test_every_shipped_form_goes_through_the_builder_unchanged(path: Path):
    schema, ui = _form(path.name.removesuffix("-schema.json"))
    written_schema, written_ui = formbuilder.write(formbuilder.check(formbuilder.fields_of(schema, ui)), schema, ui)
    # the same bytes, key order included; only an ui:order is added where the file had none
    assert json.dumps(written_schema, ensure_ascii=False) == json.dumps(schema, ensure_ascii=False)
    assert written_ui == {**ui, "ui:order": ui.get("ui:order", list(schema["properties"]))}


def test_fields_of_a_form_name_types_conditions_and_limits(users):
    schema, ui = _form("complaint-verify")
    body = users["owner"].post(FIELDS, {"schema": schema, "ui_schema": ui})
    assert body.status_code == 200, body.get_json()
    fields = {f["key"]: f for f in body.get_json()["fields"]}
    assert list(fields) == [k for k in ui.get("ui:order", schema["properties"]) if k in schema["properties"]]
    for key, prop in schema["properties"].items():
        assert fields[key]["label"] == prop.get("title", "")
        if "maxLength" in prop and fields[key]["type"] in ("text", "textarea"):
            assert fields[key]["limits"]["maxLength"] == prop["maxLength"]


def test_a_conditional_field_is_written_as_if_then_and_previewed_by_the_staff_renderer(users):
    schema, ui = _form("complaint-decide")
    fields = users["owner"].post(FIELDS, {"schema": schema, "ui_schema": ui}).get_json()["fields"]
    fields.insert(1, _new("needs_visit", "需要上门", "boolean"))
    fields.append(_new("visit_at", "上门时间", "datetime", required=True, time={"notBefore": "now"},
                       condition={"field": "needs_visit", "op": "equals", "value": "true"}))
    fields.append(_new("visit_note", "上门说明", "textarea", limits={"maxLength": "200"},
                       condition={"field": "visit_at", "op": "filled"}))
    body = {"schema": schema, "ui_schema": ui, "fields": fields}

    preview = users["owner"].post(PREVIEW, body)
    assert preview.status_code == 200, preview.get_json()
    html = preview.get_json()["html"]
    assert 'name="needs_visit"' in html and "上门时间" in html
    # shown only while its condition holds: hidden now, with the condition for the page's script
    assert 'data-when=' in html and 'id="f-visit_at"' in html

    saved = users["owner"].post(SAVE, body)
    assert saved.status_code == 200, saved.get_json()
    written, written_ui = saved.get_json()["schema"], saved.get_json()["ui_schema"]
    assert written["allOf"] == [{"if": {"properties": {"needs_visit": {"const": True}}, "required": ["needs_visit"]},
                                 "then": {"required": ["visit_at"]}}]
    assert written["dependentRequired"] == {"visit_at": ["visit_note"]}
    assert written["properties"]["visit_at"] == {"title": "上门时间", "type": "string", "format": "date-time",
                                                 "x-time": {"notBefore": "now"}}
    assert written["properties"]["visit_note"]["maxLength"] == 200
    assert "visit_at" not in written["required"]
    assert written_ui["ui:order"][:2] == ["cause", "needs_visit"]
    assert written_ui["visit_note"] == {"ui:widget": "textarea"}
    # what the builder does not model is untouched
    assert written["properties"]["cause"] == schema["properties"]["cause"]
    assert written_ui["solution"] == ui["solution"] and written["description"] == schema["description"]

    # the written files check task data on the server as the engine does for a task
    base = {"cause": "压缩机故障", "responsible_department": "quality", "solution": "免费更换压缩机"}
    assert validate(written, {**base, "needs_visit": False}) == {}
    assert validate(written, {**base, "needs_visit": True}) == {"visit_at": "required / 必填"}
    assert validate(written, {**base, "needs_visit": True, "visit_at": "2030-01-01T09:00:00+08:00"}) == {
        "visit_note": "required / 必填"}
    assert validate(written, {**base, "needs_visit": True, "visit_at": "2030-01-01T09:00:00+08:00",
                              "visit_note": "x" * 201}).keys() == {"visit_note"}


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda f: f[0].update(key="1bad"), "fields.0.key", "小写字母"),
    (lambda f: f[1].update(key=f[0]["key"]), "fields.1.key", "重复"),
    (lambda f: f[0].update(label=" "), "fields.0.label", "标签"),
    (lambda f: f[1].update(options=[]), "fields.1.options", "至少一个选项"),
    (lambda f: f[0].update(limits={"maxLength": "many"}), "fields.0.limits.maxLength", "数字"),
    (lambda f: f[0].update(limits={"minLength": 9, "maxLength": 3}), "fields.0.limits", "下限大于上限"),
    (lambda f: f[2].update(condition={"field": "responsible_department", "op": "equals", "value": "nobody"}),
     "fields.2.condition.value", "选项之一"),
    (lambda f: f[2].update(condition={"field": "gone", "op": "equals", "value": "x"}), "fields.2.condition.field", "另一字段"),
    (lambda f: f[0].update(type="colour"), "fields.0.type", "未知类型"),
])
def test_a_wrong_field_is_refused_with_the_field_and_the_reason(users, change, field, words):
    schema, ui = _form("complaint-decide")
    before = copy.deepcopy(schema)
    fields = users["owner"].post(FIELDS, {"schema": schema, "ui_schema": ui}).get_json()["fields"]
    change(fields)
    for url in (PREVIEW, SAVE):
        response = users["owner"].post(url, {"schema": schema, "ui_schema": ui, "fields": fields})
        assert response.status_code == 422, response.get_json()
        errors = response.get_json()["errors"]
        assert field in errors and words in errors[field], errors
        assert "schema" not in response.get_json()  # nothing written back
    assert schema == before


def test_a_schema_the_deploy_would_refuse_is_not_saved(users):
    schema, ui = _form("complaint-decide")
    schema["properties"]["cause"]["pattern"] = "(unclosed"
    fields = users["owner"].post(FIELDS, {"schema": {**schema, "properties": {}}, "ui_schema": {}}).get_json()["fields"]
    response = users["owner"].post(SAVE, {"schema": schema, "ui_schema": ui,
                                          "fields": formbuilder.fields_of(schema, ui) + fields})
    assert response.status_code == 422
    assert "schema" in response.get_json()["errors"]
    bad = users["owner"].post(SAVE, {"schema": {"type": 12}, "ui_schema": {}, "fields": []})
    assert bad.status_code == 422 and "schema" in bad.get_json()["errors"]
    assert users["owner"].post(SAVE, {"schema": {}, "ui_schema": [], "fields": []}).status_code == 422
    assert users["owner"].post(SAVE, {"schema": {}, "ui_schema": {}, "fields": "x"}).get_json()["errors"] == {
        "fields": "a list of field objects / 须为字段列表"}


JUNK = [None, 1, "x", [], {}, [1], {"a": [1]}, True, -1.5, [{"value": None}], [{"label": "x"}]]


def test_any_shape_of_junk_is_a_422_never_a_500(users):
    schema, ui = _form("complaint-decide")
    fields = formbuilder.fields_of(schema, ui)
    names = ("key", "label", "type", "required", "options", "columns", "limits", "time", "condition", "original")
    for name in names:
        for junk in JUNK:
            changed = copy.deepcopy(fields)
            changed[1][name] = junk
            if name == "condition":
                changed[1]["condition"] = {"field": junk, "op": junk, "value": junk}
            if name == "time":
                changed[1]["type"], changed[1]["time"] = "date", {"after": junk, "before": "now"}
            if name == "limits":
                changed[1]["type"], changed[1]["limits"] = "number", {"minimum": junk}
            response = users["owner"].post(PREVIEW, {"schema": schema, "ui_schema": ui, "fields": changed})
            assert response.status_code in (200, 422), (name, junk, response.get_data(as_text=True)[:300])
    for junk in JUNK:
        for body in ({"schema": junk, "fields": []}, {"schema": schema, "ui_schema": {"ui:order": junk}, "fields": fields},
                     {"schema": schema, "fields": [junk]}):
            response = users["owner"].post(SAVE, body)
            assert response.status_code in (200, 422), (body, response.get_data(as_text=True)[:300])


def test_a_renamed_field_keeps_its_conditions_and_layout(users):
    schema, ui = _form("complaint-decide")
    fields = formbuilder.fields_of(schema, ui)
    fields.append(_new("escalate", "上报", "boolean"))
    fields[0]["condition"] = {"field": "escalate", "op": "equals", "value": True}
    schema, ui = formbuilder.write(formbuilder.check(fields), schema, ui)
    fields = formbuilder.fields_of(schema, ui)
    assert fields[0]["condition"] == {"field": "escalate", "op": "equals", "value": True}
    fields[0]["key"] = "root_cause"
    written, written_ui = formbuilder.write(formbuilder.check(fields), schema, ui)
    assert "cause" not in written["properties"] and written["properties"]["root_cause"]["minLength"] == 2
    assert written_ui["root_cause"] == ui["cause"] and "cause" not in written_ui
    assert written["allOf"][0]["then"] == {"required": ["root_cause"]}


def test_the_builder_needs_a_signed_in_user(app):
    assert app.test_client().post(SAVE, json={"schema": {}, "fields": []}).status_code == 401
