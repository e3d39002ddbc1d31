"""每周维修质量反馈: every week the figures of the workshop's repair quality (返修率 and the
rest) are compiled from the records, the after-sales manager adds the customers' needs and the
problems met, and the general manager reads it (L74: 填写《维护和修理记录》并每周将产品品质
反馈、顾客使用需求、所遇问题等信息反馈给公司总经理). Each week's report schedules the next
as a new instance waiting on a timer, never a loop in the diagram."""

from __future__ import annotations

from collections import Counter
from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import Inspection, PartsWait, QualityFeedback, RepairAccident, RepairOrder, RepairQualityReport

from .followup import china_date, china_moment, instance_id_of, iso, timer_moment
from .registry import operator

REPORT_HOUR = time(9, 0)  # Monday 09:00 China time, after the week has ended
MIDNIGHT = time(0, 0)
CATEGORY_TEXT = {"body": "车身", "chassis": "底盘", "engine": "发动机", "electrical": "电气", "other": "其他"}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_start(text: str | None) -> date:
    if not text:
        return _monday(china_date(clock.now()))
    try:
        day = date.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"week_start: not a date: {text!r}") from None
    return _monday(day)  # any day names its week


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@operator("quality_report/plan")
def plan(session: Session, params: dict) -> dict:
    """The week the report covers (Monday to Sunday, China time) and when it is compiled."""
    now = clock.now()
    week = _week_start(params.get("week_start"))
    if session.scalar(select(RepairQualityReport.id).where(RepairQualityReport.week_start == week)):
        raise ValueError(f"the repair-quality report of the week of {week} already exists")
    due = china_moment(week + timedelta(days=7), REPORT_HOUR)
    return {"week_start": week.isoformat(), "week_end": (week + timedelta(days=6)).isoformat(),
            "report_timer": timer_moment(due, now), "report_at": iso(due),
            "next_week_start": (week + timedelta(days=7)).isoformat()}


def figures(session: Session, week: date) -> dict:
    """The week's repair-quality figures from the records (all counted in China-time days)."""
    start, end = china_moment(week, MIDNIGHT), china_moment(week + timedelta(days=7), MIDNIGHT)

    def count(model, column, *where) -> int:
        return session.scalar(select(func.count(model.id)).where(column >= start, column < end, *where)) or 0

    received = count(RepairOrder, RepairOrder.received_at, RepairOrder.status != "declined")
    comebacks = count(RepairOrder, RepairOrder.received_at, RepairOrder.status != "declined",
                      RepairOrder.repair_type == "comeback")
    closed = count(RepairOrder, RepairOrder.closed_at)
    released = list(session.scalars(select(Inspection.order_number).where(
        Inspection.level == 3, Inspection.passed.is_(True), Inspection.at >= start, Inspection.at < end)))
    failed_orders = set(session.scalars(select(Inspection.order_number).where(
        Inspection.order_number.in_(released), Inspection.passed.is_(False)))) if released else set()
    first_pass = len(set(released) - failed_orders)
    waits = list(session.scalars(select(PartsWait).where(PartsWait.requested_at >= start, PartsWait.requested_at < end)))
    feedback = Counter(session.scalars(select(QualityFeedback.fault_category).where(
        QualityFeedback.at >= start, QualityFeedback.at < end)))
    sanbao = count(RepairOrder, RepairOrder.received_at, RepairOrder.sanbao_alert.is_(True))
    return {
        "orders_received": received,
        "orders_closed": closed,
        "comebacks": comebacks,
        "comeback_rate": _rate(comebacks, received),  # 返修率 = 返修台次 / 进厂台次
        "released": len(set(released)),
        "first_pass": first_pass,
        "first_pass_rate": _rate(first_pass, len(set(released))),  # 一次交检合格率
        "failed_inspections": count(Inspection, Inspection.at, Inspection.passed.is_(False)),
        "accidents": count(RepairAccident, RepairAccident.reported_at),
        "parts_waits": len(waits),
        "parts_late": sum(1 for w in waits if w.on_time is False or (w.on_time is None and w.due_at < clock.now())),
        "quality_feedback": dict(sorted(feedback.items())),
        "sanbao_alerts": sanbao,
    }


def summary_text(f: dict) -> str:
    feedback = "、".join(f"{CATEGORY_TEXT.get(k, k)} {v}" for k, v in f["quality_feedback"].items()) or "无"
    return (f"进厂 {f['orders_received']} 台次，其中返修 {f['comebacks']} 台次，返修率 {_percent(f['comeback_rate'])}；"
            f"出厂检验 {f['released']} 台，一次交检合格率 {_percent(f['first_pass_rate'])}（检验不合格 "
            f"{f['failed_inspections']} 次）；维修事故 {f['accidents']} 起；待料 {f['parts_waits']} 次，其中到料超期 "
            f"{f['parts_late']} 次；质量反馈：{feedback}；三包预警 {f['sanbao_alerts']} 台。")


@operator("quality_report/compile")
def compile_report(session: Session, params: dict) -> dict:
    week = _week_start(params["week_start"])
    data = figures(session, week)
    row = RepairQualityReport(number=params["report_no"],
                              instance_id=instance_id_of(session, params["report_no"], "repair_quality_report"),
                              week_start=week, compiled_at=clock.now(), figures=data)
    session.add(row)
    session.flush()
    return {**data, "summary": summary_text(data)}


@operator("quality_report/record_notes")
def record_notes(session: Session, params: dict) -> dict:
    """The after-sales manager's part: customers' needs and the problems met this week."""
    row = _report(session, params["report_no"])
    row.customer_needs = params.get("customer_needs") or ""
    row.problems = params.get("problems") or ""
    row.submitted_at = clock.now()
    session.flush()
    return {"submitted_at": iso(row.submitted_at)}


@operator("quality_report/record_reading")
def record_reading(session: Session, params: dict) -> dict:
    row = _report(session, params["report_no"])
    row.gm_comment = params.get("gm_comment") or ""
    row.read_at = clock.now()
    session.flush()
    return {"read_at": iso(row.read_at)}


def _report(session: Session, number: str) -> RepairQualityReport:
    row = session.scalar(select(RepairQualityReport).where(RepairQualityReport.number == number))
    if row is None:
        raise LookupError(f"no repair-quality report {number}")
    return row
