"""Issue 12: task instructions (Jinja) render in the sandbox with a budget, and form
patterns run on a linear-time engine (RE2) or are refused at deploy."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.sandbox_diagrams import HEAD, deploy
from webapp.engine import forms, sandbox_pool
from webapp.forms_render.instructions import render_instructions


@pytest.fixture
def small_limits():
    previous = sandbox_pool.limits()
    sandbox_pool.configure(sandbox_pool.Limits(seconds=0.5, memory_mb=256, render_seconds=0.5))
    yield sandbox_pool.limits()
    sandbox_pool.configure(previous)


NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done {{ business_key }}"


@pytest.mark.parametrize(
    "template",
    [
        NESTED,
        "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
        '{{ "a" * 10**10 }}',
        "{% set ns = namespace(n=0) %}{% for i in range(10) %}{{ lipsum(10**6) }}{% endfor %}",
    ],
)
def test_runaway_instructions_show_as_written_within_the_limit(small_limits, template):
    started = time.monotonic()
    html = str(render_instructions(template, {"business_key": "TS-1"}))
    assert time.monotonic() - started < small_limits.render_seconds + 5
    assert len(html) <= 60_000
    assert "TS-1" not in html  # not rendered: the modeller's text is shown instead


def test_instructions_still_render_in_the_sandbox():
    html = str(render_instructions("**{{ business_key }}** {% for i in range(3) %}{{ i }}{% endfor %}", {"business_key": "TS-1"}))
    assert '<strong><span translate="no">TS-1</span></strong>' in html  # values come out marked as data
    assert re.sub(r"<[^>]+>", "", html).strip() == "TS-1 012"


def _start_form_process(key: str, schema: dict) -> tuple[str, dict[str, bytes]]:
    xml = f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="{key}-schema.json"/>
    </spiffworkflow:properties></bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="look" name="查看"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return xml, {f"{key}-schema.json": json.dumps(schema).encode()}


def test_a_catastrophic_pattern_answers_at_once_on_re2(users):
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}
    xml, extra = _start_form_process("redos", schema)
    assert deploy(users["owner"], xml, "redos.bpmn", extra).status_code == 201
    started = time.monotonic()
    r = users["agent"].post("/api/process-instances", {"process_key": "redos", "data": {"code": "a" * 50_000 + "!"}})
    assert time.monotonic() - started < 5
    assert r.status_code == 422
    assert "code" in r.get_json()["errors"]
    ok = users["agent"].post("/api/process-instances", {"process_key": "redos", "data": {"code": "aaaa"}})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ({"type": "object", "properties": {"x": {"type": "string", "pattern": "^(a)\\1$"}}}, "linear-time"),
        ({"type": "object", "properties": {"x": {"type": "string", "pattern": "(?=a)a"}}}, "linear-time"),
        ({"type": "object", "patternProperties": {"^(a+)+$": {"type": "string"}}, "additionalProperties": False}, "backtrack"),
    ],
)
def test_patterns_that_could_backtrack_are_refused_at_deploy_naming_the_element(users, schema, says):
    xml, extra = _start_form_process("badpattern", schema)
    r = deploy(users["owner"], xml, "badpattern.bpmn", extra)
    assert r.status_code == 400
    assert says in r.get_json()["errors"]["start"]


def test_format_regex_is_checked_on_re2():
    schema = {"type": "object", "properties": {"r": {"type": "string", "format": "regex"}}}
    assert forms.validate(schema, {"r": "^[a-z]+$"}) == {}
    assert "r" in forms.validate(schema, {"r": "(a)\\1"})


def test_the_procedures_form_patterns_all_run_on_re2():
    from tests.conftest import ROOT

    for path in sorted((ROOT / "processes" / "forms").glob("*-schema.json")):
        assert forms.schema_problem(json.loads(path.read_text(encoding="utf-8"))) is None, path.name
