"""The modeler's "试运行 / What if" button: the open draft tried on the running version's
recent cases (engine/whatif.py), for the session the modeler page runs in. The bearer-token
twin is POST /api/process-definitions/<key>/what-if."""

from __future__ import annotations

from flask import jsonify

from ..api.whatif import selection
from ..engine import lanes, whatif
from . import bp, checks
from .views import _body, _operators, _working_set, api


@bp.post("/api/<key>/what-if")
@api(change=True)
def api_what_if(key: str):
    body = _body()
    files, forms = _working_set(body)
    fields = {name: str(body[name]) for name in ("limit", "from", "to") if body.get(name) not in (None, "")}
    main_process = body.get("main_process") if isinstance(body.get("main_process"), str) else None
    report = whatif.try_draft(
        key, checks.uploads_of(files, forms), main_process=main_process or None, known_operators=set(_operators()),
        lane_roles=lanes.parse_lane_roles(body.get("lane_roles")), **selection(fields),
    )
    return jsonify(report)
