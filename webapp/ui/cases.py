"""Starting a case, the case page 工单 (data, tasks, timeline, diagram) and the case lists."""

from __future__ import annotations

import json

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from SpiffWorkflow.util.task import TaskState

from ..audit import system_log
from ..engine import clock, runtime
from ..engine.errors import EngineError, FormInvalid, NotFound
from ..engine.parser import is_bpmn_file
from ..extensions import db
from ..forms_render import (
    build_fields,
    display_value,
    field_labels,
    localise_errors,
    parse_submission,
    table_value,
    unplaced_errors,
    validation_errors,
)
from ..models import Definition, HistoryEvent, InboxTask, Instance, Job, ScriptOutput
from ..models.engine import IS_OPEN
from ..paging import paginate
from ..security import personal_data
from . import bp
from .attachments import case_attachments, with_uploads
from .comments import comments_of, mark_seen, may_comment
from .common import (
    actor_label,
    display_names,
    event_labels,
    in_my_lanes,
    is_manager,
    manager_required,
    may_start,
    may_work_on,
    role_name,
    roles,
)
from .i18n import form_for, name_in_language, user_zone
from .inbox import assignable, candidates_by_role, engine_message

PAGE_SIZE = 50


# ---------------------------------------------------------------- shared with the task page


def template_data(instance: Instance) -> dict:
    return {**(instance.data or {}), "business_key": instance.business_key}


def _schema_files(definition: Definition) -> list[str]:
    meta = definition.meta or {}
    files = [(meta.get("start_form") or {}).get("schema")]
    files += [((task.get("form") or {}).get("schema")) for task in (meta.get("tasks") or {}).values()]
    seen: list[str] = []
    for name in files:
        if name and name not in seen and isinstance(definition.forms.get(name), dict):
            seen.append(name)
    return seen


def field_props(definition: Definition) -> dict[str, dict]:
    """Every top-level form field of the process, the start form's first (its titles win)."""
    props: dict[str, dict] = {}
    for name in _schema_files(definition):
        for key, prop in ((form_for(definition, name) or {}).get("properties") or {}).items():
            if isinstance(prop, dict):
                props.setdefault(key, prop)
    return props


def case_facts(instance: Instance, data: dict | None = None) -> list[tuple[str, str, str]]:
    """(key, label, value) for the case data the process's forms describe, in form order
    (`data`: the case data as the viewer may see it, personal data masked or not)."""
    props = field_props(instance.definition)
    data = (instance.data or {}) if data is None else data
    tz = user_zone()
    yes, no = _("Yes"), _("No")
    facts = []
    for key, prop in props.items():
        if key in data and data[key] not in (None, "", []):
            shown = table_value(prop, data[key], tz, yes, no) or display_value(prop, data[key], tz, yes, no)
            facts.append((key, str(prop.get("title") or key), shown))
    return facts


def other_facts(instance: Instance, data: dict | None = None) -> list[tuple[str, object]]:
    """The records the system wrote into the case (not on any form), as labelled values/tables."""
    props = field_props(instance.definition)
    data = (instance.data or {}) if data is None else data
    tz = user_zone()
    yes, no = _("Yes"), _("No")
    rest = {k: v for k, v in data.items() if k not in props and k != "business_key"}
    return [(key, table_value({}, value, tz, yes, no) or display_value({}, value, tz, yes, no))
            for key, value in sorted(rest.items())]


def other_data(instance: Instance, data: dict | None = None) -> str:
    props = field_props(instance.definition)
    data = (instance.data or {}) if data is None else data
    rest = {k: v for k, v in data.items() if k not in props and k != "business_key"}
    return json.dumps(rest, ensure_ascii=False, indent=2, sort_keys=True) if rest else ""


def _instance_or_404(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        abort(404)
    return instance


# ---------------------------------------------------------------- new case


def _latest_definitions() -> list[Definition]:
    newest = db.select(Definition.key, db.func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    query = db.select(Definition).join(newest, db.and_(Definition.key == newest.c.key, Definition.version == newest.c.version))
    return list(db.session.scalars(query.order_by(Definition.name)))


def _startable(key: str) -> Definition:
    definition = next((d for d in _latest_definitions() if d.key == key), None)
    if definition is None or not definition.meta.get("start_form"):
        abort(404)
    if not may_start(definition):
        abort(403)
    return definition


@bp.get("/new")
@login_required
def new_case_list() -> ResponseReturnValue:
    definitions = [d for d in _latest_definitions() if may_start(d)]
    return render_template("new_list.html", definitions=definitions)


def _render_start(definition: Definition, values: dict | None, errors: dict, message: str = "", status: int = 200):
    start = definition.meta["start_form"]
    schema = form_for(definition, start.get("schema")) or {}
    ui = form_for(definition, start.get("ui_schema")) or {}
    fields = build_fields(schema, ui, values, errors, tz=user_zone(), yes=_("Yes"), no=_("No"))
    return render_template(
        "new_form.html",
        definition=definition,
        schema=schema,
        fields=fields,
        labels=field_labels(fields),
        errors=errors,
        other_errors=unplaced_errors(fields, errors),
        message=message,
    ), status


@bp.get("/new/<key>")
@login_required
def new_case(key: str) -> ResponseReturnValue:
    definition = _startable(key)
    return _render_start(definition, _from_customer_file(definition), {})


def _from_customer_file(definition: Definition) -> dict | None:
    """?customer=<id>[&vin=] (the links of the 客户档案 page): the start form opens with what
    the file knows, for the fields the form has; personal data only for who may see it."""
    from ..models import Customer
    from ..records import customer_file as files

    customer_id = request.args.get("customer", "")
    if not customer_id.isdigit() or not roles() & (set(files.FILE_READERS) | {"admin"}):
        return None
    customer = db.session.get(Customer, int(customer_id))
    if customer is None:
        return None
    values = files.prefill(files.customer_file(db.session, customer), request.args.get("vin", "").strip())
    if files.viewing(roles()) != "full":
        values = {k: v for k, v in values.items() if not personal_data.is_personal(k)}
    start = definition.meta["start_form"]
    fields = (definition.forms.get(start.get("schema")) or {}).get("properties") or {}
    return {k: v for k, v in values.items() if k in fields} or None


@bp.post("/new/<key>")
@login_required
def start_case(key: str) -> ResponseReturnValue:
    definition = _startable(key)
    start = definition.meta["start_form"]
    schema = form_for(definition, start.get("schema")) or {}
    ui = form_for(definition, start.get("ui_schema")) or {}
    form, upload_errors = with_uploads(request.form, schema, ui)
    parsed = parse_submission(schema, ui, form, tz=user_zone())
    parsed.errors.update(upload_errors)
    if request.form.get("_action", "").startswith("add_row:"):
        from .tasks import _add_row

        _add_row(parsed.data, request.form["_action"].removeprefix("add_row:"))
        return _render_start(definition, parsed.data, parsed.errors)
    if parsed.errors:
        errors = validation_errors(schema, parsed.data) | parsed.errors
        return _render_start(definition, parsed.data, errors, _("Please correct the marked fields."), 422)
    try:
        instance = runtime.start_instance(definition.key, parsed.data, actor=current_user.username, roles=roles())
    except FormInvalid as err:
        db.session.rollback()
        errors = localise_errors(schema, parsed.data, err.errors)
        return _render_start(definition, parsed.data, errors, _("Please correct the marked fields."), 422)
    except EngineError as err:
        db.session.rollback()
        return _render_start(definition, parsed.data, {}, engine_message(err), err.status)
    flash(_("Case %(number)s was registered.", number=instance.business_key), "success")
    return redirect(url_for("ui.case", instance_id=instance.id))


# ---------------------------------------------------------------- the case page


def _event_detail(event: HistoryEvent, payload: dict, names: dict[str, str]) -> str:
    if event.type == "task_assigned":
        return names.get(payload.get("assignee", ""), payload.get("assignee", ""))
    if event.type == "message_received":
        return str(payload.get("name", ""))
    if event.type == "instance_cancelled":
        return str(payload.get("reason", ""))
    if event.type == "comment_added":
        return str(payload.get("text", ""))
    return ""


def timeline(instance: Instance) -> list[dict]:
    events = db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
    ).all()
    elements = instance.definition.meta.get("elements") or {}
    names = display_names()
    labels = event_labels()
    entries = []
    for event in events:
        payload = json.loads(event.payload or "{}")
        name = name_in_language((elements.get(event.bpmn_id or "") or {}).get("name"), instance.definition) or event.bpmn_id or ""
        entries.append({
            "seq": event.seq,
            "at": clock.from_iso(event.at),
            "who": actor_label(event.actor, names),
            "what": labels.get(event.type, event.type),
            "element": name,
            "detail": _event_detail(event, payload, names),
            "type": event.type,
        })
    return entries


def diagram_markers(instance: Instance) -> tuple[list[str], list[str]]:
    """(completed, active) element ids, from the instance's stored state."""
    workflow = runtime.load_workflow(instance)
    completed, active = set(), set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.STARTED, TaskState.WAITING):
            active.add(bpmn_id)
    return sorted(completed - active), sorted(active)


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int) -> ResponseReturnValue:
    instance = _instance_or_404(instance_id)
    mark_seen(instance.id)
    tasks = db.session.scalars(
        db.select(InboxTask).where(InboxTask.instance_id == instance.id, IS_OPEN).order_by(InboxTask.created_at)
    ).all()
    incidents = db.session.scalars(
        db.select(Job).where(Job.instance_id == instance.id, Job.status == "incident").order_by(Job.id)
    ).all()
    printed = db.session.scalars(
        db.select(ScriptOutput).where(ScriptOutput.instance_id == instance.id).order_by(ScriptOutput.id.desc()).limit(50)
    ).all()
    elements = instance.definition.meta.get("elements") or {}
    data, pii_masked = personal_data.for_viewer(instance, roles(), current_user.username, "case page")
    return render_template(
        "case.html",
        pii_masked=pii_masked,
        instance=instance,
        incidents=incidents,
        printed=printed,
        element_name=lambda bpmn_id: name_in_language((elements.get(bpmn_id) or {}).get("name"), instance.definition) or bpmn_id,
        facts=case_facts(instance, data),
        other=other_data(instance, data),
        other_facts=other_facts(instance, data),
        tasks=tasks,
        events=timeline(instance),
        files=case_attachments(instance.id),
        comments=comments_of(instance.id),
        may_comment=may_comment(),
        actor_label=actor_label,
        names=display_names(),
        people=candidates_by_role() if is_manager() else {},
        assignable=assignable,
        may_work_on=may_work_on,
        in_my_lanes=in_my_lanes,
        role_name=role_name,
        now=clock.now(),
    )


@bp.get("/cases/<int:instance_id>/diagram.json")
@login_required
def case_diagram(instance_id: int) -> ResponseReturnValue:
    instance = _instance_or_404(instance_id)
    process_id = instance.definition.meta.get("process_id", instance.process_key)
    files = instance.definition.files or {}
    xml = next((text for name, text in files.items() if is_bpmn_file(name) and f'id="{process_id}"' in text), None)
    if xml is None:
        raise NotFound("no diagram")
    completed, active = diagram_markers(instance)
    db.session.rollback()
    return jsonify({"xml": xml, "completed": completed, "active": active})


@bp.post("/cases/<int:instance_id>/cancel")
@login_required
@manager_required
def cancel_case(instance_id: int) -> ResponseReturnValue:
    _instance_or_404(instance_id)
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash(_("Give a reason for cancelling the case."), "error")
        return redirect(url_for("ui.case", instance_id=instance_id))
    try:
        runtime.cancel_instance(instance_id, actor=current_user.username, reason=reason[:500])
        flash(_("The case was cancelled."), "success")
    except EngineError as err:
        db.session.rollback()
        flash(_("Only a case in progress can be cancelled.") if err.status == 409 else engine_message(err), "error")
    return redirect(url_for("ui.case", instance_id=instance_id))


@bp.post("/jobs/<int:job_id>/retry")
@login_required
@manager_required
def retry_job(job_id: int) -> ResponseReturnValue:
    """An incident (a system step that failed every attempt) runs again once its cause is fixed."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    instance_id = job.instance_id
    try:
        system_log.incident_retried(job, actor=current_user.username)
        runtime.retry_incident(job, actor=current_user.username)
        flash(_("The system step will run again."), "success")
    except EngineError as err:
        db.session.rollback()
        flash(_("This system step is not waiting for a retry.") if err.status == 409 else engine_message(err), "error")
    return redirect(url_for("ui.case", instance_id=instance_id))


# ---------------------------------------------------------------- lists


@bp.get("/cases")
@login_required
def cases() -> ResponseReturnValue:
    scope = request.args.get("scope", "mine")
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    process = request.args.get("process", "")
    query = db.select(Instance)
    if scope != "all":
        scope = "mine"
        touched = db.select(InboxTask.instance_id).where(InboxTask.completed_by == current_user.username)
        query = query.where(db.or_(Instance.started_by == current_user.username, Instance.id.in_(touched)))
    if q:
        like = f"%{q}%"
        query = query.where(db.or_(Instance.business_key.ilike(like), Instance.customer_name.ilike(like)))
    if status in ("running", "completed", "cancelled"):
        query = query.where(Instance.status == status)
    if process:
        query = query.where(Instance.process_key == process)
    shown = paginate(query.order_by(Instance.started_at.desc(), Instance.id.desc()), PAGE_SIZE)
    processes = db.session.execute(db.select(Definition.key, Definition.name).distinct().order_by(Definition.key)).all()
    return render_template(
        "cases.html",
        rows=shown.items,
        scope=scope,
        q=q,
        status=status,
        process=process,
        page=shown.page,
        pages=max(shown.pages, 1),
        total=shown.total,
        processes=dict(processes),
        names=display_names(),
    )


@bp.errorhandler(NotFound)
def _engine_not_found(err: NotFound):
    abort(404)
