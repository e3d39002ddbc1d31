"""Issue 13, one test per problem found running diagrams nobody here wrote: each reproduces
the problem through the API as a person or a second process would meet it."""

from __future__ import annotations

import io

from tests.conformance.bpmn import (
    definitions,
    end,
    flows,
    mi,
    process,
    signal,
    start,
    subprocess,
    throw,
    user,
)
from webapp.engine import definitions as engine_definitions


def _deploy(client, name: str, xml: str):
    data = {"file0": (io.BytesIO(xml.encode()), f"{name}.bpmn")}
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


def _start(client, key: str, data=None, business_key=None):
    body = {"process_key": key, "data": data or {}}
    if business_key:
        body["business_key"] = business_key
    r = client.post("/api/process-instances", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _open_tasks(client, iid: int) -> list[dict]:
    return client.get(f"/api/tasks?instance_id={iid}").get_json()


def _complete(client, task_id: str, data=None):
    r = client.post(f"/api/tasks/{task_id}/complete", {"data": data or {}})
    assert r.status_code == 200, r.get_json()


def _instance(client, iid: int) -> dict:
    return client.get(f"/api/process-instances/{iid}").get_json()


def _as_new_process() -> None:
    """What another web worker (or one restarted) has: no spec, definition or workflow cached."""
    engine_definitions.clear_caches()
    engine_definitions._spec_cache.clear()


def test_1_parallel_multi_instance_completes_when_another_process_serves_each_task(users):
    admin = users["admin"]
    xml = definitions(process(
        "mi_three", start(), user("work", mi(cardinality="3", output="results", output_item="r")), end(),
        flows("start", "work", "end"),
    ))
    assert _deploy(users["owner"], "mi_three", xml).status_code == 201
    iid = _start(admin, "mi_three")
    for n in range(3):
        _as_new_process()
        task = _open_tasks(admin, iid)[0]
        _complete(admin, task["id"], {"r": f"answer {n}"})
    instance = _instance(admin, iid)
    assert instance["status"] == "completed"
    assert instance["data"]["results"] == ["answer 0", "answer 1", "answer 2"]
    _as_new_process()
    assert admin.get(f"/api/process-instances/{iid}/verify").get_json() == {"verified": True, "events": 4}


def test_2_an_event_subprocess_fired_in_one_case_changes_nothing_another_case_sees(users):
    admin = users["admin"]
    xml = definitions(
        process(
            "with_event_sub", start(), user("work"), throw("raise_flag", signal("sig_late")), user("more"), end(),
            flows("start", "work", "raise_flag", "more", "end"),
            subprocess(
                "on_late",
                start("late", signal("sig_late"), isInterrupting="false") + user("handle_late") + end("late_done")
                + flows("late", "handle_late", "late_done"),
                event=True,
            ),
        ),
        signals=("late",),
    )
    assert _deploy(users["owner"], "with_event_sub", xml).status_code == 201
    earlier = _start(admin, "with_event_sub")
    later = _start(admin, "with_event_sub")
    _complete(admin, _open_tasks(admin, later)[0]["id"])
    assert {t["bpmn_id"] for t in _open_tasks(admin, later)} == {"more", "handle_late"}
    # In this same process, the earlier case still replays and verifies...
    assert admin.get(f"/api/process-instances/{earlier}/replay").status_code == 200
    assert admin.get(f"/api/process-instances/{earlier}/verify").get_json()["verified"] is True
    # ...and a new case starts as the first did.
    third = _start(admin, "with_event_sub")
    assert {t["bpmn_id"] for t in _open_tasks(admin, third)} == {"work"}
    _complete(admin, _open_tasks(admin, third)[0]["id"])
    assert {t["bpmn_id"] for t in _open_tasks(admin, third)} == {"more", "handle_late"}
    for iid in (earlier, later, third):
        assert admin.get(f"/api/process-instances/{iid}/verify").get_json()["verified"] is True
