"""Issue 18: every list under /api pages the same way (`limit`, `offset`, a maximum) and
tells the total in `X-Total-Count`; the bodies stay the arrays the README promises."""

from __future__ import annotations

from tests.complaint_driver import ComplaintDriver


def _list_operations(document: dict) -> list[tuple[str, dict]]:
    found = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not get:
            continue
        content = get["responses"]["200"].get("content", {}).get("application/json", {})
        if content.get("schema", {}).get("type") == "array":
            found.append((path, get))
    return found


def test_every_documented_list_has_limit_offset_and_total(app):
    document = app.test_client().get("/api/openapi.json").get_json()
    lists = _list_operations(document)
    assert {path for path, _ in lists} >= {"/api/process-definitions", "/api/process-instances", "/api/tasks",
                                           "/api/jobs", "/api/process-instances/{instance_id}/history"}
    for path, operation in lists:
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {"limit", "offset"} <= names, path
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert "above" in limit["description"], path  # the maximum is written down
        assert "X-Total-Count" in operation["responses"]["200"]["headers"], path


def test_instances_tasks_history_and_jobs_page_with_a_total(users, deployed_complaints, run_worker):
    admin = users["admin"]
    cases = []
    for _ in range(3):
        driver = ComplaintDriver(users, run_worker)
        driver.start()
        cases.append(driver.instance_id)

    first = admin.get("/api/process-instances?process_key=complaint_handling&limit=2")
    assert first.status_code == 200
    assert [row["id"] for row in first.get_json()] == cases[::-1][:2]
    assert first.headers["X-Total-Count"] == "3" and first.headers["X-Limit"] == "2"
    assert 'rel="next"' in first.headers["Link"] and "offset=2" in first.headers["Link"]
    rest = admin.get("/api/process-instances?process_key=complaint_handling&limit=2&offset=2")
    assert [row["id"] for row in rest.get_json()] == [cases[0]]
    assert "Link" not in rest.headers
    assert admin.get("/api/process-instances?limit=99999").headers["X-Limit"] == "1000"  # the maximum
    assert admin.get("/api/process-instances?status=cancelled").headers["X-Total-Count"] == "0"

    tasks = admin.get("/api/tasks")
    total = int(tasks.headers["X-Total-Count"])
    assert total == len(tasks.get_json()) >= 3  # without limit: every task, as before
    one = admin.get("/api/tasks?limit=1&offset=1")
    assert one.get_json() == tasks.get_json()[1:2]
    assert one.headers["X-Total-Count"] == str(total)

    history = admin.get(f"/api/process-instances/{cases[0]}/history")
    events = history.get_json()
    assert history.headers["X-Total-Count"] == str(len(events))
    tail = admin.get(f"/api/process-instances/{cases[0]}/history?offset=1&limit=1").get_json()
    assert [e["seq"] for e in tail] == [events[1]["seq"]]

    jobs = users["manager"].get("/api/jobs?status=done&limit=1")
    assert len(jobs.get_json()) == 1 and int(jobs.headers["X-Total-Count"]) >= 3

    keys = admin.get("/api/process-definitions?limit=1")
    assert len(keys.get_json()) == 1 and keys.headers["X-Total-Count"] == "2"

    for bad in ("limit=0", "limit=x", "offset=-1", "offset=99999999999"):
        answer = admin.get(f"/api/tasks?{bad}")
        assert answer.status_code == 400, bad
        assert answer.get_json()["code"] == "invalid_parameter"
