"""维修服务 / 派工: the records repair_dispatch writes (vehicles, work orders, field service
reports, approvals, inspections, stock moves) and the deadlines it computes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import (
    ContactLog,
    Escalation,
    FieldServiceReport,
    Inspection,
    Instance,
    Part,
    QualityFeedback,
    RepairOrder,
    ServiceApproval,
    StockMove,
    Vehicle,
)

from .complaints import find_or_create_customer
from .registry import operator

MANAGER = "after_sales_manager"
CHINA = timedelta(hours=8)  # staff read dates in China time
UNITS_PER_BENCH_DAY = 10  # 十台以内一天，二十台以内两天，三十台以内三天……
MAX_REWORK = 2  # two reworks; a third failed inspection goes to the workshop supervisor
WRITTEN_CHANNELS = {"sms", "letter", "fax", "email"}
RULE_TEXT = {
    "onsite_24h": "服务半径 100 公里以内：24 小时内到达现场处理",
    "answer_12h": "服务半径超出 100 公里或需与配套厂家联系：12 小时内给予用户答复",
    "written_12h": "底盘、发动机故障：12 小时内以文字形式联系处理，联系结果存档",
}


# ---------------------------------------------------------------- helpers shared with claims/parts


def parse_moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date-time from a form (with offset) as an aware UTC datetime."""
    if text in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: not an ISO date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = (moment - CHINA).replace(tzinfo=UTC)  # a local time without offset is China time
    return moment.astimezone(UTC)


def parse_day(text: str | None, field: str) -> date | None:
    if text in (None, ""):
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"{field}: not an ISO date: {text!r}") from None


def iso(moment: datetime | None) -> str | None:
    return clock.to_iso(moment) if moment is not None else None


def china_text(moment: datetime | None) -> str:
    """A moment as staff read it in the instructions: China time, to the minute."""
    return (moment.astimezone(UTC) + CHINA).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def china_today() -> date:
    return (clock.now() + CHINA).date()


def instance_id_of(session: Session, process_key: str, business_key: str) -> int | None:
    return session.scalar(
        select(Instance.id).where(Instance.business_key == business_key, Instance.process_key == process_key)
    )


def part(session: Session, part_no: str, name: str = "") -> Part:
    row = session.scalar(select(Part).where(Part.part_no == part_no))
    if row is None:
        row = Part(part_no=part_no, name=name or part_no, stock_qty=0, claim_stock_qty=0)
        session.add(row)
        session.flush()
    elif name and not row.name:
        row.name = name
    return row


def clean_lines(lines) -> list[dict]:
    """Parts lines as plain dicts {part_no, name, qty}."""
    out = []
    for line in lines or []:
        out.append({"part_no": str(line["part_no"]), "name": str(line.get("name") or ""), "qty": int(line["qty"])})
    return out


def escalate_to(session: Session, case_number: str, reason: str, to_role: str = MANAGER) -> Escalation:
    row = Escalation(case_number=case_number, reason=reason, to_role=to_role, at=clock.now())
    session.add(row)
    session.flush()
    return row


def _order(session: Session, number: str) -> RepairOrder:
    order = session.scalar(select(RepairOrder).where(RepairOrder.number == number))
    if order is None:
        raise LookupError(f"no repair order {number}")
    return order


def _report(session: Session, order: RepairOrder) -> FieldServiceReport | None:
    return session.scalar(select(FieldServiceReport).where(FieldServiceReport.order_id == order.id))


def _issue_parts(session: Session, order: RepairOrder, lines: list[dict]) -> None:
    """领料: parts used on the repair leave the stock, and the order lists them."""
    now = clock.now()
    for line in lines:
        row = part(session, line["part_no"], line["name"])
        row.stock_qty -= line["qty"]
        session.add(StockMove(part_no=line["part_no"], qty=-line["qty"], kind="repair_issue", ref=order.number, at=now))
    order.parts_used = [*(order.parts_used or []), *lines]


# ---------------------------------------------------------------- vehicle and warranty facts


@operator("vehicle/warranty_facts")
def warranty_facts(session: Session, params: dict) -> dict:
    """核对交车日期与里程: the customer's file and the product/vehicle file; the age and the
    mileage since delivery that the warranty_eligibility table decides on."""
    customer = find_or_create_customer(session, params["customer_name"], params["customer_phone"])
    if params.get("customer_address") and not customer.address:
        customer.address = params["customer_address"]
    delivery = parse_day(params["delivery_date"], "delivery_date")
    vehicle = session.scalar(select(Vehicle).where(Vehicle.serial_no == params["serial_no"]))
    if vehicle is None:
        vehicle = Vehicle(serial_no=params["serial_no"])
        session.add(vehicle)
    vehicle.model = params.get("product_model") or vehicle.model or ""
    vehicle.customer_id = customer.id
    vehicle.delivery_date = delivery
    vehicle.delivery_mileage = int(params.get("delivery_mileage") or 0)
    vehicle.current_mileage = mileage_in(params.get("current_mileage"))
    vehicle.updated_at = clock.now()
    session.flush()
    today = china_today()
    return {
        "vehicle_id": vehicle.id,
        "customer_id": customer.id,
        "age_days": (today - delivery).days,
        "mileage_km": vehicle.current_mileage - vehicle.delivery_mileage,
        "as_of": today.isoformat(),
    }


def mileage_in(value) -> int:
    """进厂里程 is required: a blank is not 0 (a claim checked against 0 km would pass any limit)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("current_mileage (进厂里程) is required; a blank is not 0")
    mileage = int(value)
    if mileage < 0:
        raise ValueError("current_mileage (进厂里程) cannot be negative")
    return mileage


def record_warranty_end(vehicle: Vehicle, limit_days: int, limit_km: int) -> str | None:
    """保修截止: delivery date + the policy's days, delivery mileage + the policy's km."""
    if vehicle.delivery_date is None:
        return None
    vehicle.warranty_end = vehicle.delivery_date + timedelta(days=int(limit_days))
    vehicle.warranty_end_mileage = vehicle.delivery_mileage + int(limit_km)
    return vehicle.warranty_end.isoformat()


# ---------------------------------------------------------------- intake


@operator("repair/register")
def register(session: Session, params: dict) -> dict:
    """登记报修并建立维修工单, with the free/paid decision of the warranty table."""
    now = clock.now()
    vehicle = session.get(Vehicle, params["vehicle_id"])
    warranty_end = record_warranty_end(vehicle, params["warranty_limit_days"], params["warranty_limit_km"])
    order = RepairOrder(
        number=params["order_no"],
        instance_id=instance_id_of(session, "repair_dispatch", params["order_no"]),
        customer_id=params["customer_id"],
        vehicle_id=vehicle.id,
        service_mode=params["service_mode"],
        fault_category=params["fault_category"],
        fault_description=params["fault_description"],
        distance_km=int(params.get("distance_km") or 0),
        supplier_involved=bool(params.get("supplier_involved")),
        units=int(params.get("units") or 1),
        received_at=now,
        warranty_status=params["warranty_status"],
        service_type=params["service_type"],
        repair_type=params.get("repair_type") or "",
        # diagrams before the repair_pay_type table: free service was a claim, paid service the customer's
        pay_type=params.get("pay_type") or ("warranty" if params["service_type"] == "free" else "customer"),
        plate_no=(params.get("plate_no") or "").strip().upper(),
        mileage_in=vehicle.current_mileage,
        sender_name=params.get("sender_name") or "",
        sender_phone=params.get("sender_phone") or "",
        fuel_level=params.get("fuel_level") or "",
        body_condition=params.get("body_condition") or "",
        old_parts_take_away=bool(params.get("old_parts_take_away")),
        status="open",
        repair_items=[],
        added_items=[],
        parts_used=[],
    )
    session.add(order)
    session.add(
        ContactLog(
            customer_id=order.customer_id, case_number=order.number, kind="received", channel="repair",
            summary=params["fault_description"], at=now,
        )
    )
    session.flush()
    return {"order_no": order.number, "order_id": order.id, "received_at": iso(now), "warranty_end": warranty_end,
            "pay_type": order.pay_type}


@operator("repair/record_approval")
def record_approval(session: Session, params: dict) -> dict:
    """客户同意报价 / 经理批复 / 追加手续: every consent and approval of a repair is a row."""
    now = clock.now()
    order = _order(session, params["order_no"])
    kind, approved = params["kind"], bool(params["approved"])
    amount = params.get("amount")
    row = ServiceApproval(
        order_number=order.number, kind=kind, approved=approved,
        amount=float(amount) if amount is not None else None, comment=params.get("comment") or "",
        approver_role=params.get("approver_role") or "", at=now,
    )
    session.add(row)
    result: dict = {"approved": approved, "kind": kind, "at": iso(now)}
    if kind == "estimate":
        order.estimate_amount = float(amount)
        order.customer_agreed = approved
    elif kind == "added_items":
        order.added_items_approved = approved
    elif kind == "extension" and approved:
        until = parse_moment(params.get("extended_until"), "extended_until")
        if until is None:
            raise ValueError("extended_until is required when the extension is approved")
        report = _report(session, order)
        if report is not None:
            report.extended_until = until
        result["due_at"] = iso(until)
        result["due_text"] = china_text(until)
    session.flush()
    result["approval_id"] = row.id
    return result


@operator("repair/decline")
def decline(session: Session, params: dict) -> dict:
    """有费服务未获客户同意或经理批准：工单关闭，不维修。"""
    now = clock.now()
    order = _order(session, params["order_no"])
    order.status, order.closed_at = "declined", now
    session.add(
        ContactLog(customer_id=order.customer_id, case_number=order.number, kind="declined", channel="repair",
                   summary=params["reason"], at=now)
    )
    session.flush()
    return {"status": order.status, "reason": params["reason"]}


@operator("repair/escalate")
def escalate(session: Session, params: dict) -> dict:
    """A repair deadline was missed: recorded and sent to the after-sales manager."""
    row = escalate_to(session, params["order_no"], params["reason"])
    return {"escalation_id": row.id, "reason": row.reason, "at": iso(row.at)}


# ---------------------------------------------------------------- bench repair of returned units


def bench_days(units: int) -> int:
    """十台以内一天，二十台以内两天，三十台以内三天，以此类推: ceil(n / 10) days."""
    return max(1, math.ceil(int(units) / UNITS_PER_BENCH_DAY))


@operator("repair/bench_deadline")
def bench_deadline(session: Session, params: dict) -> dict:
    order = _order(session, params["order_no"])
    days = bench_days(params["units"])
    due = clock.now() + timedelta(days=days)
    order.bench_days, order.bench_due_at = days, due
    session.flush()
    return {"units": int(params["units"]), "days": days, "duration": f"P{days}D", "due_at": iso(due),
            "due_text": china_text(due)}


@operator("repair/record_bench")
def record_bench(session: Session, params: dict) -> dict:
    now = clock.now()
    order = _order(session, params["order_no"])
    order.work_done = params["work_done"]
    _issue_parts(session, order, clean_lines(params.get("parts_used")))
    order.bench_finished_at = now
    order.bench_late = order.bench_due_at is not None and now > order.bench_due_at
    session.flush()
    return {"finished_at": iso(now), "late": order.bench_late, "units_repaired": int(params["units_repaired"])}


# ---------------------------------------------------------------- field service


@operator("repair/open_field_report")
def open_field_report(session: Session, params: dict) -> dict:
    """办公室填写《外出调试、维修跟踪报告单》 with the response deadline of the onsite_deadline table,
    counted from the moment the request was received."""
    now = clock.now()
    order = _order(session, params["order_no"])
    rule, hours = params["response_rule"], int(params["response_hours"])
    due = order.received_at + timedelta(hours=hours)
    report = FieldServiceReport(
        order_id=order.id,
        number=order.number.replace("WX", "BG", 1) if order.number.startswith("WX") else f"BG-{order.number}",
        quality_plan=params.get("quality_plan") or "",
        opened_at=now,
        response_rule=rule,
        response_hours=hours,
        response_due_at=due,
    )
    if rule == "onsite_24h":
        report.onsite_due_at = due
    session.add(report)
    session.flush()
    return {
        "report_no": report.number,
        "response_rule": rule,
        "rule_text": RULE_TEXT.get(rule, rule),
        "response_due_at": iso(due),
        "response_due_text": china_text(due),
    }


@operator("repair/record_response")
def record_response(session: Session, params: dict) -> dict:
    """答复用户 (12 h) / 以文字形式联系 (chassis, engine: 12 h), archived as a contact."""
    now = clock.now()
    order = _order(session, params["order_no"])
    report = _report(session, order)
    channel = params["channel"]
    session.add(
        ContactLog(customer_id=order.customer_id, case_number=order.number, kind="response", channel=channel,
                   summary=params["summary"], at=now)
    )
    report.responded_at = now
    report.response_late = now > report.response_due_at
    report.promised_visit_at = parse_moment(params["promised_visit_at"], "promised_visit_at")
    written = channel in WRITTEN_CHANNELS
    if report.response_rule == "written_12h" and not written:
        escalate_to(session, order.number, "written_contact_required")
    session.flush()
    return {"responded_at": iso(now), "late": report.response_late, "written": written,
            "promised_visit_at": iso(report.promised_visit_at)}


@operator("repair/assign")
def assign(session: Session, params: dict) -> dict:
    """派工. For field service the on-site deadline: 24 h from receipt within 100 km, otherwise
    the visit time promised to the customer in the answer."""
    order = _order(session, params["order_no"])
    order.technician = params.get("technician") or ""
    order.team = params.get("team") or ""
    result: dict = {"technician": order.technician, "team": order.team}
    report = _report(session, order)
    if report is not None:
        report.technician = order.technician
        if report.response_rule != "onsite_24h":
            report.onsite_due_at = report.promised_visit_at or report.response_due_at + timedelta(hours=24)
        result["onsite_due_at"] = iso(report.onsite_due_at)
        result["onsite_due_text"] = china_text(report.onsite_due_at)
    session.flush()
    return result


@operator("repair/record_arrival")
def record_arrival(session: Session, params: dict) -> dict:
    now = clock.now()
    report = _report(session, _order(session, params["order_no"]))
    report.arrived_at = now
    report.arrived_late = report.onsite_due_at is not None and now > report.onsite_due_at
    session.flush()
    return {"arrived_at": iso(now), "late": report.arrived_late}


@operator("repair/record_field_work")
def record_field_work(session: Session, params: dict) -> dict:
    order = _order(session, params["order_no"])
    report = _report(session, order)
    report.diagnosis = params["diagnosis"]
    report.work_done = params["work_done"]
    report.outcome = params["outcome"]
    report.service_started_at = parse_moment(params["service_started_at"], "service_started_at")
    report.service_ended_at = parse_moment(params["service_ended_at"], "service_ended_at")
    order.work_done = params["work_done"]
    _issue_parts(session, order, clean_lines(params.get("parts_used")))
    session.flush()
    return {"outcome": report.outcome, "request_note": params.get("request_note") or ""}


@operator("repair/record_completion")
def record_completion(session: Session, params: dict) -> dict:
    order = _order(session, params["order_no"])
    report = _report(session, order)
    report.work_done = params["work_done"]
    report.service_ended_at = parse_moment(params["service_ended_at"], "service_ended_at")
    order.work_done = params["work_done"]
    session.flush()
    return {"service_ended_at": iso(report.service_ended_at)}


@operator("repair/record_fee")
def record_fee(session: Session, params: dict) -> dict:
    """有费服务当场收费."""
    now = clock.now()
    order = _order(session, params["order_no"])
    report = _report(session, order)
    report.fee_amount = float(params["fee_amount"])
    report.fee_receipt_no = params["receipt_no"]
    report.fee_collected_at = now
    order.settlement_amount = report.fee_amount
    order.payment_method = params["payment_method"]
    order.settled_at = now
    session.flush()
    return {"fee_amount": report.fee_amount, "collected_at": iso(now)}


@operator("repair/record_hand_in")
def record_hand_in(session: Session, params: dict) -> dict:
    """回公司后如数上缴: the fee collected on site against what was handed in."""
    now = clock.now()
    report = _report(session, _order(session, params["order_no"]))
    fee = float(report.fee_amount or 0)
    handed = round(float(params["handed_in_amount"]), 2)
    report.fee_handed_in_amount, report.fee_handed_in_by, report.fee_handed_in_at = handed, params["handed_in_by"], now
    report.fee_reconciled = abs(handed - fee) < 0.005
    if not report.fee_reconciled:
        escalate_to(session, params["order_no"], "fee_not_handed_in")
    session.flush()
    return {"fee_amount": fee, "handed_in_amount": handed, "difference": round(fee - handed, 2),
            "reconciled": report.fee_reconciled}


@operator("repair/record_fee_investigation")
def record_fee_investigation(session: Session, params: dict) -> dict:
    report = _report(session, _order(session, params["order_no"]))
    report.violation_reason = f"上缴差额调查：{params['findings']}；处理：{params['action']}"[:200]
    session.flush()
    return {"action": params["action"]}


@operator("repair/record_signature")
def record_signature(session: Session, params: dict) -> dict:
    """服务结束后请用户签字（盖章）认可. A signature dated before the end of the service (or
    before it started, or later than the moment it is recorded) is flagged as a violation."""
    now = clock.now()
    order = _order(session, params["order_no"])
    report = _report(session, order)
    signed_at = parse_moment(params["signature_at"], "signature_at")
    report.signed_by = params["signed_by"]
    report.stamped = bool(params.get("stamped"))
    report.signature_at = signed_at
    report.signature_recorded_at = now
    report.customer_opinion = params.get("customer_opinion") or ""
    reason = ""
    if report.service_ended_at is not None and signed_at < report.service_ended_at:
        reason = "客户签字时间早于服务结束时间（服务前签字）"
    elif signed_at > now + timedelta(minutes=5):
        reason = "签字时间晚于录入时间（疑似涂改）"
    report.signature_violation = bool(reason)
    report.violation_reason = reason
    if reason:
        escalate_to(session, order.number, "signature_violation")
    session.flush()
    return {"violation": report.signature_violation, "reason": reason, "signature_at": iso(signed_at)}


@operator("repair/record_violation")
def record_violation(session: Session, params: dict) -> dict:
    order = _order(session, params["order_no"])
    report = _report(session, order)
    report.violation_reason = f"{report.violation_reason}；调查：{params['findings']}；处理：{params['action']}"
    if params["action"] == "none":
        report.signature_violation = False
    session.flush()
    return {"action": params["action"], "violation": report.signature_violation}


@operator("repair/quality_feedback")
def quality_feedback(session: Session, params: dict) -> dict:
    """维修详细情况以书面形式反馈给质量部，作为产品改进的依据."""
    now = clock.now()
    order = _order(session, params["order_no"])
    report = _report(session, order)
    lines = [f"工单 {order.number}，故障类别 {order.fault_category}：{order.fault_description}"]
    if report is not None:
        lines += [f"诊断：{report.diagnosis}", f"维修：{report.work_done}", f"处理结果：{report.outcome}"]
        report.quality_feedback_at = now
    if order.parts_used:
        lines.append("更换配件：" + "，".join(f"{p['part_no']}×{p['qty']}" for p in order.parts_used))
    row = QualityFeedback(order_number=order.number, fault_category=order.fault_category, summary="\n".join(lines), at=now)
    session.add(row)
    session.flush()
    return {"feedback_id": row.id}


# ---------------------------------------------------------------- dealer workshop


def _line_pay_type(order: RepairOrder, line: dict) -> tuple[str, str]:
    """The pay type a work-order line is settled under, and why it differs from the one written.
    A claim line is accepted only for a warranty-covered fault: a recall, or a warranty repair
    or first maintenance on a vehicle inside its warranty; never maintenance, wear parts,
    accidents or extras the customer ordered (the form refuses those; this is the check
    against the vehicle's warranty status, which the form does not know)."""
    pay = line.get("pay_type") or order.pay_type or ("warranty" if order.service_type == "free" else "customer")
    if pay != "warranty":
        return pay, ""
    repair_type = line.get("repair_type") or order.repair_type
    if line.get("wear_part") or line.get("customer_extra"):
        return "customer", "易损件或客户自选项目不属保修"
    if repair_type in ("maintenance", "general", "accident", "comeback"):
        return "customer", "保养、一般维修、事故和返修不属保修"
    if repair_type != "recall" and order.warranty_status != "in_warranty":
        return "customer", "车辆已出保修期"
    return pay, ""


def _amounts(lines: list[dict]) -> dict:
    totals = {"customer": 0.0, "warranty": 0.0, "insurance": 0.0, "internal": 0.0}
    for line in lines:
        totals[line["pay_type"]] = totals.get(line["pay_type"], 0.0) + float(line.get("amount") or 0)
    return {key: round(value, 2) for key, value in totals.items()}


def _set_amounts(order: RepairOrder) -> dict:
    totals = _amounts(order.repair_items or [])
    order.customer_amount, order.claim_amount = totals["customer"], totals["warranty"]
    order.insurance_amount, order.internal_amount = totals["insurance"], totals["internal"]
    return totals


@operator("repair/record_work_order")
def record_work_order(session: Session, params: dict) -> dict:
    """维修工单 with one line per item: operation code, hours, unit price, amount, repair type
    and pay type (自费 / 索赔 / 保险 / 内部). A line written as a claim that the warranty does
    not cover is moved to the customer (and needs the consent that customer-paid lines need)."""
    if params.get("customer_signed") is not True:
        raise ValueError("the customer must sign the work order before it is opened")
    now = clock.now()
    order = _order(session, params["order_no"])
    items, moved = [], 0
    for raw in params["repair_items"]:
        line = dict(raw)
        pay, reason = _line_pay_type(order, line)
        if reason:
            line["written_pay_type"], line["reclassified"] = line.get("pay_type"), reason
            moved += 1
        line["pay_type"] = pay
        line.setdefault("repair_type", order.repair_type)
        items.append(line)
    order.repair_items = items
    totals = _set_amounts(order)
    order.walkaround_notes = params.get("walkaround_notes") or ""
    order.promised_finish_at = parse_moment(params.get("promised_finish_at"), "promised_finish_at")
    order.order_signed_at = now
    session.flush()
    promised = order.promised_finish_at or now
    return {"promised_timer": iso(promised if promised > now else now - timedelta(seconds=1)),
            "items": len(items), "estimate_total": round(sum(float(i.get("amount") or 0) for i in items), 2),
            "customer_amount": totals["customer"], "claim_amount": totals["warranty"],
            "insurance_amount": totals["insurance"], "internal_amount": totals["internal"], "reclassified": moved}


@operator("repair/promise_check")
def promise_check(session: Session, params: dict) -> dict:
    """The promised finish time has come: late when the car has not passed its final inspection
    (完工) by then; a declined or closed order is not late."""
    order = _order(session, params["order_no"])
    finished = session.scalar(
        select(Inspection.id).where(Inspection.order_number == order.number, Inspection.level == 3,
                                    Inspection.passed.is_(True)).limit(1)
    )
    late = order.status in ("open", "waiting_parts") and finished is None  # 待料 is still not finished
    if late:
        escalate_to(session, order.number, "promised_finish")
    session.flush()
    return {"late": late, "promised_text": china_text(order.promised_finish_at)}


@operator("repair/record_delay")
def record_delay(session: Session, params: dict) -> dict:
    """延期: approved by the manager with the new finish time, and the customer told."""
    now = clock.now()
    order = _order(session, params["order_no"])
    until = parse_moment(params["new_finish_at"], "new_finish_at")
    session.add(ServiceApproval(order_number=order.number, kind="delay", approved=True, amount=None,
                                comment=params.get("delay_reason") or "", approver_role=MANAGER, at=now))
    session.add(ContactLog(customer_id=order.customer_id, case_number=order.number, kind="delay_notice",
                           channel=params.get("customer_told_via") or "phone",
                           summary=f"延期至 {china_text(until)}：{params.get('delay_reason') or ''}", at=now))
    # the original promise stays on the order: 服务及时率 measures against what the customer was promised first
    session.flush()
    return {"new_finish_at": iso(until), "new_finish_text": china_text(until)}


@operator("repair/drop_customer_lines")
def drop_customer_lines(session: Session, params: dict) -> dict:
    """The manager refused the customer-paid lines: they are not done; the rest of the order is."""
    order = _order(session, params["order_no"])
    kept = [line for line in order.repair_items or [] if line.get("pay_type") != "customer"]
    order.declined_lines = [line for line in order.repair_items or [] if line.get("pay_type") == "customer"]
    order.repair_items = kept
    _set_amounts(order)
    session.flush()
    return {"lines_left": len(kept), "declined": len(order.declined_lines)}


@operator("repair/record_workshop_work")
def record_workshop_work(session: Session, params: dict) -> dict:
    order = _order(session, params["order_no"])
    order.work_done = params["work_done"]
    lines = clean_lines(params.get("parts_used"))
    if lines and "requisition_no" in params:  # diagrams since the 领料单 rule pass the requisition
        if not (params.get("requisition_no") and params.get("requisition_signed_by")):
            raise ValueError("parts are issued only on a signed requisition (领料单号 and 签字人)")
        order.requisition_no = params["requisition_no"]
        order.requisition_signed_by = params["requisition_signed_by"]
    for line, raw in zip(lines, params.get("parts_used") or [], strict=True):
        if raw.get("pay_type"):
            line["pay_type"] = raw["pay_type"]
    _issue_parts(session, order, lines)
    # an added item is something the customer approves and pays unless written otherwise
    order.added_items = [{**dict(item), "pay_type": item.get("pay_type") or "customer"}
                         for item in params.get("added_items") or []]
    session.flush()
    return {"added_items": len(order.added_items), "requisition_no": order.requisition_no}


@operator("repair/record_inspection")
def record_inspection(session: Session, params: dict) -> dict:
    """三级检验 (level 1 self-check, 2 team leader, 3 workshop supervisor). A failed inspection
    sends the work back for rework at most MAX_REWORK times."""
    order = _order(session, params["order_no"])
    passed = bool(params["passed"])
    row = Inspection(
        order_number=order.number, level=int(params["level"]), round=order.rework_count + 1, passed=passed,
        inspector=params.get("inspector") or "", notes=params.get("notes") or "", at=clock.now(),
    )
    session.add(row)
    if not passed:
        order.rework_count += 1
    session.flush()
    return {
        "level": row.level,
        "passed": passed,
        "round": row.round,
        "rework_count": order.rework_count,
        "rework_allowed": order.rework_count <= MAX_REWORK,
    }


@operator("repair/record_settlement")
def record_settlement(session: Session, params: dict) -> dict:
    """通知客户并结算. Warranty work is claimed from the manufacturer: the customer pays nothing."""
    now = clock.now()
    order = _order(session, params["order_no"])
    total = round(float(params["labour_amount"]) + float(params["parts_amount"]), 2)
    if order.customer_amount is not None:
        # by line: the customer pays the customer-paid lines and the added items they approved
        added = sum(float(i.get("amount") or 0) for i in order.added_items or []
                    if order.added_items_approved and i.get("pay_type", "customer") == "customer")
        customer_pays = round(float(order.customer_amount) + added, 2)
    else:
        customer_pays = 0.0 if order.service_type == "free" else total
    order.notified_at = now
    order.settlement_amount = customer_pays
    order.payment_method = params["payment_method"]
    order.invoice_no = params["invoice_no"]
    order.settled_at = now
    session.add(
        ContactLog(customer_id=order.customer_id, case_number=order.number, kind="notified",
                   channel=params.get("notified_via") or "", summary=f"完工通知，结算 {customer_pays} 元", at=now)
    )
    session.flush()
    return {"total": total, "customer_pays": customer_pays, "claim_amount": order.claim_amount,
            "insurance_amount": order.insurance_amount, "internal_amount": order.internal_amount}


@operator("repair/record_handover")
def record_handover(session: Session, params: dict) -> dict:
    """交车并提醒下次保养日期及间隔公里数."""
    now = clock.now()
    order = _order(session, params["order_no"])
    next_date = parse_day(params["next_maintenance_date"], "next_maintenance_date")
    next_km = int(params["next_maintenance_mileage"])
    order.handed_over_at = now
    order.next_maintenance_date, order.next_maintenance_mileage = next_date, next_km
    vehicle = session.get(Vehicle, order.vehicle_id)
    vehicle.next_maintenance_date, vehicle.next_maintenance_mileage = next_date, next_km
    session.flush()
    return {"handed_over_at": iso(now), "next_maintenance_date": next_date.isoformat(), "next_maintenance_mileage": next_km}


# ---------------------------------------------------------------- warranty lines before settlement


def _claimed(order: RepairOrder) -> bool:
    if order.repair_items:
        return any(line.get("pay_type") == "warranty" for line in order.repair_items)
    return (order.pay_type or ("warranty" if order.service_type == "free" else "customer")) == "warranty"


@operator("repair/claim_lines")
def claim_lines(session: Session, params: dict) -> dict:
    """Are there warranty lines? Their assessment and the clerk's decision come before the
    customer is told to collect and settle."""
    order = _order(session, params["order_no"])
    return {"has_claim": _claimed(order), "claim_amount": order.claim_amount or 0}


@operator("repair/record_claim_decision")
def record_claim_decision(session: Session, params: dict) -> dict:
    """车间故障点与原因分析 + 索赔员决定 (+ 厂家预授权号), on the order before settlement."""
    order = _order(session, params["order_no"])
    approved = bool(params["approve_claim"])
    order.claim_decision = {
        "approved": approved, "pre_auth_no": params.get("pre_auth_no") or "",
        "rejection_reason": "" if approved else params.get("rejection_reason") or "",
        "fault_point": params.get("fault_point") or "", "cause": params.get("cause") or "",
        "cause_category": params.get("cause_category") or "", "at": iso(clock.now()),
    }
    session.flush()
    return dict(order.claim_decision)


@operator("repair/move_refused_lines")
def move_refused_lines(session: Session, params: dict) -> dict:
    """不予索赔: the warranty lines (and their parts) go to the customer, who agreed, or are
    borne internally."""
    order = _order(session, params["order_no"])
    to = "customer" if params.get("customer_pays") else "internal"
    moved = 0
    items = []
    for line in order.repair_items or []:
        line = dict(line)
        if line.get("pay_type") == "warranty":
            line["pay_type"], line["refused_claim"] = to, True
            moved += 1
        items.append(line)
    order.repair_items = items
    parts = []
    default_pay = order.pay_type or "customer"
    for line in order.parts_used or []:
        line = dict(line)
        if (line.get("pay_type") or default_pay) == "warranty":
            line["pay_type"] = to
        parts.append(line)
    order.parts_used = parts
    if order.pay_type == "warranty":
        order.pay_type = to
    totals = _set_amounts(order)
    session.add(ContactLog(customer_id=order.customer_id, case_number=order.number, kind="claim_refused", channel="",
                           summary=f"不予索赔项目转{'自费' if to == 'customer' else '内部'}：{params.get('note') or ''}",
                           at=clock.now()))
    session.flush()
    return {"moved": moved, "to": to, "customer_amount": totals["customer"]}


# ---------------------------------------------------------------- closing


@operator("repair/close")
def close(session: Session, params: dict) -> dict:
    """维修工单结案; returns the parts replaced, which a warranty claim takes over."""
    now = clock.now()
    order = _order(session, params["order_no"])
    order.status, order.closed_at = "closed", now
    default_pay = order.pay_type or ("warranty" if order.service_type == "free" else "customer")
    merged: dict[str, dict] = {}
    for line in order.parts_used or []:
        if (line.get("pay_type") or default_pay) != "warranty":
            continue  # only parts replaced under warranty go into the claim
        entry = merged.setdefault(line["part_no"], {"part_no": line["part_no"], "name": line.get("name") or "", "qty": 0})
        entry["qty"] += int(line["qty"])
    claim = _claimed(order)
    decision = order.claim_decision or {}
    session.flush()
    return {"closed_at": iso(now), "parts": list(merged.values()), "claim": claim,
            "fault_point": decision.get("fault_point", ""), "cause": decision.get("cause", ""),
            "cause_category": decision.get("cause_category", ""), "pre_auth_no": decision.get("pre_auth_no", ""),
            "claim_amount": float(order.claim_amount or 0)}
