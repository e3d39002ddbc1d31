"""The form builder's JSON endpoints (/processes/api/form-builder/...).

The builder's page script only edits a list of fields; reading them from a form, writing them
back into its JSON Schema and UI schema, checking, and the preview are done here, by the same
renderer and templates as the staff's task pages.
"""

from __future__ import annotations

from flask import jsonify, render_template
from flask_babel import gettext as _

from ..engine.forms import schema_problem
from ..forms_render import build_fields
from ..ui.i18n import user_zone
from . import bp, formbuilder
from .views import _body, _json_error, api


def _form_of(body: dict) -> tuple[dict, dict] | tuple[None, tuple]:
    schema, ui = body.get("schema"), body.get("ui_schema")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    if not isinstance(schema, dict):
        return None, _json_error(422, "the form schema must be a JSON object", {"schema": "a JSON object / 须为 JSON 对象"})
    if ui is None:
        ui = {}
    if not isinstance(ui, dict):
        return None, _json_error(422, "the UI schema must be a JSON object", {"ui_schema": "a JSON object / 须为 JSON 对象"})
    return schema, ui


def _written(body: dict):
    """(schema, ui) with the body's fields written in, or an error answer."""
    schema, ui = _form_of(body)
    if schema is None:
        return None, ui
    try:
        fields = formbuilder.check(body.get("fields"))
    except formbuilder.BuilderInvalid as err:
        return None, _json_error(422, _("The form has problems: see the marked fields."), err.errors)
    schema, ui = formbuilder.write(fields, schema, ui)
    # The written file is checked as the deploy checks it: nothing is taken that deploy refuses.
    if problem := schema_problem(schema):
        return None, _json_error(422, problem, {"schema": problem})
    return (schema, ui), None


@bp.post("/api/form-builder/fields")
@api(change=True)
def api_builder_fields():
    """The builder's fields of a form (its schema and UI schema)."""
    schema, ui = _form_of(_body())
    if schema is None:
        return ui
    if problem := schema_problem(schema):
        return _json_error(422, problem, {"schema": problem})
    return jsonify({"fields": formbuilder.fields_of(schema, ui)})


@bp.post("/api/form-builder/preview")
@api(change=True)
def api_builder_preview():
    """The form the fields make, rendered as staff will see it, with the files it would write."""
    written, error = _written(_body())
    if error:
        return error
    schema, ui = written
    fields = build_fields(schema, ui, None, {}, tz=user_zone(), yes=_("Yes"), no=_("No"))
    html = render_template("modeler/_form_preview.html", schema=schema, fields=fields)
    return jsonify({"schema": schema, "ui_schema": ui, "html": html})


@bp.post("/api/form-builder/save")
@api(change=True)
def api_builder_save():
    """The files to keep in the draft: checked like a deploy; 422 naming the field otherwise."""
    written, error = _written(_body())
    if error:
        return error
    schema, ui = written
    return jsonify({"schema": schema, "ui_schema": ui, "fields": formbuilder.fields_of(schema, ui)})
