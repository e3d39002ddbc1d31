"""Attached files in the pages: the form's upload (JSON for its script), downloads, thumbnails.

Whoever may open the case may open its files; a file that no case references yet only its
uploader. Downloads go through send_file with the name it was uploaded under.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..engine import attachments
from ..engine.errors import FormInvalid
from ..extensions import db
from ..forms_render import attachment_fields
from ..models import Attachment
from . import bp
from .common import is_admin, roles


def describe(row: Attachment) -> dict:
    """What the page needs to show one attached file."""
    return {
        **attachments.reference_of(row),
        "url": url_for("ui.attachment", attachment_id=row.id),
        "thumb_url": url_for("ui.attachment_thumbnail", attachment_id=row.id) if row.has_thumbnail else "",
    }


@bp.post("/attachments")
@login_required
def upload() -> ResponseReturnValue:
    if not attachments.may_attach(roles()):
        abort(403)
    request.max_content_length = attachments.max_bytes() + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return jsonify({"error": "no file", "errors": {"file": "no file"}}), 422
    try:
        stored = attachments.store(upload.read(attachments.max_bytes() + 1), upload.filename,
                                   actor=current_user.username)
    except FormInvalid as err:
        db.session.rollback()
        return jsonify({"error": err.message, "errors": err.errors}), 422
    db.session.commit()
    return jsonify(describe(stored.attachment)), 201


def _visible(attachment_id: str) -> Attachment:
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        abort(404)
    if row.instance_id is None and row.uploaded_by != current_user.username and not is_admin():
        abort(404)
    return row


@bp.get("/attachments/<attachment_id>")
@login_required
def attachment(attachment_id: str) -> ResponseReturnValue:
    row = _visible(attachment_id)
    path = attachments.file_path(row)
    if not path.exists():
        abort(404)
    inline = row.content_type.startswith("image/") or row.content_type == "application/pdf"
    return send_file(path, mimetype=row.content_type, as_attachment=not inline, download_name=row.filename)


@bp.get("/attachments/<attachment_id>/thumbnail")
@login_required
def attachment_thumbnail(attachment_id: str) -> ResponseReturnValue:
    row = _visible(attachment_id)
    path = attachments.file_path(row, thumbnail=True)
    if not row.has_thumbnail or not path.exists():
        abort(404)
    return send_file(path, mimetype="image/jpeg", download_name=f"{row.id}-thumbnail.jpg")


def with_uploads(form, schema: dict | None, ui: dict | None) -> tuple[object, dict[str, str]]:
    """The posted form with files sent the plain way (no script) stored and referenced like
    the ones the page's script uploaded; (form, errors per field)."""
    from werkzeug.datastructures import MultiDict

    names = attachment_fields(schema, ui)
    if not names or not request.files:
        return form, {}
    merged = MultiDict(form)
    errors: dict[str, str] = {}
    for name in names:
        for upload in request.files.getlist(f"{name}.__upload"):
            if not upload or not upload.filename:
                continue
            try:
                stored = attachments.store(upload.read(attachments.max_bytes() + 1), upload.filename,
                                           actor=current_user.username)
            except FormInvalid as err:
                errors[name] = next(iter(err.errors.values()), err.message)
                continue
            merged.add(name, json.dumps(stored.reference(), ensure_ascii=False))
    # The upload is its own step, as from the page's script: kept even if the form is refused.
    db.session.commit()
    return merged, errors


def case_attachments(instance_id: int) -> list[dict]:
    """Every file the case's history attached, in order: the event, who, the file and its hash."""
    from ..models import HistoryEvent

    events = db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.payload.contains('"attachment"'))
        .order_by(HistoryEvent.seq)
    ).all()
    listed, seen = [], set()
    for event in events:
        for field, ref in attachments.references(json.loads(event.payload)):
            if ref["attachment"] in seen:
                continue
            seen.add(ref["attachment"])
            row = db.session.get(Attachment, ref["attachment"])
            entry = {**ref, "seq": event.seq, "field": field.split(".")[-2] if field.count(".") > 1 else field,
                     "actor": event.actor, "url": "", "thumb_url": ""}
            if row is not None:
                entry |= {k: v for k, v in describe(row).items() if k in ("url", "thumb_url")}
            listed.append(entry)
    return listed
