"""Pages and JSON endpoints of the process owners' side (prefix /processes).

Pages: the process list, the modeler, the diff between two versions, the migration of running
cases. JSON (/processes/api/...): what the modeler's scripts call; a signed-in session (with
the page's CSRF token in X-CSRFToken) or an API bearer token.
"""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import params
from ..accounts import user_for_token
from ..audit import system_log
from ..engine import clock, definitions, lanes, migration
from ..engine.errors import Conflict, DefinitionInvalid, EngineError, LanesUnmapped
from ..engine.forms import schema_problem
from ..engine.parser import is_bpmn_file
from ..extensions import db
from ..forms_render import build_fields
from ..models import Definition, Instance
from ..ui import csrf
from ..ui.common import all_roles, display_names, role_name
from ..ui.i18n import user_zone
from . import bp, checks, problem_text

OWNER_ROLES = ("process_owner", "admin")


def _logged(actor: str):
    """Each migration goes to the system log in its own transaction."""
    return lambda instance, versions: system_log.instance_migrated(instance, versions, actor=actor)


def may_change(user) -> bool:
    """Deploy and migrate: process owners and administrators."""
    return user is not None and user.is_authenticated and any(user.has_role(code) for code in OWNER_ROLES)


def _operators() -> list[str]:
    from workers import registry

    return sorted(registry.names())


# ---------------------------------------------------------------- JSON access


def _json_error(status: int, message: str, errors: dict | None = None):
    return jsonify({"error": message, "errors": errors or {}}), status


def api(*, change: bool = False):
    """A JSON endpoint for a signed-in session (CSRF checked on POST) or a bearer token;
    `change` endpoints need a process owner or an administrator."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token:
                user = user_for_token(token.strip())
                if user is None:
                    return _json_error(401, "invalid or revoked token", {"Authorization": "invalid token"})
            elif current_user.is_authenticated:
                user = current_user
                if request.method == "POST":
                    csrf.protect()
            else:
                return _json_error(401, "sign in or send a bearer token")
            if change and not may_change(user):
                return _json_error(403, "requires role process_owner or admin", {"role": "forbidden"})
            g.modeler_user = user
            try:
                return view(*args, **kwargs)
            except EngineError as err:
                db.session.rollback()
                return _json_error(err.status, err.message, err.errors)

        return csrf.exempt(wrapper)

    return decorator


def _body() -> dict:
    body = params.json_body()
    if not isinstance(body, dict):
        raise DefinitionInvalid("a JSON object is required", {"body": "a JSON object"})
    return body


def _working_set(body: dict) -> tuple[dict[str, str], dict[str, object]]:
    files, forms = body.get("files") or {}, body.get("forms") or {}
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise DefinitionInvalid("files must map file names to XML text", {"files": "file name -> XML text"})
    if not isinstance(forms, dict):
        raise DefinitionInvalid("forms must map file names to JSON", {"forms": "file name -> JSON"})
    names = [Path(name).name for name in files]
    if names != list(files) or any(not (is_bpmn_file(name) or name.endswith(".dmn")) for name in names):
        raise DefinitionInvalid(
            "only .bpmn (.bpmn20.xml) and .dmn files", {"files": "only .bpmn, .bpmn20.xml and .dmn file names"}
        )
    main = body.get("main")
    if main is not None:
        if not isinstance(main, str) or main not in files or not is_bpmn_file(main):
            raise DefinitionInvalid("main must name one of the .bpmn files", {"main": "one of the .bpmn files sent"})
        # deploy takes the first file's process as the key's: the main file goes first
        files = {main: files[main], **{n: t for n, t in files.items() if n != main}}
    return files, forms


# ---------------------------------------------------------------- what versions there are


def _version(key: str, version: int) -> Definition:
    if not 0 < version <= params.MAX_ID:
        abort(404)
    row = db.session.scalar(db.select(Definition).where(Definition.key == key, Definition.version == version))
    if row is None:
        abort(404)
    return row


def _latest(key: str) -> Definition:
    row = db.session.scalar(db.select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1))
    if row is None:
        abort(404)
    return row


def _counts() -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        db.select(Instance.definition_id, Instance.status, db.func.count()).group_by(Instance.definition_id, Instance.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, count in rows:
        counts.setdefault(definition_id, {})[status] = count
    return counts


def _processes() -> list[dict]:
    rows = db.session.scalars(db.select(Definition).order_by(Definition.key, Definition.version.desc())).all()
    counts = _counts()
    grouped: dict[str, dict] = {}
    for row in rows:
        entry = grouped.setdefault(row.key, {"key": row.key, "name": row.name, "latest": row.version, "versions": []})
        entry["versions"].append({"row": row, "counts": counts.get(row.id, {})})
    return sorted(grouped.values(), key=lambda e: e["key"])


@bp.get("/")
@login_required
def index():
    return render_template(
        "modeler/index.html", processes=_processes(), names=display_names(), may_change=may_change(current_user)
    )


# ---------------------------------------------------------------- the modeler


def _catalog() -> dict:
    """Roles, operators, form files, decisions and processes the panel offers."""
    forms: set[str] = set()
    decisions: dict[str, dict] = {}
    for row in db.session.scalars(db.select(Definition).order_by(Definition.version)):
        forms.update(row.forms or {})
        for name, text in (row.files or {}).items():
            if name.endswith(".dmn"):
                for decision in checks.decision_ids(text):
                    decisions[decision] = {"id": decision, "file": name}
    folder = Path(current_app.config["PROCESSES_DIR"])
    forms.update(p.name for p in (folder / "forms").glob("*.json"))
    for path in sorted(folder.glob("*.dmn")):
        for decision in checks.decision_ids(path.read_text(encoding="utf-8")):
            decisions.setdefault(decision, {"id": decision, "file": path.name})
    keys = sorted(db.session.scalars(db.select(Definition.key).distinct()))
    return {
        "roles": [{"code": r.code, "name": role_name(r.code)} for r in all_roles()],
        "operators": _operators(),
        "forms": sorted(forms),
        "decisions": sorted(decisions.values(), key=lambda d: d["id"]),
        "processes": keys,
    }


def _version_json(row: Definition) -> dict:
    return {
        "key": row.key,
        "version": row.version,
        "name": row.name,
        "files": row.files,
        "main_file": definitions.main_file(row),
        "lane_roles": (row.meta or {}).get("lane_mapping") or {},
        "forms": row.forms,
        "content_hash": row.content_hash,
        "deployed_by": row.deployed_by,
        "deployed_at": clock.to_iso(row.deployed_at),
    }


def _render_modeler(row: Definition | None):
    config = {
        "key": row.key if row else None,
        "version": row.version if row else None,
        "may_change": may_change(current_user),
        "urls": {
            "version": url_for("modeler.api_version", key=row.key, version=row.version) if row else None,
            "blank": url_for("static", filename="modeler/blank.bpmn"),
            "form": url_for("modeler.api_form", name="__NAME__"),
            "decision": url_for("modeler.api_decision", name="__NAME__"),
            "validate": url_for("modeler.api_validate"),
            "deploy": url_for("modeler.api_deploy"),
            "preview": url_for("modeler.api_form_preview"),
            "process": url_for("modeler.index"),
            "modeler": url_for("modeler.edit", key="__KEY__"),
        },
        "catalog": _catalog(),
    }
    return render_template("modeler/modeler.html", row=row, config=config)


@bp.get("/<key>/modeler")
@login_required
def edit(key: str):
    version = params.int_arg("version", minimum=1)
    return _render_modeler(_version(key, version) if version else _latest(key))


@bp.get("/new")
@login_required
def new():
    return _render_modeler(None)


@bp.get("/api/<key>/versions/<int:version>")
@api()
def api_version(key: str, version: int):
    return jsonify(_version_json(_version(key, version)))


@bp.get("/api/forms/<name>")
@api()
def api_form(name: str):
    """The newest content of a form file: from the latest version that has it, else processes/forms."""
    for row in db.session.scalars(db.select(Definition).order_by(Definition.id.desc())):
        if name in (row.forms or {}):
            return jsonify({"name": name, "form": row.forms[name]})
    path = Path(current_app.config["PROCESSES_DIR"]) / "forms" / Path(name).name
    if name.endswith(".json") and path.is_file():
        return jsonify({"name": name, "form": json.loads(path.read_text(encoding="utf-8"))})
    return _json_error(404, f"no form {name}")


@bp.get("/api/decisions/<name>")
@api()
def api_decision(name: str):
    """A decision table file (.dmn) by name: deployed, else from processes/."""
    for row in db.session.scalars(db.select(Definition).order_by(Definition.id.desc())):
        if name in (row.files or {}):
            return jsonify({"name": name, "xml": row.files[name]})
    path = Path(current_app.config["PROCESSES_DIR"]) / Path(name).name
    if name.endswith(".dmn") and path.is_file():
        return jsonify({"name": name, "xml": path.read_text(encoding="utf-8")})
    return _json_error(404, f"no decision table {name}")


@bp.post("/api/validate")
@api()
def api_validate():
    body = _body()
    files, forms = _working_set(body)
    result = checks.check(files, forms, set(_operators()), lanes.parse_lane_roles(body.get("lane_roles")))
    answer = {"ok": result.ok, "key": result.key, "problems": result.problems}
    if result.problems:  # the same problems in the person's language, for the modeler's list
        answer["problems_text"] = problem_text.localized(result.problems)
    if result.unmapped_lanes:
        answer["unmapped_lanes"] = result.unmapped_lanes
    return jsonify(answer)


@bp.post("/api/deploy")
@api(change=True)
def api_deploy():
    """Deploy the working set. A process id that belongs to another file answers 409 until
    the person confirms (`replace`); lanes that match no role answer 400 with the lanes and
    the roles, and the modeler asks for `lane_roles`."""
    body = _body()
    files, forms = _working_set(body)
    lane_roles = lanes.parse_lane_roles(body.get("lane_roles"))
    result = checks.check(files, forms, set(_operators()), lane_roles)
    if not result.ok:
        answer = {"error": "the diagram has problems", "errors": result.problems, "problems": result.problems,
                  "problems_text": problem_text.localized(result.problems)}
        if result.unmapped_lanes:
            refused = LanesUnmapped("the diagram has problems", lanes=result.unmapped_lanes)
            answer.update(lanes.unmapped_answer(refused, result.problems))
        return jsonify(answer), 400
    try:
        report = definitions.deploy_report(
            checks.uploads_of(files, forms),
            actor=g.modeler_user.username,
            now=clock.now(),
            known_operators=set(_operators()),
            replace=body.get("replace") is True,
            lane_roles=lane_roles,
        )
    except Conflict as err:
        db.session.rollback()
        return jsonify({"error": err.message, "errors": err.errors, "needs_replace": True}), 409
    system_log.deployed(report.definition, report.created, actor=g.modeler_user.username)  # in the deploy's transaction
    db.session.commit()
    return jsonify(report.as_json()), 201 if report.created else 200


@bp.post("/api/form-preview")
@api()
def api_form_preview():
    body = _body()
    schema, ui = body.get("schema"), body.get("ui_schema") or {}
    if problem := schema_problem(schema):
        return jsonify({"ok": False, "error": problem}), 200
    if not isinstance(ui, dict):
        return jsonify({"ok": False, "error": "the UI schema must be a JSON object"}), 200
    fields = build_fields(schema, ui, None, {}, tz=user_zone(), yes=_("Yes"), no=_("No"))
    return jsonify({"ok": True, "html": render_template("modeler/_form_preview.html", schema=schema, fields=fields)})


# ---------------------------------------------------------------- diff


def _diff_of(key: str, a: int, b: int) -> tuple[Definition, Definition, dict]:
    row_a, row_b = _version(key, a), _version(key, b)
    return row_a, row_b, checks.diff_files(row_a.files, row_b.files, row_a.forms, row_b.forms)


def _diff_versions(key: str) -> tuple[int, int]:
    latest = _latest(key).version
    b = params.int_arg("b", latest, minimum=1)
    a = params.int_arg("a", max(b - 1, 1), minimum=1)
    return a, b


@bp.get("/<key>/diff")
@login_required
def diff(key: str):
    a, b = _diff_versions(key)
    row_a, row_b, changes = _diff_of(key, a, b)
    versions = list(db.session.scalars(db.select(Definition.version).where(Definition.key == key).order_by(Definition.version)))
    return render_template(
        "modeler/diff.html", key=key, row_a=row_a, row_b=row_b, changes=changes, versions=versions,
        data_url=url_for("modeler.api_diff", key=key, a=a, b=b),
    )


@bp.get("/api/<key>/diff")
@api()
def api_diff(key: str):
    a, b = _diff_versions(key)
    row_a, row_b, changes = _diff_of(key, a, b)
    main = row_a.meta.get("process_id", key)

    def xml(row):
        return next((t for n, t in row.files.items() if is_bpmn_file(n) and f'id="{main}"' in t), "")

    return jsonify({**changes, "a": {"version": a, "xml": xml(row_a)}, "b": {"version": b, "xml": xml(row_b)}})


# ---------------------------------------------------------------- migration


def _running_elsewhere(key: str, target: Definition) -> list[Instance]:
    return list(
        db.session.scalars(
            db.select(Instance)
            .join(Definition, Instance.definition_id == Definition.id)
            .where(Instance.process_key == key, Instance.status == "running", Definition.version < target.version)
            .order_by(Instance.id)
        )
    )


@bp.get("/<key>/migrate")
@login_required
def migrate(key: str):
    target = _version(key, params.int_arg("to", minimum=1)) if request.args.get("to") else _latest(key)
    plans = []
    for instance in _running_elsewhere(key, target):
        plans.append(migration.plan(instance, target.id))
        db.session.rollback()
    return render_template("modeler/migrate.html", key=key, target=target, plans=plans, may_change=may_change(current_user))


@bp.post("/<key>/migrate")
@login_required
def migrate_selected(key: str):
    if not may_change(current_user):
        abort(403)
    target = _version(key, request.form.get("to", type=int) or 0)
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit() and int(i) <= params.MAX_ID]
    results = migration.migrate_many(ids, target.id, actor=current_user.username, on_migrated=_logged(current_user.username))
    moved = [i for i, r in results.items() if r["migrated"]]
    refused = [i for i, r in results.items() if not r["migrated"]]
    if moved:
        flash(_("%(count)d case(s) now run on version %(version)d.", count=len(moved), version=target.version), "success")
    if refused:
        flash(_("%(count)d case(s) could not be moved; the reasons are listed.", count=len(refused)), "error")
    if not ids:
        flash(_("Choose the cases to move."), "info")
    return redirect(url_for("modeler.migrate", key=key, to=target.version))


@bp.post("/api/instances/<int:instance_id>/migrate")
@api(change=True)
def api_migrate_instance(instance_id: int):
    target = params.int_value(_body().get("target") or 0, "target")
    actor = g.modeler_user.username
    instance = migration.migrate_instance(instance_id, target, actor=actor, on_migrated=_logged(actor))
    return jsonify({"migrated": True, "id": instance.id, "definition_id": instance.definition_id})


@bp.post("/api/<key>/migrate")
@api(change=True)
def api_migrate_all(key: str):
    body = _body()
    target_id = params.int_value(body.get("target") or 0, "target")
    target = db.session.get(Definition, target_id)
    if target is None or target.key != key:
        return _json_error(404, f"no version {target_id} of {key}")
    from_version = body.get("from_version")
    instances = _running_elsewhere(key, target)
    if from_version is not None:
        from_version = params.int_value(from_version, "from_version")
    ids = [i.id for i in instances if from_version is None or i.definition.version == from_version]
    results = migration.migrate_many(ids, target.id, actor=g.modeler_user.username, on_migrated=_logged(g.modeler_user.username))
    return jsonify({"target": {"id": target.id, "version": target.version}, "results": {str(k): v for k, v in results.items()}})
