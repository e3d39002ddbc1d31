"""The service targets (服务目标) as SQL over the records and the history.

Every figure is built the same way: a query of *units* (one row per case, order, survey or
shipment) with the moment that puts the unit in a period (`cohort_at`) and its `outcome`
(met, missed, pending, void; for the complaint rate: complaint or service). The value is
count(numerator outcomes) / count(denominator outcomes); the trend groups the same units by
week or month; the drill-down lists them. Definitions and edge cases: docs/kpis.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, cast, exists, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from ..engine import clock
from ..extensions import db
from ..models import (
    ComplaintCase,
    Escalation,
    FieldServiceReport,
    HistoryEvent,
    Instance,
    PartsWait,
    RepairOrder,
    SatisfactionSurvey,
)
from ..models.types import UTCDateTime
from .period import Bucket, Period, buckets
from .sql import analytic, history_ts, within

MET, MISSED, PENDING, VOID = "met", "missed", "pending", "void"
COMPLAINT, SERVICE = "complaint", "service"
OUTCOMES = (MET, MISSED, PENDING, VOID, COMPLAINT, SERVICE)
# Field orders whose rule asks for an answer (12 h) before the visit (onsite_deadline.dmn).
ANSWER_RULES = ("answer_12h", "written_12h")
DRILL_LIMIT = 500


@dataclass(frozen=True)
class Ctx:
    """What a units query is built for: [start, end) in UTC, the moment of judgement, a team."""

    start: datetime
    end: datetime
    now: datetime
    team: str | None = None


@dataclass(frozen=True)
class Figure:
    code: str
    label: object  # lazy translated
    description: object  # lazy translated: numerator / denominator in one line
    target: float
    higher_is_better: bool
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    bad: str  # the outcome behind a missed target (the drill-down's default)
    by_team: bool
    build: Callable[[Ctx], Select]
    hours: int | None = None  # complaint deadlines counted from receipt

    def target_value(self) -> float:
        overrides = current_app.config.get("KPI_TARGETS") or {} if has_app_context() else {}
        return float(overrides.get(self.code, self.target))

    def meets(self, value: float | None) -> bool | None:
        if value is None:
            return None
        target = self.target_value()
        return value >= target if self.higher_is_better else value < target


# ---------------------------------------------------------------- shared pieces


def _deadline_outcome(due, done, ended, now: datetime):
    """Met by the due time; missed when done late or when the due time has strictly passed
    (as SpiffWorkflow fires a timer); void when the case ended before the due time without
    it; pending until then."""
    return case(
        (and_(done.isnot(None), due.isnot(None), done <= due), MET),
        (and_(done.isnot(None), due.isnot(None)), MISSED),
        (and_(done.is_(None), ended.isnot(None), or_(due.is_(None), ended <= due)), VOID),
        (and_(due.isnot(None), due < now), MISSED),
        else_=PENDING,
    )


def _no_team():
    return cast(null(), String(50))


def _team(column):
    return func.nullif(column, "")


def _typed(value):
    return literal(value, UTCDateTime())


# ---------------------------------------------------------------- complaints (客户投诉处理)


def _complaint_deadline(done_attr: str, hours: int) -> Callable[[Ctx], Select]:
    def build(ctx: Ctx) -> Select:
        c, i = ComplaintCase, aliased(Instance)
        done = getattr(c, done_attr)
        outcome = case(
            (and_(done.isnot(None), within(c.received_at, done, hours)), MET),
            (done.isnot(None), MISSED),
            (and_(i.ended_at.isnot(None), within(c.received_at, i.ended_at, hours)), VOID),
            (c.received_at < ctx.now - timedelta(hours=hours), MISSED),
            else_=PENDING,
        )
        return _complaint_units(ctx, i, outcome, done)

    return build


def _complaint_units(ctx: Ctx, i, outcome, done) -> Select:
    """One unit per complaint received in the period, with its outcome and completion time."""
    c = ComplaintCase
    return (
        select(
            c.number.label("case_no"),
            c.instance_id.label("instance_id"),
            literal("complaint_handling").label("process_key"),
            c.received_at.label("cohort_at"),
            _no_team().label("team"),
            outcome.label("outcome"),
            cast(null(), UTCDateTime()).label("due_at"),
            done.label("done_at"),
        )
        .select_from(c)
        .outerjoin(i, i.id == c.instance_id)
        .where(c.received_at >= ctx.start, c.received_at < ctx.end)
    )


def _resolution(ctx: Ctx) -> Select:
    """问题解决率 counts problems resolved, i.e. closed with the customer satisfied; a case closed
    with the customer not satisfied (possible under the diagrams before issue 14) is not."""
    c, i = ComplaintCase, aliased(Instance)
    outcome = case(
        (and_(c.closed_at.isnot(None), c.satisfied.is_(True)), MET),
        (c.closed_at.isnot(None), MISSED),
        (and_(i.ended_at.isnot(None), within(c.received_at, i.ended_at, 48)), VOID),
        (c.received_at < ctx.now - timedelta(hours=48), MISSED),
        else_=PENDING,
    )
    return _complaint_units(ctx, i, outcome, c.closed_at)


def _found_untrue(case_table):
    """The handler found the complaint not true (投诉属实: 否) when verifying it: the history's
    task_completed event of verify_complaint carries {"data": {..., "verified": false}} in
    canonical JSON (sorted keys, no spaces), so a text match is exact."""
    h = HistoryEvent
    return exists().where(
        h.instance_id == case_table.instance_id,
        h.type == "task_completed",
        h.bpmn_id == "verify_complaint",
        h.payload.like('%"verified":false%'),
    )


def _complaint_rate(ctx: Ctx) -> Select:
    c, r, i = ComplaintCase, RepairOrder, aliased(Instance)
    complaints = select(
        c.number.label("case_no"),
        c.instance_id.label("instance_id"),
        literal("complaint_handling").label("process_key"),
        c.received_at.label("cohort_at"),
        _no_team().label("team"),
        literal(COMPLAINT).label("outcome"),
        cast(null(), UTCDateTime()).label("due_at"),
        c.closed_at.label("done_at"),
    ).where(
        c.received_at >= ctx.start,
        c.received_at < ctx.end,
        c.status == "closed",
        c.responsible_department == "service",
        ~_found_untrue(c),
    )
    services = (
        select(
            r.number.label("case_no"),
            r.instance_id.label("instance_id"),
            literal("repair_dispatch").label("process_key"),
            r.received_at.label("cohort_at"),
            _team(r.team).label("team"),
            literal(SERVICE).label("outcome"),
            cast(null(), UTCDateTime()).label("due_at"),
            r.closed_at.label("done_at"),
        )
        .select_from(r)
        .outerjoin(i, i.id == r.instance_id)
        .where(
            r.received_at >= ctx.start,
            r.received_at < ctx.end,
            r.status != "declined",
            or_(i.status.is_(None), i.status != "cancelled"),
        )
    )
    return union_all(complaints, services).subquery("complaint_rate_units").select()


# ---------------------------------------------------------------- repairs (维修服务)


def _on_time_service(ctx: Ctx) -> Select:
    """Each repair order's service commitments (answer in 12 h, on site by the deadline, bench
    repairs in ceil(n/10) days, the workshop's promised finish); the order is on time when
    every commitment is met."""
    ro, fsr, h, i = RepairOrder, FieldServiceReport, HistoryEvent, aliased(Instance)
    in_period = [ro.received_at >= ctx.start, ro.received_at < ctx.end, ro.status != "declined"]
    if ctx.team:
        in_period.append(ro.team == ctx.team)
    orders = (
        select(ro.id, ro.number, ro.instance_id, ro.received_at, ro.team, ro.service_mode, ro.bench_due_at,
               ro.bench_finished_at, ro.promised_finish_at, i.ended_at.label("ended_at"))
        .outerjoin(i, i.id == ro.instance_id)
        .where(*in_period)
        .cte("orders")
    )
    o = orders.c
    # 完工通知: the first completion of the workshop's notify_customer task, from the history
    notified = (
        select(h.instance_id, func.min(h.at).label("at"))
        .where(h.bpmn_id == "notify_customer", h.type == "task_completed",
               h.instance_id.in_(select(o.instance_id).where(o.service_mode == "workshop")))
        .group_by(h.instance_id)
        .subquery("notified")
    )
    carried = (o.id.label("order_id"), o.number, o.instance_id, o.received_at, o.team, o.ended_at)
    answer = (
        select(*carried, fsr.response_due_at.label("due"), fsr.responded_at.label("done"))
        .join(fsr, fsr.order_id == o.id)
        .where(fsr.response_rule.in_(ANSWER_RULES))
    )
    arrival = select(*carried, fsr.onsite_due_at, fsr.arrived_at).outerjoin(fsr, fsr.order_id == o.id).where(
        o.service_mode == "field")
    bench = select(*carried, o.bench_due_at, o.bench_finished_at).where(o.service_mode == "bench")
    workshop = (
        select(*carried, o.promised_finish_at, history_ts(notified.c.at))
        .outerjoin(notified, notified.c.instance_id == o.instance_id)
        .where(o.service_mode == "workshop")
    )
    cm = union_all(answer, arrival, bench, workshop).subquery("commitments")
    state = _deadline_outcome(cm.c.due, cm.c.done, cm.c.ended_at, ctx.now)

    def count(outcome: str):
        return func.sum(case((state == outcome, 1), else_=0))

    outcome = case(
        (count(MISSED) > 0, MISSED),
        (count(PENDING) > 0, PENDING),
        (count(MET) > 0, MET),
        else_=VOID,
    )
    return select(
        cm.c.number.label("case_no"),
        cm.c.instance_id.label("instance_id"),
        literal("repair_dispatch").label("process_key"),
        cm.c.received_at.label("cohort_at"),
        _team(cm.c.team).label("team"),
        outcome.label("outcome"),
        func.min(cm.c.due).label("due_at"),
        func.max(cm.c.done).label("done_at"),
    ).group_by(cm.c.order_id, cm.c.number, cm.c.instance_id, cm.c.received_at, cm.c.team)


# ---------------------------------------------------------------- surveys (满意度调查)


def _satisfaction(ctx: Ctx) -> Select:
    s, r = SatisfactionSurvey, aliased(RepairOrder)
    query = (
        select(
            s.number.label("case_no"),
            s.instance_id.label("instance_id"),
            literal("satisfaction_survey").label("process_key"),
            s.surveyed_at.label("cohort_at"),
            _team(r.team).label("team"),
            case((s.satisfied.is_(True), MET), else_=MISSED).label("outcome"),
            cast(null(), UTCDateTime()).label("due_at"),
            s.surveyed_at.label("done_at"),
        )
        .select_from(s)
        .outerjoin(r, r.number == s.source_case_no)
        .where(s.surveyed_at >= ctx.start, s.surveyed_at < ctx.end, s.satisfied.isnot(None))
    )
    if ctx.team:
        query = query.where(r.team == ctx.team)
    return query


# ---------------------------------------------------------------- parts for service (待料到料)


def _parts_on_time(ctx: Ctx) -> Select:
    """物料配送准时率: parts a repair waited for (待料, `parts_waits`), requested in the period,
    delivered to the workshop by the date the parts department promised. Parts issued from
    stock at once have no wait and no due date to miss; claim parts shipped back to the
    manufacturer are not material delivered for service."""
    w, i = PartsWait, aliased(Instance)
    query = (
        select(
            w.order_number.label("case_no"),
            w.instance_id.label("instance_id"),
            literal("repair_dispatch").label("process_key"),
            w.requested_at.label("cohort_at"),
            _team(w.team).label("team"),
            _deadline_outcome(w.due_at, w.delivered_at, i.ended_at, ctx.now).label("outcome"),
            w.due_at.label("due_at"),
            w.delivered_at.label("done_at"),
        )
        .select_from(w)
        .outerjoin(i, i.id == w.instance_id)
        .where(w.requested_at >= ctx.start, w.requested_at < ctx.end)
    )
    if ctx.team:
        query = query.where(w.team == ctx.team)
    return query


# ---------------------------------------------------------------- the registry

RATE = ((MET,), (MET, MISSED))

FIGURES: dict[str, Figure] = {
    f.code: f
    for f in [
        Figure("on_time_service_rate", _l("On-time service rate"),
               _l("Repair orders received in the period whose every service deadline was met / those decided"),
               0.90, True, *RATE, MISSED, True, _on_time_service),
        Figure("satisfaction_rate", _l("Customer satisfaction"),
               _l("Surveys answered in the period with an overall score of 4 or 5 / surveys answered"),
               0.85, True, *RATE, MISSED, True, _satisfaction),
        Figure("complaint_rate", _l("Service-caused complaint rate"),
               _l("Complaints received in the period found to be the service's fault / repair orders received"),
               0.03, False, (COMPLAINT,), (SERVICE,), COMPLAINT, False, _complaint_rate),
        Figure("resolution_rate", _l("Problem resolution rate"),
               _l("Complaints received in the period that were resolved / those resolved or open past 48 hours"),
               0.90, True, *RATE, MISSED, False, _resolution, hours=48),
        Figure("reply_24h_rate", _l("Replied within 24 hours"),
               _l("Complaints received in the period answered within 24 hours / those decided"),
               0.90, True, *RATE, MISSED, False, _complaint_deadline("replied_at", 24), hours=24),
        Figure("resolve_48h_rate", _l("Resolved within 48 hours"),
               _l("Complaints received in the period closed within 48 hours / those decided"),
               0.90, True, *RATE, MISSED, False, _complaint_deadline("closed_at", 48), hours=48),
        Figure("parts_on_time_rate", _l("Parts on time"),
               _l("Parts waits requested in the period delivered by their promised date / those decided"),
               0.90, True, *RATE, MISSED, True, _parts_on_time),
    ]
}
CODES = tuple(FIGURES)


# ---------------------------------------------------------------- results


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _counts(units, figure: Figure):
    def count(outcomes):
        return func.coalesce(func.sum(case((units.c.outcome.in_(outcomes), 1), else_=0)), 0)

    return count(figure.numerator), count(figure.denominator), count((PENDING,))


def _result(figure: Figure, numerator: int | None, denominator: int | None, pending: int | None, applies: bool) -> dict:
    value = _ratio(numerator, denominator) if applies else None
    return {
        "code": figure.code,
        "value": round(value, 6) if value is not None else None,
        "numerator": numerator if applies else None,
        "denominator": denominator if applies else None,
        "pending": pending if applies else None,
        "target": figure.target_value(),
        "comparison": ">=" if figure.higher_is_better else "<",
        "met_target": figure.meets(value),
        "by_team": figure.by_team,
    }


def compute(code: str, period: Period, *, team: str | None = None, now: datetime | None = None) -> dict:
    """One figure for the period (and team): value, numerator, denominator, pending, target."""
    figure = FIGURES[code]
    if team and not figure.by_team:
        return _result(figure, None, None, None, applies=False)
    ctx = Ctx(period.start, period.end, now or clock.now(), team or None)
    units = figure.build(ctx).subquery("units")
    analytic(db.session)
    numerator, denominator, pending = db.session.execute(select(*_counts(units, figure))).one()
    return _result(figure, int(numerator), int(denominator), int(pending), applies=True)


def compute_all(period: Period, *, team: str | None = None, now: datetime | None = None) -> dict[str, dict]:
    now = now or clock.now()
    return {code: compute(code, period, team=team, now=now) for code in CODES}


def trend(code: str, period: Period, *, grain: str = "month", count: int = 12, team: str | None = None,
          now: datetime | None = None) -> list[dict]:
    """The figure for each of the `count` weeks or months ending with the period's last one."""
    figure = FIGURES[code]
    spans: list[Bucket] = buckets(grain, period, count)
    rows: dict[int, tuple[int, int, int]] = {}
    applies = not (team and not figure.by_team)
    if applies:
        ctx = Ctx(spans[0].start, spans[-1].end, now or clock.now(), team or None)
        units = figure.build(ctx).subquery("units")
        which = case(*[(units.c.cohort_at < _typed(b.end), n) for n, b in enumerate(spans)], else_=len(spans))
        tagged = select(which.label("bucket"), units.c.outcome).subquery("tagged")
        numerator, denominator, pending = _counts(tagged, figure)
        query = select(tagged.c.bucket, numerator, denominator, pending).group_by(tagged.c.bucket)
        analytic(db.session)
        rows = {int(b): (int(n), int(d), int(p)) for b, n, d, p in db.session.execute(query)}
    out = []
    for n, span in enumerate(spans):
        num, den, pend = rows.get(n, (0, 0, 0))
        result = _result(figure, num, den, pend, applies)
        result.update(first=span.first.isoformat(), last=span.last.isoformat())
        out.append(result)
    return out


def cases(code: str, period: Period, *, team: str | None = None, outcome: str | None = None,
          limit: int | None = DRILL_LIMIT, now: datetime | None = None) -> tuple[list[dict], int]:
    """The units behind a figure (the drill-down), oldest first, and how many there are in all."""
    figure = FIGURES[code]
    if team and not figure.by_team:
        return [], 0
    ctx = Ctx(period.start, period.end, now or clock.now(), team or None)
    units = figure.build(ctx).subquery("units")
    where = [units.c.outcome == outcome] if outcome else [units.c.outcome != VOID]
    analytic(db.session)
    total = db.session.scalar(select(func.count()).select_from(units).where(*where))
    escalated = exists().where(Escalation.case_number == units.c.case_no)
    reopened = exists().where(Escalation.case_number == units.c.case_no, Escalation.reason == "customer_disagrees")
    query = (
        select(units, escalated.label("escalated"), reopened.label("reopened"))
        .where(*where)
        .order_by(units.c.cohort_at, units.c.case_no)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for row in db.session.execute(query).mappings():
        item = dict(row)
        if item["due_at"] is None and figure.hours and item["cohort_at"] is not None:
            item["due_at"] = item["cohort_at"] + timedelta(hours=figure.hours)
        item["escalated"], item["reopened"] = bool(item["escalated"]), bool(item["reopened"])
        rows.append(item)
    return rows, int(total or 0)


def teams() -> list[str]:
    """The teams repair orders were dispatched to (the dashboard's team filter)."""
    query = select(RepairOrder.team).where(RepairOrder.team != "").group_by(RepairOrder.team).order_by(RepairOrder.team)
    return [t for (t,) in db.session.execute(query)]
