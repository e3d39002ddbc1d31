"""Drafts of complaint_handling for the what-if tests (API, browser, benchmark)."""

from __future__ import annotations

import io
import json

from lxml import etree

from tests.conftest import complaint_files

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
NS = {"bpmn": BPMN, "bpmndi": DI}
NEW_TASK = "review_analysis"
REVIEW_FORM = {
    "title": "复核分析结论",
    "type": "object",
    "required": ["analysis_confirmed"],
    "properties": {"analysis_confirmed": {"type": "boolean", "title": "分析结论已复核"}},
}


def with_review_after_analysis(xml: bytes, *, form: bool = True) -> bytes:
    """complaint_handling.bpmn with a user task 复核分析结论 (review_analysis) between
    分析原因确定责任 (analyse_complaint) and the gateway 能否解决 (gw_resolvable), drawn below it."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    b, s = f"{{{BPMN}}}", f"{{{SPIFF}}}"
    process.find("bpmn:sequenceFlow[@id='flow_analyse_gw_resolvable']", NS).set("targetRef", NEW_TASK)
    task = etree.SubElement(process, b + "userTask", id=NEW_TASK, name="复核分析结论")
    if form:
        props = etree.SubElement(etree.SubElement(task, b + "extensionElements"), s + "properties")
        etree.SubElement(props, s + "property", name="formJsonSchemaFilename", value="complaint-review-schema.json")
    etree.SubElement(task, b + "incoming").text = "flow_analyse_gw_resolvable"
    etree.SubElement(task, b + "outgoing").text = "flow_review_gw_resolvable"
    etree.SubElement(process, b + "sequenceFlow", id="flow_review_gw_resolvable", sourceRef=NEW_TASK, targetRef="gw_resolvable")
    process.find("bpmn:exclusiveGateway[@id='gw_resolvable']/bpmn:incoming", NS).text = "flow_review_gw_resolvable"
    etree.SubElement(process.find(".//bpmn:lane[@id='complaint_handler']", NS), b + "flowNodeRef").text = NEW_TASK
    analyse = root.find(".//bpmndi:BPMNShape[@bpmnElement='analyse_complaint']", NS)
    bounds = analyse.find(f"{{{DC}}}Bounds")
    shape = etree.Element(f"{{{DI}}}BPMNShape", id=f"{NEW_TASK}_di", bpmnElement=NEW_TASK)
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=bounds.get("x"), y=str(int(float(bounds.get("y"))) + 110),
                     width="100", height="80")
    analyse.addnext(shape)
    # the flows redrawn: analysis down to the new task, and from it up to the gateway
    x, y = int(float(bounds.get("x"))), int(float(bounds.get("y")))
    edge = root.find(".//bpmndi:BPMNEdge[@bpmnElement='flow_analyse_gw_resolvable']", NS)
    for point in list(edge):
        edge.remove(point)
    _waypoints(edge, [(x + 50, y + 80), (x + 50, y + 110)])
    gateway = root.find(".//bpmndi:BPMNShape[@bpmnElement='gw_resolvable']", NS).find(f"{{{DC}}}Bounds")
    gx, gy = int(float(gateway.get("x"))), int(float(gateway.get("y")))
    back = etree.Element(f"{{{DI}}}BPMNEdge", id="flow_review_gw_resolvable_di", bpmnElement="flow_review_gw_resolvable")
    _waypoints(back, [(x + 100, y + 150), (gx + 25, y + 150), (gx + 25, gy + 50)])
    edge.addnext(back)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _waypoints(edge, points) -> None:
    for px, py in points:
        etree.SubElement(edge, "{http://www.omg.org/spec/DD/20100524/DI}waypoint", x=str(px), y=str(py))


def with_condition(xml: bytes, flow: str, condition: str) -> bytes:
    root = etree.fromstring(xml)
    root.find(f".//bpmn:sequenceFlow[@id='{flow}']/bpmn:conditionExpression", NS).text = condition
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def draft_files(change=with_review_after_analysis) -> dict[str, bytes]:
    """The deployed complaint_handling files, its diagram changed by `change`."""
    files = {p.name: p.read_bytes() for p in complaint_files()}
    files["complaint_handling.bpmn"] = change(files["complaint_handling.bpmn"])
    files["complaint-review-schema.json"] = json.dumps(REVIEW_FORM, ensure_ascii=False).encode()
    return files


def multipart(files: dict[str, bytes], **fields) -> dict:
    data = {f"file{i}": (io.BytesIO(content), name) for i, (name, content) in enumerate(files.items())}
    data.update({k: str(v) for k, v in fields.items()})
    return data
