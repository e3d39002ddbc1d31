"""The task form: rendered from the task's JSON Schema and UI schema; draft, submit, next task."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..engine import clock, runtime
from ..engine.errors import EngineError, FormInvalid, NotFound
from ..engine.forms import with_defaults
from ..engine.translations import instruction_template
from ..extensions import db
from ..forms_render import (
    Parsed,
    build_fields,
    field_labels,
    localise_errors,
    parse_submission,
    unplaced_errors,
    validation_errors,
)
from ..forms_render.instructions import render_instructions
from ..models import InboxTask, Instance
from ..models.engine import IS_OPEN
from ..security import personal_data
from . import bp
from .attachments import with_uploads
from .cases import case_facts
from .comments import comments_of, may_comment
from .common import display_names, in_my_lanes, is_admin, may_work_on, roles
from .i18n import form_for, name_in_language, user_zone, when
from .inbox import engine_message
from .inbox_extras import follow_ups


def _task_or_404(task_id: str) -> InboxTask:
    row = db.session.get(InboxTask, task_id)
    if row is None:
        abort(404)
    return row


def _forms_of(row: InboxTask) -> tuple[dict | None, dict | None]:
    definition = row.instance.definition
    return form_for(definition, row.form_schema), form_for(definition, row.form_ui_schema)


def next_task_for_me(instance: Instance) -> InboxTask | None:
    rows = db.session.scalars(
        db.select(InboxTask)
        .where(InboxTask.instance_id == instance.id, IS_OPEN)
        .order_by(InboxTask.created_at, InboxTask.id)
    ).all()
    return next((r for r in rows if may_work_on(r) and (r.role in roles() or r.assignee == current_user.username)), None)


def render_task(
    row: InboxTask, values: dict | None, errors: dict[str, str], message: str = "", status: int = 200
) -> ResponseReturnValue:
    schema, ui = _forms_of(row)
    instance = row.instance
    yes, no = _("Yes"), _("No")
    # Only people of the task's lane (or given the task) get here, so this is the full data;
    # the check stays in case the rules for opening a task ever widen.
    data, _masked = personal_data.for_viewer(instance, roles() | {row.role or ""}, current_user.username, "task page")
    fields = build_fields(schema, ui, values, errors, case_data=data, tz=user_zone(), yes=yes, no=no)
    meta = (instance.definition.meta.get("tasks") or {}).get(row.bpmn_id) or {}
    names = display_names()
    return render_template(
        "task.html",
        row=row,
        instance=instance,
        schema=schema or {},
        fields=fields,
        labels=field_labels(fields),
        errors=errors,
        other_errors=unplaced_errors(fields, errors),
        instructions=render_instructions(
            instruction_template(instance.definition, meta.get("instructions"), get_locale()),
            {**data, "business_key": instance.business_key},
        ),
        facts=case_facts(instance, data),
        metadata=row.task_metadata or {},
        claimed_by_other=bool(row.assignee and row.assignee != current_user.username and not is_admin()),
        assignee_name=names.get(row.assignee or "", row.assignee),
        message=message,
        comments=comments_of(instance.id),
        may_comment=may_comment(),
        follow_up_on=follow_ups([row.id]).get(row.id),
    ), status


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> ResponseReturnValue:
    row = _task_or_404(task_id)
    if not in_my_lanes(row):
        abort(403)
    if row.state != "open":
        flash(_("This task has already been completed or cancelled."), "info")
        return redirect(url_for("ui.case", instance_id=row.instance_id))
    return render_task(row, row.draft if row.draft is not None else _prefilled(row), {})


def _prefilled(row: InboxTask) -> dict | None:
    """What the form opens with when nothing was typed yet: the task's data for its fields,
    and the form's defaults for the others (None: the defaults alone)."""
    if not row.prefill:
        return None
    schema, _ui = _forms_of(row)
    return with_defaults(schema, row.prefill)


def _add_row(data: dict, name: str) -> None:
    """Append an empty line to the array at a dotted path ("parts" or "repair.parts")."""
    target: object = data
    parts = name.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else None
    if isinstance(target, dict):
        lines = target.get(parts[-1])
        target[parts[-1]] = [*(lines if isinstance(lines, list) else []), {}]


@bp.post("/tasks/<task_id>")
@login_required
def submit_task(task_id: str) -> ResponseReturnValue:
    row = _task_or_404(task_id)
    if not in_my_lanes(row):
        abort(403)
    schema, ui = _forms_of(row)
    form, upload_errors = with_uploads(request.form, schema, ui)
    parsed = parse_submission(schema, ui, form, case_data=row.instance.data, tz=user_zone())
    parsed.errors.update(upload_errors)
    action = request.form.get("_action", "submit")
    if action.startswith("add_row:"):
        _add_row(parsed.data, action.removeprefix("add_row:"))
        return render_task(row, parsed.data, parsed.errors)
    if action == "draft":
        return _save_draft(row, parsed)
    return _complete(row, schema, parsed)


@bp.post("/tasks/<task_id>/draft")
@login_required
def autosave_task(task_id: str) -> ResponseReturnValue:
    """The page's script saves what is typed as a draft while the person types (JSON answer)."""
    row = _task_or_404(task_id)
    if not in_my_lanes(row):
        abort(403)
    schema, ui = _forms_of(row)
    parsed = parse_submission(schema, ui, request.form, case_data=row.instance.data, tz=user_zone())
    try:
        runtime.save_draft(row.id, parsed.data, actor=current_user.username, roles=roles())
    except NotFound:
        abort(404)
    except EngineError as err:
        db.session.rollback()
        return jsonify({"saved": False, "error": engine_message(err)}), err.status
    return jsonify({"saved": True, "message": _("Draft saved at %(time)s.", time=when(clock.now()))})


def _save_draft(row: InboxTask, parsed: Parsed):
    try:
        runtime.save_draft(row.id, parsed.data, actor=current_user.username, roles=roles())
    except NotFound:
        abort(404)
    except EngineError as err:
        db.session.rollback()
        return render_task(row, parsed.data, parsed.errors, engine_message(err), err.status)
    flash(_("Draft saved. You can come back to it later."), "success")
    return redirect(url_for("ui.task", task_id=row.id))


def _complete(row: InboxTask, schema: dict | None, parsed: Parsed):
    if parsed.errors:
        # Text that did not even convert (a number field with letters) never reaches the engine.
        errors = validation_errors(schema, parsed.data) | parsed.errors
        return render_task(row, parsed.data, errors, _("Please correct the marked fields."), 422)
    instance_id = row.instance_id
    try:
        instance = runtime.complete_user_task(row.id, parsed.data, actor=current_user.username, roles=roles())
    except NotFound:
        abort(404)
    except FormInvalid as err:
        db.session.rollback()
        errors = localise_errors(schema, parsed.data, err.errors)
        return render_task(row, parsed.data, errors, _("Please correct the marked fields."), 422)
    except EngineError as err:
        db.session.rollback()
        row = _task_or_404(row.id)
        return render_task(row, parsed.data, parsed.errors, engine_message(err), err.status)
    flash(_("Task “%(name)s” completed.", name=name_in_language(row.name, row.instance.definition)), "success")
    following = next_task_for_me(instance)
    if following is not None:
        return redirect(url_for("ui.task", task_id=following.id))
    return redirect(url_for("ui.case", instance_id=instance_id))
