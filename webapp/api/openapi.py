"""The API described as OpenAPI 3.1: GET /api/openapi.json (generated) and GET /api/docs.

apispec's marshmallow plugin turns the schemas the views load and dump (schemas.py) into
components; the operations below say which schema each route reads and answers with. A
test compares this document to app.url_map, so a new route under /api must be added here.
"""

from __future__ import annotations

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify, render_template, url_for

from . import bp, schemas
from . import webhooks as webhook_api

ERRORS = {
    400: "invalid input: `errors` names each field and why",
    401: "missing, invalid, expired or revoked bearer token",
    403: "the caller's roles do not allow it",
    404: "no such instance, task or job",
    409: "already done, or changed concurrently (stale version): `code` task_not_open or version_conflict",
    412: "If-Match named another version of the case (`code` precondition_failed): reload, then retry",
    413: "the upload is too large",
    422: "form data rejected: `errors` names each field and why",
    429: "too many calls from this address",
}

COMPLAINT_START = {
    "process_key": "complaint_handling",
    "data": {"customer_name": "李雷", "customer_phone": "13900001111", "channel": "web",
             "description": "网上下单后一直没有发货"},
}

INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}}
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": 'optional: the ETag of the case (`"v<version>"` from GET of the instance or task); '
                           "another version answers 412 instead of running. Without it a concurrent change "
                           "still answers 409."}
ETAG = {"ETag": {"description": 'the case\'s version counter as `"v<version>"`', "schema": {"type": "string"}}}
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "integer"}}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(schema, description: str = "OK", **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema, **extra}}}


def _body(schema, **extra) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema, **extra}}}


def _op(summary: str, answer: dict, errors: tuple[int, ...], *, status: int = 200, body: dict | None = None,
        params: list | None = None, tag: str, public: bool = False, also: dict | None = None) -> dict:
    operation: dict = {"summary": summary, "tags": [tag], "responses": {str(status): answer}}
    operation["responses"].update({str(code): extra for code, extra in (also or {}).items()})
    for code in (() if public else (401, 429)) + errors:
        operation["responses"][str(code)] = {"$ref": f"#/components/responses/Error{code}"}
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    if public:
        operation["security"] = []
    return operation


def _many(schema) -> dict:
    return {"type": "array", "items": schema}


PAGING_HEADERS = {
    "X-Total-Count": {"description": "rows matching the filters, before limit and offset",
                      "schema": {"type": "integer", "minimum": 0}},
    "X-Offset": {"description": "the offset applied", "schema": {"type": "integer", "minimum": 0}},
    "X-Limit": {"description": "the page size applied (absent when the list has no limit)",
                "schema": {"type": "integer", "minimum": 1}},
    "Link": {"description": '`<url>; rel="next"` while rows follow this page', "schema": {"type": "string"}},
}


def _paged(schema, description: str = "one page; the paging facts in the headers") -> dict:
    return {**_json(_many(schema), description), "headers": PAGING_HEADERS}


_WHAT_IF_COUNTS = {"type": "object", "properties": {
    k: {"type": "integer"} for k in ("reached", "diverged", "stuck", "failed")} | {"name": {"type": "string"}}}
WHAT_IF_REPORT = {"type": "object", "properties": {
    "key": {"type": "string"}, "process_id": {"type": "string"},
    "running_version": {"type": "object"}, "selection": {"type": "object"},
    "summary": {"type": "object", "properties": {
        k: {"type": "integer"} for k in ("cases", "same_path", "other_path", "stuck", "failed")}},
    "elements": {"type": "object", "additionalProperties": _WHAT_IF_COUNTS},
    "cases": {"type": "array", "items": {"type": "object", "properties": {
        "instance_id": {"type": "integer"}, "business_key": {"type": "string"},
        "outcome": {"type": "string", "enum": ["same_path", "other_path", "stuck", "failed"]},
        "element": {"type": ["string", "null"]}, "from": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]}, "at_seq": {"type": ["integer", "null"]},
        "waiting": {"type": "array", "items": {"type": "string"}}}}}}}


# (Flask rule, method) -> operation. Path parameters are listed per operation.
OPERATIONS: dict[tuple[str, str], dict] = {
    ("/api/process-definitions", "post"): _op(
        "Deploy .bpmn/.dmn files and their .json forms (role process_owner)",
        _json(schemas.DeployOut, "a new version"), (400, 403), status=201,
        body={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "additionalProperties": {"type": "string", "format": "binary"}}}}},
        tag="definitions", also={200: _json(schemas.DeployOut, "the same content again: the existing version")}),
    ("/api/process-definitions/<key>/what-if", "post"): _op(
        "Try a draft on the running version's recent cases before deploying it; nothing is stored "
        "(role process_owner or admin)",
        _json(WHAT_IF_REPORT, "per case same_path, other_path (from), stuck (element) or failed (element, error)"),
        (400, 403, 404),
        body={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "additionalProperties": {"type": "string", "format": "binary"},
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000,
                          "description": "the newest N cases (default 50; above 1000 is 1000)"},
                "from": {"type": "string", "format": "date", "description": "first start day (China time)"},
                "to": {"type": "string", "format": "date", "description": "last start day, included"},
                "main_process": {"type": "string", "description": "the draft's main process id, when it has several"},
                "lane_roles": {"type": "string", "description": "JSON object lane -> role code, as for a deploy"}}}}}},
        params=[{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}], tag="definitions"),
    ("/api/process-definitions", "get"): _op(
        "Process keys with their versions", _paged(schemas.DefinitionOut), (400,),
        params=[{"in": "query", "schema": schemas.PageQuery}], tag="definitions"),
    ("/api/process-instances", "post"): _op(
        "Start a case (start data checked against the start form)",
        _json(schemas.StartedOut, "started"), (400, 403, 404, 409, 422), status=201,
        body=_body(schemas.StartInstanceIn, examples={"complaint": {
            "summary": "a complaint (complaint_handling)", "value": COMPLAINT_START}}),
        tag="instances"),
    ("/api/process-instances", "get"): _op(
        "Instances, newest first (filters: exact match)", _paged(schemas.InstanceSummaryOut), (400,),
        params=[{"in": "query", "schema": schemas.InstanceQuery}], tag="instances"),
    ("/api/process-instances/<int:instance_id>", "get"): _op(
        "Status, data, definition and open tasks of a case", {**_json(schemas.InstanceOut), "headers": ETAG}, (404,),
        params=[INSTANCE_ID], tag="instances"),
    ("/api/process-instances/<int:instance_id>/cancel", "post"): _op(
        "Cancel a case (role after_sales_manager)", {**_json(schemas.CancelledOut), "headers": ETAG}, (400, 403, 404, 409, 412),
        body=_body(schemas.CancelIn), params=[INSTANCE_ID, IF_MATCH], tag="instances"),
    ("/api/process-instances/<int:instance_id>/history", "get"): _op(
        "The case's history events in order", _paged(schemas.HistoryEventOut), (400, 404),
        params=[INSTANCE_ID, {"in": "query", "schema": schemas.HistoryQuery}], tag="history"),
    ("/api/process-instances/<int:instance_id>/replay", "get"): _op(
        "The workflow state and data after an event", _json(schemas.ReplayOut), (400, 404),
        params=[INSTANCE_ID, {"in": "query", "schema": schemas.ReplayQuery}], tag="history"),
    ("/api/process-instances/<int:instance_id>/verify", "get"): _op(
        "Recompute the hash chain and replay the history", _json(schemas.VerifyOut), (404,),
        params=[INSTANCE_ID], tag="history"),
    ("/api/tasks", "get"): _op(
        "Open user tasks the caller may work on, earliest due first", _paged(schemas.TaskOut), (400,),
        params=[{"in": "query", "schema": schemas.TaskQuery}], tag="tasks"),
    ("/api/tasks/<task_id>", "get"): _op(
        "One task with its form", {**_json(schemas.TaskOut), "headers": ETAG}, (404,), params=[TASK_ID], tag="tasks"),
    ("/api/tasks/<task_id>/complete", "post"): _op(
        "Complete a user task with its form data", {**_json(schemas.CompletedOut), "headers": ETAG},
        (400, 403, 404, 409, 412, 422),
        body=_body(schemas.CompleteTaskIn, examples={"accept": {
            "summary": "a complaint task's form data", "value": {"data": {"accepted": True}}}}),
        params=[TASK_ID, IF_MATCH], tag="tasks"),
    ("/api/tasks/<task_id>/claim", "post"): _op(
        "Claim a task", _json(schemas.TaskOut), (403, 404, 409, 412), params=[TASK_ID, IF_MATCH], tag="tasks"),
    ("/api/tasks/<task_id>/release", "post"): _op(
        "Release a claimed task", _json(schemas.TaskOut), (403, 404, 409, 412), params=[TASK_ID, IF_MATCH], tag="tasks"),
    ("/api/tasks/<task_id>/assign", "post"): _op(
        "Assign a task to a user (role after_sales_manager)", _json(schemas.TaskOut), (400, 403, 404, 409, 412, 422),
        body=_body(schemas.AssignTaskIn), params=[TASK_ID, IF_MATCH], tag="tasks"),
    ("/api/messages", "post"): _op(
        "Send a message to the waiting case(s); kept when none waits", _json(schemas.MessageOut, "accepted"),
        (400, 403, 409), status=202, body=_body(schemas.MessageIn), tag="messages"),
    ("/api/jobs", "get"): _op(
        "Service-task jobs, e.g. incidents (after_sales_manager, auditor)", _paged(schemas.JobOut), (400, 403),
        params=[{"in": "query", "schema": schemas.JobQuery}], tag="jobs"),
    ("/api/jobs/<int:job_id>/retry", "post"): _op(
        "Retry an incident (role after_sales_manager)", _json(schemas.JobOut), (403, 404, 409),
        params=[JOB_ID], tag="jobs"),
    ("/api/jobs/<int:job_id>/skip", "post"): _op(
        "Skip an incident with a given result (role after_sales_manager)", _json(schemas.SkipOut),
        (400, 403, 404, 409), body=_body(schemas.SkipJobIn), params=[JOB_ID], tag="jobs"),
    ("/api/kpis", "get"): _op(
        "The service targets for a period (managers, general manager, auditors)", _json(schemas.KpisOut), (400, 403),
        params=[{"in": "query", "schema": schemas.KpiQuery}], tag="kpis"),
    ("/api/attachments", "post"): _op(
        "Upload a file (JPEG, PNG, GIF, WebP or PDF) to reference from task or start data",
        _json(schemas.AttachmentOut, "stored"), (403, 413, 422), status=201,
        body={"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        tag="attachments"),
    ("/api/attachments/<attachment_id>", "get"): _op(
        "Download an attachment", {"description": "the file", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}, (404,),
        params=[{"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        tag="attachments"),
    ("/api/customer-files", "get"): _op(
        "The customer and vehicle file (客户档案) by plate, VIN or phone", _json(schemas.CustomerFileOut), (400, 403, 404),
        params=[{"in": "query", "schema": schemas.CustomerFileQuery}], tag="customers"),
    ("/api/webhooks", "post"): _op(
        "Subscribe a URL to events (role admin); the secret is answered once", _json(webhook_api.WebhookCreatedOut, "created"),
        (400, 403), status=201, body=_body(webhook_api.WebhookIn, examples={"dms": {"summary": "a dealer's DMS", "value": {
            "url": "https://dms.example.com/hooks/aftersales", "events": ["case.started", "case.ended"]}}}),
        tag="webhooks"),
    ("/api/webhooks", "get"): _op(
        "Webhook subscribers (role admin)", _paged(webhook_api.WebhookOut), (400, 403),
        params=[{"in": "query", "schema": schemas.PageQuery}], tag="webhooks"),
    ("/api/webhooks/<int:webhook_id>", "get"): _op(
        "One subscriber (role admin)", _json(webhook_api.WebhookOut), (403, 404), params=[WEBHOOK_ID], tag="webhooks"),
    ("/api/webhooks/<int:webhook_id>", "delete"): _op(
        "Deactivate a subscriber; its delivery log stays (role admin)", _json(webhook_api.WebhookOut), (403, 404),
        params=[WEBHOOK_ID], tag="webhooks"),
    ("/api/webhooks/deliveries", "get"): _op(
        "The delivery log, newest first (role admin)", _paged(webhook_api.DeliveryOut), (400, 403),
        params=[{"in": "query", "schema": webhook_api.DeliveryQuery}], tag="webhooks"),
    ("/api/webhooks/deliveries/<int:delivery_id>/redeliver", "post"): _op(
        "Send a delivery again, same body and id (role admin)", _json(webhook_api.DeliveryOut), (403, 404),
        params=[{"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "integer"}}], tag="webhooks"),
    ("/api/openapi.json", "get"): _op(
        "This document", {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
        (), tag="documentation", public=True),
    ("/api/docs", "get"): _op(
        "The API reference page (Swagger UI)", {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
        (), tag="documentation", public=True),
}


def openapi_path(rule: str) -> str:
    """Flask's `<int:instance_id>` -> OpenAPI's `{instance_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@cache
def build_spec(version: str = "0.1.0") -> dict:
    spec = APISpec(
        title="After-sales service orchestration API",
        version=version,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "The JSON API (README.md's table is the contract). Every error is "
                             '`{"error": message, "errors": {field: reason}, "code": stable machine code}` '
                             "(the codes: the `Error` schema)."},
        servers=[{"url": "/"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "`flask --app webapp api-token USER`, or made in 我的设置 (settings)"})
    spec.components.schema("Error", schema=schemas.ErrorOut)
    for code, description in ERRORS.items():
        spec.components.response(f"Error{code}", _json(schemas.ErrorOut, description))
    by_path: dict[str, dict] = {}
    for (rule, method), operation in OPERATIONS.items():
        by_path.setdefault(rule, {})[method] = operation
    for rule, operations in by_path.items():
        spec.path(path=openapi_path(rule), operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())


@bp.get("/docs")
def api_docs():
    return render_template("api/docs.html", spec_url=url_for("api.openapi_json"),
                           title=current_app.config.get("API_DOCS_TITLE", "After-sales API"))
