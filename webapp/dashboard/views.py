"""The dashboard's pages. Thin: webapp.kpi computes, these pages show."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..downloads import attachment
from ..engine import clock
from ..extensions import db
from ..kpi import (
    CODES,
    FIGURES,
    PeriodError,
    cases,
    compute,
    compute_all,
    monitoring,
    parse_month,
    parse_period,
    report,
    teams,
    trend,
)
from ..kpi.figures import OUTCOMES
from ..kpi.period import Period, month_period, previous_month, this_month
from ..models import Definition, RepairQualityReport
from ..ui.common import role_name
from . import bp, exports
from .labels import CAPA_STATUS, FAULTS, GRAINS, REASONS, label
from .labels import OUTCOMES as OUTCOME_LABELS

VIEWER_ROLES = ("after_sales_manager", "general_manager", "auditor")  # admin holds every role
TREND_POINTS = {"week": 12, "month": 12}


def viewer_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not any(current_user.has_role(code) for code in VIEWER_ROLES):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def may_view() -> bool:
    return current_user.is_authenticated and any(current_user.has_role(code) for code in VIEWER_ROLES)


@bp.app_context_processor
def _nav():
    return {"may_view_dashboard": may_view}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _period_from_request() -> tuple[Period, dict[str, str]]:
    """The period of the query string; on bad dates the current month, with the reasons."""
    now = clock.now()
    try:
        return parse_period(request.args.get("from"), request.args.get("to"), now=now), {}
    except PeriodError as err:
        return this_month(now), err.errors


def _team() -> str | None:
    return (request.args.get("team") or "").strip() or None


def _grain() -> str:
    grain = request.args.get("grain", "month")
    return grain if grain in GRAINS else "month"


def _query(period: Period, **extra) -> str:
    params = {**period.params(), **{k: v for k, v in extra.items() if v}}
    return urlencode(params)


def _presets(now) -> list[tuple[str, Period]]:
    current = this_month(now)
    last = previous_month(now)
    quarter_first = current.first.replace(month=(current.first.month - 1) // 3 * 3 + 1)
    year_first = current.first.replace(month=1)
    return [
        (_("This month"), current),
        (_("Last month"), last),
        (_("This quarter"), Period(quarter_first, current.last)),
        (_("This year"), Period(year_first, current.last)),
    ]


def _error_text(errors: dict[str, str]) -> list[str]:
    names = {"from": _("From"), "to": _("To"), "month": _("Month")}
    out = []
    for field, reason in errors.items():
        if "before" in reason:
            out.append(_("%(field)s is before the start of the period.", field=names.get(field, field)))
        elif "longer" in reason:
            out.append(_("The period is too long."))
        else:
            out.append(_("%(field)s is not a date (YYYY-MM-DD).", field=names.get(field, field)))
    return out


# ---------------------------------------------------------------- the dashboard


@bp.get("/")
@viewer_required
def index():
    now = clock.now()
    period, errors = _period_from_request()
    team, grain = _team(), _grain()
    figures = compute_all(period, team=team, now=now)
    cards = []
    for code in CODES:
        figure, result = FIGURES[code], figures[code]
        points = trend(code, period, grain=grain, count=TREND_POINTS[grain], team=team, now=now)
        cards.append({
            "code": code,
            "label": figure.label,
            "description": figure.description,
            "result": result,
            "value_text": _percent(result["value"]),
            "target_text": ("≥ " if figure.higher_is_better else "< ") + _percent(result["target"]),
            "bad": figure.bad,
            "chart": {
                "labels": [p["first"][:7] if grain == "month" else p["first"][5:] for p in points],
                "values": [None if p["value"] is None else round(p["value"] * 100, 2) for p in points],
                "target": round(result["target"] * 100, 2),
                "series": str(figure.label),
                "target_label": _("Target"),
            },
            "cases_url": url_for("dashboard.figure_cases", code=code) + "?" + _query(period, team=team, outcome=figure.bad),
        })
    return render_template(
        "dashboard/index.html", cards=cards, period=period, errors=_error_text(errors), team=team, teams=teams(),
        grain=grain, grains=GRAINS, presets=_presets(now), query=_query, now=now,
    ), (400 if errors else 200)


@bp.get("/figures/<code>")
@viewer_required
def figure_cases(code: str):
    if code not in FIGURES:
        abort(404)
    now = clock.now()
    period, errors = _period_from_request()
    team = _team()
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        outcome = None
    figure = FIGURES[code]
    result = compute(code, period, team=team, now=now)
    rows, total = cases(code, period, team=team, outcome=outcome, now=now)
    outcomes = [o for o in (*figure.numerator, *figure.denominator, "pending") if o in OUTCOMES]
    outcomes = list(dict.fromkeys(outcomes))
    return render_template(
        "dashboard/cases.html", figure=figure, result=result, rows=rows, total=total, period=period, team=team,
        outcome=outcome, outcomes=outcomes, outcome_label=lambda o: label(OUTCOME_LABELS, o), percent=_percent,
        query=_query, errors=_error_text(errors), limit=len(rows) < total,
    )


# ---------------------------------------------------------------- process monitoring


@bp.get("/processes")
@viewer_required
def processes():
    now = clock.now()
    period, errors = _period_from_request()
    return render_template(
        "dashboard/processes.html", rows=monitoring.overview(), waiting=monitoring.oldest_waiting(),
        process_names=dict(db.session.execute(db.select(Definition.key, Definition.name).order_by(Definition.version)).all()),
        case_times=monitoring.case_times(period.start, period.end), period=period, errors=_error_text(errors),
        role_name=role_name, duration=_duration, now=now, query=_query,
    )


@bp.get("/processes/<int:definition_id>")
@viewer_required
def process(definition_id: int):
    definition = db.session.get(Definition, definition_id)
    if definition is None:
        abort(404)
    period, errors = _period_from_request()
    heat = monitoring.heatmap(definition_id, period.start, period.end)
    elements = (definition.meta or {}).get("elements") or {}
    rows = sorted(
        ({"id": bpmn_id, "name": (elements.get(bpmn_id) or {}).get("name") or bpmn_id, **counts}
         for bpmn_id, counts in heat.items()),
        key=lambda r: (-r["active"], -r["completed"], r["id"]),
    )
    overview = next((r for r in monitoring.overview() if r["definition_id"] == definition_id), None)
    return render_template(
        "dashboard/process.html", definition=definition, rows=rows, overview=overview, period=period,
        errors=_error_text(errors), task_times=monitoring.task_times(period.start, period.end, definition_id),
        duration=_duration, query=_query,
        heat_url=url_for("dashboard.process_heatmap", definition_id=definition_id) + "?" + _query(period),
    )


@bp.get("/processes/<int:definition_id>/heatmap.json")
@viewer_required
def process_heatmap(definition_id: int):
    definition = db.session.get(Definition, definition_id)
    if definition is None:
        abort(404)
    period, _errors = _period_from_request()
    process_id = (definition.meta or {}).get("process_id", definition.key)
    files = definition.files or {}
    xml = next((text for name, text in files.items() if name.endswith(".bpmn") and f'id="{process_id}"' in text), None)
    if xml is None:
        abort(404)
    return jsonify({"xml": xml, "elements": monitoring.heatmap(definition_id, period.start, period.end)})


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


# ---------------------------------------------------------------- the monthly report


def _report_period() -> tuple[Period, list[str]]:
    now = clock.now()
    try:
        return parse_month(request.args.get("month"), now=now), []
    except PeriodError as err:
        return this_month(now), _error_text(err.errors)


def _report_context(period: Period) -> dict:
    data = report.monthly(period)
    return {
        "data": data,
        "period": period,
        "figures": [(FIGURES[code], data["figures"][code]) for code in CODES],
        "percent": _percent,
        "fault_label": lambda code: label(FAULTS, code),
        "reason_label": lambda code: label(REASONS, code),
        "known_reason": lambda code: code in REASONS,
        "capa_status": lambda code: label(CAPA_STATUS, code),
    }


@bp.get("/report")
@viewer_required
def monthly_report():
    period, errors = _report_period()
    context = _report_context(period)
    month = f"{period.first:%Y-%m}"
    previous = month_period(*((period.first.year, period.first.month - 1) if period.first.month > 1
                              else (period.first.year - 1, 12)))
    return render_template("dashboard/report.html", errors=errors, month=month, previous_month=f"{previous.first:%Y-%m}",
                           **context)


@bp.get("/report.pdf")
@viewer_required
def monthly_report_pdf():
    period, _errors = _report_period()
    body = exports.report_pdf(_report_context(period))
    return attachment(body, f"service-report-{period.first:%Y-%m}.pdf", "application/pdf")


@bp.get("/report.xlsx")
@viewer_required
def monthly_report_xlsx():
    period, _errors = _report_period()
    body = exports.report_xlsx(_report_context(period))
    return attachment(body, f"service-report-{period.first:%Y-%m}.xlsx",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------- the weekly repair-quality reports


@bp.get("/repair-quality")
@viewer_required
def repair_quality():
    """每周维修质量反馈: the compiled weeks side by side, newest first (the repair_quality_report
    procedure writes them; each week's case holds the notes and the general manager's reading)."""
    reports = db.session.scalars(
        db.select(RepairQualityReport).order_by(RepairQualityReport.week_start.desc()).limit(26)
    ).all()
    return render_template("dashboard/repair_quality.html", reports=reports, percent=_percent,
                           fault_label=lambda code: label(FAULTS, code))
