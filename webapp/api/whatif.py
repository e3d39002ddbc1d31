"""POST /api/process-definitions/<key>/what-if: a draft tried on the running version's
recent cases (webapp/engine/whatif.py). Nothing is stored."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import jsonify, request

from workers import registry

from .. import params
from ..engine import lanes, whatif
from . import bp
from .auth import require_role, token_required
from .errors import error_response

CHINA = timezone(timedelta(hours=8))  # days are read as staff read them (as the KPIs do)


def selection(values) -> dict:
    """`limit` (1..1000, default 50) or a period `from`/`to` (YYYY-MM-DD, China time, both
    days included), from query or form fields. Raises params.BadParameter naming the field."""
    limit_text = (values.get("limit") or "").strip()
    limit = None
    if limit_text:
        try:
            limit = int(limit_text)
        except ValueError:
            raise params.BadParameter("limit", "not a whole number") from None
        if limit < 1:
            raise params.BadParameter("limit", "must be at least 1")
        limit = min(limit, whatif.MAX_LIMIT)
    first, last = params.parse_day(values.get("from"), "from"), params.parse_day(values.get("to"), "to")
    if first and last and last < first:
        raise params.BadParameter("to", "is before from")
    start = datetime.combine(first, time(), CHINA) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), CHINA) if last else None
    return {"limit": limit, "start": start, "end": end}


@bp.post("/process-definitions/<key>/what-if")
@token_required
@require_role("process_owner", "admin")
def what_if(key: str):
    uploads = {f.filename: f.read() for name in request.files for f in request.files.getlist(name) if f.filename}
    if not uploads:
        return error_response(400, "no draft files uploaded", {"files": "upload the draft's .bpmn/.dmn files and forms"})
    chosen = selection(request.values)
    main_process = (request.values.get("main_process") or "").strip() or None
    report = whatif.try_draft(
        key, uploads, main_process=main_process, known_operators=registry.names(),
        lane_roles=lanes.parse_lane_roles(request.values.get("lane_roles")), **chosen,
    )
    return jsonify(report)
