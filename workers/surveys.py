"""满意度调查 and 纠正和预防措施处理单: surveys after closed cases, their analysis, and the
corrective actions that dissatisfaction or a recurring problem opens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ContactLog, CorrectiveAction, CustomerFile, SatisfactionSurvey

from .complaints import find_or_create_customer
from .followup import escalate_to, instance_id_of, iso, timer_moment
from .registry import operator

SATISFIED_FROM = 4  # overall score 4 (满意) or 5 (非常满意)
RECURRING_WINDOW_DAYS = 90  # 时常浮现的问题: the same problem category in the last 90 days...
RECURRING_MIN_EARLIER = 2  # ...in at least 2 earlier surveys
REWORK_DAYS = 7  # a corrective action sent back once gets 7 more days
CAPA_ESCALATION_ROLE = "general_manager"


def _survey(session: Session, number: str) -> SatisfactionSurvey:
    row = session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.number == number))
    if row is None:
        raise LookupError(f"no survey {number}")
    return row


def capa_by_number(session: Session, number: str) -> CorrectiveAction:
    row = session.scalar(select(CorrectiveAction).where(CorrectiveAction.number == number))
    if row is None:
        raise LookupError(f"no corrective action {number}")
    return row


@operator("surveys/open")
def open_survey(session: Session, params: dict) -> dict:
    """A survey for a closed case; the customer's revenue and strategic flag for the key-customer decision."""
    now = clock.now()
    number = params["survey_no"]
    customer = find_or_create_customer(session, params["customer_name"], params["customer_phone"])
    file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == customer.id))
    revenue = max(float(params.get("prior_year_revenue") or 0), file.prior_year_revenue if file else 0.0)
    strategic = bool(params.get("strategic")) or bool(file and file.strategic)
    row = SatisfactionSurvey(
        number=number,
        instance_id=instance_id_of(session, number, "satisfaction_survey"),
        customer_id=customer.id,
        source_process=params.get("source_process") or "",
        source_case_no=params.get("source_case_no") or "",
        prior_year_revenue=revenue,
        strategic=strategic,
        status="open",
        opened_at=now,
    )
    session.add(row)
    session.flush()
    return {"survey_no": number, "customer_id": customer.id, "prior_year_revenue": revenue, "strategic": strategic}


@operator("surveys/record")
def record(session: Session, params: dict) -> dict:
    """The answers; satisfied or not; whether the problem keeps coming back."""
    now = clock.now()
    row = _survey(session, params["survey_no"])
    row.key_customer = bool(params["key_customer"])
    row.key_reason = params.get("key_reason") or ""
    row.overall_score = int(params["overall_score"])
    row.timeliness_score = int(params["timeliness_score"])
    row.quality_score = int(params["quality_score"])
    row.attitude_score = int(params["attitude_score"])
    row.problem_category = params.get("problem_category") or "none"
    row.comments = params.get("comments") or ""
    row.satisfied = row.overall_score >= SATISFIED_FROM
    earlier = 0
    if row.problem_category != "none":
        earlier = session.scalar(
            select(func.count(SatisfactionSurvey.id)).where(
                SatisfactionSurvey.problem_category == row.problem_category,
                SatisfactionSurvey.id != row.id,
                SatisfactionSurvey.surveyed_at >= now - timedelta(days=RECURRING_WINDOW_DAYS),
            )
        )
    row.prior_occurrences = earlier
    row.recurring = earlier >= RECURRING_MIN_EARLIER
    row.surveyed_at, row.status = now, "surveyed"
    session.add(
        ContactLog(
            customer_id=row.customer_id,
            case_number=row.number,
            kind="survey",
            channel="phone",
            summary=f"满意度 {row.overall_score}/5。{row.comments}",
            at=now,
        )
    )
    session.flush()
    return {"satisfied": row.satisfied, "recurring": row.recurring, "prior_occurrences": earlier}


@operator("surveys/record_refusal")
def record_refusal(session: Session, params: dict) -> dict:
    """拒访 or never reached: the attempt is recorded and the survey ends, neither counted as
    surveyed nor in satisfaction (no scores, no surveyed_at, so 用户满意度 leaves it out)."""
    now = clock.now()
    row = _survey(session, params["survey_no"])
    outcome = params.get("outcome") or "refused"
    if outcome not in ("refused", "unreachable"):
        raise ValueError(f"survey outcome {outcome!r} is not a refusal")
    note = params.get("note") or ""
    row.status, row.closed_at, row.satisfied = outcome, now, None
    row.comments = note
    session.add(
        ContactLog(
            customer_id=row.customer_id,
            case_number=row.number,
            kind="survey",
            channel="phone",
            summary=("拒访" if outcome == "refused" else "联系不上") + (f"：{note}" if note else ""),
            at=now,
        )
    )
    session.flush()
    return {"status": outcome, "closed_at": iso(now)}


@operator("surveys/record_key_review")
def record_key_review(session: Session, params: dict) -> dict:
    row = _survey(session, params["survey_no"])
    row.key_review = params.get("review") or ""
    session.flush()
    return {"reviewed_at": iso(clock.now())}


@operator("surveys/record_analysis")
def record_analysis(session: Session, params: dict) -> dict:
    """质量部分析: cause and whether a corrective action is needed beyond the automatic triggers."""
    now = clock.now()
    row = _survey(session, params["survey_no"])
    row.analysis = params.get("analysis") or ""
    row.cause = params.get("cause") or ""
    row.capa_required = bool(params.get("capa_required"))
    row.analysed_at, row.status = now, "analysed"
    session.flush()
    return {"analysed_at": iso(now)}


@operator("surveys/open_capa")
def open_capa(session: Session, params: dict) -> dict:
    """纠正和预防措施处理单, assigned to the responsible department with a deadline."""
    now = clock.now()
    survey = _survey(session, params["survey_no"])
    trigger = "dissatisfied" if not survey.satisfied else "recurring" if survey.recurring else "analysis"
    due = now + timedelta(days=int(params["due_days"]))
    capa = CorrectiveAction(
        number=f"CA-{survey.number}",
        survey_id=survey.id,
        customer_id=survey.customer_id,
        trigger=trigger,
        problem=survey.comments or survey.problem_category,
        cause=survey.cause,
        responsible_department=params["responsible_department"],
        measures=params["measures"],
        due_at=due,
        status="open",
        opened_at=now,
    )
    session.add(capa)
    session.flush()
    return {"capa_no": capa.number, "trigger": trigger, "due_at": iso(due), "due_timer": timer_moment(due, now)}


@operator("surveys/record_implementation")
def record_implementation(session: Session, params: dict) -> dict:
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.implementation = params.get("implementation") or ""
    capa.implemented_at, capa.rounds, capa.status = now, int(params["round"]), "implemented"
    session.flush()
    return {"implemented_at": iso(now), "on_time": now <= capa.due_at}


@operator("surveys/verify_capa")
def verify_capa(session: Session, params: dict) -> dict:
    """销售部/质量部检查和落实: effective closes it; the first failure sends it back once."""
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.effective = bool(params["effective"])
    capa.verification_comment = params.get("comment") or ""
    capa.verified_at = now
    result = {"effective": capa.effective}
    if not capa.effective and int(params["round"]) == 1:
        capa.status = "sent_back"
        capa.due_at = now + timedelta(days=REWORK_DAYS)
        result.update(rework_due_at=iso(capa.due_at), rework_timer=timer_moment(capa.due_at, now))
    elif not capa.effective:
        capa.status = "ineffective"
    session.flush()
    return result


@operator("surveys/escalate_capa")
def escalate_capa(session: Session, params: dict) -> dict:
    capa = capa_by_number(session, params["capa_no"])
    escalation = escalate_to(session, capa.number, params["reason"], CAPA_ESCALATION_ROLE)
    capa.escalated_at = escalation.at
    session.flush()
    return {"escalation_id": escalation.id, "reason": escalation.reason, "at": iso(escalation.at)}


@operator("surveys/close_capa")
def close_capa(session: Session, params: dict) -> dict:
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.status = "effective" if params["outcome"] == "effective" else "ineffective"
    capa.management_decision = params.get("decision") or ""
    capa.closed_at = now
    session.flush()
    return {"closed_at": iso(now), "status": capa.status}


@operator("surveys/inform_customer")
def inform_customer(session: Session, params: dict) -> dict:
    """将实施结果反馈给顾客."""
    now = clock.now()
    capa = capa_by_number(session, params["capa_no"])
    capa.customer_informed_at = now
    session.add(
        ContactLog(
            customer_id=capa.customer_id,
            case_number=capa.number,
            kind="capa_result",
            channel="phone",
            summary=params.get("summary") or "",
            at=now,
        )
    )
    session.flush()
    return {"informed_at": iso(now)}


@operator("surveys/close")
def close(session: Session, params: dict) -> dict:
    now = clock.now()
    row = _survey(session, params["survey_no"])
    row.status, row.closed_at = "closed", now
    session.flush()
    return {"closed_at": iso(now)}
