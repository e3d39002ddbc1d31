"""Issue 5, acceptance 2: a failing handler retries at its backoff times (controlled clock),
becomes an incident, is retried or skipped from the API after a fix; the history shows
every attempt."""

from __future__ import annotations

import io

import pytest

from tests.conftest import FIXTURES
from workers import registry

EIGHT = (FIXTURES / "eight_steps.bpmn").read_text(encoding="utf-8")
FORM = (FIXTURES / "eight-intake-schema.json").read_bytes()


@pytest.fixture
def broken_parts_system():
    def offline(session, params):
        raise RuntimeError("parts system offline")

    previous = registry.override("test/echo", offline)
    yield lambda: registry.override("test/echo", previous)
    registry.override("test/echo", previous)


def _deploy(client, xml: str = EIGHT):
    data = {"f1": (io.BytesIO(xml.encode()), "eight_steps.bpmn"), "f2": (io.BytesIO(FORM), "eight-intake-schema.json")}
    r = client.post("/api/process-definitions", data=data, content_type="multipart/form-data")
    assert r.status_code in (200, 201), r.get_json()


def _to_service_task(users, run_worker) -> int:
    agent, tech = users["agent"], users["tech"]
    iid = agent.post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).get_json()["id"]
    task = agent.get(f"/api/tasks?instance_id={iid}").get_json()[0]
    assert agent.post(f"/api/tasks/{task['id']}/complete", {"data": {"amount": 5}}).status_code == 200
    task = tech.get(f"/api/tasks?instance_id={iid}").get_json()[0]
    assert task["bpmn_id"] == "quick_fix"
    assert tech.post(f"/api/tasks/{task['id']}/complete", {"data": {}}).status_code == 200
    return iid


def _history(users, iid):
    return users["admin"].get(f"/api/process-instances/{iid}/history").get_json()


def test_retries_at_backoff_times_then_incident_then_retry_after_fix(users, run_worker, manual_clock, broken_parts_system):
    _deploy(users["owner"])
    iid = _to_service_task(users, run_worker)
    t0 = manual_clock.now()
    run_worker()  # attempt 1 fails; TestConfig: 3 attempts, backoff base 10 s
    failures = [e for e in _history(users, iid) if e["type"] == "service_failed"]
    assert [f["payload"]["attempt"] for f in failures] == [1]
    assert failures[0]["payload"]["retry_at"] == "2026-03-02T01:00:10.000000+00:00"
    assert failures[0]["payload"]["error"] == "RuntimeError: parts system offline"

    manual_clock.advance(seconds=9)
    assert run_worker() == 0  # not due yet
    manual_clock.advance(seconds=2)
    run_worker()  # attempt 2 at t0+11 s, next after 20 s
    failures = [e for e in _history(users, iid) if e["type"] == "service_failed"]
    assert [f["payload"]["retry_at"] for f in failures][-1] == "2026-03-02T01:00:31.000000+00:00"
    manual_clock.set(t0.replace(second=30))
    assert run_worker() == 0
    manual_clock.set(t0.replace(second=32))
    run_worker()  # attempt 3: out of retries

    instance = users["manager"].get(f"/api/process-instances/{iid}").get_json()
    assert instance["status"] == "running"
    assert [i["last_error"] for i in instance["incidents"]] == ["RuntimeError: parts system offline"]
    incidents = users["manager"].get("/api/jobs?status=incident").get_json()
    assert [j["instance_id"] for j in incidents] == [iid]
    assert users["agent"].get("/api/jobs?status=incident").status_code == 403
    assert users["agent"].post(f"/api/jobs/{incidents[0]['id']}/retry").status_code == 403

    broken_parts_system()  # the fix
    r = users["manager"].post(f"/api/jobs/{incidents[0]['id']}/retry")
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    assert users["manager"].post(f"/api/jobs/{incidents[0]['id']}/retry").status_code == 409
    run_worker()
    instance = users["manager"].get(f"/api/process-instances/{iid}").get_json()
    assert instance["status"] == "completed" and instance["incidents"] == []
    assert instance["data"]["recorded"] == {"echo": {"total": 10}}
    types = [e["type"] for e in _history(users, iid)]
    assert types[-5:] == ["service_failed", "service_failed", "incident_raised", "incident_retried", "service_completed"]
    retried = next(e for e in _history(users, iid) if e["type"] == "incident_retried")
    assert retried["actor"] == "manager"


def test_incident_skipped_with_a_value(users, run_worker, manual_clock, broken_parts_system):
    _deploy(users["owner"])
    iid = _to_service_task(users, run_worker)
    for _ in range(3):
        run_worker()
        manual_clock.advance(minutes=5)
    job = users["manager"].get("/api/jobs?status=incident").get_json()[0]
    r = users["manager"].post(f"/api/jobs/{job['id']}/skip", {"result": {"echo": "entered by hand"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["instance_status"] == "completed"
    instance = users["manager"].get(f"/api/process-instances/{iid}").get_json()
    assert instance["data"]["recorded"] == {"echo": "entered by hand"}
    skipped = next(e for e in _history(users, iid) if e["type"] == "incident_skipped")
    assert skipped["payload"]["result"] == {"echo": "entered by hand"}
    assert users["manager"].post(f"/api/jobs/{job['id']}/skip", {"result": 1}).status_code == 409


def test_diagram_overrides_retries_and_backoff(users, run_worker, manual_clock, broken_parts_system):
    xml = EIGHT.replace(
        '<spiffworkflow:parameters><spiffworkflow:parameter id="total" type="int" value="total"/></spiffworkflow:parameters>',
        '<spiffworkflow:parameters><spiffworkflow:parameter id="total" type="int" value="total"/></spiffworkflow:parameters>'
        '<spiffworkflow:retry retries="1" backoff_base="60"/>',
    )
    assert xml != EIGHT
    _deploy(users["owner"], xml)
    iid = _to_service_task(users, run_worker)
    run_worker()
    failure = next(e for e in _history(users, iid) if e["type"] == "service_failed")
    assert failure["payload"]["retry_at"] == "2026-03-02T01:01:00.000000+00:00"
    manual_clock.advance(seconds=61)
    run_worker()
    assert [e["type"] for e in _history(users, iid)][-1] == "incident_raised"
