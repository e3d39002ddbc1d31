"""Issue 18: every API error keeps {"error", "errors"} and carries a stable machine `code`."""

from __future__ import annotations

import json

import jsonschema

from tests.complaint_driver import VERIFY, ComplaintDriver
from webapp.api.error_codes import CODES


def _code(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], dict)
    assert body["code"] in CODES
    return body["code"]


def test_each_error_path_answers_its_code(app, users, deployed_complaints, run_worker):
    anonymous = app.test_client()
    agent, handler = users["agent"], users["handler"]
    assert _code(anonymous.get("/api/tasks"), 401) == "unauthenticated"
    assert _code(anonymous.get("/api/tasks", headers={"Authorization": "Bearer nope"}), 401) == "unauthenticated"
    assert _code(agent.get("/api/jobs"), 403) == "forbidden"
    assert _code(agent.get("/api/process-instances/999999"), 404) == "not_found"
    assert _code(agent.get("/api/no-such-route"), 404) == "not_found"
    assert _code(agent.client.delete("/api/tasks", headers=agent._headers()), 405) == "method_not_allowed"
    assert _code(agent.get("/api/tasks?limit=0"), 400) == "invalid_parameter"
    assert _code(agent.post("/api/process-instances", {"data": {}}), 400) == "invalid_request"
    bad_form = agent.post("/api/process-instances", {"process_key": "complaint_handling", "data": {"channel": 7}})
    assert _code(bad_form, 422) == "validation_failed"

    case = ComplaintDriver(users, run_worker)
    case.start()
    task = case.open_tasks()["verify_complaint"]
    assert _code(users["tech"].post(f"/api/tasks/{task['id']}/complete", {"data": VERIFY}), 403) == "forbidden"
    case.verify()
    assert _code(handler.post(f"/api/tasks/{task['id']}/complete", {"data": VERIFY}), 409) == "task_not_open"


def test_the_error_schema_documents_the_codes(app):
    document = app.test_client().get("/api/openapi.json").get_json()
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "errors", "code"}
    assert set(error["properties"]["code"]["enum"]) == set(CODES)
    schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate({"error": "x", "errors": {}, "code": "not_found"})
    try:
        jsonschema.Draft202012Validator(schema).validate({"error": "x", "errors": {}, "code": "oops"})
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("an unknown code must not validate")
    assert json.dumps(document)  # serialisable
