"""Issue 13, items 8 and 9 in the modeler: deploying a diagram whose process id belongs to
another file asks before it replaces; lanes that match no role are mapped in a dialog."""

from __future__ import annotations

import pytest

from tests.test_deploy_keys_lanes import one_task, three_lanes
from webapp.accounts import create_user
from webapp.engine import clock, definitions
from webapp.extensions import db
from webapp.models import Definition

pytestmark = pytest.mark.browser


def with_empty_plane(xml: str, process_id: str) -> str:
    """bpmn-js opens only a diagram with DI; an empty plane is enough (the elements stay in the XML)."""
    di = (
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" id="diagram">'
        f'<bpmndi:BPMNPlane id="plane" bpmnElement="{process_id}"/></bpmndi:BPMNDiagram>'
    )
    return xml.replace("</bpmn:definitions>", di + "</bpmn:definitions>")


def test_modeler_asks_to_replace_and_maps_lanes(live, sign_in):
    def setup():
        create_user("owner4", "pw-owner4", ["process_owner"])
        definitions.deploy({"demo_a.bpmn": one_task("laned").encode()}, actor="owner4", now=clock.now())
        db.session.commit()

    live.query(setup)
    page = sign_in("owner4")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.goto(f"{live.url}/processes/new")
    page.wait_for_selector("body[data-modeler-ready=true]")
    page.evaluate(
        "xml => window.aftersalesModeler.modeler.importXML(xml).then(() =>"
        " { window.aftersalesModeler.deploy(true).then(body => { window.deployed = body; }); })",
        with_empty_plane(three_lanes(), "laned"),
    )
    page.wait_for_selector("#lane-roles-dialog[open]")
    assert page.locator("#lane-roles-dialog select").count() == 2  # 技术员 and Mystery team; Technician maps by name
    page.select_option("#lane-roles-dialog select[data-lane=Lane_2]", "technician")
    page.select_option("#lane-roles-dialog select[data-lane=Lane_3]", "quality_dept")
    page.locator("#lane-roles-dialog button[value=ok]").click()
    page.wait_for_function("() => window.deployed")
    body = page.evaluate("() => window.deployed")
    assert body["_status"] == 201, body
    assert asked and "demo_a.bpmn" in asked[0]  # the confirm named the file that owned the id
    assert (body["version"], body["replaced_file"]) == (2, "demo_a.bpmn")
    assert "demo_a.bpmn" in page.locator("#modeler-status").inner_text()

    def mapping():
        row = db.session.scalar(db.select(Definition).where(Definition.key == "laned", Definition.version == 2))
        return row.meta["lane_mapping"]

    assert live.query(mapping) == {"Lane_2": "technician", "Lane_3": "quality_dept"}
