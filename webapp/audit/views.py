"""The auditors' pages: cases, replay step by step, verify, exports and the printable report,
the system log, the deadline audit. Every page is read-only and needs the auditor role
(administrators hold every role)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from functools import wraps

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import params
from ..downloads import attachment
from ..engine import clock, replay
from ..engine.errors import NotFound
from ..extensions import db
from ..forms_render import display_value
from ..models import Checkpoint, Definition, HistoryEvent, Instance, SystemLogEvent
from ..paging import paginate
from ..snapshot_reads import begin_one_snapshot
from ..ui.attachments import case_attachments
from ..ui.common import actor_label, display_names, event_labels, role_name
from ..ui.i18n import name_in_language, user_zone
from ..ui.system_fields import system_label
from . import bp, deadlines, exports, system_log
from .walk import Step, cached_walk

PAGE_SIZE = 50
DEADLINE_CASES_LIMIT = 2000


def auditor_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.has_role("auditor"):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _instance_or_404(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        abort(404)
    return instance


@bp.errorhandler(NotFound)
def _not_found(err):
    abort(404)


# ---------------------------------------------------------------- labels


STATUS_LABELS = {
    deadlines.MET: _l("Met"),
    deadlines.MISSED: _l("Missed"),
    deadlines.OVERDUE: _l("Overdue"),
    deadlines.OPEN: _l("Not yet due"),
    deadlines.VOID: _l("Not needed (case ended)"),
    deadlines.NA: _l("Did not apply"),
}

LOG_LABELS = {
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "account_created": _l("Account created"),
    "roles_changed": _l("Roles changed"),
    "account_deactivated": _l("Account deactivated"),
    "account_reactivated": _l("Account reactivated"),
    "password_reset": _l("Password set by a manager"),
    "account_unlocked": _l("Account unlocked"),
    "account_change_refused": _l("Account change refused"),
    "password_changed": _l("Password changed by its owner"),
    "api_token_issued": _l("API token issued"),
    "api_token_revoked": _l("API token revoked"),
    "personal_data_viewed": _l("Customer's personal data viewed in full"),
    "definition_deployed": _l("Process version deployed"),
    "incident_retried": _l("Incident retried"),
    "incident_skipped": _l("System step skipped by a manager"),
    "instance_migrated": _l("Case moved to a newer process version"),
    "case_signed_off": _l("Audit report signed off"),
}

FAILED_LOGIN_REASONS = {
    "bad": _l("wrong username or password"),
    "locked": _l("account locked"),
    "inactive": _l("account deactivated"),
}


def instance_status_label(status: str) -> str:
    return {"running": _("In progress"), "completed": _("Completed"), "cancelled": _("Cancelled")}.get(status, status)


# ---------------------------------------------------------------- case list


@bp.get("/")
@auditor_required
def index():
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    process = request.args.get("process", "")
    query = db.select(Instance)
    if q:
        like = f"%{q}%"
        query = query.where(db.or_(Instance.business_key.ilike(like), Instance.data["customer_name"].as_string().ilike(like)))
    if status in ("running", "completed", "cancelled"):
        query = query.where(Instance.status == status)
    if process:
        query = query.where(Instance.process_key == process)
    shown = paginate(query.order_by(Instance.started_at.desc(), Instance.id.desc()), PAGE_SIZE)
    processes = dict(db.session.execute(db.select(Definition.key, Definition.name).distinct().order_by(Definition.key)).all())
    return render_template(
        "audit/index.html", rows=shown.items, q=q, status=status, process=process, page=shown.page, total=shown.total,
        pages=max(shown.pages, 1), processes=processes, names=display_names(),
        status_label=instance_status_label,
    )


# ---------------------------------------------------------------- replay


def _field_props(definition: Definition) -> dict[str, dict]:
    from ..ui.cases import field_props

    return field_props(definition)


def _display(props: dict, key: str, text: str, tz) -> tuple[str, bool]:
    """(text, is_block): a data value as people read it; structures as indented JSON."""
    value = json.loads(text)
    if key in props and not isinstance(value, dict | list):
        return display_value(props[key], value, tz, _("Yes"), _("No")), False
    if key in props and isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return display_value(props[key], value, tz, _("Yes"), _("No")), False
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True), True
    if isinstance(value, bool):
        return (_("Yes") if value else _("No")), False
    return ("" if value is None else str(value)), False


def _label(props: dict, key: str) -> dict:
    """A field's label: the form's title, else the system field's label, else the key itself
    (then `raw`: the page marks it as data, not text to translate)."""
    title = (props.get(key) or {}).get("title") or system_label(key)
    return {"label": str(title or key), "raw": not title}


def data_rows(step: Step | None, previous: Step | None, props: dict, tz) -> list[dict]:
    """The case data after the step, form fields first, each marked when the step changed it."""
    if step is None:
        return []
    keys = [k for k in props if k in step.data] + sorted(k for k in step.data if k not in props)
    rows = []
    for key in keys:
        text, block = _display(props, key, step.data[key], tz)
        before = None
        if key in step.changed and previous is not None and key in previous.data:
            before = _display(props, key, previous.data[key], tz)[0]
        rows.append({"key": key, **_label(props, key), "value": text, "block": block,
                     "changed": key in step.changed, "before": before, "removed": False})
    for key in step.removed:
        text, block = _display(props, key, previous.data[key], tz) if previous is not None else ("", False)
        rows.append({"key": key, **_label(props, key), "value": text, "block": block,
                     "changed": True, "before": None, "removed": True})
    return rows


def entered_rows(step: Step, definition: Definition, props: dict, tz) -> list[dict]:
    """What the event brought in: form data, a service result, start data, a message."""
    payload = step.payload
    if step.type in ("task_completed", "instance_started"):
        values = payload.get("data") or {}
    elif step.type == "service_completed":
        values = {"result": payload.get("result")}
    elif step.type == "message_received":
        values = {"message": payload.get("name"), "payload": payload.get("payload")}
    else:
        values = {k: v for k, v in payload.items() if k != "definition"}
    rows = []
    for key, value in values.items():
        if key == "business_key" and step.type == "instance_started":
            continue
        text, block = _display(props, key, json.dumps(value, ensure_ascii=False), tz)
        rows.append({"key": key, **_label(props, key), "value": text, "block": block})
    return rows


def step_context(instance: Instance, walk, index: int) -> dict:
    definition = instance.definition
    props = _field_props(definition)
    tz = user_zone()
    step = walk.steps[index] if walk.steps else None
    previous = walk.steps[index - 1] if index > 0 else None
    names = display_names()
    elements = (definition.meta or {}).get("elements") or {}
    outcomes = []
    if step is not None:
        at = clock.from_iso(step.at)
        outcomes = deadlines.case_outcomes(walk, moment=at, upto_seq=step.seq)
    versions = walk.definition_ids
    return {
        "versions": versions,
        "version_at_step": db.session.get(Definition, step.definition_id) if step and step.definition_id else None,
        "instance": instance,
        "step": step,
        "index": index,
        "total": len(walk.steps),
        "who": actor_label(step.actor, names) if step else "",
        "what": event_labels().get(step.type, step.type) if step else "",
        "element": (name_in_language((elements.get(step.bpmn_id or "") or {}).get("name"), definition) or step.bpmn_id or "")
        if step else "",
        "rows": data_rows(step, previous, props, tz),
        "entered": entered_rows(step, definition, props, tz) if step else [],
        "outcomes": [o for o in outcomes if o.status != deadlines.NA],
        "status_labels": STATUS_LABELS,
        "role_name": role_name,
        "failed_seq": walk.failed_seq,
    }


def _step_index(walk, requested: int | None) -> int:
    if not walk.steps:
        return 0
    seqs = [s.seq for s in walk.steps]
    if requested is None or requested not in seqs:
        return len(seqs) - 1 if requested is None or requested > seqs[-1] else 0
    return seqs.index(requested)


@bp.get("/cases/<int:instance_id>")
@auditor_required
def case(instance_id: int):
    instance = _instance_or_404(instance_id)
    walk = cached_walk(instance.id)
    index = _step_index(walk, params.int_arg("step", minimum=-params.MAX_ID))
    names = display_names()
    labels = event_labels()
    elements = (instance.definition.meta or {}).get("elements") or {}
    step_list = [{
        "seq": s.seq, "at": clock.from_iso(s.at), "who": actor_label(s.actor, names), "what": labels.get(s.type, s.type),
        "element": name_in_language((elements.get(s.bpmn_id or "") or {}).get("name"), instance.definition) or s.bpmn_id or "",
        "error": bool(s.error),
    } for s in walk.steps]
    db.session.rollback()
    return render_template("audit/case.html", steps=step_list, names=names, status_label=instance_status_label,
                           **step_context(instance, walk, index))


@bp.get("/cases/<int:instance_id>/steps/<int:seq>")
@auditor_required
def case_step(instance_id: int, seq: int):
    """The step panel alone, for the slider (the page renders the same fragment)."""
    instance = _instance_or_404(instance_id)
    walk = cached_walk(instance.id)
    if not any(s.seq == seq for s in walk.steps):
        abort(404)
    context = step_context(instance, walk, _step_index(walk, seq))
    db.session.rollback()
    return render_template("audit/_step.html", **context)


@bp.get("/cases/<int:instance_id>/steps.json")
@auditor_required
def case_steps_json(instance_id: int):
    """Every step's marks and data keys, for scripts and tests: what the replay computed."""
    instance = _instance_or_404(instance_id)
    walk = cached_walk(instance.id)
    db.session.rollback()
    return jsonify({
        "instance_id": instance.id,
        "failed_seq": walk.failed_seq,
        "steps": [{"seq": s.seq, "at": s.at, "actor": s.actor, "type": s.type, "bpmn_id": s.bpmn_id,
                   "completed": s.completed, "active": s.active, "changed": s.changed, "removed": s.removed,
                   "data": {k: json.loads(v) for k, v in s.data.items()}, "error": s.error} for s in walk.steps],
    })


@bp.get("/cases/<int:instance_id>/diagram.json")
@auditor_required
def case_diagram(instance_id: int):
    """The diagram of a version the case ran on (?definition=<id>; default: its current one)."""
    instance = _instance_or_404(instance_id)
    definition = instance.definition
    wanted = params.int_arg("definition")
    if wanted is not None and wanted != definition.id:
        if wanted not in cached_walk(instance.id).definition_ids:
            abort(404)
        definition = db.session.get(Definition, wanted)
    process_id = (definition.meta or {}).get("process_id", instance.process_key)
    files = definition.files or {}
    xml = next((text for name, text in files.items() if name.endswith(".bpmn") and f'id="{process_id}"' in text), None)
    if xml is None:
        abort(404)
    return jsonify({"xml": xml, "key": definition.key, "version": definition.version, "content_hash": definition.content_hash})


@bp.get("/cases/<int:instance_id>/verify")
@auditor_required
def case_verify(instance_id: int):
    begin_one_snapshot(db.session)
    instance = _instance_or_404(instance_id)
    result = replay.verify(instance.id)
    db.session.rollback()
    return render_template("audit/verify.html", instance=instance, result=result, checked_at=clock.now(),
                           status_label=instance_status_label)


# ---------------------------------------------------------------- exports and the report


@bp.get("/cases/<int:instance_id>/export.json")
@auditor_required
def case_export_json(instance_id: int):
    begin_one_snapshot(db.session)  # the events and the chain head of one moment: the file verifies
    instance = _instance_or_404(instance_id)
    body = exports.case_json_bytes(instance)
    filename = f"{instance.business_key}-history.json"
    db.session.rollback()  # the read-only transaction ends here, not with the request
    return attachment(body, filename, "application/json")


@bp.get("/cases/<int:instance_id>/export.csv")
@auditor_required
def case_export_csv(instance_id: int):
    begin_one_snapshot(db.session)
    instance = _instance_or_404(instance_id)
    filename = f"{instance.business_key}-history.csv"
    body = exports.case_csv(instance)
    db.session.rollback()  # the read-only transaction ends here, not with the request
    return attachment(body, filename, "text/csv")  # werkzeug adds the charset once


@bp.get("/cases/<int:instance_id>/report")
@auditor_required
def case_report(instance_id: int):
    begin_one_snapshot(db.session)  # the whole report, its verification and export digest, of one moment
    instance = _instance_or_404(instance_id)
    result = replay.verify(instance.id)
    walk = cached_walk(instance.id)
    export = exports.case_json_bytes(instance)
    names = display_names()
    labels = event_labels()
    definition = instance.definition
    elements = (definition.meta or {}).get("elements") or {}
    props = _field_props(definition)
    tz = user_zone()
    events = db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
    ).all()
    rows = []
    by_seq = {s.seq: s for s in walk.steps}
    for event in events:
        step = by_seq.get(event.seq)
        rows.append({
            "seq": event.seq, "at": clock.from_iso(event.at), "who": actor_label(event.actor, names), "actor": event.actor,
            "what": labels.get(event.type, event.type),
            "element": name_in_language((elements.get(event.bpmn_id or "") or {}).get("name"), definition) or event.bpmn_id or "",
            "entered": entered_rows(step, definition, props, tz) if step else [], "hash": event.hash,
        })
    outcomes = deadlines.case_outcomes(walk, ended=instance.status != "running")
    signoffs = db.session.scalars(
        db.select(SystemLogEvent).where(SystemLogEvent.type == "case_signed_off", SystemLogEvent.subject == instance.business_key)
        .order_by(SystemLogEvent.seq)
    ).all()
    db.session.rollback()
    return render_template(
        "audit/report.html", instance=instance, definition=definition, result=result, rows=rows,
        outcomes=[o for o in outcomes if o.status != deadlines.NA], status_labels=STATUS_LABELS, role_name=role_name,
        export_digest=hashlib.sha256(export).hexdigest(), generated_at=clock.now(), names=names,
        status_label=instance_status_label, signoffs=[(s, json.loads(s.payload)) for s in signoffs],
        facts=data_rows(walk.steps[-1] if walk.steps else None, None, props, tz),
        files=case_attachments(instance.id),
    )


@bp.post("/cases/<int:instance_id>/sign-off")
@auditor_required
def case_sign_off(instance_id: int):
    """The auditor signs the report off: an entry in the system log with the export's digest
    and the verification result, so the paper and the file can be matched later."""
    from flask import flash, redirect

    begin_one_snapshot(db.session)  # what is verified is what the digest covers
    instance = _instance_or_404(instance_id)
    result = replay.verify(instance.id)
    digest = hashlib.sha256(exports.case_json_bytes(instance)).hexdigest()
    case_id, business_key, events, head = instance.id, instance.business_key, instance.last_seq, instance.last_hash
    db.session.rollback()  # the system log's entry is written in a transaction of its own
    comment = request.form.get("comment", "").strip()[:500]
    system_log.record("case_signed_off", actor=current_user.username, subject=business_key,
                      payload={"instance_id": case_id, "export_sha256": digest, "verified": result["verified"],
                               "events": events, "chain_head": head, "comment": comment}, commit=True)
    flash(_("The report was signed off and recorded in the system log."), "success")
    return redirect(url_for("audit.case_report", instance_id=case_id))


# ---------------------------------------------------------------- system log


def _day(text: str | None, field: str) -> datetime | None:
    """A date the person typed (their time zone) as the UTC moment its day starts; a value
    that is not a day in range is a 400 naming the field."""
    day = params.parse_day(text, field)
    return datetime.combine(day, time(0), tzinfo=user_zone()) if day else None


def _day_range() -> tuple[datetime | None, datetime | None]:
    start, end = _day(request.args.get("from"), "from"), _day(request.args.get("to"), "to")
    if start and end and end < start:
        raise params.BadParameter("to", "is before from")
    return start, end


def _log_query():
    kind = request.args.get("type", "")
    actor = request.args.get("actor", "").strip()
    start, end = _day_range()
    query = db.select(SystemLogEvent)
    if kind:
        query = query.where(SystemLogEvent.type == kind)
    if actor:
        query = query.where(db.or_(SystemLogEvent.actor == actor, SystemLogEvent.subject == actor))
    if start:
        query = query.where(SystemLogEvent.at >= clock.to_iso(start))
    if end:
        query = query.where(SystemLogEvent.at < clock.to_iso(end + timedelta(days=1)))
    return query, kind, actor


def log_detail(entry: SystemLogEvent, names: dict[str, str]) -> str:
    payload = json.loads(entry.payload)
    if entry.type == "login_failed":
        return str(FAILED_LOGIN_REASONS.get(payload.get("reason"), payload.get("reason", "")))
    if entry.type == "roles_changed":
        added = "、".join(role_name(r) for r in payload.get("added", []))
        removed = "、".join(role_name(r) for r in payload.get("removed", []))
        return " ".join(part for part in (f"+ {added}" if added else "", f"− {removed}" if removed else "") if part)
    if entry.type == "account_created":
        return "、".join(role_name(r) for r in payload.get("roles", []))
    if entry.type == "definition_deployed":
        return payload.get("content_hash", "")[:12]
    if entry.type in ("incident_retried", "incident_skipped"):
        return f"#{payload.get('instance_id')} {payload.get('bpmn_id', '')}"
    if entry.type == "instance_migrated":
        return f"v{(payload.get('from') or {}).get('version', '?')} → v{(payload.get('to') or {}).get('version', '?')}"
    if entry.type == "case_signed_off":
        return payload.get("export_sha256", "")[:12]
    return ""


@bp.get("/system-log")
@auditor_required
def system_log_page():
    query, kind, actor = _log_query()
    shown = paginate(query.order_by(SystemLogEvent.seq.desc()), PAGE_SIZE)
    names = display_names()
    head = system_log.head()
    return render_template(
        "audit/system_log.html", entries=shown.items, total=shown.total, page=shown.page, pages=max(shown.pages, 1),
        kind=kind, actor=actor, date_from=request.args.get("from", ""), date_to=request.args.get("to", ""),
        labels=LOG_LABELS, names=names, detail=lambda e: log_detail(e, names), head=head,
    )


@bp.get("/system-log/verify")
@auditor_required
def system_log_verify():
    result = system_log.verify()
    db.session.rollback()
    return render_template("audit/system_log_verify.html", result=result, checked_at=clock.now())


@bp.get("/system-log/export.json")
@auditor_required
def system_log_export_json():
    return attachment(exports.system_log_json_bytes(), "system-log.json", "application/json")


@bp.get("/system-log/export.csv")
@auditor_required
def system_log_export_csv():
    query, _kind, _actor = _log_query()
    return attachment(exports.system_log_csv(query), "system-log.csv", "text/csv")  # werkzeug adds the charset once


# ---------------------------------------------------------------- deadline audit


def _period() -> tuple[str, str, datetime, datetime]:
    today = clock.now().astimezone(user_zone()).date()
    default_from = (today - timedelta(days=30)).isoformat()
    text_from = request.args.get("from") or default_from
    text_to = request.args.get("to") or today.isoformat()
    start, end = _day(text_from, "from"), _day(text_to, "to")
    if end < start:
        raise params.BadParameter("to", "is before from")
    return text_from, text_to, start, end + timedelta(days=1)


def deadline_rows(start: datetime, end: datetime, process: str = "") -> tuple[list[dict], bool]:
    """Every case started in [start, end) with each deadline of its procedure."""
    query = db.select(Instance).where(Instance.started_at >= start, Instance.started_at < end)
    if process:
        query = query.where(Instance.process_key == process)
    instances = db.session.scalars(query.order_by(Instance.started_at, Instance.id).limit(DEADLINE_CASES_LIMIT + 1)).all()
    truncated = len(instances) > DEADLINE_CASES_LIMIT
    rows = []
    now = clock.now()
    for instance in instances[:DEADLINE_CASES_LIMIT]:
        walk = deadlines.facts(instance)
        for outcome in deadlines.case_outcomes(walk, moment=now, ended=instance.status != "running"):
            if outcome.status == deadlines.NA:
                continue
            rows.append({"instance": instance, "outcome": outcome})
    db.session.rollback()
    return rows, truncated


def deadline_summary(rows: list[dict]) -> list[dict]:
    summary: dict[tuple[str, str], dict] = {}
    for row in rows:
        outcome = row["outcome"]
        key = (row["instance"].process_key, outcome.code)
        entry = summary.setdefault(key, {"process": key[0], "label": outcome.label, "role": outcome.role,
                                         "counts": {s: 0 for s in STATUS_LABELS}, "total": 0})
        entry["counts"][outcome.status] += 1
        entry["total"] += 1
    for entry in summary.values():
        decided = entry["counts"][deadlines.MET] + entry["counts"][deadlines.MISSED] + entry["counts"][deadlines.OVERDUE]
        entry["share"] = (entry["counts"][deadlines.MET] / decided) if decided else None
    return list(summary.values())


@bp.get("/deadlines")
@auditor_required
def deadlines_page():
    text_from, text_to, start, end = _period()
    process = request.args.get("process", "")
    only = request.args.get("status", "")
    rows, truncated = deadline_rows(start, end, process)
    summary = deadline_summary(rows)
    if only:
        rows = [r for r in rows if r["outcome"].status == only or (only == "missed" and r["outcome"].status == "overdue")]
    processes = dict(db.session.execute(db.select(Definition.key, Definition.name).distinct().order_by(Definition.key)).all())
    return render_template(
        "audit/deadlines.html", rows=rows, summary=summary, date_from=text_from, date_to=text_to, process=process,
        only=only, processes=processes, status_labels=STATUS_LABELS, role_name=role_name, truncated=truncated,
        limit=DEADLINE_CASES_LIMIT, status_label=instance_status_label,
    )


@bp.get("/deadlines.csv")
@auditor_required
def deadlines_csv():
    _from, _to, start, end = _period()
    rows, _truncated = deadline_rows(start, end, request.args.get("process", ""))
    table = [["case", "process", "version", "deadline", "responsible_role", "due_at", "done_at", "status", "runs", "missed_runs"]]
    for row in rows:
        instance, o = row["instance"], row["outcome"]
        table.append([instance.business_key, instance.process_key, instance.definition.version, o.code, o.role or "",
                      clock.to_iso(o.due) if o.due else "", clock.to_iso(o.done_at) if o.done_at else "",
                      o.status, o.runs, o.missed_runs])
    return attachment(exports.to_csv(table), "deadlines.csv", "text/csv")  # werkzeug adds the charset once


# ---------------------------------------------------------------- signed checkpoints


def _checkpoints_page(result: dict | None = None, refused: str | None = None, status: int = 200):
    from . import checkpoints, signing

    rows = db.session.scalars(db.select(Checkpoint).order_by(Checkpoint.id.desc()).limit(PAGE_SIZE)).all()
    problems = [checkpoints.describe(p) for p in result["problems"]] if result else []
    page = render_template("audit/checkpoints.html", rows=rows, result=result, problems=problems, refused=refused,
                           key_id=signing.key_id(), checked_at=clock.now())
    return page, status


@bp.get("/checkpoints")
@auditor_required
def checkpoints_page():
    return _checkpoints_page()


@bp.post("/checkpoints")
@auditor_required
def checkpoint_create():
    """Sign a checkpoint now (the worker also signs one every CHECKPOINT_INTERVAL_MINUTES)."""
    from flask import flash, redirect

    from . import checkpoints

    row = checkpoints.create(current_user.username)
    db.session.commit()
    flash(_("Checkpoint %(id)d signed. Download its digest and keep it outside this system.", id=row.id), "success")
    return redirect(url_for("audit.checkpoints_page"))


@bp.get("/checkpoints/<int:checkpoint_id>/digest.json")
@auditor_required
def checkpoint_digest(checkpoint_id: int):
    from . import checkpoints

    row = db.session.get(Checkpoint, checkpoint_id)
    if row is None:
        abort(404)
    return attachment(checkpoints.document_bytes(row), f"digest-{row.id}.json", "application/json")


@bp.get("/checkpoints/public-key.pem")
@auditor_required
def checkpoint_public_key():
    from . import signing

    return attachment(signing.public_pem(), "checkpoint-public-key.pem", "application/x-pem-file")


@bp.post("/checkpoints/verify")
@auditor_required
def checkpoint_verify():
    """Upload a digest.json kept from earlier: is the record still what was signed?"""
    from . import checkpoints

    upload = request.files.get("digest")
    if upload is None or not upload.filename:
        return _checkpoints_page(refused=_("Choose a digest.json file."), status=400)
    try:
        result = checkpoints.verify_against(checkpoints.load_document(upload.read()))
    except checkpoints.DigestRefused as err:
        db.session.rollback()
        return _checkpoints_page(refused=str(err), status=400)
    db.session.rollback()
    return _checkpoints_page(result=result)
