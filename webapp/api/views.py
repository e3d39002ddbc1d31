"""Thin views: parse with marshmallow, call the engine, dump with marshmallow."""

from __future__ import annotations

from flask import g, jsonify, request, send_file

from workers import registry

from .. import params
from ..audit import system_log
from ..engine import attachments, clock, definitions, lanes, replay, runtime
from ..engine.errors import EngineError, Forbidden, FormInvalid, LanesUnmapped, NotFound
from ..extensions import db
from ..models import Attachment, Definition, HistoryEvent, InboxTask, Instance, Job, User
from ..security import personal_data
from ..snapshot_reads import begin_one_snapshot
from . import bp, etags, listing, task_list
from .auth import reads_only, require_role, token_required
from .errors import error_response
from .schemas import (
    AssignTaskIn,
    CancelIn,
    CompleteTaskIn,
    DefinitionVersionOut,
    HistoryEventOut,
    InstanceOut,
    InstanceSummaryOut,
    JobOut,
    MessageIn,
    SkipJobIn,
    StartInstanceIn,
    TaskOut,
    schema,
)

# The most rows one answer of each list holds (`limit` above it is this; README, OpenAPI).
MAX_INSTANCES_PAGE = 1000
MAX_TASKS_PAGE = 5000
MAX_JOBS_PAGE = 1000
MAX_HISTORY_PAGE = 10000
MAX_DEFINITIONS_PAGE = 1000


def _json_body() -> dict:
    body = params.json_body()
    if not isinstance(body, dict):
        raise EngineError("request body must be a JSON object", {"body": "JSON object expected"})
    return body


def _actor() -> str:
    return g.api_user.username


def _roles() -> set[str]:
    return g.api_user.role_codes


def _instance_or_404(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"no process instance {instance_id}")
    return instance


# ---------------------------------------------------------------- definitions


def _form_flag(name: str) -> bool:
    return (request.form.get(name) or request.args.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


@bp.post("/process-definitions")
@token_required
@require_role("process_owner")
def deploy_definition():
    uploads = {f.filename: f.read() for key in request.files for f in request.files.getlist(key) if f.filename}
    if not uploads:
        return error_response(400, "no files uploaded", {"files": "upload .bpmn files and their .json forms"})
    try:
        report = definitions.deploy_report(
            uploads,
            actor=_actor(),
            now=clock.now(),
            known_operators=registry.names(),
            replace=_form_flag("replace"),
            lane_roles=lanes.parse_lane_roles(request.form.get("lane_roles")),
        )
        system_log.deployed(report.definition, report.created, actor=_actor())
        db.session.commit()
    except LanesUnmapped as err:
        db.session.rollback()
        return jsonify(lanes.unmapped_answer(err)), 400
    except Exception:
        db.session.rollback()
        raise
    return jsonify(report.as_json()), 201 if report.created else 200


@bp.get("/process-definitions")
@token_required
def list_definitions():
    rows = db.session.scalars(db.select(Definition).order_by(Definition.key, Definition.version)).all()
    grouped: dict[str, dict] = {}
    for row in rows:
        entry = grouped.setdefault(row.key, {"key": row.key, "name": row.name, "versions": []})
        entry["versions"].append(schema(DefinitionVersionOut).dump(row))
        entry["name"] = row.name
        entry["latest_version"] = row.version
    keys = listing.paged_rows(list(grouped.values()), default=None, maximum=MAX_DEFINITIONS_PAGE)
    return keys.response(keys.items)


# ---------------------------------------------------------------- instances


@bp.post("/process-instances")
@token_required
def start_instance():
    body = schema(StartInstanceIn).load(_json_body())
    instance = runtime.start_instance(
        body["process_key"],
        body["data"],
        actor=_actor(),
        business_key=body["business_key"],
        roles=_roles(),
        version=body["version"],
        commit=False,
    )
    answer = {"id": instance.id, "status": instance.status, "business_key": instance.business_key}
    runtime.commit()
    return jsonify(answer), 201


@bp.get("/process-instances")
@reads_only
@token_required
def list_instances():
    query = db.select(Instance).order_by(Instance.id.desc())
    for name in ("status", "process_key", "business_key"):
        if value := request.args.get(name):
            query = query.where(getattr(Instance, name) == value)
    rows = listing.page(query, default=100, maximum=MAX_INSTANCES_PAGE)
    return rows.response(schema(InstanceSummaryOut, many=True).dump(rows.items))


@bp.get("/process-instances/<int:instance_id>")
@token_required
def get_instance(instance_id: int):
    instance = _instance_or_404(instance_id)
    body = schema(InstanceOut).dump(instance)
    body["data"], _masked = personal_data.for_viewer(instance, _roles(), _actor(), "API instance", data=body["data"])
    return etags.with_etag(jsonify(body), instance.version)


@bp.post("/process-instances/<int:instance_id>/cancel")
@token_required
@require_role("after_sales_manager")
def cancel_instance(instance_id: int):
    body = schema(CancelIn).load(_json_body())
    _instance_or_404(instance_id)
    etags.check_if_match(instance_id)
    instance = runtime.cancel_instance(instance_id, actor=_actor(), reason=body["reason"])
    return etags.with_etag(jsonify({"id": instance.id, "status": instance.status}), instance.version)


@bp.get("/process-instances/<int:instance_id>/history")
@token_required
def instance_history(instance_id: int):
    instance = _instance_or_404(instance_id)
    events = listing.page(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq),
        default=None, maximum=MAX_HISTORY_PAGE)
    body = schema(HistoryEventOut, many=True).dump(events.items)
    # Outside the case's lanes the payloads' personal fields are masked (the hashes then no
    # longer recompute from them: verify with /verify, or as someone of the lanes or an auditor).
    payloads, _masked = personal_data.for_viewer(instance, _roles(), _actor(), "API history",
                                                 data=[event["payload"] for event in body])
    for event, payload in zip(body, payloads, strict=True):
        event["payload"] = payload
    return events.response(body)


@bp.get("/process-instances/<int:instance_id>/replay")
@token_required
def replay_instance(instance_id: int):
    upto = params.int_arg("upto")
    begin_one_snapshot(db.session)
    _instance_or_404(instance_id)
    state = replay.replay(instance_id, upto)
    db.session.rollback()
    body = replay.describe(state)
    body["data"], _masked = personal_data.for_viewer(_instance_or_404(instance_id), _roles(), _actor(), "API replay",
                                                     data=body.get("data") or {})
    return jsonify(body)


@bp.get("/process-instances/<int:instance_id>/verify")
@token_required
def verify_instance(instance_id: int):
    begin_one_snapshot(db.session)
    _instance_or_404(instance_id)
    result = replay.verify(instance_id)
    db.session.rollback()
    return jsonify(result)


# ---------------------------------------------------------------- tasks


@bp.get("/tasks")
@reads_only
@token_required
def list_tasks():
    """Open tasks the caller may work on, earliest due first. `limit`/`offset` page through
    long lists (an extension: without them every task is returned, as the contract says)."""
    instance_id = params.int_arg("instance_id")
    me = _actor()
    if request.args.get("mine", "").lower() in ("1", "true", "yes"):
        who = "mine"
    elif g.api_user.has_role("admin"):
        who = "all"
    else:
        who = "lanes"  # the caller's own tasks, and the unassigned ones of their roles
    limit, offset = listing.limit_offset(default=None, maximum=MAX_TASKS_PAGE)
    tasks, total = task_list.open_tasks(instance_id=instance_id, me=me, who=who, roles=_roles(), limit=limit,
                                        offset=offset)
    return listing.Page(tasks, total, limit, offset).response(tasks)


@bp.get("/tasks/<task_id>")
@token_required
def get_task(task_id: str):
    task = _task_or_404(task_id)
    return etags.with_etag(jsonify(schema(TaskOut).dump(task)), task.instance.version)


def _task_or_404(task_id: str) -> InboxTask:
    task = db.session.get(InboxTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def _task_if_match(task_id: str) -> None:
    """If-Match on a task write names its case's version (the ETag of GET /tasks/<id>)."""
    if "If-Match" in request.headers:
        etags.check_if_match(_task_or_404(task_id).instance_id)


@bp.post("/tasks/<task_id>/complete")
@token_required
def complete_task(task_id: str):
    body = schema(CompleteTaskIn).load(_json_body())
    _task_if_match(task_id)
    # the answer's facts are the command's own values (no read), so a stale case is found
    # by the commit, in the same wait as the command's writes (a 409 that keeps nothing)
    instance = runtime.complete_user_task(task_id, body["data"], actor=_actor(), roles=_roles(), commit=False,
                                          check_at_commit=True)
    answer, version = {"id": task_id, "instance_id": instance.id, "instance_status": instance.status}, instance.version
    runtime.commit()
    return etags.with_etag(jsonify(answer), version)


@bp.post("/tasks/<task_id>/claim")
@token_required
def claim_task(task_id: str):
    _task_if_match(task_id)
    return jsonify(schema(TaskOut).dump(runtime.claim_task(task_id, actor=_actor(), roles=_roles())))


@bp.post("/tasks/<task_id>/release")
@token_required
def release_task(task_id: str):
    _task_if_match(task_id)
    return jsonify(schema(TaskOut).dump(runtime.release_task(task_id, actor=_actor(), roles=_roles())))


@bp.post("/tasks/<task_id>/assign")
@token_required
@require_role("after_sales_manager")
def assign_task(task_id: str):
    body = schema(AssignTaskIn).load(_json_body())
    _task_if_match(task_id)
    user = db.session.scalar(db.select(User).where(User.username == body["username"]))
    if user is None:
        raise FormInvalid(f"no user {body['username']}", {"username": "unknown user"})
    task = runtime.assign_task(task_id, user.username, actor=_actor(), assignee_roles=user.role_codes)
    return jsonify(schema(TaskOut).dump(task))


# ---------------------------------------------------------------- messages and jobs


@bp.post("/messages")
@token_required
def send_message():
    if g.api_user.role_codes <= {"auditor"}:
        raise Forbidden("auditors read; they do not send messages to cases", {"role": "auditor"})
    body = schema(MessageIn).load(_json_body())
    delivered = runtime.deliver_message(body["name"], body["correlation"], body["payload"], actor=_actor())
    return jsonify({"delivered_to": delivered, "buffered": not delivered}), 202


@bp.get("/jobs")
@token_required
@require_role("after_sales_manager", "auditor")
def list_jobs():
    query = db.select(Job).order_by(Job.id)
    if status := request.args.get("status"):
        query = query.where(Job.status == status)
    if (instance_id := params.int_arg("instance_id")) is not None:
        query = query.where(Job.instance_id == instance_id)
    jobs = listing.page(query, default=MAX_JOBS_PAGE, maximum=MAX_JOBS_PAGE)
    return jobs.response(schema(JobOut, many=True).dump(jobs.items))


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


@bp.post("/jobs/<int:job_id>/retry")
@token_required
@require_role("after_sales_manager")
def retry_job(job_id: int):
    system_log.incident_retried(_job_or_404(job_id), actor=_actor())
    job = runtime.retry_incident(_job_or_404(job_id), actor=_actor())
    return jsonify(schema(JobOut).dump(job))


@bp.post("/jobs/<int:job_id>/skip")
@token_required
@require_role("after_sales_manager")
def skip_job(job_id: int):
    body = schema(SkipJobIn).load(_json_body())
    system_log.incident_skipped(_job_or_404(job_id), body["result"], actor=_actor())
    instance = runtime.skip_incident(_job_or_404(job_id), body["result"], actor=_actor())
    return jsonify({"job": schema(JobOut).dump(db.session.get(Job, job_id)), "instance_status": instance.status})


# ---------------------------------------------------------------- attachments


def _read_upload() -> tuple[bytes, str]:
    # Photos are larger than the forms' limit: this request alone may carry one file.
    request.max_content_length = attachments.max_bytes() + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise FormInvalid("no file uploaded", {"file": "send the file as multipart field 'file'"})
    return upload.read(attachments.max_bytes() + 1), upload.filename


@bp.post("/attachments")
@token_required
def upload_attachment():
    if not attachments.may_attach(_roles()):
        raise Forbidden("read-only roles cannot attach files", {"role": "auditor"})
    content, filename = _read_upload()
    stored = attachments.store(content, filename, actor=_actor())
    db.session.commit()
    row = stored.attachment
    body = {"id": row.id, "sha256": row.sha256, "size": row.size, "content_type": row.content_type,
            "name": row.filename, "reference": stored.reference()}
    return jsonify(body), 201


@bp.get("/attachments/<attachment_id>")
@token_required
def download_attachment(attachment_id: str):
    row = db.session.get(Attachment, attachment_id)
    if row is None or (row.instance_id is None and row.uploaded_by != _actor() and "admin" not in _roles()):
        raise NotFound(f"no attachment {attachment_id}")
    path = attachments.file_path(row)
    if not path.exists():
        raise NotFound(f"attachment {attachment_id} is missing from the store")
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename)
