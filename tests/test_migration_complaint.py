"""Acceptance 2: running complaints move to a new version of the procedure where they can.

Version 2 of complaint handling adds a user task 核对细节 (check_details) between
分类核实并答复客户 (verify_complaint) and 记录答复 (record_reply). A case still waiting at
verify_complaint moves (its deadline timers keep their due times) and then runs through the
new task; a case past verify_complaint is refused with the reason; every migrated case
passes replay verification, through the API as well as at teardown (tests/conftest.py).
"""

from __future__ import annotations

import json

import pytest
from lxml import etree

from tests.complaint_driver import VERIFY, ComplaintDriver
from tests.conftest import complaint_files, deploy_files
from webapp.engine import history, migration
from webapp.extensions import db
from webapp.models import Definition, InboxTask, Instance

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
CHECK_FORM = {
    "title": "核对细节",
    "type": "object",
    "required": ["details_checked"],
    "properties": {"details_checked": {"type": "boolean", "title": "细节已核对"}},
}


def with_check_details(xml: bytes) -> bytes:
    """complaint_handling.bpmn with a user task check_details after verify_complaint."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    b = f"{{{BPMN}}}"
    process.find("bpmn:sequenceFlow[@id='flow_verify_record']", NS).set("targetRef", "check_details")
    task = etree.SubElement(process, b + "userTask", id="check_details", name="核对细节")
    extensions = etree.SubElement(task, b + "extensionElements")
    spiff = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
    props = etree.SubElement(extensions, spiff + "properties")
    etree.SubElement(props, spiff + "property", name="formJsonSchemaFilename", value="complaint-check-schema.json")
    etree.SubElement(task, b + "incoming").text = "flow_verify_record"
    etree.SubElement(task, b + "outgoing").text = "flow_check_record"
    etree.SubElement(process, b + "sequenceFlow", id="flow_check_record", sourceRef="check_details", targetRef="record_reply")
    process.find("bpmn:serviceTask[@id='record_reply']/bpmn:incoming", NS).text = "flow_check_record"
    etree.SubElement(process.find(".//bpmn:lane[@id='complaint_handler']", NS), b + "flowNodeRef").text = "check_details"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def deploy_version_2(owner) -> dict:
    files = {p.name: p.read_bytes() for p in complaint_files()}
    files["complaint_handling.bpmn"] = with_check_details(files["complaint_handling.bpmn"])
    files["complaint-check-schema.json"] = json.dumps(CHECK_FORM, ensure_ascii=False).encode()
    data = {f"file{i}": (__import__("io").BytesIO(content), name) for i, (name, content) in enumerate(files.items())}
    response = owner.post("/api/process-definitions", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def two_versions(users, run_worker):
    assert deploy_files(users["owner"], complaint_files()).status_code == 201
    waiting = ComplaintDriver(users, run_worker)
    waiting.start()
    past = ComplaintDriver(users, run_worker)
    past.start()
    past.complete("verify_complaint", VERIFY, "handler")
    assert "analyse_complaint" in past.open_tasks()
    v2 = deploy_version_2(users["owner"])
    assert v2["version"] == 2
    target = db.session.scalar(db.select(Definition.id).where(Definition.key == "complaint_handling", Definition.version == 2))
    return waiting, past, target


def test_waiting_case_migrates_and_runs_the_new_task(users, run_worker, two_versions):
    waiting, _past, target = two_versions
    instance = db.session.get(Instance, waiting.instance_id)
    due_before = instance.next_timer_due
    assert migration.plan(instance, target).possible
    response = users["owner"].post(f"/processes/api/instances/{waiting.instance_id}/migrate", {"target": target})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["migrated"] is True
    db.session.expire_all()
    instance = db.session.get(Instance, waiting.instance_id)
    assert instance.definition.version == 2
    assert instance.next_timer_due == due_before  # the 24 h and 48 h deadlines did not restart
    last = history.events_of(instance.id)[-1]
    payload = json.loads(last.payload)
    assert last.type == "instance_migrated"
    assert (payload["from"]["version"], payload["to"]["version"]) == (1, 2)
    assert waiting.verified() == {"verified": True, "events": last.seq}

    waiting.complete("verify_complaint", VERIFY, "handler")
    tasks = waiting.open_tasks()
    assert "check_details" in tasks and tasks["check_details"]["form"]["schema"]["title"] == "核对细节"
    waiting.complete("check_details", {"details_checked": True}, "handler")
    assert "analyse_complaint" in waiting.open_tasks()
    assert waiting.verified()["verified"] is True


def test_case_past_the_change_is_refused_with_the_reason(users, two_versions):
    _waiting, past, target = two_versions
    response = users["owner"].post(f"/processes/api/instances/{past.instance_id}/migrate", {"target": target})
    assert response.status_code == 409
    reasons = response.get_json()["errors"]
    assert "verify_complaint" in reasons and "has already run" in reasons["verify_complaint"]
    db.session.expire_all()
    instance = db.session.get(Instance, past.instance_id)
    assert instance.definition.version == 1
    assert past.history_types()[-1] != "instance_migrated"
    assert past.verified()["verified"] is True


def test_migrate_all_moves_those_that_can(users, run_worker, two_versions):
    waiting, past, target = two_versions
    response = users["owner"].post("/processes/api/complaint_handling/migrate", {"from_version": 1, "target": target})
    assert response.status_code == 200, response.get_json()
    results = {int(k): v for k, v in response.get_json()["results"].items()}
    assert results[waiting.instance_id]["migrated"] is True
    assert results[past.instance_id]["migrated"] is False
    assert "verify_complaint" in results[past.instance_id]["reasons"]
    for driver in (waiting, past):
        assert driver.verified()["verified"] is True
    open_rows = db.session.scalars(
        db.select(InboxTask).where(InboxTask.instance_id == waiting.instance_id, InboxTask.state == "open")
    )
    assert {row.bpmn_id for row in open_rows} == {"verify_complaint"}


def test_only_process_owners_and_admins_migrate(users, two_versions):
    waiting, _past, target = two_versions
    response = users["handler"].post(f"/processes/api/instances/{waiting.instance_id}/migrate", {"target": target})
    assert response.status_code == 403
    assert users["admin"].post(f"/processes/api/instances/{waiting.instance_id}/migrate", {"target": target}).status_code == 200


def test_a_changed_timer_that_is_already_counting_is_refused(users, run_worker):
    assert deploy_files(users["owner"], complaint_files()).status_code == 201
    waiting = ComplaintDriver(users, run_worker)
    waiting.start()
    files = {p.name: p.read_bytes() for p in complaint_files()}
    files["complaint_handling.bpmn"] = files["complaint_handling.bpmn"].replace(b'"PT24H"', b'"PT12H"')
    data = {f"file{i}": (__import__("io").BytesIO(content), name) for i, (name, content) in enumerate(files.items())}
    assert users["owner"].post("/api/process-definitions", data=data, content_type="multipart/form-data").status_code == 201
    target = db.session.scalar(db.select(Definition.id).where(Definition.key == "complaint_handling", Definition.version == 2))
    response = users["owner"].post(f"/processes/api/instances/{waiting.instance_id}/migrate", {"target": target})
    assert response.status_code == 409
    assert "already waiting" in response.get_json()["errors"]["reply_24h"]
    assert waiting.verified()["verified"] is True
