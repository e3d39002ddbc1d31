"""跟踪回访 / 保养提醒 / 定期回访: customer files, follow-up calls, requests raised in calls.

Each follow-up instance is one contact with one customer. When it is done, `followup/finish`
says which contact comes next (the second follow-up after the first, the final maintenance
reminder after the first one, the next periodic revisit of an important or long-term
customer) and the diagram starts it as a new instance: repeating work is a chain of
instances, never a loop inside one.

Dates the staff read (maintenance dates, revisit dates, working days) are China dates
(UTC+8); every stored moment is UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import ContactLog, Customer, CustomerFile, Escalation, FollowUp, FollowUpCall, FollowUpRequest, Instance

from .complaints import find_or_create_customer
from .registry import operator
from .working_days import is_working_day

CHINA = timezone(timedelta(hours=8), "CST")
ESCALATION_ROLE = "after_sales_manager"
WORKDAY_START = time(9, 0)

FILE_DAYS = 2  # 客户档案: within 2 days of the first contact
REQUEST_REPORT_DAYS = 2  # a request not answerable in the call: report to the supervisor within 2 days
FIRST_CALL_FROM_DAYS, FIRST_CALL_TO_DAYS = 3, 7  # first follow-up 3 days to 1 week after handover
DEALER_WORKING_DAYS = 3  # dealer: within 3 working days of handover
SECOND_CALL_FROM_DAYS, SECOND_CALL_TO_DAYS = 7, 14  # second follow-up: within 7 days after the following week
AFTER_REPAIR_DAYS = 3  # a call within 3 days after the customer receives a repaired unit
REMINDER_LEAD_DAYS = 14  # maintenance reminder 2 weeks before it is due
REMINDER_CALL_DAYS = 1  # the reminder call is made within a day of the reminder date
FINAL_REMINDER_LEAD_DAYS = 2  # again just before: 2 days ahead, by the due date
REVISIT_CALL_DAYS = 7  # a periodic revisit is made within a week of its date
REVISIT_MONTHS = {"important": 6, "long_term": 12}  # important: every 6 months; long-term: every year
MAX_ATTEMPTS = 3  # a call not answered is tried again, three attempts in all, then closed as unreachable
RETRY_AFTER = (timedelta(hours=4), None)  # 2nd attempt 4 h later the same day; 3rd the next working day
OUTCOMES = ("connected", "no_answer", "refused", "empty_number")  # 已接通 / 未接通 / 拒访 / 空号

TIERS = ("normal", "important", "long_term")
FIRST_STAGE = {
    "after_handover": "first", "after_repair": "single", "maintenance_reminder": "reminder", "periodic_revisit": "revisit",
}
CALL_LABELS = {
    ("after_handover", "first"): "交车后第一次跟踪回访",
    ("after_handover", "second"): "交车后第二次跟踪回访",
    ("after_repair", "single"): "维修交车后回访",
    ("maintenance_reminder", "reminder"): "保养到期提前两周提醒",
    ("maintenance_reminder", "final"): "保养日期将至再次提醒确认",
    ("periodic_revisit", "revisit"): "定期回访",
}


# ---------------------------------------------------------------- time helpers (shared by the quality workers)


def iso(moment: datetime | None) -> str:
    return clock.to_iso(moment) if moment is not None else ""


def parse_moment(text: str | None) -> datetime | None:
    return clock.from_iso(text) if text else None


def parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def china_moment(day: date, at: time = WORKDAY_START) -> datetime:
    """A China wall-clock time on a day, as UTC."""
    return datetime.combine(day, at, CHINA).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_working_days(moment: datetime, days: int) -> datetime:
    """The same China time of day `days` working days later, by the working-day calendar
    (workers/working_days.py: weekends and public holidays off, make-up working days on)."""
    local = moment.astimezone(CHINA)
    while days > 0:
        local += timedelta(days=1)
        if is_working_day(local.date()):
            days -= 1
    return local.astimezone(UTC)


def timer_moment(moment: datetime, now: datetime) -> str:
    """A timer date for the diagram. SpiffWorkflow fires a timer when its date is strictly
    before now, so a moment already reached is given as one second ago: it fires at once."""
    return iso(moment if moment > now else now - timedelta(seconds=1))


def instance_id_of(session: Session, business_key: str, process_key: str) -> int | None:
    return session.scalar(
        select(Instance.id).where(Instance.business_key == business_key, Instance.process_key == process_key)
    )


def escalate_to(session: Session, case_number: str, reason: str, role: str = ESCALATION_ROLE) -> Escalation:
    escalation = Escalation(case_number=case_number, reason=reason, to_role=role, at=clock.now())
    session.add(escalation)
    session.flush()
    return escalation


# ---------------------------------------------------------------- operators


def _followup(session: Session, number: str) -> FollowUp:
    row = session.scalar(select(FollowUp).where(FollowUp.number == number))
    if row is None:
        raise LookupError(f"no follow-up {number}")
    return row


def _schedule(kind: str, stage: str, reference: datetime, due_day: date | None, dealer: bool) -> tuple[datetime, datetime]:
    """(window opens, call due) of one contact."""
    if kind == "after_handover" and stage == "first":
        if dealer:
            return reference, add_working_days(reference, DEALER_WORKING_DAYS)
        return reference + timedelta(days=FIRST_CALL_FROM_DAYS), reference + timedelta(days=FIRST_CALL_TO_DAYS)
    if kind == "after_handover" and stage == "second":
        return reference + timedelta(days=SECOND_CALL_FROM_DAYS), reference + timedelta(days=SECOND_CALL_TO_DAYS)
    if kind == "after_repair":
        return reference, reference + timedelta(days=AFTER_REPAIR_DAYS)
    if due_day is None:
        raise ValueError(f"{kind} needs a due date")
    if kind == "maintenance_reminder" and stage == "reminder":
        opens = china_moment(due_day - timedelta(days=REMINDER_LEAD_DAYS))
        return opens, opens + timedelta(days=REMINDER_CALL_DAYS)
    if kind == "maintenance_reminder" and stage == "final":
        return china_moment(due_day - timedelta(days=FINAL_REMINDER_LEAD_DAYS)), china_moment(due_day)
    if kind == "periodic_revisit":
        opens = china_moment(due_day)
        return opens, opens + timedelta(days=REVISIT_CALL_DAYS)
    raise ValueError(f"unknown follow-up {kind}/{stage}")


@operator("followup/plan")
def plan(session: Session, params: dict) -> dict:
    """建立/核对客户档案 and schedule the contact: when the call window opens, when it is due."""
    now = clock.now()
    number, kind = params["followup_no"], params["kind"]
    if kind not in FIRST_STAGE:
        raise ValueError(f"unknown follow-up kind {kind}")
    stage = params.get("stage") or FIRST_STAGE[kind]
    if (kind, stage) not in CALL_LABELS:
        raise ValueError(f"stage {stage} does not belong to {kind}")
    tier = params.get("customer_tier") or "normal"
    if tier not in TIERS:
        raise ValueError(f"unknown customer tier {tier}")
    customer = find_or_create_customer(session, params["customer_name"], params["customer_phone"])
    handover = parse_moment(params.get("handover_at")) or now
    previous_call = parse_moment(params.get("previous_call_at"))
    due_day = parse_date(params.get("due_date"))
    if stage == "second" and previous_call is None:
        raise ValueError("the second follow-up needs previous_call_at")
    reference = previous_call if stage == "second" else handover

    file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == customer.id))
    need_file = file is None
    if file is None:
        file = CustomerFile(
            customer_id=customer.id, tier=tier, opened_at=handover, due_at=handover + timedelta(days=FILE_DAYS)
        )
        session.add(file)
    elif tier != "normal" and file.tier != tier:
        file.tier = tier  # a starter that knows better (sales decided the customer is important)

    opens, due = _schedule(kind, stage, reference, due_day, bool(params.get("dealer")))
    row = FollowUp(
        number=number,
        instance_id=instance_id_of(session, number, "customer_followup"),
        customer_id=customer.id,
        kind=kind,
        stage=stage,
        cycle=int(params.get("cycle") or 1),
        customer_tier=file.tier,
        source_process=params.get("source_process") or "",
        source_case_no=params.get("source_case_no") or "",
        reference_at=reference,
        due_date=due_day,
        window_opens_at=opens,
        call_due_at=due,
        status="scheduled",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return {
        "followup_no": number,
        "customer_id": customer.id,
        "customer_tier": file.tier,
        "stage": stage,
        "call_label": CALL_LABELS[(kind, stage)],
        "need_file": need_file,
        "file_due_at": iso(file.due_at),
        "file_timer": timer_moment(file.due_at, now),
        "window_opens_at": iso(opens),
        "window_timer": timer_moment(opens, now),
        "call_due_at": iso(due),
        "call_timer": timer_moment(due, now),
    }


@operator("followup/save_file")
def save_file(session: Session, params: dict) -> dict:
    """客户档案: address, contact, products, potential needs and the next call's topic."""
    now = clock.now()
    row = _followup(session, params["followup_no"])
    file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == row.customer_id))
    file.address = params.get("address") or ""
    file.contact_person = params.get("contact_person") or ""
    file.products = params.get("products") or ""
    file.potential_needs = params.get("potential_needs") or ""
    file.next_call_topic = params.get("next_call_topic") or ""
    file.prior_year_revenue = float(params.get("prior_year_revenue") or 0)
    file.strategic = bool(params.get("strategic"))
    if params.get("customer_tier") in TIERS:
        file.tier = params["customer_tier"]
    file.completed_at = now
    customer = session.get(Customer, row.customer_id)
    if file.address:
        customer.address = file.address
    session.flush()
    return {"completed_at": iso(now), "on_time": now <= file.due_at, "customer_tier": file.tier}


@operator("followup/escalate")
def escalate(session: Session, params: dict) -> dict:
    """A missed deadline: the customer file (2 days) or the call (its window's end)."""
    row = _followup(session, params["followup_no"])
    reason = params["reason"]
    escalation = escalate_to(session, row.number, reason)
    if reason == "customer_file_2d":
        file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == row.customer_id))
        file.escalated_at = escalation.at
    else:
        row.escalated_at = escalation.at
    session.flush()
    return {"escalation_id": escalation.id, "reason": reason, "at": iso(escalation.at)}


@operator("followup/record_call")
def record_call(session: Session, params: dict) -> dict:
    """每一次跟踪服务电话都要做好电话记录: the call log and, if the customer asked for something
    that could not be answered at once, the request with its 2-day reporting deadline."""
    now = clock.now()
    row = _followup(session, params["followup_no"])
    summary = params.get("summary") or ""
    log = ContactLog(
        customer_id=row.customer_id,
        case_number=row.number,
        kind=f"followup_{row.stage}",
        channel=params.get("channel") or "phone",
        summary=summary,
        at=now,
    )
    session.add(log)
    session.flush()
    # older diagrams recorded only reached yes/no
    outcome = params.get("call_outcome") or ("connected" if params.get("reached") else "no_answer")
    if outcome not in OUTCOMES:
        raise ValueError(f"call_outcome: unknown outcome {outcome!r}")
    connected = outcome == "connected"
    attempt = row.attempts + 1
    row.attempts, row.last_outcome = attempt, outcome
    request_text = (params.get("customer_request") or "").strip() if connected else ""
    answered = bool(params.get("request_answered")) or not request_text
    score = params.get("satisfaction_score") if connected else None
    call = FollowUpCall(
        followup_id=row.id,
        customer_id=row.customer_id,
        contact_log_id=log.id,
        called_at=now,
        reached=connected,
        outcome=outcome,
        attempt=attempt,
        channel=params.get("channel") or "phone",
        summary=summary or params.get("failure_note") or "",
        satisfaction_score=int(score) if score else None,
        customer_request=request_text,
        request_answered=answered,
        on_time=now <= row.call_due_at,
    )
    session.add(call)
    session.flush()
    result = {"call_id": call.id, "called_at": iso(now), "on_time": call.on_time, "open_request": False,
              "outcome": outcome, "attempt": attempt, "retry": False,
              "raise_complaint": connected and bool(params.get("raise_complaint"))}
    if not connected:
        log.kind = f"followup_{row.stage}_{outcome}"
        if outcome == "no_answer" and attempt < MAX_ATTEMPTS:
            wait = RETRY_AFTER[attempt - 1]
            retry_at = now + wait if wait is not None else add_working_days(now, 1)
            row.status = "retrying"
            result.update(retry=True, retry_at=iso(retry_at), retry_timer=timer_moment(retry_at, now))
        session.flush()
        return result
    row.called_at, row.on_time, row.status = now, call.on_time, "called"
    if not answered:
        request = FollowUpRequest(
            followup_id=row.id,
            call_id=call.id,
            customer_id=row.customer_id,
            request=request_text,
            raised_at=now,
            report_due_at=now + timedelta(days=REQUEST_REPORT_DAYS),
            status="open",
        )
        session.add(request)
        session.flush()
        result.update(open_request=True, request_id=request.id, report_due_at=iso(request.report_due_at),
                      report_timer=timer_moment(request.report_due_at, now))
    return result


@operator("followup/close_unreached")
def close_unreached(session: Session, params: dict) -> dict:
    """拒访, 空号 or three calls not answered: the follow-up ends without a contact. It is
    neither done nor counted in satisfaction; the customer file keeps the outcome."""
    row = _followup(session, params["followup_no"])
    row.status = "refused" if row.last_outcome == "refused" else "unreachable"
    session.flush()
    return {"status": row.status, "attempts": row.attempts}


@operator("followup/report_request")
def report_request(session: Session, params: dict) -> dict:
    """报告业务主管: the request is still open after study (or its 2 days ran out)."""
    now = clock.now()
    request = session.get(FollowUpRequest, int(params["request_id"]))
    row = session.get(FollowUp, request.followup_id)
    request.reported_at = now
    request.reported_late = bool(params.get("overdue")) or now > request.report_due_at
    request.status = "reported"
    escalate_to(session, row.number, "request_2d" if request.reported_late else "request_unresolved")
    return {"reported_at": iso(now), "late": request.reported_late}


@operator("followup/answer_request")
def answer_request(session: Session, params: dict) -> dict:
    """在得到解决办法的当日告知客户: the answer given and when."""
    now = clock.now()
    request = session.get(FollowUpRequest, int(params["request_id"]))
    request.answer = params.get("answer") or ""
    request.answered_at = now
    request.status = "answered"
    session.add(
        ContactLog(
            customer_id=request.customer_id,
            case_number=session.get(FollowUp, request.followup_id).number,
            kind="request_answer",
            channel="phone",
            summary=request.answer,
            at=now,
        )
    )
    session.flush()
    return {"answered_at": iso(now)}


def _revisit_running(session: Session, customer_id: int, exclude: int) -> bool:
    return (
        session.scalar(
            select(FollowUp.id)
            .where(
                FollowUp.customer_id == customer_id,
                FollowUp.kind == "periodic_revisit",
                FollowUp.status != "done",
                FollowUp.id != exclude,
            )
            .limit(1)
        )
        is not None
    )


@operator("followup/finish")
def finish(session: Session, params: dict) -> dict:
    """Close this contact and say which one comes next (started as a new instance)."""
    now = clock.now()
    row = _followup(session, params["followup_no"])
    row.status = "done"
    file = session.scalar(select(CustomerFile).where(CustomerFile.customer_id == row.customer_id))
    tier = file.tier if file else row.customer_tier
    customer = session.get(Customer, row.customer_id)
    base = {
        "customer_name": customer.name,
        "customer_phone": customer.phone,
        "source_process": "customer_followup",
        "source_case_no": row.number,
        "customer_tier": tier,
    }
    nxt: dict | None = None
    if row.kind == "after_handover" and row.stage == "first":
        nxt = {**base, "kind": "after_handover", "stage": "second", "previous_call_at": iso(row.called_at or now)}
    elif row.kind == "maintenance_reminder" and row.stage == "reminder":
        nxt = {**base, "kind": "maintenance_reminder", "stage": "final", "due_date": row.due_date.isoformat()}
    elif row.kind == "periodic_revisit" and tier in REVISIT_MONTHS:
        due = add_months(row.due_date, REVISIT_MONTHS[tier])
        nxt = {**base, "kind": "periodic_revisit", "stage": "revisit", "due_date": due.isoformat(), "cycle": row.cycle + 1}
    elif row.kind in ("after_handover", "after_repair") and tier in REVISIT_MONTHS:
        if not _revisit_running(session, row.customer_id, row.id):
            due = add_months(china_date(now), REVISIT_MONTHS[tier])
            nxt = {**base, "kind": "periodic_revisit", "stage": "revisit", "due_date": due.isoformat(), "cycle": 1}
    session.flush()
    return {"start_next": nxt is not None, "next": nxt or {}, "customer_tier": tier}
