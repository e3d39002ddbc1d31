"""Messages correlate by business key (or correlation properties) and wait when early;
deploying the same content keeps its version, new content makes a new one, and running
instances stay on the version they started on."""

from __future__ import annotations

import io

import pytest

from tests.conftest import FIXTURES, deploy_files


@pytest.fixture
def payments(users):
    assert deploy_files(users["owner"], [FIXTURES / "await_payment.bpmn"]).status_code == 201
    return users


def _start(users, key: str) -> int:
    r = users["admin"].post("/api/process-instances", {"process_key": "await_payment", "data": {}, "business_key": key})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _submit(users, iid: int) -> None:
    task = users["admin"].get(f"/api/tasks?instance_id={iid}").get_json()[0]
    assert users["admin"].post(f"/api/tasks/{task['id']}/complete", {"data": {}}).status_code == 200


def _instance(users, iid):
    return users["admin"].get(f"/api/process-instances/{iid}").get_json()


def test_message_reaches_only_the_correlated_waiting_instance(payments):
    users = payments
    a, b = _start(users, "SP-A"), _start(users, "SP-B")
    _submit(users, a)
    _submit(users, b)
    r = users["admin"].post("/api/messages", {"name": "payment_received", "correlation": {"business_key": "SP-B"},
                                              "payload": {"amount": 1280.5}})
    assert r.status_code == 202
    assert r.get_json() == {"delivered_to": [b], "buffered": False}
    assert _instance(users, b)["status"] == "completed"
    assert _instance(users, b)["data"]["payment"] == {"amount": 1280.5}
    assert _instance(users, a)["status"] == "running"
    history = users["admin"].get(f"/api/process-instances/{b}/history").get_json()
    assert history[-1]["type"] == "message_received" and history[-1]["payload"]["payload"] == {"amount": 1280.5}


def test_early_message_is_kept_until_the_instance_waits(payments):
    users = payments
    iid = _start(users, "SP-EARLY")
    r = users["admin"].post("/api/messages", {"name": "payment_received", "correlation": {"business_key": "SP-EARLY"},
                                              "payload": {"amount": 99}})
    assert r.get_json() == {"delivered_to": [], "buffered": True}
    assert _instance(users, iid)["status"] == "running"
    _submit(users, iid)  # now it waits: the kept message is delivered in the same transaction
    instance = _instance(users, iid)
    assert instance["status"] == "completed" and instance["data"]["payment"] == {"amount": 99}
    types = [e["type"] for e in users["admin"].get(f"/api/process-instances/{iid}/history").get_json()]
    assert types == ["instance_started", "task_completed", "message_received"]


def test_auditors_cannot_send_messages(payments):
    iid = _start(payments, "SP-AUDIT")
    _submit(payments, iid)
    r = payments["auditor"].post("/api/messages", {"name": "payment_received", "correlation": {"business_key": "SP-AUDIT"}})
    assert r.status_code == 403
    assert _instance(payments, iid)["status"] == "running"


def test_message_for_nobody_is_refused_clearly_when_malformed(payments):
    r = payments["admin"].post("/api/messages", {"correlation": {}})
    assert r.status_code == 400 and "name" in r.get_json()["errors"]
    r = payments["admin"].post("/api/messages", {"name": "x", "correlation": "SP-A"})
    assert r.status_code == 400 and "correlation" in r.get_json()["errors"]


def test_versions_by_content_and_instances_stay_on_theirs(users, run_worker):
    owner = users["owner"]
    files = [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"]
    first = deploy_files(owner, files)
    assert first.status_code == 201 and first.get_json()["version"] == 1
    again = deploy_files(owner, files)
    assert again.status_code == 200 and again.get_json()["version"] == 1
    old = users["agent"].post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).get_json()["id"]

    changed = (FIXTURES / "eight_steps.bpmn").read_text(encoding="utf-8").replace('name="快速处理"', 'name="快速处理（新）"')
    data = {"a": (io.BytesIO(changed.encode()), "eight_steps.bpmn"), "b": (open(files[1], "rb"), files[1].name)}
    second = owner.post("/api/process-definitions", data=data, content_type="multipart/form-data")
    assert second.status_code == 201 and second.get_json()["version"] == 2
    listed = owner.get("/api/process-definitions").get_json()
    entry = next(d for d in listed if d["key"] == "eight_steps")
    assert [v["version"] for v in entry["versions"]] == [1, 2] and entry["latest_version"] == 2
    assert entry["versions"][0]["deployed_by"] == "owner"

    new = users["agent"].post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).get_json()["id"]
    assert _instance(users, old)["definition"] == {"key": "eight_steps", "version": 1}
    assert _instance(users, new)["definition"] == {"key": "eight_steps", "version": 2}
    for iid, expected in ((old, "快速处理"), (new, "快速处理（新）")):
        task = users["agent"].get(f"/api/tasks?instance_id={iid}").get_json()[0]
        users["agent"].post(f"/api/tasks/{task['id']}/complete", {"data": {"amount": 1}})
        names = [t["name"] for t in users["tech"].get(f"/api/tasks?instance_id={iid}").get_json()]
        assert names == [expected]
