"""Acceptance 6 of the spine: hostile scripts, conditions, XML and form data are refused
with a clear error and leave the database as it was."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from tests.complaint_driver import REGISTER, ComplaintDriver
from tests.conftest import FIXTURES
from webapp.extensions import db

EIGHT = (FIXTURES / "eight_steps.bpmn").read_text(encoding="utf-8")
FORM = (FIXTURES / "eight-intake-schema.json").read_bytes()
TABLES = ("definitions", "instances", "history_events", "jobs", "inbox_tasks", "complaint_cases", "customers")


def _counts() -> dict[str, int]:
    db.session.rollback()
    return {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def _deploy_text(client, xml: str, name: str = "eight_steps.bpmn"):
    data = {"f1": (io.BytesIO(xml.encode("utf-8")), name), "f2": (io.BytesIO(FORM), "eight-intake-schema.json")}
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("where", "replacement", "element", "says"),
    [
        ("script", "total = __import__('os').system('id')", "compute", 'starts with "_"'),
        ("script", "total = open('/etc/passwd').read()", "compute", "open"),
        ("script", "total = ().__class__.__bases__[0].__subclasses__()", "compute", "__class__"),
        ("condition", "__import__('os').popen('id').read() == ''", "f_quick", 'starts with "_"'),
        ("condition", "open('/etc/passwd') is None", "f_quick", "open"),
        ("condition", "len(().__class__.__bases__[0].__subclasses__()) > 0", "f_quick", "__subclasses__"),
    ],
)
def test_hostile_code_is_refused_at_deploy(users, where, replacement, element, says):
    before = _counts()
    if where == "script":
        xml = EIGHT.replace("<bpmn:script>total = amount * 2</bpmn:script>", f"<bpmn:script>{replacement}</bpmn:script>")
    else:
        xml = EIGHT.replace("amount &lt; 100", replacement.replace("<", "&lt;"))
    assert xml != EIGHT
    r = _deploy_text(users["owner"], xml)
    assert r.status_code == 400
    body = r.get_json()
    assert element in body["errors"], body
    assert says in body["errors"][element]
    assert _counts() == before


def test_format_string_escape_fails_at_run_time_and_changes_nothing(users, run_worker):
    xml = EIGHT.replace(
        "<bpmn:script>total = amount * 2</bpmn:script>", "<bpmn:script>total = '{0.__class__}'.format(amount)</bpmn:script>"
    )
    assert _deploy_text(users["owner"], xml).status_code == 201
    agent, tech = users["agent"], users["tech"]
    iid = agent.post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).get_json()["id"]
    task = agent.get(f"/api/tasks?instance_id={iid}").get_json()[0]
    assert agent.post(f"/api/tasks/{task['id']}/complete", {"data": {"amount": 5}}).status_code == 200
    task = tech.get(f"/api/tasks?instance_id={iid}").get_json()[0]
    before = _counts()
    r = tech.post(f"/api/tasks/{task['id']}/complete", {"data": {}})
    assert r.status_code == 400
    assert "compute" in r.get_json()["errors"]
    assert "not safe" in r.get_json()["error"]
    assert _counts() == before
    assert tech.get(f"/api/tasks?instance_id={iid}").get_json()[0]["id"] == task["id"]


XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="&xxe;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="&lol4;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize(
    ("xml", "says"),
    [
        (XXE, "DOCTYPE"),
        (BOMB, "DOCTYPE"),
        ("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><bpmn:process", "malformed XML"),
        ("not xml at all", "malformed XML"),
        (
            EIGHT.replace(
                '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="intake"/>',
                '<bpmn:sequenceFlow id="f1" sourceRef="start"/>',
            ),
            "targetRef",
        ),
    ],
)
def test_hostile_or_broken_xml_is_refused(users, xml, says):
    before = _counts()
    r = _deploy_text(users["owner"], xml, "upload.bpmn")
    assert r.status_code == 400
    body = r.get_json()
    assert says in body["error"], body
    assert body["errors"]
    assert _counts() == before


def test_missing_form_and_unknown_operator_are_named(users):
    r = users["owner"].post(
        "/api/process-definitions",
        data={"f1": (io.BytesIO(EIGHT.replace("test/echo", "nobody/knows").encode()), "eight_steps.bpmn")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert "was not uploaded" in errors["intake"]
    assert "unknown operator nobody/knows" in errors["record"]


def test_wrong_types_in_form_data_are_refused_per_field(users, deployed_complaints, run_worker):
    c = ComplaintDriver(users, run_worker)
    before = _counts()
    r = users["agent"].post(
        "/api/process-instances",
        {
            "process_key": "complaint_handling",
            "data": {**REGISTER, "customer_phone": 12345, "channel": "pigeon", "description": ""},
        },
    )
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert set(errors) == {"customer_phone", "channel", "description"}
    assert _counts() == before

    c.start()
    before = _counts()
    task = c.open_tasks("handler")["verify_complaint"]
    r = users["handler"].post(
        f"/api/tasks/{task['id']}/complete",
        {"data": {"category": 7, "severity": "normal", "verified": "yes", "reply_to_customer": ["x"]}},
    )
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"category", "verified", "reply_to_customer"}
    assert _counts() == before
    assert users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": "nope"}).status_code == 400
    assert (
        users["handler"].post(f"/api/tasks/{task['id']}/complete", data="{", content_type="application/json").status_code == 400
    )
    assert _counts() == before


def test_requests_without_a_valid_token_or_role_are_refused(users, deployed_complaints, run_worker):
    c = ComplaintDriver(users, run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    anonymous = users["agent"].client
    assert anonymous.get("/api/tasks").status_code == 401
    assert anonymous.get("/api/tasks", headers={"Authorization": "Bearer forged"}).status_code == 401
    r = users["tech"].post(f"/api/tasks/{task['id']}/complete", {"data": {}})
    assert r.status_code == 403
    assert users["tech"].get(f"/api/tasks?instance_id={c.instance_id}").get_json() == []
    r = users["handler"].post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER})
    assert r.status_code == 403
    r = _deploy_text(users["agent"], EIGHT)
    assert r.status_code == 403
    r = users["agent"].post("/api/process-instances", {"process_key": "no_such_process", "data": {}})
    assert r.status_code == 404 and "process_key" in r.get_json()["errors"]
    r = users["agent"].post("/api/process-instances", {"data": {}})
    assert r.status_code == 400 and "process_key" in r.get_json()["errors"]


def test_the_engine_itself_refuses_a_start_outside_the_start_lane(users, deployed_complaints):
    from webapp.engine import runtime
    from webapp.engine.errors import Forbidden

    with pytest.raises(Forbidden):
        runtime.start_instance("complaint_handling", REGISTER, actor="tech", roles={"technician"})
    assert runtime.start_instance("complaint_handling", REGISTER, actor="system").status == "running"
