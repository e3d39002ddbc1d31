"""Issue 18: the API described as OpenAPI 3.1 (/api/openapi.json) and its reference page (/api/docs)."""

from __future__ import annotations

import copy
import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from webapp.api.openapi import openapi_path

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(app):
    answer = app.test_client().get("/api/openapi.json")  # no token: the document is public
    assert answer.status_code == 200
    return answer.get_json()


def undocumented(app, document: dict) -> list[str]:
    """Every (method, path) under /api that Flask routes but the document does not describe."""
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - IGNORED_METHODS):
            path = openapi_path(rule.rule)
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    return missing


def conforms(document: dict, ref: str, body) -> None:
    """Validate an answer against a schema of the document (JSON Schema 2020-12, OpenAPI 3.1's dialect)."""
    schema = {"$ref": ref, "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"
    bearer = document["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]


def test_every_api_route_is_documented(app, document):
    assert undocumented(app, document) == []
    # and nothing documented that Flask does not route
    routed = {openapi_path(rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert set(document["paths"]) <= routed


def test_a_route_missing_from_the_document_is_reported(app, document):
    partial = copy.deepcopy(document)
    del partial["paths"]["/api/tasks/{task_id}/complete"]
    del partial["paths"]["/api/kpis"]["get"]
    assert sorted(undocumented(app, partial)) == ["GET /api/kpis", "POST /api/tasks/{task_id}/complete"]


def test_operations_describe_bodies_parameters_and_errors(document):
    start = document["paths"]["/api/process-instances"]["post"]
    body_schema = start["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema == {"$ref": "#/components/schemas/StartInstanceIn"}
    assert document["components"]["schemas"]["StartInstanceIn"]["required"] == ["process_key"]
    assert {"201", "400", "401", "422"} <= set(start["responses"])
    tasks = document["paths"]["/api/tasks"]["get"]
    assert {p["name"] for p in tasks["parameters"]} == {"instance_id", "mine", "limit", "offset"}
    kpis = document["paths"]["/api/kpis"]["get"]
    assert {p["name"] for p in kpis["parameters"]} == {"from", "to", "team"}
    assert document["paths"]["/api/process-instances/{instance_id}"]["get"]["parameters"][0]["schema"] == {"type": "integer"}
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "errors", "code"}
    assert document["components"]["responses"]["Error422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    # each KPI the view answers with is described
    from webapp.kpi import CODES

    assert set(CODES) <= set(document["components"]["schemas"]["KpisOut"]["properties"])


def test_the_complaint_example_starts_a_case_and_answers_match_the_document(document, users, deployed_complaints,
                                                                          run_worker, app):
    agent = users["agent"]
    example = document["paths"]["/api/process-instances"]["post"]["requestBody"]["content"]["application/json"]
    started = agent.post("/api/process-instances", example["examples"]["complaint"]["value"])
    assert started.status_code == 201, started.get_json()
    conforms(document, "#/components/schemas/StartedOut", started.get_json())
    case_id = started.get_json()["id"]
    run_worker()  # registering the complaint is a service task

    instance = agent.get(f"/api/process-instances/{case_id}")
    conforms(document, "#/components/schemas/InstanceOut", instance.get_json())
    tasks = users["admin"].get(f"/api/tasks?instance_id={case_id}").get_json()
    assert tasks
    for task in tasks:
        conforms(document, "#/components/schemas/TaskOut", task)
    conforms(document, "#/components/schemas/VerifyOut", agent.get(f"/api/process-instances/{case_id}/verify").get_json())
    conforms(document, "#/components/schemas/ReplayOut", agent.get(f"/api/process-instances/{case_id}/replay").get_json())

    refused = app.test_client().get("/api/tasks")  # no token
    assert refused.status_code == 401
    conforms(document, "#/components/schemas/Error", refused.get_json())
    bad = agent.post("/api/process-instances", {"data": {}})
    assert bad.status_code == 400
    conforms(document, "#/components/schemas/Error", bad.get_json())
    with pytest.raises(jsonschema.ValidationError):  # the check itself can fail
        conforms(document, "#/components/schemas/StartedOut", {"id": "not a number"})


def test_the_reference_page_loads_only_local_assets(app):
    client = app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert 'data-spec-url="/api/openapi.json"' in html
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script
    for asset in assets:
        if asset == "data:,":  # the empty favicon
            continue
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
