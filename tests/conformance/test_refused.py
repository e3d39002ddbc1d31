"""Diagrams SpiffWorkflow parses but we do not run are refused at deploy with a 400 that
names the element and says why (docs/bpmn-support.md); none answers 500."""

from __future__ import annotations

import io

import pytest

from tests.conformance.bpmn import (
    boundary,
    compensate,
    definitions,
    el,
    end,
    error,
    escalation,
    flows,
    gateway,
    process,
    start,
    subprocess,
    throw,
    user,
)


def _event_sub(kind_definition: str, **top) -> str:
    inner = start("es_start", kind_definition) + user("react") + end("es_end") + flows("es_start", "react", "es_end")
    return definitions(process("refused", start(), user("a"), end(), flows("start", "a", "end"),
                               subprocess("es", inner, event=True)), **top)


REFUSED = {
    "complex_gateway": ("cg", definitions(process("refused", start(), gateway("complex", "cg"), user("a"), end(),
                                                  flows("start", "cg", "a", "end")))),
    "compensation_boundary": ("bcomp", definitions(process("refused", start(), user("a"), boundary("bcomp", "a", compensate()),
                                                           throw("undo", compensate()), end(),
                                                           flows("start", "a", "undo", "end")))),
    "ad_hoc_subprocess": ("ah", definitions(process("refused", start(), el("adHocSubProcess", "ah", user("x")), end(),
                                                    flows("start", "ah", "end")))),
    "error_event_subprocess": ("es_start", _event_sub(error("err_e"), errors={"e": "1"})),
    "escalation_event_subprocess": ("es_start", _event_sub(escalation("esc_e"), escalations={"e": "E"})),
    "link_events": ("jump", definitions(process("refused", start(), user("a"),
                                                throw("jump", el("linkEventDefinition", name="L")),
                                                el("intermediateCatchEvent", "land", el("linkEventDefinition", name="L")),
                                                user("b"), end(), flows("start", "a", "jump") + flows("land", "b", "end")))),
    "service_task_without_operator": ("svc", definitions(process("refused", start(), el("serviceTask", "svc"), end(),
                                                                 flows("start", "svc", "end")))),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_diagram_we_do_not_run_is_refused_naming_its_element(users, name):
    element, xml = REFUSED[name]
    data = {"file0": (io.BytesIO(xml.encode()), f"{name}.bpmn")}
    r = users["owner"].post("/api/process-definitions", data=data, content_type="multipart/form-data")
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert element in str(body), body
