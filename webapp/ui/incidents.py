"""Incidents 故障: system steps that failed every attempt. Managers read the error, then
retry after a fix, or complete the step with a value entered by hand."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import params
from ..audit import system_log
from ..engine import definitions, runtime
from ..engine.errors import EngineError
from ..extensions import db
from ..models import Instance, Job
from . import bp
from .common import manager_required
from .inbox import engine_message


def _element_name(instance: Instance, bpmn_id: str) -> str:
    elements = definitions.info(instance.definition_id).meta.get("elements") or {}
    return (elements.get(bpmn_id) or {}).get("name") or bpmn_id


@bp.get("/incidents")
@login_required
@manager_required
def incidents() -> ResponseReturnValue:
    query = db.select(Job, Instance).join(Instance, Instance.id == Job.instance_id).where(Job.status == "incident")
    rows = db.session.execute(query.order_by(Job.run_at)).all()
    return render_template(
        "incidents.html", rows=[(job, instance, _element_name(instance, job.bpmn_id)) for job, instance in rows]
    )


@bp.post("/jobs/<int:job_id>/skip")
@login_required
@manager_required
def skip_job(job_id: int) -> ResponseReturnValue:
    """Complete an incident's step with the value the manager typed (JSON), instead of running it."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    back = request.form.get("next") == "case"
    target = url_for("ui.case", instance_id=job.instance_id) if back else url_for("ui.incidents")
    try:
        result = params.loads(request.form.get("result") or "", "result")
    except params.BadParameter:  # not JSON, nested too deep, or text with NUL
        flash(_("The value must be JSON, for example {\"ok\": true}."), "error")
        return redirect(target)
    try:
        system_log.incident_skipped(job, result, actor=current_user.username)
        runtime.skip_incident(job, result, actor=current_user.username)
        flash(_("The system step was completed with the value you entered."), "success")
    except EngineError as err:
        db.session.rollback()
        flash(_("This system step is not waiting for a retry.") if err.status == 409 else engine_message(err), "error")
    return redirect(target)
