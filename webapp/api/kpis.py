"""GET /api/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD[&team=...]: the service targets for a period.

Each figure (docs/kpis.md) with value, numerator, denominator, pending and target. The
period is whole days in China time, both ends inclusive; a missing end defaults to the
current month's. Managers, the general manager and auditors may read it.
"""

from __future__ import annotations

from flask import jsonify, request

from ..engine import clock
from ..kpi import CODES, PeriodError, compute_all, parse_period
from ..kpi.period import REPORT_ZONE
from . import bp
from .auth import require_role, token_required
from .errors import error_response


@bp.get("/kpis")
@token_required
@require_role("after_sales_manager", "general_manager", "auditor")
def kpis():
    now = clock.now()
    try:
        period = parse_period(request.args.get("from"), request.args.get("to"), now=now)
    except PeriodError as err:
        return error_response(400, "invalid period", err.errors)
    team = (request.args.get("team") or "").strip() or None
    figures = compute_all(period, team=team, now=now)
    body: dict = {
        "period": {**period.params(), "team": team, "time_zone": str(REPORT_ZONE), "as_of": clock.to_iso(now)},
    }
    for code in CODES:
        body[code] = figures[code]
    return jsonify(body)
