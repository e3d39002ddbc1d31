"""Issue 18: ETag / If-Match on a case, mapped onto its version counter (412 on a stale
If-Match; without If-Match the 409 of a stale writer stays)."""

from __future__ import annotations

from tests.complaint_driver import VERIFY, ComplaintDriver


def _post(who, url: str, body: dict | None = None, *, if_match: str):
    return who.client.post(url, headers={**who._headers(), "If-Match": if_match}, json=body)


def test_a_stale_if_match_is_refused_and_nothing_changes(users, deployed_complaints, run_worker):
    case = ComplaintDriver(users, run_worker)
    case.start()
    handler, admin = users["handler"], users["admin"]
    instance = admin.get(f"/api/process-instances/{case.instance_id}")
    etag = instance.headers["ETag"]
    assert etag == f'"v{instance.get_json()["version"]}"'
    task = case.open_tasks()["verify_complaint"]
    task_answer = handler.get(f"/api/tasks/{task['id']}")
    assert task_answer.headers["ETag"] == etag and task["instance_version"] == instance.get_json()["version"]

    # someone claims the task: the case moves on to the next version
    claimed = _post(handler, f"/api/tasks/{task['id']}/claim", if_match=etag)
    assert claimed.status_code == 200, claimed.get_json()
    newer = admin.get(f"/api/process-instances/{case.instance_id}").headers["ETag"]
    assert newer != etag
    events_before = len(admin.get(f"/api/process-instances/{case.instance_id}/history").get_json())

    stale = _post(handler, f"/api/tasks/{task['id']}/complete", {"data": VERIFY}, if_match=etag)
    assert stale.status_code == 412
    assert stale.get_json()["code"] == "precondition_failed"
    assert newer in stale.get_json()["errors"]["If-Match"]
    assert handler.get(f"/api/tasks/{task['id']}").status_code == 200  # still open
    assert len(admin.get(f"/api/process-instances/{case.instance_id}/history").get_json()) == events_before

    done = _post(handler, f"/api/tasks/{task['id']}/complete", {"data": VERIFY}, if_match=newer)
    assert done.status_code == 200, done.get_json()
    assert done.headers["ETag"] == admin.get(f"/api/process-instances/{case.instance_id}").headers["ETag"]
    run_worker()

    # the manager's cancel with a stale ETag: 412; with the current one (or "*"): done
    cancel = _post(users["manager"], f"/api/process-instances/{case.instance_id}/cancel", {"reason": "测试"}, if_match=newer)
    assert cancel.status_code == 412
    current = admin.get(f"/api/process-instances/{case.instance_id}").headers["ETag"]
    cancel = _post(users["manager"], f"/api/process-instances/{case.instance_id}/cancel", {"reason": "测试"}, if_match=current)
    assert cancel.status_code == 200, cancel.get_json()
    assert cancel.get_json()["status"] == "cancelled"


def test_without_if_match_a_done_task_still_answers_409(users, deployed_complaints, run_worker):
    case = ComplaintDriver(users, run_worker)
    case.start()
    task = case.open_tasks()["verify_complaint"]
    case.verify()
    again = users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": VERIFY})
    assert again.status_code == 409
    star = _post(users["handler"], f"/api/tasks/{task['id']}/complete", {"data": VERIFY}, if_match="*")
    assert star.status_code == 409  # "*" matches any version: the task's own state decides


def test_the_document_describes_etag_and_if_match(app):
    document = app.test_client().get("/api/openapi.json").get_json()
    complete = document["paths"]["/api/tasks/{task_id}/complete"]["post"]
    assert "If-Match" in {p["name"] for p in complete["parameters"]}
    assert "412" in complete["responses"] and "ETag" in complete["responses"]["200"]["headers"]
    assert "ETag" in document["paths"]["/api/process-instances/{instance_id}"]["get"]["responses"]["200"]["headers"]
