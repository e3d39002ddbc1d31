"""Issue 13, item 10: SpiffArena's extensions honoured — variableName on user tasks,
taskMetadataValues on the task page and in the API, unitTests of script tasks run at
validate and deploy — and task forms open pre-filled with the task's data."""

from __future__ import annotations

import io
import json

from tests.test_ui_support import signed_in, text_of
from webapp.extensions import db
from webapp.models import Definition, InboxTask, Instance

REVIEW_FORM = {
    "type": "object",
    "title": "Review",
    "properties": {"customer_name": {"type": "string", "title": "Customer"}, "amount": {"type": "integer", "title": "Amount"}},
}
CONFIRM_FORM = {
    "type": "object",
    "title": "Confirm",
    "properties": {"ok": {"type": "boolean", "title": "OK"}, "note": {"type": "string", "title": "Note"}},
}

UNIT_TEST = """
      <spiffworkflow:unitTests>
        <spiffworkflow:unitTest id="doubles_the_amount">
          <spiffworkflow:inputJson>{{"amount": 60}}</spiffworkflow:inputJson>
          <spiffworkflow:expectedOutputJson>{{"amount": {expected}}}</spiffworkflow:expectedOutputJson>
        </spiffworkflow:unitTest>
      </spiffworkflow:unitTests>"""


def diagram(expected: int = 120) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org/arena">
  <bpmn:process id="arena" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="customer_service" name="客服">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>double</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>confirm</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="double" name="Double the amount">
      <bpmn:extensionElements>{UNIT_TEST.format(expected=expected)}
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>amount = amount * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review-schema.json"/>
        </spiffworkflow:properties>
        <spiffworkflow:taskMetadataValues>
          <spiffworkflow:taskMetadataValue name="priority" value="'high' if amount &gt; 100 else 'low'"/>
          <spiffworkflow:taskMetadataValue name="who" value="customer_name"/>
        </spiffworkflow:taskMetadataValues>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="confirm" name="Confirm">
      <bpmn:extensionElements>
        <spiffworkflow:variableName>confirmation</spiffworkflow:variableName>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="confirm-schema.json"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="double"/>
    <bpmn:sequenceFlow id="f2" sourceRef="double" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="confirm"/>
    <bpmn:sequenceFlow id="f4" sourceRef="confirm" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy(client, xml: str):
    files = {
        "arena.bpmn": xml.encode(),
        "review-schema.json": json.dumps(REVIEW_FORM).encode(),
        "confirm-schema.json": json.dumps(CONFIRM_FORM).encode(),
    }
    data = {f"f{i}": (io.BytesIO(content), name) for i, (name, content) in enumerate(files.items())}
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


def test_a_failing_unit_test_blocks_deploy_at_its_element(users):
    refused = deploy(users["owner"], diagram(expected=999))
    assert refused.status_code == 400, refused.get_json()
    reason = refused.get_json()["errors"]["double"]
    assert "doubles_the_amount" in reason and "999" in reason and "120" in reason
    assert db.session.scalar(db.select(db.func.count()).select_from(Definition)) == 0
    # the modeler's validate shows it at the element too
    working_set = {"files": {"arena.bpmn": diagram(expected=999)}, "forms": {"review-schema.json": REVIEW_FORM,
                                                                           "confirm-schema.json": CONFIRM_FORM}}
    checked = users["owner"].post("/processes/api/validate", working_set).get_json()
    assert checked["ok"] is False and "doubles_the_amount" in checked["problems"]["double"]
    assert deploy(users["owner"], diagram()).status_code == 201


def test_metadata_prefill_and_variable_name(app, users):
    assert deploy(users["owner"], diagram()).status_code == 201
    agent = users["agent"]
    start = {"customer_name": "李雷", "amount": 60, "channel": "web", "confirmation": {"note": "ask about the invoice"}}
    started = agent.post("/api/process-instances", {"process_key": "arena", "data": start})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]

    review = agent.get(f"/api/tasks?instance_id={instance_id}").get_json()[0]
    assert review["bpmn_id"] == "review"
    assert review["metadata"] == {"priority": "high", "who": "李雷"}  # amount doubled to 120 by the script
    assert review["data"] == {"customer_name": "李雷", "amount": 120}  # only the form's fields

    page = signed_in(app, "agent").get(f"/tasks/{review['id']}")
    html = text_of(page)
    assert page.status_code == 200
    assert 'data-metadata="priority">high<' in html and 'data-metadata="who">李雷<' in html
    assert 'value="李雷"' in html and 'value="120"' in html

    done = agent.post(f"/api/tasks/{review['id']}/complete", {"data": {"customer_name": "李雷", "amount": 130}})
    assert done.status_code == 200, done.get_json()
    confirm = agent.get(f"/api/tasks?instance_id={instance_id}").get_json()[0]
    assert confirm["bpmn_id"] == "confirm" and confirm["metadata"] == {}
    assert confirm["data"] == {"note": "ask about the invoice"}  # read under its variableName

    done = agent.post(f"/api/tasks/{confirm['id']}/complete", {"data": {"ok": True, "note": "fine"}})
    assert done.status_code == 200 and done.get_json()["instance_status"] == "completed"
    data = db.session.get(Instance, instance_id).data
    assert data["confirmation"] == {"ok": True, "note": "fine"}
    assert "ok" not in data and "note" not in data
    assert data["amount"] == 130


def test_a_draft_wins_over_the_prefill(app, users):
    assert deploy(users["owner"], diagram()).status_code == 201
    users["agent"].post("/api/process-instances", {"process_key": "arena", "data": {"customer_name": "韩梅梅", "amount": 1}})
    row = db.session.scalar(db.select(InboxTask).where(InboxTask.bpmn_id == "review"))
    client = signed_in(app, "agent")
    assert 'value="韩梅梅"' in text_of(client.get(f"/tasks/{row.id}"))
    saved = client.post(f"/tasks/{row.id}", {"customer_name": "王五", "amount": "3", "_action": "draft"})
    assert saved.status_code == 302
    html = text_of(client.get(f"/tasks/{row.id}"))
    assert 'value="王五"' in html and 'value="韩梅梅"' not in html
