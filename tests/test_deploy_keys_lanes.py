"""Issue 13, items 8 and 9: definition keys belong to their file, a start may name a version,
lanes map to roles (by name, or as the process owner says), subprocess tasks inherit their
lane, .bpmn20.xml files deploy, and timer expressions that cannot evaluate are refused."""

from __future__ import annotations

import io
import json

import pytest

from webapp.engine import clock, definitions
from webapp.engine.errors import Conflict
from webapp.extensions import db
from webapp.models import Definition, InboxTask

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" '
    'targetNamespace="http://example.org/foreign">\n'
)


def one_task(process_id: str = "main", task_name: str = "Check", lane: str = "customer_service") -> str:
    """start -> one user task in one lane -> end: the shape of a foreign demo diagram."""
    return HEAD + f"""
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="{lane}" name="{lane}">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>task</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task" name="{task_name}"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def upload(client, files: dict[str, str], **fields):
    data = {f"f{i}": (io.BytesIO(text.encode("utf-8")), name) for i, (name, text) in enumerate(files.items())}
    data.update({k: (json.dumps(v) if isinstance(v, dict) else str(v)) for k, v in fields.items()})
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


# ---------------------------------------------------------------- item 8: keys and versions


def test_a_process_id_from_another_file_is_a_conflict_until_replace(users):
    owner = users["owner"]
    first = upload(owner, {"demo_a.bpmn": one_task("main", "A")})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["key"], body["version"], body["outcome"], body["new_key"]) == ("main", 1, "new_key", True)
    assert body["file"] == "demo_a.bpmn" and "new key main" in body["summary"]

    other = upload(owner, {"demo_b.bpmn": one_task("main", "B")})
    assert other.status_code == 409, other.get_json()
    assert "demo_a.bpmn" in other.get_json()["error"] and "replace" in other.get_json()["errors"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Definition)) == 1

    replaced = upload(owner, {"demo_b.bpmn": one_task("main", "B")}, replace="true")
    assert replaced.status_code == 201, replaced.get_json()
    body = replaced.get_json()
    assert (body["version"], body["outcome"], body["new_key"]) == (2, "new_version", False)
    assert (body["file"], body["replaced_file"]) == ("demo_b.bpmn", "demo_a.bpmn")
    assert "new version 2 of existing key main from file demo_b.bpmn" in body["summary"]

    # From now on the key belongs to demo_b.bpmn: its next change needs no confirmation.
    again = upload(owner, {"demo_b.bpmn": one_task("main", "B2")})
    assert again.status_code == 201 and again.get_json()["replaced_file"] is None
    same = upload(owner, {"demo_b.bpmn": one_task("main", "B2")})
    assert same.status_code == 200 and same.get_json()["outcome"] == "unchanged"


def test_modeler_deploy_asks_before_replacing(users):
    owner = users["owner"]
    assert upload(owner, {"demo_a.bpmn": one_task("main")}).status_code == 201
    working_set = {"files": {"new_process.bpmn": one_task("main", "Other")}, "forms": {}}
    refused = owner.post("/processes/api/deploy", working_set)
    assert refused.status_code == 409 and refused.get_json()["needs_replace"] is True
    confirmed = owner.post("/processes/api/deploy", {**working_set, "replace": True})
    assert confirmed.status_code == 201, confirmed.get_json()
    assert confirmed.get_json()["replaced_file"] == "demo_a.bpmn"


def test_a_start_may_name_an_older_version(users):
    owner, agent = users["owner"], users["agent"]
    assert upload(owner, {"demo.bpmn": one_task("main", "first")}).status_code == 201
    assert upload(owner, {"demo.bpmn": one_task("main", "second")}).status_code == 201

    old = agent.post("/api/process-instances", {"process_key": "main", "data": {}, "version": 1})
    assert old.status_code == 201, old.get_json()
    shown = agent.get(f"/api/process-instances/{old.get_json()['id']}").get_json()
    assert shown["definition"] == {"key": "main", "version": 1}
    assert [t["name"] for t in shown["tasks"]] == ["first"]

    latest = agent.post("/api/process-instances", {"process_key": "main", "data": {}}).get_json()
    assert [t["name"] for t in agent.get(f"/api/process-instances/{latest['id']}").get_json()["tasks"]] == ["second"]

    unknown = agent.post("/api/process-instances", {"process_key": "main", "data": {}, "version": 7})
    assert unknown.status_code == 404 and "version" in unknown.get_json()["errors"]
    wrong = agent.post("/api/process-instances", {"process_key": "main", "data": {}, "version": "one"})
    assert wrong.status_code == 400 and "version" in wrong.get_json()["errors"]


def test_deploy_processes_keeps_working_and_bpmn20_files_deploy(app, tmp_path):
    (tmp_path / "forms").mkdir()
    (tmp_path / "flow.bpmn20.xml").write_text(one_task("flowable_demo"), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deploy-processes", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "flowable_demo v1 deployed" in result.output
    again = runner.invoke(args=["deploy-processes", "--dir", str(tmp_path)])
    assert "flowable_demo v1 unchanged" in again.output


def test_bpmn20_xml_through_the_api_and_the_modeler(users):
    owner = users["owner"]
    response = upload(owner, {"foreign.bpmn20.xml": one_task("foreign")})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["file"] == "foreign.bpmn20.xml"
    checked = owner.post("/processes/api/validate", {"files": {"other.bpmn20.xml": one_task("other")}, "forms": {}})
    assert checked.get_json() == {"ok": True, "key": "other", "problems": {}}
    # the modeler opens the stored version (its diagram is found by the new suffix too)
    assert owner.get("/processes/foreign/modeler").status_code in (200, 302)


# ---------------------------------------------------------------- item 9: lanes


def three_lanes() -> str:
    """Three parallel tasks in lanes named in English, in Chinese and in nobody's words,
    and a fourth lane with no user task."""
    lanes = [("Lane_1", "Technician", "t1"), ("Lane_2", "技术员", "t2"), ("Lane_3", "Mystery team", "t3")]
    lane_xml = "".join(
        f'<bpmn:lane id="{lid}" name="{name}"><bpmn:flowNodeRef>{task}</bpmn:flowNodeRef></bpmn:lane>'
        for lid, name, task in lanes
    )
    lane_xml += '<bpmn:lane id="Lane_4" name="Archive"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>' \
        '<bpmn:flowNodeRef>fork</bpmn:flowNodeRef><bpmn:flowNodeRef>join</bpmn:flowNodeRef>' \
        '<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>'
    tasks = "".join(
        f'<bpmn:userTask id="{t}" name="Task {t}"><bpmn:incoming>a_{t}</bpmn:incoming>'
        f'<bpmn:outgoing>b_{t}</bpmn:outgoing></bpmn:userTask>'
        f'<bpmn:sequenceFlow id="a_{t}" sourceRef="fork" targetRef="{t}"/>'
        f'<bpmn:sequenceFlow id="b_{t}" sourceRef="{t}" targetRef="join"/>'
        for _lid, _name, t in lanes
    )
    return HEAD + f"""
  <bpmn:process id="laned" isExecutable="true">
    <bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f0</bpmn:incoming></bpmn:parallelGateway>
    <bpmn:parallelGateway id="join"><bpmn:outgoing>f9</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="end"/>
    {tasks}
  </bpmn:process>
</bpmn:definitions>
"""


def test_lanes_map_by_name_or_by_the_owner_and_the_unmapped_are_named(users):
    owner = users["owner"]
    refused = upload(owner, {"laned.bpmn": three_lanes()})
    assert refused.status_code == 400, refused.get_json()
    body = refused.get_json()
    # "Technician" is a role's English name; the other two lanes with tasks are named...
    assert [lane["id"] for lane in body["unmapped_lanes"]] == ["Lane_2", "Lane_3"]
    assert {"Lane_2", "Lane_3"} <= set(body["errors"]) and "Lane_1" not in body["errors"]
    assert "technician" in body["errors"]["Lane_3"]  # ...with the roles they could map to
    assert {"code": "technician", "name_zh": "维修人员", "name_en": "Technician"} in body["roles"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Definition)) == 0

    typo = upload(owner, {"laned.bpmn": three_lanes()}, lane_roles={"技术员": "wizard", "Lane_3": "quality_dept"})
    assert typo.status_code == 400 and "wizard" in typo.get_json()["errors"]["lane_roles"]

    mapped = upload(owner, {"laned.bpmn": three_lanes()}, lane_roles={"技术员": "technician", "Lane_3": "quality_dept"})
    assert mapped.status_code == 201, mapped.get_json()
    body = mapped.get_json()
    assert {k: v["role"] for k, v in body["lanes"].items()} == {
        "Lane_1": "technician", "Lane_2": "technician", "Lane_3": "quality_dept", "Lane_4": None,
    }
    assert body["unmapped_lanes"] == [{"id": "Lane_4", "name": "Archive"}]  # no task there: listed, accepted

    started = users["agent"].post("/api/process-instances", {"process_key": "laned", "data": {}})
    assert started.status_code == 201, started.get_json()
    rows = db.session.scalars(db.select(InboxTask).order_by(InboxTask.bpmn_id)).all()
    assert [(r.bpmn_id, r.role) for r in rows] == [("t1", "technician"), ("t2", "technician"), ("t3", "quality_dept")]
    # the mapping is part of the version: the same files mapped otherwise are a new version
    remapped = upload(owner, {"laned.bpmn": three_lanes()}, lane_roles={"技术员": "technician", "Lane_3": "team_leader"})
    assert remapped.status_code == 201 and remapped.get_json()["version"] == 2
    second = db.session.scalar(db.select(Definition).where(Definition.key == "laned", Definition.version == 2))
    assert second.meta["lane_mapping"]["Lane_3"] == "team_leader"


def test_bad_lane_roles_json_is_a_clear_error(users):
    response = upload(users["owner"], {"laned.bpmn": three_lanes()}, lane_roles="{not json")
    assert response.status_code == 400 and "lane_roles" in response.get_json()["errors"]


def test_the_modeler_is_told_which_lanes_to_map(users):
    owner = users["owner"]
    working_set = {"files": {"laned.bpmn": three_lanes()}, "forms": {}}
    refused = owner.post("/processes/api/deploy", working_set)
    assert refused.status_code == 400
    assert [lane["name"] for lane in refused.get_json()["unmapped_lanes"]] == ["技术员", "Mystery team"]
    mapped = owner.post("/processes/api/deploy", {**working_set, "lane_roles": {"Lane_2": "technician", "Lane_3": "technician"}})
    assert mapped.status_code == 201, mapped.get_json()


SUBPROCESS = HEAD + """
  <bpmn:process id="with_sub" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="Lane_front" name="Customer service agent">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_shop" name="Technician"><bpmn:flowNodeRef>sub</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sub" name="Repair">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="inner" name="Fix it"><bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="sub_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner"/>
      <bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_task_in_a_subprocess_lands_in_the_subprocess_lane_inbox(users):
    deployed = upload(users["owner"], {"with_sub.bpmn": SUBPROCESS})
    assert deployed.status_code == 201, deployed.get_json()
    started = users["agent"].post("/api/process-instances", {"process_key": "with_sub", "data": {}})
    assert started.status_code == 201, started.get_json()
    tech_tasks = users["tech"].get("/api/tasks").get_json()
    assert [(t["bpmn_id"], t["lane"]) for t in tech_tasks] == [("inner", "technician")]
    assert users["agent"].get("/api/tasks").get_json() == []
    done = users["tech"].post(f"/api/tasks/{tech_tasks[0]['id']}/complete", {"data": {}})
    assert done.status_code == 200 and done.get_json()["instance_status"] == "completed"


# ---------------------------------------------------------------- item 9: timers evaluated at deploy


def with_timer(expression: str, tag: str = "timeCycle") -> str:
    return one_task("timed").replace(
        '<bpmn:endEvent id="end">',
        f'<bpmn:boundaryEvent id="remind" attachedToRef="task" cancelActivity="false">'
        f'<bpmn:outgoing>f3</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:{tag}>{expression}</bpmn:{tag}>'
        '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="end2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="end2"/>'
        '<bpmn:endEvent id="end">',
    )


def test_an_unquoted_cycle_is_refused_at_deploy_naming_the_element(users):
    refused = upload(users["owner"], {"timed.bpmn": with_timer("R2/PT1S")})
    assert refused.status_code == 400, refused.get_json()
    assert "quotes" in refused.get_json()["errors"]["remind"]
    for bad, words in (('"R2/PT1X"', "ISO 8601"), ("1/0", "ZeroDivisionError"), ("3", "not an ISO 8601 text")):
        response = upload(users["owner"], {"timed.bpmn": with_timer(bad)})
        assert response.status_code == 400 and words in response.get_json()["errors"]["remind"], response.get_json()
    quoted = upload(users["owner"], {"timed.bpmn": with_timer('"R2/PT1S"')})
    assert quoted.status_code == 201, quoted.get_json()
    started = users["agent"].post("/api/process-instances", {"process_key": "timed", "data": {}})
    assert started.status_code == 201, started.get_json()


def test_a_timer_computed_from_case_data_is_left_to_run_time(users):
    response = upload(users["owner"], {"timed.bpmn": with_timer("reply_within", "timeDuration")})
    assert response.status_code == 201, response.get_json()


def test_deploy_keeps_the_file_that_owns_a_key_for_older_rows(users):
    """Versions stored before the file was recorded still know it (from their files)."""
    assert upload(users["owner"], {"demo_a.bpmn": one_task("main")}).status_code == 201
    row = db.session.scalar(db.select(Definition))
    row.meta = {k: v for k, v in row.meta.items() if k != "main_file"}
    db.session.commit()
    assert definitions.main_file(row) == "demo_a.bpmn"
    with pytest.raises(Conflict, match="demo_a.bpmn"):
        definitions.deploy_report({"demo_b.bpmn": one_task("main", "x").encode()}, actor="t", now=clock.now())


CALLED = HEAD + """
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="Lane_front" name="Customer service agent">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_quality" name="质量部"><bpmn:flowNodeRef>call</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" calledElement="inspection">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="inspection" isExecutable="true">
    <bpmn:startEvent id="i_start"><bpmn:outgoing>i1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="inspect" name="Inspect"><bpmn:incoming>i1</bpmn:incoming><bpmn:outgoing>i2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="i_end"><bpmn:incoming>i2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="i1" sourceRef="i_start" targetRef="inspect"/>
    <bpmn:sequenceFlow id="i2" sourceRef="inspect" targetRef="i_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_called_process_without_lanes_works_in_the_call_activity_lane(users, make_client):
    deployed = upload(users["owner"], {"caller.bpmn": CALLED})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["key"] == "caller"
    started = users["agent"].post("/api/process-instances", {"process_key": "caller", "data": {}})
    assert started.status_code == 201, started.get_json()
    quality = make_client("qa", ["quality_dept"])
    tasks = quality.get("/api/tasks").get_json()
    assert [(t["bpmn_id"], t["lane"]) for t in tasks] == [("inspect", "quality_dept")]
    done = quality.post(f"/api/tasks/{tasks[0]['id']}/complete", {"data": {}})
    assert done.status_code == 200 and done.get_json()["instance_status"] == "completed"
